"""Fig. 3b: a slice of the target atoms in one test frame, coloured by state probability."""

from pathlib import Path

import numpy as np
import pandas as pd

from gdynet import io, logs, plots
from gdynet.analysis import interface
from gdynet.data import splits, store
from gdynet.plots import interface as interface_plots
from gdynet.learn import simplex

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"fig3b {w.system} gdynet k{w.k}")
p = snakemake.params
frames = store.open_frames(Path(snakemake.input[0]).parent)
selection = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets))
tau_star = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
chi = np.load(p.chi[tau_star], mmap_mode="r")  # one frame is drawn
test = splits.frames_of(io.load_json(snakemake.input.splits)["test"])
if p.frame >= len(test):
    raise ValueError(f"systems.{w.system}.interface.cross_section_frame: {p.frame} is beyond the "
                     f"{len(test)} test frames; use a smaller number")
names = pd.read_csv(snakemake.input.states).sort_values("state")["name"].tolist()
coords, lattice = np.asarray(frames.coords[test[p.frame]]), np.asarray(frames.lattices[test[p.frame]])
slab = selection.interfaces
cut = interface.cross_section(coords, lattice, selection.index, slab, p.thickness_A)
table = interface.cross_section_table(cut, selection.index, chi=simplex.probabilities(chi[p.frame]))
rest = np.setdiff1d(np.arange(len(frames.atom_types)), selection.index)
others = interface.cross_section_table(interface.cross_section(coords, lattice, rest, slab, p.thickness_A), rest)
log.info("frame %d (test frame %d): %d targets and %d other atoms in a %.1f Å slice",
         test[p.frame], p.frame, len(table), len(others), p.thickness_A)
fig = interface_plots.cross_section_figure(
    table, names, slab.half_width_A, cut.normal_length_A, cut.inplane_length_A,
    normal_name="xyz"[slab.axis], inplane_name="xyz"[cut.inplane_axis], others=others,
    time_ps=float(test[p.frame] * frames.frame_interval_ps))
plots.save(fig, *snakemake.output)
