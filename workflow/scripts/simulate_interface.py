"""Simulate a crystal slab in contact with its liquid with LAMMPS; write one trajectory."""

import numpy as np

from gdynet import io, logs
from gdynet.systems.interface import simulate

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"simulate_interface {w.system} {w.name}")
args = dict(snakemake.params.simulate)
if simulate.trajectory_name(args["seed"]) != w.name:
    raise ValueError(f"systems.{w.system}.simulate.seed {args['seed']} writes "
                     f"{simulate.trajectory_name(args['seed'])}, not {w.name}")
sim = simulate.simulate(**args, frame_interval_ps=snakemake.params.frame_interval_ps,
                        n_threads=snakemake.threads)
arrays = {key: value for key, value in sim.items() if isinstance(value, np.ndarray)}
scalars = {key: sim[key] for key in ("frame_interval_ps", "temperature_K", "timestep_ps",
                                     "layer_spacing_A")}
io.save_npz(snakemake.output[0], **arrays, **scalars)
log.info("wrote %d frames of %d atoms (%d targets, %d tethered) to %s",
         *sim["traj_coords"].shape[:2], len(sim["target_index"]), len(sim["tethered"]),
         snakemake.output[0])
