"""Supp. Fig. 1: global timescales of the 8-state vanilla VAMPnet."""



import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

log = logs.to_file(snakemake.log[0])
tau_star, path = io.at_tau_star(snakemake.input.tau_star, snakemake.params.lags_ps,
                               snakemake.input.timescales)
table = pd.read_csv(path)
fig = koopman_plots.timescales_figure([{
    "table": table, "tau_star_ps": tau_star,
    "title": "vanilla VAMPnet, 8 states (global dynamics)",
}])
plots.save(fig, *snakemake.output)
