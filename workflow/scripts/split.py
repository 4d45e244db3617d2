"""Split every trajectory in time into train, validation and test frames."""

from pathlib import Path

from gdynet import io, logs
from gdynet.data import splits, store

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"split {system}")
frames = store.open_frames(Path(snakemake.input.meta).parent)
try:
    ranges = splits.make(frames.segments, frames.frame_interval_ps, snakemake.params.split)
except ValueError as err:  # the DAG-time checks could not see the frame counts
    raise ValueError(f"systems.{system}.split: {err}") from None
for name, r in ranges.items():
    log.info("%s: %d frames in %d ranges", name, sum(b - a for a, b in r), len(r))
io.save_json(snakemake.output[0], ranges)
