"""Fig. 3c: the distribution of each learned state's atoms along the interface normal."""

import pandas as pd

from gdynet import io, logs, plots
from gdynet.analysis import interface
from gdynet.plots import interface as interface_plots

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"fig3c {w.system} gdynet k{w.k}")
slab = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets)).interfaces
fig = interface_plots.z_profile_figure(pd.read_csv(snakemake.input.z_profiles), slab.half_width_A,
                                       normal_name="xyz"[slab.axis])
plots.save(fig, *snakemake.output)
