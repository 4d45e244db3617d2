"""Fig. 2b: relaxation timescales against lag time, GDyNet (local) vs VAMPnet (global)."""

import numpy as np
import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

log = logs.to_file(snakemake.log[0], f"fig2b {snakemake.wildcards.system}")
files = snakemake.params.files


def panel(model, title):
    choice = io.load_json(snakemake.input[f"{model}_tau_star"])
    tau_star = choice["tau_star_ps"]
    # each model's slowest timescale at its own training lag
    trained = pd.DataFrame([
        {"tau_ps": tau, "timescale_ps": t[(t.process == 1) & np.isclose(t.lag_ps, tau)].timescale_ps.iloc[0]}
        for tau, t in ((tau, pd.read_csv(path)) for tau, path in files[model].items())
    ])
    return {"table": pd.read_csv(files[model][tau_star]), "tau_star_ps": tau_star, "title": title,
            "trained": trained, "fallback": choice.get("fallback", False)}


local = panel("gdynet", "GDyNet (local dynamics)")
reference = io.load_json(snakemake.input.validation).get("reference_timescale_ps")
local.update(reference_ps=reference, reference_label="site labels, counted at τ*")
fig = koopman_plots.timescales_figure([
    local,
    panel("vampnet", "vanilla VAMPnet (global dynamics)"),
])
plots.save(fig, *snakemake.output)
