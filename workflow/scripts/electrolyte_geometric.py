"""Geometric solvation class of every Li in every test frame (the known answer)."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.data import store
from gdynet.systems.electrolyte import shells

log = logs.to_file(snakemake.log[0], f"electrolyte_geometric {snakemake.wildcards.system}")
g = snakemake.params.geometric
frames = store.open_frames(Path(snakemake.input[0]).parent)
test = io.load_json(snakemake.input.splits)["test"]
labels, counts = [], []
for a, b in test:
    lab, cnt = shells.solvation_states(frames.coords[a:b], frames.lattices[a:b], frames.atom_types,
                                       frames.target_index, cutoff_A=g["cutoff_A"],
                                       anion=g["anion"], ether=g["ether"], end=g["end"])
    labels.append(lab)
    counts.append(cnt)
    stays = shells.lifetimes(lab) * frames.frame_interval_ps
    log.info("frames %d-%d: classes %s %%; mean stay %.1f ps", a, b,
             np.round(100 * np.bincount(lab.ravel(), minlength=shells.N_STATES) / lab.size, 1),
             stays.mean() if stays.size else float("nan"))
io.save_npz(snakemake.output[0], labels=np.concatenate(labels), counts=np.concatenate(counts),
            names=np.array(shells.STATE_NAMES), cutoff_A=np.float64(g["cutoff_A"]))
