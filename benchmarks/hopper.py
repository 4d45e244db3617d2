"""Known-answer training study on the hopper lattice (issue 8): how fast GDyNet learns
a few two-state hoppers among many atoms, one training factor at a time.

Run from the repository root, in the project's environment:

    PYTHONPATH=workflow:tests nice -n 10 python benchmarks/hopper.py --shift 0.2     # all cases
    PYTHONPATH=workflow:tests nice -n 10 python benchmarks/hopper.py --shift 0.35 base lr_2e-3

The system (tests/synthetic.py, `hopper_frames`): 216 atoms of a 6 x 6 x 6 simple cubic
lattice (a = 3 Å, 0.1 Å thermal noise), 5 Li targets that hop between their site and a
site displaced `--shift` a by independent two-state Markov chains, t2 = 19.5 ps at 0.1 ps
per frame; 20,000 frames, split 40 / 10 / 50 % (train / val / test), lag τ = 2 ps, where
the hidden states score VAMP-2 = 1 + exp(-τ / t2)^2 = 1.81. Each case trains GDyNet
(F = 16, 3 convolutions, M = 12) with `gdynet.learn.training.fit`, from the issue's budget
(5 epochs x 50 steps x 64 target pairs, learning rate 5e-4, batch norm) with one factor
changed, and measures on the test frames the slowest implied timescale of K(τ) of the
predicted χ and its VAMP-2. References on the same frames: the hidden states themselves,
and `per_frame_limit`, a quadratic discriminant fitted on the training frames to the
hidden state from a target's 12 sorted neighbour distances (what a per-frame model of
the same graph can reach: with a small shift some frames are ambiguous, and their flicker
shortens the timescale at short τ however well the network is trained). One torch thread.

Prints one JSON object per line: {"case", "metric", "value", "unit"}.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
import torch

from gdynet.analysis import koopman
from gdynet.learn.model import GDyNet
from gdynet.learn.training import TrainSettings, fit, predict
from gdynet.learn.vamp import lagged_score_np
from synthetic import HOPPER_DT_PS, HOPPER_T2_PS, hopper_graphs, hopper_max_vamp2

N_FRAMES, LAG = 20_000, 20  # lag in frames: τ = 2 ps
TOY = dict(epochs=5, steps=50, pairs=64, lr=5e-4, batch_norm=True)  # the budget
CASES = {
    "base": {},
    "lr_2e-3": dict(lr=2e-3),
    "lr_5e-3": dict(lr=5e-3),
    "no_batch_norm": dict(batch_norm=False),
    "pairs_512": dict(pairs=512),
    "steps_200": dict(steps=200),
    "epochs_20_lr_2e-3": dict(epochs=20, lr=2e-3),
    "template": dict(epochs=10, steps=100, pairs=512),  # config/own-data.yaml's budget
}


def timescale(chi, lag):
    return float(koopman.implied_timescales(koopman.koopman_matrix([chi], lag), lag * HOPPER_DT_PS)[0])


def run(data, types, targets, ranges, case, epochs, steps, pairs, lr, batch_norm, seed=0):
    torch.manual_seed(seed)
    net = GDyNet(types, targets, n_states=2, atom_fea_len=16, n_conv=3, radius_A=7.0,
                 batch_norm=batch_norm)
    settings = TrainSettings(epochs=epochs, steps_per_epoch=steps, batch_pairs=pairs, learning_rate=lr,
                             seed=seed, val_pairs=5000)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        trained = fit(net, data, train_ranges=[ranges["train"]], val_ranges=[ranges["val"]], lag=LAG,
                      frame_interval_ps=HOPPER_DT_PS, settings=settings, checkpoint=f"{tmp}/c.pt",
                      device="cpu")
    seconds = time.perf_counter() - t0
    chi = predict(trained, data, [ranges["test"]], device="cpu")
    val = trained.metrics["val_vamp2"].to_numpy()
    return [(case, "timescale", timescale(chi, LAG), "ps"),
            (case, "test_vamp2", lagged_score_np(chi, LAG), ""),
            (case, "best_val_vamp2", float(val.max()), ""),
            (case, "last_epoch_gain", float(val[-1] - val[:-1].max()), ""),
            (case, "train_seconds", seconds, "s")]


def per_frame_limit(dist, states, train, test):
    """χ (test frames, 5, 2) of a quadratic discriminant on each target's sorted neighbour
    distances (dist (F, 5, M) Å), fitted to the hidden states of the training frames."""
    x = dist[train[0]:train[1]].reshape(-1, dist.shape[-1]).astype(float)
    y = states[train[0]:train[1]].ravel()
    z = dist[test[0]:test[1]].reshape(-1, dist.shape[-1]).astype(float)
    logp = []
    for k in (0, 1):
        xk = x[y == k]
        mean, cov = xk.mean(0), np.cov(xk.T) + 1e-6 * np.eye(x.shape[1])
        d = np.linalg.solve(cov, (z - mean).T).T
        logp.append(np.log(len(xk)) - 0.5 * np.linalg.slogdet(cov)[1] - 0.5 * np.sum((z - mean) * d, axis=1))
    logp = np.stack(logp, -1)
    p = np.exp(logp - logp.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)).reshape(test[1] - test[0], dist.shape[1], 2)


def emit(rows):
    for row in rows:
        print(json.dumps(dict(zip(("case", "metric", "value", "unit"), row))), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", default=list(CASES), help=f"of {list(CASES)}")
    parser.add_argument("--shift", type=float, default=0.2, help="displacement of state 1, lattice constants")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data, types, targets, states = hopper_graphs(N_FRAMES, shift=args.shift)
    cut = (int(0.4 * N_FRAMES), int(0.5 * N_FRAMES))
    ranges = dict(train=(0, cut[0]), val=(cut[0], cut[1]), test=(cut[1], N_FRAMES))
    hidden = np.eye(2)[states[cut[1]:]]
    limit = per_frame_limit(data.batch(np.arange(N_FRAMES))[1].numpy()[:, targets], states, ranges["train"],
                            ranges["test"])
    emit([("truth", "timescale", HOPPER_T2_PS, "ps"),
          ("truth", "max_vamp2", hopper_max_vamp2(LAG * HOPPER_DT_PS), ""),
          ("hidden_states", "timescale", timescale(hidden, LAG), "ps"),
          ("hidden_states", "test_vamp2", lagged_score_np(hidden, LAG), ""),
          ("per_frame_limit", "timescale", timescale(limit, LAG), "ps"),
          ("per_frame_limit", "test_vamp2", lagged_score_np(limit, LAG), "")])
    for name in args.cases:
        emit(run(data, types, targets, ranges, name, **{**TOY, **CASES[name]}))


if __name__ == "__main__":
    main()
