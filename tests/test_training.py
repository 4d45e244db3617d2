"""Training loop, prediction and model files, on synthetic two-state problems with known answers."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from gdynet.learn import simplex
from gdynet.learn.model import GDyNet, VAMPNet
from gdynet.learn.training import (
    FeatureFrames,
    GraphFrames,
    evaluate,
    feature_mean_std,
    fit,
    lagged_pairs,
    load_model,
    predict,
    save_model,
    state_corners,
)
from gdynet.learn.vamp import lagged_score_np

P, Q = 0.10, 0.05  # two-state chain: P(0 -> 1), P(1 -> 0) per frame
LAMBDA = 1 - P - Q  # its lag-1 eigenvalue; VAMP-2 of the ideal features is 1 + λ²


def two_state_chain(n_steps, rng, n_chains=1):
    """Hidden states (n_steps, n_chains) of independent stationary two-state Markov chains."""
    s = np.zeros((n_steps, n_chains), dtype=int)
    s[0] = rng.random(n_chains) < P / (P + Q)
    u = rng.random((n_steps, n_chains))
    for t in range(1, n_steps):
        s[t] = np.where(s[t - 1] == 0, u[t] < P, u[t] >= Q)
    return s


def agreement(prob, hidden):
    """Fraction of frames whose learned two-state assignment equals the hidden state, up to relabelling.

    VAMP-2 is invariant to affine maps of the features, so a perfect model may put the
    two states at, say, χ0 = 0.70 and 0.90 (seen in practice): argmax is not determined
    by the objective. The assignment therefore uses the crisp member of that family,
    χ0 rescaled so its extreme values become 0 and 1 (the simplex vertices, as PCCA
    would place them), thresholded at 1/2.
    """
    p0 = prob[..., 0]
    crisp = (p0 - p0.min()) / (p0.max() - p0.min())
    same = np.mean((crisp < 0.5) == hidden.astype(bool))
    return max(same, 1 - same)


# --------------------------------------------------------------------- pairs and data


def test_lagged_pairs_stay_inside_ranges():
    got = lagged_pairs([(0, 5), (10, 13), (20, 22)], lag=2)
    np.testing.assert_array_equal(got, [0, 1, 2, 10])  # brute force: t, t+2 both in one range
    assert lagged_pairs([(0, 3)], lag=3).size == 0
    np.testing.assert_array_equal(lagged_pairs([(4, 6), (0, 2)], lag=1), [4, 0])  # range order kept
    for bad in [dict(ranges=[(0, 5)], lag=0), dict(ranges=[(5, 2)], lag=1), dict(ranges=[(0, 5)], lag=1.5)]:
        with pytest.raises(ValueError):
            lagged_pairs(**bad)


def test_graph_frames_read_requested_rows_from_memmap(tmp_path):
    rng = np.random.default_rng(0)
    idx = np.lib.format.open_memmap(tmp_path / "idx.npy", mode="w+", dtype=np.int32, shape=(50, 4, 3))
    dist = np.lib.format.open_memmap(tmp_path / "dist.npy", mode="w+", dtype=np.float32, shape=(50, 4, 3))
    idx[:] = rng.integers(0, 4, size=idx.shape)
    dist[:] = rng.random(dist.shape)
    idx.flush(), dist.flush()
    data = GraphFrames(np.load(tmp_path / "idx.npy", mmap_mode="r"), np.load(tmp_path / "dist.npy", mmap_mode="r"))
    frames = np.array([7, 3, 7, 49, 0])  # unsorted, with a repeat
    got_idx, got_dist = data.batch(frames)
    assert len(data) == 50 and got_idx.dtype == torch.int32 and got_dist.dtype == torch.float32
    np.testing.assert_array_equal(got_idx.numpy(), np.asarray(idx)[frames])
    np.testing.assert_array_equal(got_dist.numpy(), np.asarray(dist)[frames])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's warning about read-only memmap views
        got_idx, _ = data.batch(np.arange(10, 20))  # consecutive frames: the slice path
    np.testing.assert_array_equal(got_idx.numpy(), np.asarray(idx)[10:20])
    with pytest.raises(ValueError, match="frame"):
        data.batch([50])
    broken = np.asarray(idx).copy()
    broken[3, 0, 0] = 4
    with pytest.raises(ValueError, match="atom indices"):
        GraphFrames(broken, dist).batch([3])


def test_feature_frames_and_standardisation():
    x = np.random.default_rng(1).normal(loc=3.0, scale=2.0, size=(100, 3))
    data = FeatureFrames(x)
    (rows,) = data.batch([5, 1])
    np.testing.assert_allclose(rows.numpy(), x[[5, 1]].astype(np.float32))
    mean, std = feature_mean_std(data, [(0, 40), (60, 100)], chunk=7)
    sub = np.concatenate([x[:40], x[60:]])
    np.testing.assert_allclose(mean, sub.mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, sub.std(0, ddof=1), rtol=1e-12)


# --------------------------------------------------------------------- learning known answers


def test_vampnet_learns_two_state_chain(tmp_path):
    rng = np.random.default_rng(2)
    n = 12_000
    hidden = two_state_chain(n, rng)[:, 0]
    x = np.where(hidden == 0, -1.0, 1.0)[:, None] + 0.25 * rng.normal(size=(n, 1))
    x = np.hstack([x, rng.normal(size=(n, 2))])  # plus two pure-noise coordinates
    data = FeatureFrames(x.astype(np.float32))
    mean, std = feature_mean_std(data, [(0, 4000)])
    torch.manual_seed(0)
    model = VAMPNet(3, 2, hidden=(16, 16), mean=mean, std=std)
    metrics = fit(model, data, train_ranges=[(0, 4000)], val_ranges=[(4000, 6000)], lag=1, epochs=4,
                  steps_per_epoch=25, batch_size=256, lr=1e-2, seed=0, checkpoint=tmp_path / "ckpt.pt")
    assert list(metrics.columns) == ["epoch", "train_vamp2", "val_vamp2", "seconds"]
    chi = predict(model, data, [(6000, n)], batch_size=1000)
    assert chi.shape == (n - 6000, 1, 2) and chi.dtype == np.float32
    assert agreement(chi[:, 0], hidden[6000:]) > 0.95
    ideal = lagged_score_np(np.eye(2)[hidden[6000:]], 1)  # the hidden state itself, same frames
    assert ideal == pytest.approx(1 + LAMBDA**2, abs=0.05)  # sampling error of 6000 correlated frames
    assert lagged_score_np(chi, 1) == pytest.approx(ideal, abs=0.02)


def two_state_graphs(n_frames, rng):
    """Two Li targets (atoms 0, 1) with independent hidden states, among two S atoms (2, 3).

    Each atom has M = 4 neighbour entries. A Li's neighbour distances are short and
    equal in state 0 and split (near/far) in state 1, with 0.1 Å noise; S atoms see
    random distances that carry no state information.
    """
    hidden = two_state_chain(n_frames, rng, n_chains=2)
    state_dist = np.array([[2.4, 2.4, 2.4, 2.4], [1.9, 1.9, 3.3, 3.3]])
    nbr_idx = np.empty((n_frames, 4, 4), dtype=np.int32)
    nbr_idx[:, 0] = [2, 3, 2, 3]
    nbr_idx[:, 1] = [3, 2, 3, 2]
    nbr_idx[:, 2:] = rng.integers(0, 4, size=(n_frames, 2, 4))
    nbr_dist = np.empty((n_frames, 4, 4), dtype=np.float32)
    nbr_dist[:, :2] = state_dist[hidden] + 0.1 * rng.normal(size=(n_frames, 2, 4))
    nbr_dist[:, 2:] = rng.uniform(2.0, 3.5, size=(n_frames, 2, 4))
    return GraphFrames(nbr_idx, nbr_dist), hidden


def test_gdynet_learns_local_two_state_dynamics(tmp_path):
    rng = np.random.default_rng(3)
    data, hidden = two_state_graphs(9000, rng)
    torch.manual_seed(0)
    model = GDyNet([3, 3, 16, 16], [0, 1], n_states=2, atom_fea_len=8, n_conv=1, radius_A=4.0)
    fit(model, data, train_ranges=[(0, 2000), (2000, 3000)], val_ranges=[(3000, 5000)], lag=1, epochs=4,
        steps_per_epoch=30, batch_size=128, lr=1e-2, seed=1, checkpoint=tmp_path / "ckpt.pt")
    chi = predict(model, data, [(5000, 9000)], batch_size=1500)
    assert chi.shape == (4000, 2, 2)
    # One shared output layer: both targets must use the same state labels.
    assert agreement(chi, hidden[5000:]) > 0.95
    ideal = lagged_score_np(np.eye(2)[hidden[5000:]], 1)
    assert ideal == pytest.approx(1 + LAMBDA**2, abs=0.05)
    assert lagged_score_np(chi, 1) == pytest.approx(ideal, abs=0.02)


# --------------------------------------------------------------------- checkpoints


class CountingFrames(FeatureFrames):
    """FeatureFrames that counts the frames it serves (how much training actually ran)."""

    served = 0

    def batch(self, frames):
        CountingFrames.served += len(frames)
        return super().batch(frames)


def small_run(tmp_path, name, epochs, lr=1e-2, seed=0):
    rng = np.random.default_rng(4)
    hidden = two_state_chain(3000, rng)[:, 0]
    x = (hidden[:, None] + 0.3 * rng.normal(size=(3000, 2))).astype(np.float32)
    torch.manual_seed(0)
    model = VAMPNet(2, 2, hidden=(8,))
    CountingFrames.served = 0
    metrics = fit(model, CountingFrames(x), train_ranges=[(0, 2000)], val_ranges=[(2000, 2500)], lag=2,
                  epochs=epochs, steps_per_epoch=5, batch_size=64, lr=lr, seed=seed,
                  checkpoint=tmp_path / name)
    return model, metrics, CountingFrames.served


def test_killed_run_resumes_where_it_stopped(tmp_path):
    per_epoch = 5 * 2 * 64 + 2 * 498  # training frames + validation frames of one epoch
    _, first, served = small_run(tmp_path, "a.pt", epochs=2)
    assert served == 2 * per_epoch
    resumed_model, resumed, served = small_run(tmp_path, "a.pt", epochs=3)
    assert served == per_epoch  # only epoch 3 ran
    assert resumed["epoch"].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(resumed.iloc[:2], first)
    # Resuming restores weights, optimizer and RNG states: identical to an unbroken run.
    straight_model, straight, _ = small_run(tmp_path, "b.pt", epochs=3)
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), straight.drop(columns="seconds"))
    for a, b in zip(resumed_model.state_dict().values(), straight_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.pt"]  # no temporary files left


def test_changed_hyperparameters_start_over(tmp_path, caplog):
    small_run(tmp_path, "a.pt", epochs=2)
    caplog.set_level(logging.INFO, logger="gdynet")
    _, metrics, served = small_run(tmp_path, "a.pt", epochs=3, lr=2e-2)
    assert "fingerprint" in caplog.text
    assert served == 3 * (5 * 2 * 64 + 2 * 498)  # all three epochs trained anew
    assert metrics["epoch"].tolist() == [1, 2, 3]


def test_model_keeps_best_validation_weights(tmp_path):
    model, metrics, _ = small_run(tmp_path, "a.pt", epochs=4, lr=5e-2)
    val = lagged_pairs([(2000, 2500)], 2)
    rng = np.random.default_rng(4)
    hidden = two_state_chain(3000, rng)[:, 0]
    x = (hidden[:, None] + 0.3 * rng.normal(size=(3000, 2))).astype(np.float32)
    score = evaluate(model, FeatureFrames(x), val, 2, batch_size=100, device="cpu")
    assert score == pytest.approx(metrics["val_vamp2"].max(), rel=1e-9)


def test_fit_rejects_unusable_ranges(tmp_path):
    data = FeatureFrames(np.zeros((100, 2), dtype=np.float32))
    kw = dict(lag=5, epochs=1, steps_per_epoch=1, batch_size=8, lr=1e-3, seed=0, checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="training"):
        fit(VAMPNet(2, 2), data, train_ranges=[(0, 5)], val_ranges=[(50, 100)], **kw)
    with pytest.raises(ValueError, match="exceeds"):
        fit(VAMPNet(2, 2), data, train_ranges=[(0, 50)], val_ranges=[(50, 101)], **kw)


# --------------------------------------------------------------------- prediction and model files


def test_predict_concatenates_ranges_in_order(tmp_path):
    rng = np.random.default_rng(5)
    data, _ = two_state_graphs(300, rng)
    torch.manual_seed(0)
    model = GDyNet([3, 3, 16, 16], [[0, 1], [1, 1]], n_states=3, atom_fea_len=4, n_conv=2).eval()
    ranges = [(200, 260), (10, 47)]
    got = predict(model, data, ranges, batch_size=16)  # batch boundaries inside the ranges
    frames = np.concatenate([np.arange(200, 260), np.arange(10, 47)])
    with torch.no_grad():
        expected = model(*data.batch(frames)).numpy()
    assert got.shape == (97, 2, 3)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    out = np.lib.format.open_memmap(tmp_path / "chi.npy", mode="w+", dtype=np.float32, shape=(97, 2, 3))
    predict(model, data, ranges, batch_size=50, out=out)
    np.testing.assert_allclose(np.load(tmp_path / "chi.npy"), expected, atol=1e-6)


@pytest.mark.parametrize("kind", ["GDyNet", "VAMPNet"])
def test_saved_model_reloads_identically(tmp_path, kind):
    rng = np.random.default_rng(6)
    torch.manual_seed(0)
    if kind == "GDyNet":
        data, _ = two_state_graphs(40, rng)
        model = GDyNet([3, 3, 16, 16], np.array([[0], [1]]), n_states=2, atom_fea_len=4, hidden_len=5)
    else:
        data = FeatureFrames(rng.normal(size=(40, 3)).astype(np.float32))
        model = VAMPNet(3, 4, hidden=(6, 6), activation="tanh", mean=[1.0, 2.0, 3.0], std=[2.0, 2.0, 0.5])
    model.train()
    model(*data.batch(np.arange(40)))  # move batch-norm statistics off their defaults
    model.eval()
    meta = dict(lag=np.int64(3), dt_ps=np.float64(0.1), note="toy")
    save_model(tmp_path / "model.pt", model, meta)
    loaded = load_model(tmp_path / "model.pt")
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.meta == dict(lag=3, dt_ps=0.1, note="toy")
    with torch.no_grad():
        torch.testing.assert_close(loaded(*data.batch(np.arange(40))), model(*data.batch(np.arange(40))))
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a model file"):
        load_model(tmp_path / "other.pt")


def test_non_finite_training_stops_with_advice(tmp_path):
    x = np.random.default_rng(7).normal(size=(200, 2)).astype(np.float32)
    x[::3] = np.nan  # corrupt input: every batch sees NaN
    with pytest.raises(RuntimeError, match="non-finite"):
        fit(VAMPNet(2, 2, hidden=(4,)), FeatureFrames(x), train_ranges=[(0, 150)], val_ranges=[(150, 200)],
            lag=1, epochs=1, steps_per_epoch=3, batch_size=16, lr=1e-3, seed=0, checkpoint=tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_state_corners_make_fuzzy_outputs_crisp():
    """A 'model' whose softmax puts the two hidden states at P(state 0) = 0.8 and 0.6:
    after the corner map the states are 0/1, the populous one first."""
    hidden = (np.arange(1000) % 10 < 3).astype(int)  # 30 % in hidden state 1

    class Fuzzy(torch.nn.Module):
        def forward(self, x):
            p0 = torch.where(x[:, 0] > 0.5, 0.6, 0.8)
            return torch.stack([p0, 1 - p0], dim=-1)[:, None, :]

    data = FeatureFrames(hidden[:, None].astype(np.float32))
    corners = state_corners(Fuzzy(), data, [[0, 1000]], device="cpu")
    crisp = simplex.to_simplex(predict(Fuzzy(), data, [[0, 1000]], device="cpu"), corners)
    np.testing.assert_allclose(crisp[:, 0, 1], hidden, atol=1e-6)
