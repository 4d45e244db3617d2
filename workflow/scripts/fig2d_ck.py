"""Fig. 2d: CK test of GDyNet (local) and vanilla VAMPnet (global) at their τ*."""



import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

log = logs.to_file(snakemake.log[0])
inp, params = snakemake.input, snakemake.params


def panel(model, title):
    tau_star, path = io.at_tau_star(inp[f"{model}_tau_star"], params[f"{model}_lags_ps"], inp[model])
    return {"table": pd.read_csv(path), "title": f"{title}, τ = {tau_star:g} ps"}


fig = koopman_plots.ck_figure([panel("gdynet", "GDyNet"), panel("vampnet", "vanilla VAMPnet")])
plots.save(fig, *snakemake.output)
