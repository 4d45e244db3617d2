"""Split every trajectory in time into train, validation and test frames."""

from pathlib import Path

from gdynet import io, logs
from gdynet.data import splits, store

log = logs.to_file(snakemake.log[0])
frames = store.open_frames(Path(snakemake.input.meta).parent)
key = f"systems.{snakemake.wildcards.system}.split"
ranges = splits.make(frames.segments, frames.frame_interval_ps, snakemake.params.split, key=key)
for name, r in ranges.items():
    log.info("%s: %d frames in %d ranges", name, sum(b - a for a, b in r), len(r))
io.save_json(snakemake.output[0], ranges)
