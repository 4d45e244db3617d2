"""Training loop, prediction and model files, on synthetic two-state problems with known answers."""

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from gdynet.learn import memory, simplex
from gdynet.learn.model import GDyNet, VAMPNet
from gdynet.learn.training import (
    FeatureFrames,
    GraphFrames,
    TrainedModel,
    TrainSettings,
    evaluate,
    feature_mean_std,
    fit,
    input_fingerprint,
    lagged_pairs,
    load_model,
    predict,
    predict_frames,
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


def settings(epochs, steps, pairs, lr, seed=0, **kw):
    return TrainSettings(epochs=epochs, steps_per_epoch=steps, batch_pairs=pairs, learning_rate=lr,
                         seed=seed, **kw)


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
    trained = fit(model, data, train_ranges=[(0, 4000)], val_ranges=[(4000, 6000)], lag=1,
                  frame_interval_ps=0.5, settings=settings(4, 25, 256, 1e-2),
                  checkpoint=tmp_path / "ckpt.pt")
    assert list(trained.metrics.columns) == ["epoch", "train_vamp2", "val_vamp2", "seconds"]
    assert trained.lag_ps == 0.5 and trained.frame_pairs == 256  # one target: pairs = frame pairs
    chi = predict(trained, data, [(6000, n)])
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
    trained = fit(model, data, train_ranges=[(0, 2000), (2000, 3000)], val_ranges=[(3000, 5000)], lag=1,
                  frame_interval_ps=1.0, settings=settings(4, 30, 256, 1e-2, seed=1),
                  checkpoint=tmp_path / "ckpt.pt")
    assert trained.frame_pairs == 128  # 256 target pairs of 2 targets each
    chi = predict(trained, data, [(5000, 9000)])
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


def small_run(tmp_path, name, epochs, lr=1e-2, seed=0, inputs=""):
    rng = np.random.default_rng(4)
    hidden = two_state_chain(3000, rng)[:, 0]
    x = (hidden[:, None] + 0.3 * rng.normal(size=(3000, 2))).astype(np.float32)
    torch.manual_seed(0)
    model = VAMPNet(2, 2, hidden=(8,))
    CountingFrames.served = 0
    trained = fit(model, CountingFrames(x), train_ranges=[(0, 2000)], val_ranges=[(2000, 2500)], lag=2,
                  frame_interval_ps=1.0, settings=settings(epochs, 5, 64, lr, seed=seed),
                  checkpoint=tmp_path / name, inputs=inputs)
    return trained, CountingFrames.served


PER_EPOCH = 5 * 2 * 64 + 2 * 498  # training frames + validation frames of one epoch
CALIBRATION = 2000  # the simplex corners are found on every training frame (< 50,000)


def test_killed_run_resumes_where_it_stopped(tmp_path):
    first, served = small_run(tmp_path, "a.pt", epochs=2)
    assert served == 2 * PER_EPOCH + CALIBRATION
    resumed, served = small_run(tmp_path, "a.pt", epochs=3)
    assert served == PER_EPOCH + CALIBRATION  # only epoch 3 ran
    assert resumed.metrics["epoch"].tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(resumed.metrics.iloc[:2], first.metrics)
    # Resuming restores weights, optimizer and RNG states: identical to an unbroken run.
    straight, _ = small_run(tmp_path, "b.pt", epochs=3)
    pd.testing.assert_frame_equal(resumed.metrics.drop(columns="seconds"),
                                  straight.metrics.drop(columns="seconds"))
    for a, b in zip(resumed.net.state_dict().values(), straight.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    np.testing.assert_array_equal(resumed.corners, straight.corners)
    assert resumed.fingerprint == straight.fingerprint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pt", "b.pt"]  # no temporary files left


@pytest.mark.parametrize("change, words", [
    (dict(lr=2e-2), "belongs to another run"),  # other settings
    (dict(inputs="other graphs"), "belongs to another run"),  # same shapes, other input files
    (dict(epochs=1), "more than the 1 asked for"),  # fewer epochs than the checkpoint holds
])
def test_a_checkpoint_of_another_run_is_not_resumed(tmp_path, caplog, change, words):
    small_run(tmp_path, "a.pt", epochs=2)
    caplog.set_level(logging.INFO, logger="gdynet")
    epochs = change.pop("epochs", 3)
    trained, served = small_run(tmp_path, "a.pt", epochs=epochs, **change)
    assert words in caplog.text
    assert served == epochs * PER_EPOCH + CALIBRATION  # every epoch trained anew
    assert trained.metrics["epoch"].tolist() == list(range(1, epochs + 1))


def test_input_fingerprint_sees_rewritten_files_of_the_same_shape(tmp_path):
    path = tmp_path / "nbr_dist.npy"
    np.save(path, np.zeros((100, 5, 4), np.float32))
    before = input_fingerprint(path)
    assert input_fingerprint(path) == before  # deterministic
    np.save(path, np.ones((100, 5, 4), np.float32))  # same size, other content
    assert input_fingerprint(path) != before


def test_model_keeps_best_validation_weights(tmp_path):
    trained, _ = small_run(tmp_path, "a.pt", epochs=4, lr=5e-2)
    val = lagged_pairs([(2000, 2500)], 2)
    rng = np.random.default_rng(4)
    hidden = two_state_chain(3000, rng)[:, 0]
    x = (hidden[:, None] + 0.3 * rng.normal(size=(3000, 2))).astype(np.float32)
    score = evaluate(trained.net, FeatureFrames(x), val, 2, chunk_frames=100, device="cpu")
    assert score == pytest.approx(trained.metrics["val_vamp2"].max(), rel=1e-9)


def test_fit_rejects_unusable_ranges(tmp_path):
    data = FeatureFrames(np.zeros((100, 2), dtype=np.float32))
    kw = dict(lag=5, frame_interval_ps=1.0, settings=settings(1, 1, 8, 1e-3), checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="training"):
        fit(VAMPNet(2, 2), data, train_ranges=[(0, 5)], val_ranges=[(50, 100)], **kw)
    with pytest.raises(ValueError, match="exceeds"):
        fit(VAMPNet(2, 2), data, train_ranges=[(0, 50)], val_ranges=[(50, 101)], **kw)


def test_settings_are_checked():
    with pytest.raises(ValueError, match="batch_pairs must be >= 2"):
        settings(1, 1, 1, 1e-3)
    with pytest.raises(ValueError, match="precision"):
        settings(1, 1, 8, 1e-3, precision="fp8")
    with pytest.raises(ValueError, match="memory_budget_gb"):
        settings(1, 1, 8, 1e-3, memory_budget_gb=0)


# --------------------------------------------------------------------- batches and memory


def many_atom_graphs(n_frames, n_atoms=200, m=12, seed=0):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_atoms, size=(n_frames, n_atoms, m)).astype(np.int32)
    dist = rng.uniform(1.0, 4.0, size=(n_frames, n_atoms, m)).astype(np.float32)
    return GraphFrames(idx, dist)


def test_batches_count_target_pairs_and_respect_the_memory_budget():
    net = GDyNet([6] * 200, np.arange(0, 200, 4), n_states=2, atom_fea_len=8, n_conv=2, radius_A=4.0)
    per_frame = memory.bytes_per_frame(net, 12, train=True)
    # 50 targets: 512 target pairs need ceil(512 / 50) = 11 frame pairs
    plan = memory.plan_batches(net, 12, 50, 512, budget_bytes=1e12)
    assert (plan.frame_pairs, plan.target_pairs, plan.capped) == (11, 550, False)
    # a budget of 3.5 frame pairs holds 3
    plan = memory.plan_batches(net, 12, 50, 512, budget_bytes=7 * per_frame)
    assert (plan.frame_pairs, plan.capped) == (3, True) and plan.step_bytes <= 7 * per_frame
    with pytest.raises(memory.MemoryBudgetError, match="more than the memory budget"):
        memory.plan_batches(net, 12, 50, 512, budget_bytes=1.5 * per_frame)
    # one target needs two frame pairs for a covariance
    assert memory.plan_batches(net, 12, 1, 2, budget_bytes=1e12).frame_pairs == 2


def test_fit_logs_and_uses_the_capped_batch(tmp_path, caplog):
    data = many_atom_graphs(300)
    torch.manual_seed(0)
    net = GDyNet([6] * 200, np.arange(0, 200, 4), n_states=2, atom_fea_len=8, n_conv=2, radius_A=4.0)
    budget = 7 * memory.bytes_per_frame(net, 12, train=True) / 2**30
    caplog.set_level(logging.INFO, logger="gdynet")
    trained = fit(net, data, train_ranges=[(0, 200)], val_ranges=[(200, 300)], lag=1, frame_interval_ps=1.0,
                  settings=settings(1, 2, 512, 1e-3, memory_budget_gb=budget),
                  checkpoint=tmp_path / "c.pt", device="cpu")
    assert trained.frame_pairs == 3
    assert "3 frame pairs (150 target pairs" in caplog.text and "capped by the" in caplog.text


def test_predict_streams_chunks_that_fit_the_budget():
    data = many_atom_graphs(40)
    torch.manual_seed(0)
    net = GDyNet([6] * 200, np.arange(10), n_states=3, atom_fea_len=4, n_conv=1, radius_A=4.0).eval()
    frames = np.arange(40)
    whole = predict_frames(net, data, frames, budget_bytes=1e12)
    per_frame = memory.bytes_per_frame(net, 12, train=False)
    assert memory.chunk_frames(net, 12, 3.5 * per_frame) == 3
    chunked = predict_frames(net, data, frames, budget_bytes=3.5 * per_frame)  # 14 chunks
    np.testing.assert_allclose(chunked, whole, atol=1e-6)


# --------------------------------------------------------------------- prediction and model files


def test_predict_concatenates_ranges_in_order(tmp_path):
    rng = np.random.default_rng(5)
    data, _ = two_state_graphs(300, rng)
    torch.manual_seed(0)
    model = GDyNet([3, 3, 16, 16], [[0, 1], [1, 1]], n_states=3, atom_fea_len=4, n_conv=2).eval()
    frames = np.concatenate([np.arange(200, 260), np.arange(10, 47)])
    per_frame = memory.bytes_per_frame(model, 4, train=False)
    got = predict_frames(model, data, frames, budget_bytes=16 * per_frame)  # chunks inside the ranges
    with torch.no_grad():
        expected = model(*data.batch(frames)).numpy()
    assert got.shape == (97, 2, 3)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    out = np.lib.format.open_memmap(tmp_path / "chi.npy", mode="w+", dtype=np.float32, shape=(97, 2, 3))
    predict_frames(model, data, frames, budget_bytes=50 * per_frame, out=out)
    np.testing.assert_allclose(np.load(tmp_path / "chi.npy"), expected, atol=1e-6)
    # through a TrainedModel: the ranges in order, mapped onto the simplex
    corners = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.1, 0.1, 0.8]])
    record = TrainedModel(net=model, corners=corners, lag_frames=1, frame_interval_ps=1.0,
                          settings=settings(1, 1, 2, 1e-3), fingerprint="x", metrics=pd.DataFrame(),
                          frame_pairs=2)
    np.testing.assert_allclose(predict(record, data, [(200, 260), (10, 47)]),
                               simplex.to_simplex(expected, corners), atol=1e-6)


