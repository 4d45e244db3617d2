"""Fig. 5: the share of the Li-ion conduction carried by every transition i→j (Eq. 15-16)."""

import numpy as np
import pandas as pd

from gdynet import io, logs, plots
from gdynet.plots import electrolyte as electrolyte_plots

log = logs.to_file(snakemake.log[0], f"fig5 {snakemake.wildcards.system}")
states = io.load_json(snakemake.input.states)
table = pd.read_csv(snakemake.input.conduction)
matrix = {c: table.pivot(index="from_state", columns="to_state", values=c).to_numpy()
          for c in ("share", "share_ci_low", "share_ci_high")}
with np.load(snakemake.input.transport) as f:
    total = (float(f["conduction.total"]), float(f["total_low"]), float(f["total_high"]))
    tau_ps = float(f["tau_ps"])
fig = electrolyte_plots.conduction_figure(matrix["share"], matrix["share_ci_low"],
                                          matrix["share_ci_high"], labels=states["labels"],
                                          total_S_cm=total, tau_ps=tau_ps)
plots.save(fig, *snakemake.output)
