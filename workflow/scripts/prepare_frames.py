"""Validate the system's trajectories and concatenate them into the frame store."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # gdynet, also in conda envs

from gdynet import logs, store

log = logs.to_file(snakemake.log[0])
source = Path(snakemake.input[0])
paths = sorted(source.glob("*.npz")) if source.is_dir() else [Path(p) for p in snakemake.input]
if not paths:
    raise FileNotFoundError(f"{source}: no .npz trajectories found")
log.info("reading %d trajectories from %s", len(paths), source)
store.write_frames(
    paths,
    names=[p.stem for p in paths],
    out_dir=Path(snakemake.output[0]).parent,
    frame_interval_ps=snakemake.params.frame_interval_ps,
)
log.info("wrote the frame store to %s", Path(snakemake.output[0]).parent)
