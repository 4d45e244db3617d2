"""Fig. 2c: Li positions folded into the cell, coloured by the GDyNet P(state 0)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # gdynet, also in conda envs

import numpy as np

from gdynet import io, logs, plots, store

log = logs.to_file(snakemake.log[0])
frames = store.open_frames(Path(snakemake.input[0]).parent)
lags = [float(t) for t in snakemake.params.lags_ps]
tau_star = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
chi = np.load(snakemake.input.chi[lags.index(float(tau_star))], mmap_mode="r")
test = io.load_json(snakemake.input.splits)["test"]
test_frames = np.concatenate([np.arange(a, b) for a, b in test])

# a seeded sample of 20 000 test frames keeps the scatter readable
rng = np.random.default_rng(0)
pick = np.sort(rng.choice(test_frames.size, size=min(20_000, test_frames.size), replace=False))
target = np.ravel(frames.target_index)
a = float(frames.lattices[0, 0, 0])
li = np.asarray(frames.coords[test_frames[pick], target[0]], dtype=np.float64) % a
sulfur = np.asarray(frames.coords[0, np.flatnonzero(frames.atom_types == 16)]) % a
fig = plots.state_map(li, np.asarray(chi[pick, 0, 0]), a, sulfur_A=sulfur)
plots.save(fig, *snakemake.output)