@pytest.mark.parametrize("kind", ["GDyNet", "VAMPNet"])
def test_saved_model_reloads_identically(tmp_path, kind):
    rng = np.random.default_rng(6)
    torch.manual_seed(0)
    if kind == "GDyNet":
        data, _ = two_state_graphs(40, rng)
        model = GDyNet([3, 3, 16, 16], np.array([[0], [1]]), n_states=2, atom_fea_len=4, hidden_len=5)
    else:
        data = FeatureFrames(rng.normal(size=(40, 3)).astype(np.float32))
        model = VAMPNet(3, 2, hidden=(6, 6), activation="tanh", mean=[1.0, 2.0, 3.0], std=[2.0, 2.0, 0.5])
    trained = fit(model, data, train_ranges=[(0, 30)], val_ranges=[(30, 40)], lag=3,
                  frame_interval_ps=0.1, settings=settings(1, 2, 8, 1e-3), checkpoint=tmp_path / "c.pt")
    trained.meta = dict(note="toy", lag=np.int64(3))
    save_model(tmp_path / "model.pt", trained)
    loaded = load_model(tmp_path / "model.pt")
    assert type(loaded.net) is type(model) and not loaded.net.training
    assert loaded.meta == dict(note="toy", lag=3)
    assert (loaded.lag_frames, loaded.lag_ps, loaded.settings, loaded.fingerprint, loaded.frame_pairs) == (
        3, pytest.approx(0.3), trained.settings, trained.fingerprint, trained.frame_pairs)
    pd.testing.assert_frame_equal(loaded.metrics, trained.metrics)
    np.testing.assert_array_equal(loaded.corners, trained.corners)
    frames = np.arange(40)
    np.testing.assert_allclose(loaded.predict(data, frames), trained.predict(data, frames), atol=1e-7)
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a model file"):
        load_model(tmp_path / "other.pt")


