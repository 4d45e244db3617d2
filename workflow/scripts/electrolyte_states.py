"""Populations of the learned states at τ* and of the geometric classes (95 % CI over the
test trajectories), and the agreement of the learned states with the classes."""

import numpy as np
import pandas as pd

from gdynet import io, logs
from gdynet.analysis import electrolyte as el
from gdynet.data import splits
from gdynet.systems.electrolyte import shells
from gdynet.learn import simplex

log = logs.to_file(snakemake.log[0], f"electrolyte_states {snakemake.wildcards.system}")
tau = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
test = io.load_json(snakemake.input.splits)["test"]
chi = splits.pieces(simplex.probabilities(np.load(snakemake.params.chi[tau])), test)
geometric = splits.pieces(np.load(snakemake.input.geometric)["labels"], test)
k = chi[0].shape[-1]

learned = el.populations(chi)
classes = el.populations([shells.one_hot(g) for g in geometric])
agreement = el.state_agreement(np.concatenate([np.asarray(c).argmax(-1) for c in chi]),
                               np.concatenate(geometric), n_learned=k,
                               n_reference=shells.N_STATES)
# a learned state is named after its mapped class only where most of its frames are in it
majority = agreement.confusion.max(axis=1) / np.maximum(agreement.confusion.sum(axis=1), 1)
labels = [f"state {i}" + (f" ≈ {shells.STATE_NAMES[c]}" if c >= 0 and majority[i] > 0.5
                          and agreement.confusion[i].argmax() == c else "")
          for i, c in enumerate(agreement.mapping)]
log.info("τ* = %g ps; learned populations %s %%, geometric %s %%; balanced agreement %.3f",
         tau, np.round(100 * learned.mean, 1), np.round(100 * classes.mean, 1),
         agreement.balanced_accuracy)

rows = []
for source, pops, names in (("learned", learned, labels), ("geometric", classes, shells.STATE_NAMES)):
    for i, name in enumerate(names):
        rows.append({"source": source, "state": i, "name": name,
                     "population_percent": 100 * pops.mean[i],
                     "ci_low_percent": 100 * pops.low[i], "ci_high_percent": 100 * pops.high[i]})
with io.atomic_path(snakemake.output.populations) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
io.save_json(snakemake.output.states, {
    "tau_star_ps": tau, "n_states": k, "labels": labels,
    "geometric_names": list(shells.STATE_NAMES),
    "populations": {"learned": learned.to_dict(), "geometric": classes.to_dict()},
    "agreement": agreement.to_dict(),
})
