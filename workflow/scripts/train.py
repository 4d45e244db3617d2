"""Train one model (GDyNet or vanilla VAMPnet) at one lag time by maximising VAMP-2."""

from pathlib import Path

import torch

from gdynet import io, logs
from gdynet.data import splits
from gdynet.learn import datasets, training

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"train {w.system} {w.model} k{w.k} tau{w.tau}ps")
torch.set_num_threads(snakemake.threads)
spec, settings = snakemake.params.model, training.TrainSettings(**snakemake.params.train)
frames, data = datasets.open_model_data(w.model, Path(snakemake.input.meta).parent,
                                        Path(snakemake.input.data[0]).parent)
ranges = io.load_json(snakemake.input.splits)
dt = frames.frame_interval_ps
try:  # the DAG-time checks could not see the frame counts (e.g. before a download)
    lag = splits.to_frames(float(w.tau), dt)
    for part in ("train", "val"):
        splits.check_lag(ranges[part], lag, part, dt)
except ValueError as err:
    raise ValueError(f"systems.{w.system}.models.{w.model}.lags_ps: {err}") from None

torch.manual_seed(settings.seed)  # initial weights; fit() seeds the batches
net = datasets.build_model(spec["kind"], frames, data, ranges["train"], **spec["hyper"])
trained = training.fit(
    net, data, train_ranges=ranges["train"], val_ranges=ranges["val"], lag=lag,
    frame_interval_ps=dt, settings=settings, checkpoint=snakemake.params.checkpoint,
    inputs=training.input_fingerprint(*snakemake.input.data, snakemake.input.splits),
    device=snakemake.config["training"]["device"], log=log,
)
training.save_model(snakemake.output.model, trained)
with io.atomic_path(snakemake.output.metrics) as tmp:
    trained.metrics.to_csv(tmp, index=False)
Path(snakemake.params.checkpoint).unlink(missing_ok=True)  # done: a forced rerun starts afresh
