"""Fig. 2b: relaxation timescales against lag time, GDyNet (local) vs VAMPnet (global)."""



import numpy as np
import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

log = logs.to_file(snakemake.log[0])
inp, params = snakemake.input, snakemake.params


def panel(model, title):
    lags = [float(t) for t in params[f"{model}_lags_ps"]]
    tau_star, best = io.at_tau_star(inp[f"{model}_tau_star"], lags, inp[model])
    tables = [pd.read_csv(path) for path in inp[model]]
    # each model's slowest timescale at its own training lag
    trained = pd.DataFrame([
        {"tau_ps": tau, "timescale_ps": t[(t.process == 1) & np.isclose(t.lag_ps, tau)].timescale_ps.iloc[0]}
        for tau, t in zip(lags, tables)
    ])
    return {"table": pd.read_csv(best), "tau_star_ps": tau_star, "title": title, "trained": trained}


fig = koopman_plots.timescales_figure([
    panel("gdynet", "GDyNet (local dynamics)"),
    panel("vampnet", "vanilla VAMPnet (global dynamics)"),
])
plots.save(fig, *snakemake.output)
