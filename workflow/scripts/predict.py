"""Predict the state probabilities χ (frames, targets, states) of every test frame."""

from pathlib import Path

import numpy as np
import torch

from gdynet import io, logs
from gdynet.learn import datasets, simplex, training

log = logs.to_file(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
graphs_dir = Path(snakemake.input.data[0]).parent
frames, data = datasets.open_model_data(
    snakemake.wildcards.model, Path(snakemake.input.meta).parent, graphs_dir)
net = training.load_model(snakemake.input.model)
test = io.load_json(snakemake.input.splits)["test"]
chi = training.predict(net, data, test, device=snakemake.params.device, log=log)
chi = simplex.to_simplex(chi, np.asarray(net.meta["simplex_corners"]))
with io.atomic_path(snakemake.output.chi) as tmp:
    np.save(tmp, chi)
log.info("wrote χ of %d test frames; mean state populations %s", chi.shape[0],
         np.round(chi.mean(axis=(0, 1)), 4))
