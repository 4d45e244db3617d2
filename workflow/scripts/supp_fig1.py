"""Supp. Fig. 1: global timescales of the 8-state vanilla VAMPnet."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # gdynet, also in conda envs

import pandas as pd

from gdynet import io, logs, plots

log = logs.to_file(snakemake.log[0])
lags = [float(t) for t in snakemake.params.lags_ps]
tau_star = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
table = pd.read_csv(snakemake.input.timescales[lags.index(float(tau_star))])
fig = plots.timescales_figure([{
    "table": table, "tau_star_ps": tau_star,
    "title": "vanilla VAMPnet, 8 states (global dynamics)",
}])
plots.save(fig, *snakemake.output)
