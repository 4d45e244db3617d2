"""Simulate one trajectory (one seed) of the coarse-grained polymer electrolyte with LAMMPS."""

from gdynet import logs
from gdynet.systems.electrolyte import simulate

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"simulate_electrolyte {w.system} {w.name}")
args = simulate.lj_arguments(**snakemake.params.simulate,
                             frame_interval_ps=snakemake.params.frame_interval_ps)
run = simulate.simulate(seed=snakemake.params.seed, **args)  # logs every 5 % of production
run.save(snakemake.output[0])
log.info("wrote %d frames of %d atoms (%d Li) to %s; mean T* %.3f", *run.coords.shape[:2],
         len(run.target_index), snakemake.output[0], float(run.kinetic_temperature.mean()))