def test_non_finite_training_stops_with_advice(tmp_path):
    x = np.random.default_rng(7).normal(size=(200, 2)).astype(np.float32)
    x[::3] = np.nan  # corrupt input: every batch sees NaN
    with pytest.raises(RuntimeError, match="non-finite"):
        fit(VAMPNet(2, 2, hidden=(4,)), FeatureFrames(x), train_ranges=[(0, 150)], val_ranges=[(150, 200)],
            lag=1, frame_interval_ps=1.0, settings=settings(1, 3, 16, 1e-3), checkpoint=tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


def test_state_corners_make_fuzzy_outputs_crisp():
    """A 'model' whose softmax puts the two hidden states at P(state 0) = 0.8 and 0.6:
    after the corner map the states are 0/1, the populous one first."""
    hidden = (np.arange(1000) % 10 < 3).astype(int)  # 30 % in hidden state 1

    class Fuzzy(VAMPNet):  # a VAMPNet in shape (so its memory is known), fixed outputs
        def forward(self, x):
            p0 = torch.where(x[:, 0] > 0.5, 0.6, 0.8)
            return torch.stack([p0, 1 - p0], dim=-1)[:, None, :]

    data = FeatureFrames(hidden[:, None].astype(np.float32))
    corners = state_corners(Fuzzy(1, 2), data, [[0, 1000]], device="cpu")
    crisp = simplex.to_simplex(predict_frames(Fuzzy(1, 2), data, np.arange(1000), device="cpu"), corners)
    np.testing.assert_allclose(crisp[:, 0, 1], hidden, atol=1e-6)
