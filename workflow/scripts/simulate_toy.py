"""Simulate Li walkers in a frozen FCC S lattice with LAMMPS; write one trajectory each."""

import shutil
from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.systems.toy import simulate

log = logs.to_file(snakemake.log[0], f"simulate_toy {snakemake.wildcards.system}")
cfg = snakemake.params.simulate
sim = simulate.simulate(**cfg, frame_interval_ps=snakemake.params.frame_interval_ps)

# write into a temporary folder, then rename it: a killed job leaves no complete-looking output
out = Path(snakemake.output[0])
tmp = out.with_name(f".{out.name}.tmp")
shutil.rmtree(tmp, ignore_errors=True)
tmp.mkdir(parents=True)
n_walkers, n_frames = sim["coords"].shape[:2]
lattices = np.broadcast_to(sim["lattice"], (n_frames, 3, 3))
for w in range(n_walkers):
    io.save_npz(
        tmp / f"{simulate.walker_name(w)}.npz",
        traj_coords=sim["coords"][w],
        lattices=lattices,
        atom_types=sim["atom_types"],
        target_index=sim["target_index"],
    )
tmp.rename(out)
log.info("wrote %d walkers x %d frames to %s", n_walkers, n_frames, out)
