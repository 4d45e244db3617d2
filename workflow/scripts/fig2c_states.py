"""Fig. 2c: Li positions folded into the cell, coloured by the GDyNet P(state 0)."""

from pathlib import Path

import numpy as np

from gdynet import io, logs, plots
from gdynet.data import splits, store
from gdynet.plots import toy as toy_plots

log = logs.to_file(snakemake.log[0], f"fig2c {snakemake.wildcards.system}")
frames = store.open_frames(Path(snakemake.input[0]).parent)
tau_star = io.load_json(snakemake.input.gdynet_tau_star)["tau_star_ps"]
chi = np.load(snakemake.params.files["gdynet"][tau_star], mmap_mode="r")
test_frames = splits.frames_of(io.load_json(snakemake.input.splits)["test"])

# 15 000 random test frames, plus up to 5 000 frames of the rarer states (P(state 0) < 0.5),
# which a plain sample would hardly show (the Li spends ~1 % of its time in tet sites)
rng = np.random.default_rng(0)
p0 = np.asarray(chi[:, 0, 0])
common = rng.choice(test_frames.size, size=min(15_000, test_frames.size), replace=False)
rare = np.flatnonzero(p0 < 0.5)
rare = rng.choice(rare, size=min(5_000, rare.size), replace=False)
pick = np.union1d(common, rare)
target = np.ravel(frames.target_index)
a = float(frames.lattices[0, 0, 0])
li = np.asarray(frames.coords[test_frames[pick], target[0]], dtype=np.float64) % a
sulfur = np.asarray(frames.coords[0, np.flatnonzero(frames.atom_types == 16)]) % a
fig = toy_plots.state_map(li, p0[pick], a, sulfur_A=sulfur)
plots.save(fig, *snakemake.output)
