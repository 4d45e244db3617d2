"""Supp. Fig. 2b: the distribution of the order parameter q̄_l in each learned state."""

import pandas as pd

from gdynet import logs, plots
from gdynet.analysis import bond_order
from gdynet.plots import interface as interface_plots

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"supp_fig2b {w.system} gdynet k{w.k}")
order = snakemake.params.order
reference = bond_order.PERFECT_Q_BAR.get((order["l"], order["n_neighbors"]))
fig = interface_plots.order_distribution_figure(
    pd.read_csv(snakemake.input.order_profiles), interface_plots.q_bar_label(order["l"]),
    reference=dict([reference]) if reference else None, state_table=pd.read_csv(snakemake.input.states))
plots.save(fig, *snakemake.output)
