"""summary.csv of one (model, k): τ*, timescales and populations with 95 % CIs, VAMP-2."""

import pandas as pd

from gdynet import io, logs
from gdynet.analysis import koopman
from gdynet.learn import seeds

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"koopman_summary {w.system} {w.model} k{w.k}")
p = snakemake.params
choice = io.load_json(snakemake.input.tau_star)
tau = choice["tau_star_ps"]
result = io.load_json(p.koopman[tau])
table = koopman.summary_table(
    tau, choice.get("fallback", False), pd.read_csv(p.timescales[tau]),
    result["populations"], result["populations_ci_low"], result["populations_ci_high"],
    pd.read_csv(p.metrics[tau]),
)
metrics = pd.read_csv(p.metrics[tau])
seed_table = pd.read_csv(p.seeds[tau])
for message in seeds.warnings(metrics, int(w.k), timescale_ps=seeds.chosen_timescale(seed_table),
                              lag_ps=float(tau)):
    log.warning("WARNING model at τ* = %g ps: %s", tau, message)
pops = table[table.quantity == "population"]
if ((pops.value < -1) | (pops.value > 101)).any():  # the states' clusters overlap
    log.warning("WARNING populations %s %% lie outside [0, 100] by more than 1 %%: the learned "
                "states are not separated (see the training warnings); train longer or with "
                "fewer states", pops.value.round(2).tolist())
table = pd.concat([table, seeds.summary_rows(metrics, int(w.k), seed_table, float(tau))],
                  ignore_index=True)
log.info("summary at τ* = %g ps:\n%s", tau, table.to_string(index=False))
with io.atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False)
