"""Supp. Fig. 1: global timescales of the 8-state vanilla VAMPnet."""

import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

log = logs.to_file(snakemake.log[0], f"supp_fig1 {snakemake.wildcards.system}")
choice = io.load_json(snakemake.input.vampnet_tau_star)
tau_star = choice["tau_star_ps"]
table = pd.read_csv(snakemake.params.files["vampnet"][tau_star])
fig = koopman_plots.timescales_figure([{
    "table": table, "tau_star_ps": tau_star, "fallback": choice.get("fallback", False),
    "title": "vanilla VAMPnet, 8 states (global dynamics)",
}])
plots.save(fig, *snakemake.output)
