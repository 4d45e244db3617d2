"""Check the learned interface states against the order-parameter labels (validation.json)."""

import numpy as np

from gdynet import io, logs
from gdynet.analysis import interface
from gdynet.data import splits
from gdynet.systems.interface import validation

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"validate_interface {system}")
p = snakemake.params
tau_star = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
test = io.load_json(snakemake.input.splits)["test"]
dt = io.load_json(snakemake.input.meta)["frame_interval_ps"]
selection = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets))
with np.load(snakemake.input.observables) as f:
    obs = interface.TargetObservables.from_arrays(f)
chi = np.load(p.chi[tau_star])  # unclipped: its K(τ*) is that of timescales.csv
lengths = [b - a for a, b in test]
persistence = max(1, round(p.persistence_ps / dt))
lag = splits.to_frames(tau_star, dt)
result = validation.validate(splits.pieces(chi, test), obs.pieces(lengths), selection.interfaces,
                             lag=lag, lag_ps=tau_star, min_frames=persistence, bin_A=p.bin_A)
test_ns = sum(lengths) * dt / 1000
exchanges = sum(interface.count_exchanges(piece.solid, persistence) for piece in obs.pieces(lengths))
result.update(model="gdynet", n_states=p.n_states, tau_star_ps=tau_star,
              target_rule=selection.rule, n_targets=int(len(selection.index)),
              test_frames=int(sum(lengths)), test_ns=test_ns, persistence_ps=persistence * dt,
              label_exchanges=exchanges, label_exchanges_per_target_ns=exchanges / len(selection.index) / test_ns)
log.info("validation: %s", result)
io.save_json(snakemake.output[0], result)
