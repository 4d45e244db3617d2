"""Fig. 4c: the charge within r around the Li of every learned state (Supp. Note 3)."""

import numpy as np

from gdynet import io, logs, plots
from gdynet.plots import electrolyte as electrolyte_plots

log = logs.to_file(snakemake.log[0], f"fig4c {snakemake.wildcards.system}")
labels = io.load_json(snakemake.input.states)["labels"]
with np.load(snakemake.input.integral) as f:
    fig = electrolyte_plots.charge_integral_figure(
        f["learned_edges"], f["learned_integral"], f["learned_r_star"], f["learned_charge"],
        labels=labels)
plots.save(fig, *snakemake.output)
