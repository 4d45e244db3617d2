"""One-command check of the CUDA code paths: train and predict a small system on the GPU and
on the CPU, and compare.

    .venv/bin/python benchmarks/cuda_check.py            # float32 and bf16
    .venv/bin/python benchmarks/cuda_check.py --quick    # fewer steps

What it checks, on a synthetic 2-state system with 600 atoms (12 targets, M = 12):
- the same initial weights and the same batches give the same first training step on
  CUDA and CPU: VAMP-2 within 1e-5 and gradients within 1e-4 (relative), float32;
- a short training run on CUDA (float32) and on CPU: both learn the two states (VAMP-2
  of the test frames within 0.02 of each other, states agree on >= 99 % of test rows);
- predictions of one trained model on CUDA and CPU agree to 1e-5;
- bf16 autocast trains to the same states (agreement >= 97 %) while VAMP-2 is computed
  in float64 (the covariances' dtype is checked);
- pinned host memory and non-blocking copies are used (torch reports the pinned batch).

Prints one JSON object per line (check, value, limit, ok) and exits 1 if any check fails,
2 if no CUDA device is present (nothing to check on this machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from gdynet.learn import training
from gdynet.learn.model import GDyNet
from gdynet.learn.vamp import covariances, lagged_score_np, vamp2_score


def synthetic(n_frames: int, seed: int = 0):
    """600 atoms, 12 Li targets whose neighbour distances switch between two patterns."""
    rng = np.random.default_rng(seed)
    n_atoms, m, n_targets = 600, 12, 12
    p, q = 0.05, 0.05
    hidden = np.zeros((n_frames, n_targets), int)
    for t in range(1, n_frames):
        u = rng.random(n_targets)
        hidden[t] = np.where(hidden[t - 1] == 0, u < p, u >= q)
    idx = rng.integers(0, n_atoms, size=(n_frames, n_atoms, m)).astype(np.int32)
    dist = rng.uniform(2.0, 4.0, size=(n_frames, n_atoms, m)).astype(np.float32)
    patterns = np.array([np.full(m, 2.4), np.r_[np.full(m // 2, 1.9), np.full(m - m // 2, 3.3)]])
    dist[:, :n_targets] = patterns[hidden] + 0.1 * rng.normal(size=(n_frames, n_targets, m))
    types = np.array([3] * n_targets + [16] * (n_atoms - n_targets))
    return training.GraphFrames(idx, dist), types, np.arange(n_targets), hidden


def new_net(types, targets):
    torch.manual_seed(0)
    return GDyNet(types, targets, n_states=2, atom_fea_len=16, n_conv=2, radius_A=5.0)


def report(rows, check, value, limit, ok):
    row = {"check": check, "value": float(value), "limit": float(limit), "ok": bool(ok)}
    rows.append(row)
    print(json.dumps(row), flush=True)


def agreement(a, b):
    same = np.mean(a.argmax(-1) == b.argmax(-1))
    return max(same, 1 - same)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer training steps")
    parser.add_argument("--device", default="cuda",
                        help="the device to check against the CPU (default cuda; 'cpu' only tests this script)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"check": "cuda", "ok": False, "note": "no CUDA device: nothing to check"}))
        return 2
    gpu = args.device == "cuda"
    name = torch.cuda.get_device_name(0) if gpu else "cpu"
    print(json.dumps({"device": name, "torch": torch.__version__}), flush=True)
    rows = []
    data, types, targets, hidden = synthetic(3000)
    cuda, cpu = torch.device(args.device), torch.device("cpu")

    # 1. one step, same weights, same batch
    frames = np.arange(0, 128)
    grads, scores = {}, {}
    for label, device in (("cpu", cpu), ("cuda", cuda)):
        net = new_net(types, targets).to(device).train()
        out = net(*training._to_device(data.batch(np.concatenate([frames, frames + 1])), device))
        k = out.shape[-1]
        score = vamp2_score(out[:128].reshape(-1, k), out[128:].reshape(-1, k))
        score.backward()
        scores[label] = float(score.detach())
        grads[label] = torch.cat([p.grad.flatten().cpu() for p in net.parameters()])
    report(rows, "first_step_vamp2_abs_diff", abs(scores["cuda"] - scores["cpu"]), 1e-5,
           abs(scores["cuda"] - scores["cpu"]) <= 1e-5)
    rel = float((grads["cuda"] - grads["cpu"]).norm() / grads["cpu"].norm())
    report(rows, "first_step_gradient_rel_diff", rel, 1e-4, rel <= 1e-4)

    if gpu:
        # the VAMP-2 covariances stay float64 even for bf16 network outputs
        with torch.autocast("cuda", dtype=torch.bfloat16):
            net = new_net(types, targets).to(cuda)
            out = net(*training._to_device(data.batch(frames), cuda))
        c00, _, _ = covariances(out.reshape(-1, 2).double(), out.reshape(-1, 2).double())
        report(rows, "bf16_outputs_are_bf16", float(out.dtype == torch.bfloat16), 1,
               out.dtype == torch.bfloat16)
        report(rows, "vamp_covariances_float64", float(c00.dtype == torch.float64), 1,
               c00.dtype == torch.float64)
        pinned = data.batch(frames)[0].pin_memory()
        report(rows, "batch_is_pinned", float(pinned.is_pinned()), 1, pinned.is_pinned())

    # 2. short training runs
    steps = 20 if args.quick else 60
    test = np.arange(2000, 3000)
    chis = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("cpu", cpu, "float32"), ("cuda", cuda, "float32")] + ([("cuda_bf16", cuda, "bf16")] if gpu else [])
        for name, device, precision in runs:
            settings = training.TrainSettings(epochs=3, steps_per_epoch=steps, batch_pairs=768,
                                              learning_rate=5e-3, seed=0, precision=precision)
            trained = training.fit(new_net(types, targets), data, train_ranges=[(0, 1500)],
                                   val_ranges=[(1500, 2000)], lag=1, frame_interval_ps=1.0,
                                   settings=settings, checkpoint=Path(tmp) / f"{name}.pt", device=device)
            chis[name] = trained.predict(data, test, device=device)
            if name == "cuda":
                on_cpu = trained.predict(data, test, device=cpu)
                diff = float(np.abs(on_cpu - chis[name]).max())
                report(rows, "predict_cuda_vs_cpu_max_abs_diff", diff, 1e-5, diff <= 1e-5)
    scores = {name: lagged_score_np(chi, 1) for name, chi in chis.items()}
    ideal = lagged_score_np(np.eye(2)[hidden[test]], 1)
    for name in chis:
        print(json.dumps({"run": name, "test_vamp2": scores[name], "ideal_vamp2": ideal}), flush=True)
    diff = abs(scores["cuda"] - scores["cpu"])
    report(rows, "trained_vamp2_cuda_vs_cpu", diff, 0.02, diff <= 0.02)
    a = agreement(chis["cuda"], chis["cpu"])
    report(rows, "trained_states_cuda_vs_cpu_agreement", a, 0.99, a >= 0.99)
    if gpu:
        a = agreement(chis["cuda_bf16"], chis["cpu"])
        report(rows, "trained_states_bf16_vs_cpu_agreement", a, 0.97, a >= 0.97)
    states = agreement(chis["cpu"][..., :], np.eye(2)[hidden[test]])
    report(rows, "cpu_states_match_the_hidden_states", states, 0.95, states >= 0.95)
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
