"""Train one model (GDyNet or vanilla VAMPnet) at one lag time by maximising VAMP-2."""

from pathlib import Path

import torch

from gdynet import io, logs
from gdynet.data import splits
from gdynet.learn import datasets, model, training

log = logs.to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
w, hyper = snakemake.wildcards, dict(snakemake.params.hyper)
graphs_dir = Path(snakemake.input.data[0]).parent
frames, data = datasets.open_model_data(w.model, Path(snakemake.input.meta).parent, graphs_dir)
ranges = io.load_json(snakemake.input.splits)
# a lag too long for the splits (or its CK horizon for the test split) fails before training
key = f"systems.{w.system}"
[lag] = splits.check_lags(ranges, frames.frame_interval_ps, [hyper["lag_ps"]],
                          ck_steps=snakemake.params.ck_steps, key=f"{key}.models.{w.model}.lags_ps",
                          ck_key=f"{key}.koopman.ck_steps")

torch.manual_seed(hyper["seed"])  # initial weights; fit() seeds the batches
if w.model == "gdynet":
    net = model.GDyNet(
        frames.atom_types, frames.target_index, n_states=hyper["n_states"],
        atom_fea_len=hyper["atom_fea_len"], n_conv=hyper["n_conv"],
        radius_A=hyper["radius_A"], batch_norm=hyper["batch_norm"],
    )
else:
    mean, std = training.feature_mean_std(data, ranges["train"])
    net = model.VAMPNet(data.features.shape[1], n_states=hyper["n_states"],
                        hidden=hyper["hidden"], mean=mean, std=std)

log.info("training %s with %d states at lag %g ps (%d frames)", w.model, hyper["n_states"],
         hyper["lag_ps"], lag)
metrics = training.fit(
    net, data, train_ranges=ranges["train"], val_ranges=ranges["val"], lag=lag,
    epochs=hyper["epochs"], steps_per_epoch=hyper["steps_per_epoch"],
    batch_size=hyper["batch_size"], lr=hyper["learning_rate"], seed=hyper["seed"],
    checkpoint=snakemake.params.checkpoint, device=snakemake.params.device, log=log,
)

# VAMP-2 leaves the states' scale free: fix it on training frames (see gdynet.learn.simplex)
corners = training.state_corners(net, data, ranges["train"], seed=hyper["seed"],
                                 device=snakemake.params.device, log=log)

training.save_model(snakemake.output.model, net,
                    meta={**hyper, "lag_frames": lag, "simplex_corners": corners.tolist()})
with io.atomic_path(snakemake.output.metrics) as tmp:
    metrics.to_csv(tmp, index=False)
