"""Bond order q_l, q̄_l and the solid label of every target atom in every test frame."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.analysis import bond_order, interface
from gdynet.data import splits, store

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"order_parameters {system}")
frames = store.open_frames(Path(snakemake.input[0]).parent)
selection = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets))
if not np.array_equal(np.ravel(frames.target_index), selection.index):
    raise ValueError(f"{frames.directory}: the frame store's targets are not those of "
                     f"{snakemake.input.targets}; run prepare_frames again")
try:
    criterion = bond_order.SolidCriterion(**snakemake.params.order)
except ValueError as err:
    raise ValueError(f"systems.{system}.interface.order: {err}") from None
test = splits.frames_of(io.load_json(snakemake.input.splits)["test"])
parts, chunk = [], 50
for start in range(0, len(test), chunk):
    idx = test[start:start + chunk]
    parts.append(bond_order.order_series(frames.coords[idx], frames.lattices[idx], criterion,
                                         atoms=selection.index))
    log.info("q%d over %d neighbours: %d / %d test frames", criterion.l, criterion.n_neighbors,
             start + len(idx), len(test))
out = {key: np.concatenate([getattr(p, key) for p in parts])
       for key in ("q_bar", "q_l", "n_crystal_bonds", "solid")}
log.info("solid: %.3f of the target atom-frames; mean q̄%d solid %.3f, liquid %.3f",
         out["solid"].mean(), criterion.l, out["q_bar"][out["solid"]].mean(),
         out["q_bar"][~out["solid"]].mean())
io.save_npz(snakemake.output[0], frames=test, atoms=selection.index, **out)
