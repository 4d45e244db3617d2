"""Fig. 4b: the most confident Li of every learned state with its first shell."""

from pathlib import Path

from gdynet import io, logs, plots
from gdynet.plots import electrolyte as electrolyte_plots

log = logs.to_file(snakemake.log[0], f"fig4b {snakemake.wildcards.system}")
states = io.load_json(snakemake.input.states)
pops = states["populations"]["learned"]
panels = io.load_json(Path(snakemake.input.configurations) / "panels.json")
for panel in panels:
    i = panel["state"]
    mean, low, high = (pops[key][i] for key in ("mean", "low", "high"))
    ci = f" ± {50 * (high - low):.1f}" if low is not None and high is not None else ""
    panel["title"] = f"{states['labels'][i]}\npopulation {100 * mean:.1f}{ci} %"
    panel["r_star"] = panel["r_star_A"]
fig = electrolyte_plots.configurations_figure(panels)
plots.save(fig, *snakemake.output)
