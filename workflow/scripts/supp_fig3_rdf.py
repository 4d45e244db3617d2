"""Supp. Fig. 3: state-weighted RDFs g(r) and coordination numbers n(r) around the Li."""

from gdynet import io, logs, plots
from gdynet.analysis.rdf import load_rdf
from gdynet.plots import electrolyte as electrolyte_plots

log = logs.to_file(snakemake.log[0], f"supp_fig3 {snakemake.wildcards.system}")
rdf = load_rdf(snakemake.input.rdf)
labels = io.load_json(snakemake.input.states)["labels"]
r_star = io.load_json(snakemake.input.charges)["learned"]["r_star_A"]
fig = electrolyte_plots.rdf_figure(rdf.r, rdf.g, rdf.coordination, rdf.elements, r_star=r_star,
                                   labels=labels)
plots.save(fig, *snakemake.output)
