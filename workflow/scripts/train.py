"""Train one model (GDyNet or vanilla VAMPnet) at one lag time by maximising VAMP-2.

With training.gpus > 1 the script starts itself once per GPU (torchrun; srun + torchrun on
several nodes) and rank 0 writes the outputs (gdynet.learn.distributed).
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import torch

from gdynet import io, logs
from gdynet.data import splits
from gdynet.learn import datasets, distributed, seeds, training

w, res = snakemake.wildcards, snakemake.resources
gpus, nodes = int(res.get("gpu", 0)), int(res.get("nodes", 1))
if gpus * nodes > 1 and not distributed.launched():
    head = None
    if nodes > 1:  # inside the SLURM allocation: the first of its nodes hosts the rendezvous
        head = subprocess.run(["scontrol", "show", "hostnames", os.environ["SLURM_JOB_NODELIST"]],
                              capture_output=True, text=True, check=True).stdout.split()[0]
    sys.exit(subprocess.run(distributed.launch_command(sys.argv[0], gpus, nodes, python=sys.executable,
                                                       head_node=head)).returncode)

device = snakemake.config["training"]["device"]
if distributed.launched():
    device = distributed.init_from_environment(device)
rank, _ = distributed.rank_and_size()
log = logs.to_file(snakemake.log[0] if rank == 0 else f"{snakemake.log[0]}.rank{rank}",
                   f"train {w.system} {w.model} k{w.k} tau{w.tau}ps")
torch.set_num_threads(snakemake.threads)
train_params = dict(snakemake.params.train)
n_seeds = int(train_params.pop("seeds", 1))
spec, settings = snakemake.params.model, training.TrainSettings(**train_params)
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

runs, results = [], []
for i in range(n_seeds):  # seeds seed, seed+1, ...: keep the best on validation VAMP-2
    run = dataclasses.replace(settings, seed=settings.seed + i)
    torch.manual_seed(run.seed)  # initial weights; fit() seeds the batches
    net = datasets.build_model(spec["kind"], frames, data, ranges["train"], **spec["hyper"])
    trained = training.fit(
        net, data, train_ranges=ranges["train"], val_ranges=ranges["val"], lag=lag,
        frame_interval_ps=dt, settings=run,
        checkpoint=snakemake.params.checkpoint + (f".seed{run.seed}" if i else ""),
        inputs=training.input_fingerprint(*snakemake.input.data, snakemake.input.splits),
        device=device, log=log,
    )
    runs.append(trained)
    if rank == 0:
        val_chi = splits.pieces(training.predict(trained, data, ranges["val"], device=device),
                                ranges["val"])
        results.append(seeds.evaluate(run.seed, trained.metrics, val_chi, lag, float(w.tau)))
if rank == 0:
    chosen = seeds.best(results)
    trained = runs[chosen]
    log.info("seeds (validation frames):\n%s",
             seeds.table(results, chosen).to_string(index=False))
    for message in seeds.warnings(trained.metrics, int(w.k), timescale_ps=results[chosen].timescale_ps,
                                  lag_ps=float(w.tau)):
        log.warning("WARNING %s %s k%s tau%sps: %s", w.system, w.model, w.k, w.tau, message)
        print(f"WARNING {w.system} {w.model} k{w.k} tau{w.tau}ps: {message}", file=sys.__stderr__)
    training.save_model(snakemake.output.model, trained)
    with io.atomic_path(snakemake.output.metrics) as tmp:
        trained.metrics.to_csv(tmp, index=False)
    with io.atomic_path(snakemake.output.seeds) as tmp:
        seeds.table(results, chosen).to_csv(tmp, index=False)
    for i in range(n_seeds):  # done: a forced rerun starts afresh
        Path(snakemake.params.checkpoint + (f".seed{settings.seed + i}" if i else "")).unlink(missing_ok=True)
