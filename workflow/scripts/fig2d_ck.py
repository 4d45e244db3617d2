"""Fig. 2d: CK test of GDyNet (local) and vanilla VAMPnet (global) at their τ*."""

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
    table = pd.read_csv(inp[model][lags.index(float(tau_star))])
    return {"table": table, "title": f"{title}, τ = {tau_star:g} ps"}


fig = plots.ck_figure([panel("gdynet", "GDyNet"), panel("vampnet", "vanilla VAMPnet")])
plots.save(fig, *snakemake.output)
