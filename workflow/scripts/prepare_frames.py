"""Validate the system's trajectories and concatenate them into the frame store."""

from pathlib import Path

from gdynet import io, logs
from gdynet.data import store, trajectory

log = logs.to_file(snakemake.log[0], f"prepare_frames {snakemake.wildcards.system}")
inputs = snakemake.input.trajectories
inputs = [inputs] if isinstance(inputs, str) else list(inputs)
source = Path(inputs[0])
paths = sorted(source.glob("*.npz")) if source.is_dir() else [Path(p) for p in inputs]
if not paths:
    raise FileNotFoundError(f"{source}: no .npz trajectories found")
log.info("reading %d trajectories", len(paths))

dt = snakemake.params.frame_interval_ps
if dt is None:  # config gives the trajectory length instead (PEO: 80 ns each)
    n_frames = trajectory.inspect(paths[0]).n_frames
    dt = snakemake.params.trajectory_ns * 1000.0 / n_frames
    log.info("frame interval %.6g ps = %g ns / %d frames", dt, snakemake.params.trajectory_ns, n_frames)
targets = None
if snakemake.input.targets:  # chosen by the interface analysis (targets.json), not the files'
    targets = io.load_json(snakemake.input.targets)["target_index"]
    log.info("targets: the %d atoms of %s replace the files' own", len(targets), snakemake.input.targets)
store.write_frames(paths, names=[p.stem for p in paths],
                   out_dir=Path(snakemake.output[0]).parent, frame_interval_ps=dt,
                   target_index=targets)
log.info("wrote the frame store to %s", Path(snakemake.output[0]).parent)
