"""The system-independent Koopman figures of one (model, k) (paper Figs. 3d-f, 4d-f):
implied timescales, eigenvectors and CK test at τ*, populations, training curves.
Which one is drawn is the rule's `kind` param (rule names change under a module prefix)."""

import numpy as np
import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

w, p = snakemake.wildcards, snakemake.params
log = logs.to_file(snakemake.log[0], f"{snakemake.rule} {w.system} {w.model} k{w.k}")
choice = io.load_json(snakemake.input.tau_star)
tau = choice["tau_star_ps"]
name = {"gdynet": "GDyNet", "vampnet": "vanilla VAMPnet"}[w.model] + f", {w.k} states"

if p.kind == "timescales":
    trained = pd.DataFrame([
        {"tau_ps": t, "timescale_ps": df[(df.process == 1) & np.isclose(df.lag_ps, t)].timescale_ps.iloc[0]}
        for t, df in ((t, pd.read_csv(path)) for t, path in p.files.items())
    ])
    fig = koopman_plots.timescales_figure([{
        "table": pd.read_csv(p.files[tau]), "tau_star_ps": tau, "title": name,
        "trained": trained, "fallback": choice.get("fallback", False)}])
elif p.kind == "eigenvectors":
    result = io.load_json(p.files[tau])
    fig = koopman_plots.eigenvector_figure(result["eigenvectors"], result["timescales_ps"], tau, name)
elif p.kind == "ck":
    fig = koopman_plots.ck_figure([{"table": pd.read_csv(p.files[tau]), "title": f"{name}, τ = {tau:g} ps"}])
elif p.kind == "populations":
    result = io.load_json(p.files[tau])
    fig = koopman_plots.populations_figure(result["populations"], result["populations_ci_low"],
                                           result["populations_ci_high"], f"{name}, τ = {tau:g} ps")
elif p.kind == "training":
    fig = koopman_plots.training_figure({t: pd.read_csv(f) for t, f in p.files.items()}, name)
else:
    raise ValueError(f"koopman_figures.py draws no figure of kind {p.kind!r} (rule {snakemake.rule})")
plots.save(fig, *snakemake.output)
