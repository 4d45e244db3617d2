"""Fig. 2d: CK test of GDyNet (local) and vanilla VAMPnet (global) at their τ*."""

import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import koopman as koopman_plots

log = logs.to_file(snakemake.log[0], f"fig2d {snakemake.wildcards.system}")


validation = io.load_json(snakemake.input.validation)


def panel(model, title, names=None):
    tau_star = io.load_json(snakemake.input[f"{model}_tau_star"])["tau_star_ps"]
    table = pd.read_csv(snakemake.params.files[model][tau_star])
    return {"table": table, "title": f"{title}, τ = {tau_star:g} ps", "state_names": names}


# the GDyNet's states are the geometric sites (validation.json says which one is oct)
oct_state = validation.get("oct_state")
names = None if oct_state is None else ["oct", "tet"] if oct_state == 0 else ["tet", "oct"]
fig = koopman_plots.ck_figure([panel("gdynet", "GDyNet", names), panel("vampnet", "vanilla VAMPnet")])
plots.save(fig, *snakemake.output)
