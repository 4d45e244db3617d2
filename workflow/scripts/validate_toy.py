"""Check the learned toy model against the geometric tet/oct ground truth (validation.json)."""

import numpy as np

from gdynet import io, logs
from gdynet.data import splits
from gdynet.systems.toy import validation

log = logs.to_file(snakemake.log[0], f"validate_toy {snakemake.wildcards.system}")
tau_star = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
test = io.load_json(snakemake.input.splits)["test"]
dt = io.load_json(snakemake.input.meta)["frame_interval_ps"]
lag = splits.to_frames(tau_star, dt)

chi = np.load(snakemake.params.chi[tau_star])
labels = np.load(snakemake.input.sites)
test_frames = splits.frames_of(test)
site_type = labels["site_type"][test_frames]
site_id = labels["site_id"][test_frames]

result = validation.validate(
    chi_pieces=splits.pieces(chi, test),
    site_type_pieces=splits.pieces(site_type, test),
    site_id_pieces=splits.pieces(site_id, test),
    lag=lag, lag_ps=tau_star,
)
result["tau_star_ps"] = tau_star
log.info("validation: %s", result)
io.save_json(snakemake.output[0], result)
