"""Predict the state probabilities χ (frames, targets, states) of every test frame."""

from pathlib import Path

import numpy as np
import torch

from gdynet import io, logs
from gdynet.learn import datasets, training

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"predict {w.system} {w.model} k{w.k} tau{w.tau}ps")
torch.set_num_threads(snakemake.threads)
device = snakemake.config["training"]["device"]
_, data = datasets.open_model_data(w.model, Path(snakemake.input.meta).parent,
                                   Path(snakemake.input.data[0]).parent)
trained = training.load_model(snakemake.input.model, device=training.resolve_device(device))
chi = training.predict(trained, data, io.load_json(snakemake.input.splits)["test"], device=device, log=log)
with io.atomic_path(snakemake.output.chi) as tmp:
    np.save(tmp, chi)
log.info("wrote χ of %d test frames; mean state populations %s", chi.shape[0],
         np.round(chi.mean(axis=(0, 1)), 4))
