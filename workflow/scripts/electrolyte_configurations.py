"""The most confident Li of every learned state with its first shell (Fig. 4b): extended XYZ
files for OVITO or VMD, and the panels of the figure."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.analysis import electrolyte as el
from gdynet.data import splits, store
from gdynet.learn import simplex

log = logs.to_file(snakemake.log[0], f"electrolyte_configurations {snakemake.wildcards.system}")
frames = store.open_frames(Path(snakemake.input[0]).parent)
tau = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
test = io.load_json(snakemake.input.splits)["test"]
chi = splits.pieces(simplex.probabilities(np.load(snakemake.params.chi[tau])), test)
r_star = io.load_json(snakemake.input.charges)["learned"]["r_star_A"]
CONTEXT = 1.3  # atoms out to 1.3 r*: the shell and what holds it (whole anions, chain)
segment_of = {seg.start: seg.name for seg in frames.segments}

panels = []
with io.atomic_dir(snakemake.output[0]) as tmp:
    for rep in el.most_confident(chi):
        start = test[rep.segment][0]
        frame = start + rep.frame
        atom = int(frames.target_index[rep.target])
        conf = el.shell_configuration(frames.coords[frame], frames.lattices[frame],
                                      frames.atom_types, atom, CONTEXT * r_star[rep.state])
        where = {"state": rep.state, "trajectory": segment_of.get(start, f"range-{rep.segment}"),
                 "frame": rep.frame, "time_ps": rep.frame * frames.frame_interval_ps,
                 "atom": atom, "probability": round(rep.probability, 4),
                 "r_star_A": round(r_star[rep.state], 3)}
        el.write_extxyz(tmp / f"state{rep.state}.extxyz", conf, where)
        panels.append(dict(where, atom_types=conf.atom_types, positions=conf.positions))
        log.info("state %d: χ = %.3f at %s frame %d (Li atom %d), %d atoms within %.2f Å",
                 rep.state, rep.probability, where["trajectory"], rep.frame, atom,
                 len(conf.indices), CONTEXT * r_star[rep.state])
    io.save_json(tmp / "panels.json", panels)
