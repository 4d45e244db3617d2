"""Geometric ground truth: the tet/oct site of the Li in every frame of the toy system."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.data import store
from gdynet.systems.toy import sites

log = logs.to_file(snakemake.log[0], f"label_sites {snakemake.wildcards.system}")
frames = store.open_frames(Path(snakemake.input[0]).parent)
lattice_A = float(frames.lattices[0, 0, 0])
li = int(np.ravel(frames.target_index)[0])
# measure the Li from an S atom, so the FCC sites sit where sites.py expects them
# whatever origin the trajectory uses
s0 = int(np.flatnonzero(frames.atom_types == 16)[0])
li_from_s = np.asarray(frames.coords[:, li], dtype=np.float64) - np.asarray(frames.coords[0, s0])
site_type, site_id = sites.label_sites(li_from_s, lattice_A)
log.info("tet fraction %.4f over %d frames", site_type.mean(), site_type.size)
io.save_npz(snakemake.output[0], site_type=site_type, site_id=site_id)
