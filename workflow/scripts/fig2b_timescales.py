"""Fig. 2b: relaxation timescales against lag time, GDyNet (local) vs VAMPnet (global)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # gdynet, also in conda envs

import pandas as pd

from gdynet import io, logs, plots

log = logs.to_file(snakemake.log[0])
inp, params = snakemake.input, snakemake.params


def panel(model, title):
    lags = [float(t) for t in params[f"{model}_lags_ps"]]
    tau_star = io.load_json(inp[f"{model}_tau_star"])["tau_star_ps"]
    tables = [pd.read_csv(path) for path in inp[model]]
    best = tables[lags.index(float(tau_star))]
    # each model's slowest timescale at its own training lag
    trained = pd.DataFrame([
        {"tau_ps": tau, "timescale_ps": t.query("process == 1 and lag_ps == @tau")["timescale_ps"].iloc[0]}
        for tau, t in zip(lags, tables)
    ])
    return {"table": best, "tau_star_ps": tau_star, "title": title, "trained": trained}


fig = plots.timescales_figure([
    panel("gdynet", "GDyNet (local dynamics)"),
    panel("vampnet", "vanilla VAMPnet (global dynamics)"),
])
plots.save(fig, *snakemake.output)
