"""Supp. Fig. 2a: the slice of Fig. 3b coloured by each target atom's order parameter q̄_l."""

from pathlib import Path

import numpy as np

from gdynet import io, logs, plots
from gdynet.analysis import interface
from gdynet.data import splits, store
from gdynet.plots import interface as interface_plots

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"supp_fig2a {system}")
p = snakemake.params
frames = store.open_frames(Path(snakemake.input[0]).parent)
selection = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets))
test = splits.frames_of(io.load_json(snakemake.input.splits)["test"])
if p.frame >= len(test):
    raise ValueError(f"systems.{system}.interface.cross_section_frame: {p.frame} is beyond the "
                     f"{len(test)} test frames; use a smaller number")
with np.load(snakemake.input.observables) as f:
    order, solid = f["order"][p.frame], f["solid"][p.frame]
coords, lattice = np.asarray(frames.coords[test[p.frame]]), np.asarray(frames.lattices[test[p.frame]])
slab = selection.interfaces
cut = interface.cross_section(coords, lattice, selection.index, slab, p.thickness_A)
table = interface.cross_section_table(cut, selection.index, order=order)
table["solid"] = solid[cut.rows]
rest = np.setdiff1d(np.arange(len(frames.atom_types)), selection.index)
others = interface.cross_section_table(interface.cross_section(coords, lattice, rest, slab, p.thickness_A), rest)
fig = interface_plots.order_map_figure(
    table, slab.half_width_A, cut.normal_length_A, cut.inplane_length_A,
    order_label=interface_plots.q_bar_label(p.order["l"]), normal_name="xyz"[slab.axis],
    inplane_name="xyz"[cut.inplane_axis], others=others,
    time_ps=float(test[p.frame] * frames.frame_interval_ps))
plots.save(fig, *snakemake.output)
