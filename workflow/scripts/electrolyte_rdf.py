"""State-weighted RDFs (Eq. 12) around the Li of the test trajectories: for the learned
states at τ* and for the geometric classes, in one pass over the frames."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.analysis import rdf
from gdynet.data import splits, store
from gdynet.systems.electrolyte import shells
from gdynet.learn import simplex

log = logs.to_file(snakemake.log[0], f"electrolyte_rdf {snakemake.wildcards.system}")
p = snakemake.params
frames = store.open_frames(Path(snakemake.input[0]).parent)
tau = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
test = io.load_json(snakemake.input.splits)["test"]
chi = splits.pieces(simplex.probabilities(np.load(p.chi[tau])), test)
geometric = splits.pieces(np.load(snakemake.input.geometric)["labels"], test)
k = chi[0].shape[-1]

total = None
for (a, b), c, g in zip(test, chi, geometric):
    both = np.concatenate([np.asarray(c, np.float32), shells.one_hot(g)], axis=-1)
    part = rdf.state_rdf(frames.coords[a:b], frames.lattices[a:b], both, frames.atom_types,
                         frames.target_index, p.elements, p.r_max_A, p.bins)
    total = part if total is None else total + part
    log.info("frames %d-%d done", a, b)
total.select(slice(0, k)).save(snakemake.output.learned)
total.select(slice(k, None)).save(snakemake.output.geometric)
log.info("RDFs of elements %s to %g Å in %d bins over %d frames", p.elements, p.r_max_A, p.bins,
         total.n_frames)
