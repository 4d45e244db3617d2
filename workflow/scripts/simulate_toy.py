"""Simulate Li walkers in a frozen FCC S lattice with LAMMPS; write one trajectory each."""

import numpy as np

from gdynet import io, logs
from gdynet.systems.toy import simulate

log = logs.to_file(snakemake.log[0], f"simulate_toy {snakemake.wildcards.system}")
sim = simulate.simulate(**snakemake.params.simulate, frame_interval_ps=snakemake.params.frame_interval_ps)
n_walkers, n_frames = sim["coords"].shape[:2]
lattices = np.broadcast_to(sim["lattice"], (n_frames, 3, 3))
with io.atomic_dir(snakemake.output[0]) as tmp:  # a killed job leaves no complete-looking folder
    for w in range(n_walkers):
        io.save_npz(tmp / f"{simulate.walker_name(w)}.npz", traj_coords=sim["coords"][w],
                    lattices=lattices, atom_types=sim["atom_types"], target_index=sim["target_index"])
log.info("wrote %d walkers x %d frames to %s", n_walkers, n_frames, snakemake.output[0])
