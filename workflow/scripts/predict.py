"""Predict the state probabilities χ (frames, targets, states) of every test frame."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # gdynet, also in conda envs

import numpy as np

from gdynet import datasets, io, logs, training

log = logs.to_file(snakemake.log[0])
graphs_dir = Path(snakemake.input.data[0]).parent
frames, data = datasets.open_model_data(
    snakemake.wildcards.model, Path(snakemake.input.meta).parent, graphs_dir)
net = training.load_model(snakemake.input.model)
test = io.load_json(snakemake.input.splits)["test"]
chi = training.predict(net, data, test, device=snakemake.params.device, log=log)
with io.atomic_path(snakemake.output.chi) as tmp:
    np.save(tmp, chi)
log.info("wrote χ of %d test frames", chi.shape[0])
