"""Fig. 4b: the most confident Li of every learned state with its first shell."""

from pathlib import Path

from gdynet import io, logs, plots
from gdynet.plots import electrolyte as electrolyte_plots

log = logs.to_file(snakemake.log[0], f"fig4b {snakemake.wildcards.system}")
labels = io.load_json(snakemake.input.states)["labels"]
panels = io.load_json(Path(snakemake.input.configurations) / "panels.json")
for panel in panels:
    panel["title"] = labels[panel["state"]]
    panel["r_star"] = panel["r_star_A"]
fig = electrolyte_plots.configurations_figure(panels)
plots.save(fig, *snakemake.output)
