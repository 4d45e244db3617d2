"""Known-answer tests for gdynet.analysis.koopman: Markov chains with analytic spectra, deeptime as
an independent estimator, and constructed cases for segments, CIs and τ* selection."""

import numpy as np
import pandas as pd
import pytest
from deeptime.markov import TransitionCountEstimator
from deeptime.markov.msm import MaximumLikelihoodMSM
from scipy import stats

from gdynet.analysis import koopman as kp


def simulate(P, n_steps, seed):
    """Labels (n_steps,) of a Markov chain with transition matrix P (plain inversion sampling)."""
    P = np.asarray(P, dtype=float)
    cum = np.cumsum(P, axis=1).tolist()
    rng = np.random.default_rng(seed)
    u = rng.random(n_steps).tolist()
    k = len(P)
    state = int(rng.integers(k))
    out = [0] * n_steps
    for t in range(n_steps):
        row, x, j = cum[state], u[t], 0
        while j < k - 1 and x >= row[j]:
            j += 1
        state = out[t] = j
    return np.array(out)


def one_hot(labels, k):
    """(F,) or (F, n) labels -> (F, n, k) one-hot state probabilities."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        labels = labels[:, None]
    return np.eye(k)[labels]


def brute_counts(label_segments, lag, k):
    """Transition counts by an explicit loop over pairs inside each segment."""
    c = np.zeros((k, k))
    for lab in label_segments:
        lab = np.asarray(lab).reshape(len(lab), -1)
        for t in range(len(lab) - lag):
            for a, b in zip(lab[t], lab[t + lag]):
                c[a, b] += 1
    return c


P2 = np.array([[0.98, 0.02], [0.05, 0.95]])  # p = 0.02, q = 0.05
A3, B3 = 0.01, 0.1
# Eigenvalues 1, 1-a (right eigenvector (1, 0, -1)), 1-a-2b (trace rule);
# detailed balance gives pi ∝ (b, a, b).
P3 = np.array([[1 - A3, A3, 0], [B3, 1 - 2 * B3, B3], [0, A3, 1 - A3]])


@pytest.fixture(scope="module")
def chain2():
    return simulate(P2, 200_000, seed=0)


@pytest.fixture(scope="module")
def chain3():
    return simulate(P3, 200_000, seed=1)


# ------------------------------------------------------------------ 2-state chain
def test_two_state_chain_recovers_transition_matrix_and_timescale(chain2):
    p, q = P2[0, 1], P2[1, 0]
    K = kp.koopman_matrix([one_hot(chain2, 2)], 1)
    visits = np.bincount(chain2[:-1], minlength=2)
    se = np.sqrt(P2 * (1 - P2) / visits[:, None])  # multinomial rows given the visits
    assert np.all(np.abs(K - P2) < 5 * se)

    lam = 1 - p - q
    se_lam = np.hypot(se[0, 1], se[1, 0])
    se_t = se_lam / (lam * np.log(lam) ** 2)  # delta method for -1/ln(λ)
    for lag in (1, 5):
        Kl = kp.koopman_matrix([one_hot(chain2, 2)], lag)
        t = kp.implied_timescales(Kl, lag * 0.1)  # dt = 0.1 ps
        assert t.shape == (1,)
        assert t[0] == pytest.approx(-0.1 / np.log(lam), abs=5 * 0.1 * se_t * np.sqrt(lag))
    # Markov: K(5) ≈ P^5 (entries are probabilities; 0.01 is > 5 SE here)
    np.testing.assert_allclose(kp.koopman_matrix([one_hot(chain2, 2)], 5),
                               np.linalg.matrix_power(P2, 5), atol=0.01)


def test_two_state_chain_passes_ck_test(chain2):
    df = kp.ck_test([one_hot(chain2, 2)], lag=5, n_steps=6, dt=0.1,
                    scheme="time_chunks", n_groups=5)
    assert len(df) == 7 * 4
    assert list(df.columns) == ["step", "time_ps", "from_state", "to_state", "predicted",
                                "pred_low", "pred_high", "estimated", "est_low", "est_high"]
    step0 = df[df.step == 0]
    np.testing.assert_array_equal(step0.predicted, [1, 0, 0, 1])
    np.testing.assert_array_equal(step0.estimated, [1, 0, 0, 1])
    for n in range(1, 7):
        d = df[df.step == n].sort_values(["from_state", "to_state"])
        exact = np.linalg.matrix_power(P2, 5 * n).ravel()
        np.testing.assert_allclose(d.predicted, exact, atol=0.02)
        np.testing.assert_allclose(d.estimated, exact, atol=0.02)
        assert d.time_ps.iloc[0] == pytest.approx(n * 0.5)
        assert np.all(d.pred_low <= d.pred_high) and np.all(d.est_low <= d.est_high)
    assert kp.ck_passes(df)


# ------------------------------------------------------------------ 3-state chain
def test_three_state_chain_known_eigenvalues(chain3):
    expected = [-1 / np.log(1 - A3), -1 / np.log(1 - A3 - 2 * B3)]  # frames
    # exact matrix: spectrum by theory
    np.testing.assert_allclose(kp.implied_timescales(P3, 1.0), expected, rtol=1e-10)
    np.testing.assert_allclose(kp.stationary_distribution(P3),
                               np.array([B3, A3, B3]) / (2 * B3 + A3), rtol=1e-10)
    vals, vecs = kp.eigenvectors(P3)
    np.testing.assert_allclose(vals, [1, 1 - A3, 1 - A3 - 2 * B3], rtol=1e-10)
    np.testing.assert_allclose(vecs[0], np.array([B3, A3, B3]) / (2 * B3 + A3), rtol=1e-10)
    v1 = np.array([1, 0, -1.0])  # sign/scale fixed up to the tie |1| = |-1|
    assert min(np.abs(vecs[1] - v1).max(), np.abs(vecs[1] + v1).max()) < 1e-10
    np.testing.assert_allclose(vecs[2], [-0.5, 1, -0.5], atol=1e-10)  # ∝ (1, -2, 1)

    # estimated from a simulation at lag 3: timescales within a few per cent
    K = kp.koopman_matrix([one_hot(chain3, 3)], 3)
    t = kp.implied_timescales(K, 3.0)
    assert t[0] == pytest.approx(expected[0], rel=0.15)  # ~2000 slow transitions
    assert t[1] == pytest.approx(expected[1], rel=0.1)  # SE ~2.5 % (20-seed sweep)
    _, est_vecs = kp.eigenvectors(K)
    np.testing.assert_allclose(est_vecs[2], [-0.5, 1, -0.5], atol=0.05)


def test_matches_deeptime_over_several_trajectories(chain3):
    pieces = [chain3[:40_000], chain3[40_000:40_007], chain3[40_007:150_000], chain3[150_000:]]
    lag = 4
    counts = (TransitionCountEstimator(lagtime=lag, count_mode="sliding")
              .fit(pieces).fetch_model())
    msm = MaximumLikelihoodMSM(reversible=False).fit(counts).fetch_model()
    K = kp.koopman_matrix([one_hot(p, 3) for p in pieces], lag)
    np.testing.assert_allclose(K, msm.transition_matrix, atol=1e-12)
    np.testing.assert_allclose(kp.implied_timescales(K, lag), msm.timescales(), rtol=1e-9)
    np.testing.assert_allclose(kp.stationary_distribution(K), msm.stationary_distribution,
                               atol=1e-10)
    # the label shortcut gives the same matrix
    np.testing.assert_allclose(kp.count_matrix_from_labels(pieces, lag, 3), K, atol=1e-12)
    c00, c0t, count = kp.covariances([one_hot(p, 3) for p in pieces], lag)
    np.testing.assert_allclose(c0t, counts.count_matrix)
    assert count == sum(len(p) - lag for p in pieces)


# ------------------------------------------------------------- non-Markovian
def test_lumped_chain_with_hidden_slow_process_fails_ck_and_timescale_drifts():
    # 0 <-> 1 fast, 1 <-> 2 slow; observing {0} vs {1, 2} hides the slow barrier.
    a, b = 0.2, 0.005
    P = np.array([[1 - a, a, 0], [a, 1 - a - b, b], [0, b, 1 - b]])
    hidden = simulate(P, 200_000, seed=2)
    chi = one_hot(np.array([0, 1, 1])[hidden], 2)
    ts = kp.timescales_vs_lag([chi], [1, 5, 20], dt=1.0, scheme="time_chunks")
    t = ts.set_index("lag_ps").timescale_ps
    assert t[20.0] > 2 * t[1.0]
    assert t[20.0] > ts.ci_high_ps.iloc[0]  # far outside the short-lag uncertainty
    assert not kp.ck_passes(kp.ck_test([chi], lag=2, n_steps=5, dt=1.0))
    # control: the full 3-state labels of the same run are Markovian and pass
    assert kp.ck_passes(kp.ck_test([one_hot(hidden, 3)], lag=2, n_steps=5, dt=1.0))


# ------------------------------------------------------------------ segments
def test_pairs_never_cross_segment_boundaries():
    # segment A sits in state 0, segment B in state 1: within segments nothing moves.
    a = one_hot(np.zeros((50, 3), int), 2)
    b = one_hot(np.ones((50, 3), int), 2)
    short = one_hot(np.array([[0, 1, 0], [1, 0, 1]]), 2)  # 2 frames: no pair at lag 2
    np.testing.assert_array_equal(kp.koopman_matrix([a, b, short], 2), np.eye(2))
    _, _, count = kp.covariances([a, b, short], 2)
    assert count == (48 + 48) * 3
    # concatenating them (crossing the boundary) would create 0 -> 1 transitions
    joined = kp.koopman_matrix([np.concatenate([a, b])], 2)
    assert joined[0, 1] > 0


def test_covariances_chunked_equal_brute_force(monkeypatch, tmp_path):
    rng = np.random.default_rng(3)
    segs = [rng.dirichlet(np.ones(3), size=(f, n)) for f, n in ((37, 4), (5, 4), (61, 2))]
    mm = np.lib.format.open_memmap(tmp_path / "chi.npy", mode="w+", dtype=np.float64,
                                   shape=segs[2].shape)
    mm[:] = segs[2]
    monkeypatch.setattr(kp, "_ROWS_PER_CHUNK", 9)  # force many small chunks
    c00, c0t, count = kp.covariances([segs[0], segs[1], mm], 3)  # targets may differ
    b00 = sum(np.einsum("tni,tnj->ij", s[:-3], s[:-3]) for s in segs)
    b0t = sum(np.einsum("tni,tnj->ij", s[:-3], s[3:]) for s in segs)
    np.testing.assert_allclose(c00, b00, rtol=1e-12)
    np.testing.assert_allclose(c0t, b0t, rtol=1e-12)
    assert count == (34 + 2) * 4 + 58 * 2


# ------------------------------------------------------------------ soft χ
def test_soft_chi_koopman_matrix_transforms_by_the_mixing(chain2):
    # three independent targets, pooled
    labels = np.stack([chain2[:60_000], chain2[60_000:120_000], chain2[120_000:180_000]], 1)
    M = np.array([[0.8, 0.2], [0.3, 0.7]])  # rows sum to 1, det = 0.5
    chi = one_hot(labels, 2) @ M
    counts = brute_counts([labels[:2000]], 1, 2)  # brute force on a slice, then all data:
    K_small = kp.koopman_matrix([one_hot(labels[:2000], 2) @ M], 1)
    np.testing.assert_allclose(
        K_small, np.linalg.inv(M) @ (counts / counts.sum(1, keepdims=True)) @ M, atol=1e-10)

    K_soft = kp.koopman_matrix([chi], 1)
    K_hard = kp.count_matrix_from_labels([labels], 1, 2)
    Minv = np.linalg.inv(M)
    np.testing.assert_allclose(K_soft, Minv @ K_hard @ M, atol=1e-10)  # algebraic identity
    np.testing.assert_allclose(K_soft, Minv @ P2 @ M, atol=0.01)  # sampling error
    np.testing.assert_allclose(K_soft.sum(1), 1, atol=1e-12)
    # similarity transform keeps the spectrum; stationary state = mean χ (up to edges)
    np.testing.assert_allclose(kp.implied_timescales(K_soft, 1), kp.implied_timescales(K_hard, 1),
                               rtol=1e-8)
    np.testing.assert_allclose(kp.stationary_distribution(K_soft),
                               chi.reshape(-1, 2).mean(0), atol=1e-3)


# ------------------------------------------------------------------ edge cases
def test_implied_timescale_edge_cases():
    assert kp.implied_timescales(np.eye(2), 1.0)[0] == np.inf  # |λ| = 1: no decay
    assert kp.implied_timescales(np.full((2, 2), 0.5), 1.0)[0] == 0.0  # λ = 0
    neg = np.array([[0.25, 0.75], [0.75, 0.25]])  # λ = -0.5 -> |λ| as in Eq. 11
    assert kp.implied_timescales(neg, 2.0)[0] == pytest.approx(-2 / np.log(0.5))
    # a spurious |λ| > 1 does not replace the stationary eigenvalue
    odd = np.array([[2.0, -1.0], [0.0, 1.0]])  # eigenvalues 2 and 1, rows sum to 1
    assert kp.implied_timescales(odd, 1.0)[0] == np.inf


def test_bad_inputs_raise_clear_errors():
    chi = one_hot(np.array([0, 0, 1, 1, 0, 1]), 3)  # state 2 never populated
    with pytest.raises(ValueError, match="never populated"):
        kp.koopman_matrix([chi], 1)
    with pytest.raises(ValueError, match="sum to 1"):
        kp.covariances([np.ones((5, 1, 2))], 1)
    with pytest.raises(ValueError, match="not shorter"):
        kp.covariances([one_hot(np.array([0, 1, 0]), 2)], 3)
    with pytest.raises(ValueError, match="targets"):
        kp.covariances([np.ones((5, 2))], 1)
    with pytest.raises(ValueError, match="non-negative integer"):
        kp.covariances([one_hot(np.array([0, 1, 0]), 2)], 1.5)
    with pytest.raises(ValueError, match="numerically singular"):  # states 0 and 1 identical
        kp.koopman_matrix([one_hot(np.array([0, 1, 1, 0, 1]), 2) @ np.full((2, 2), 0.5)], 1)
    with pytest.raises(ValueError, match="never start"):
        kp.count_matrix_from_labels([np.array([0, 0, 1])], 1, 3)


# ------------------------------------------------------- global from local
def test_global_from_local_structure_and_spectrum():
    p_o, p_t = 0.95, 0.6
    local = np.array([[p_t, 1 - p_t], [1 - p_o, p_o]])  # learned state 1 is oct
    G = kp.global_from_local(local, oct_state=1)
    assert G.shape == (12, 12)
    np.testing.assert_allclose(G.sum(1), 1, atol=1e-15)
    np.testing.assert_allclose(G[:4, :4], p_o * np.eye(4))
    np.testing.assert_allclose(G[:4, 4:], (1 - p_o) / 8)
    np.testing.assert_allclose(G[4:, :4], (1 - p_t) / 4)
    np.testing.assert_allclose(G[4:, 4:], p_t * np.eye(8))
    swapped = local[::-1, ::-1]
    np.testing.assert_array_equal(kp.global_from_local(swapped, oct_state=0), G)

    theory = np.sort([1, p_o + p_t - 1] + [p_o] * 3 + [p_t] * 7)
    np.testing.assert_allclose(np.sort(np.linalg.eigvals(G).real), theory, atol=1e-12)
    tau = 10.0
    t = kp.implied_timescales(G, tau)
    assert t[0] == pytest.approx(-tau / np.log(p_o))
    np.testing.assert_allclose(np.sort(t), np.sort(-tau / np.log(np.abs(theory[:-1]))))


def test_global_chain_counted_from_labels_recovers_global_timescale():
    p_o, p_t = 0.95, 0.6
    G = kp.global_from_local(np.array([[p_o, 1 - p_o], [1 - p_t, p_t]]), oct_state=0)
    sites = simulate(G, 200_000, seed=4)
    K12 = kp.count_matrix_from_labels([sites], 1, 12)
    assert kp.implied_timescales(K12, 1.0)[0] == pytest.approx(-1 / np.log(p_o), rel=0.1)
    # the site type (oct 0-3 / tet 4-11) of this chain is exactly lumpable to K_local
    K2 = kp.count_matrix_from_labels([(sites >= 4).astype(int)], 1, 2)
    np.testing.assert_allclose(K2, [[p_o, 1 - p_o], [1 - p_t, p_t]], atol=0.01)


def test_global_from_local_rejects_bad_input():
    with pytest.raises(ValueError, match="2x2"):
        kp.global_from_local(np.eye(3), 0)
    with pytest.raises(ValueError, match="oct_state"):
        kp.global_from_local(np.eye(2), 2)
    with pytest.raises(ValueError, match="sum to 1"):
        kp.global_from_local(np.array([[0.9, 0.2], [0.1, 0.9]]), 0)


# --------------------------------------------------------------------- CI
def _tagged_segments(lengths, n, k=2):
    """Segments whose [..., 0] entry is a unique id per (segment, frame, target)."""
    segs, start = [], 0
    for f in lengths:
        s = np.zeros((f, n, k))
        s[..., 0] = start + np.arange(f * n).reshape(f, n)
        start += f * n
        segs.append(s)
    return segs, start


@pytest.mark.parametrize("scheme", ["time_chunks", "target_subsets", "segments"])
def test_ci_groups_partition_the_data_exactly(scheme):
    segs, total = _tagged_segments([23, 17, 40], n=7)
    groups = kp.ci_groups(segs, scheme, n_groups=5, seed=1)
    ids = np.concatenate([s[..., 0].ravel() for g in groups for s in g])
    np.testing.assert_array_equal(np.sort(ids), np.arange(total))  # none lost or duplicated
    if scheme == "time_chunks":
        assert len(groups) == 5
        for i, seg in enumerate(segs):
            chunks = [g[i] for g in groups]
            np.testing.assert_array_equal(np.concatenate(chunks), seg)  # contiguous, in order
            assert max(len(c) for c in chunks) - min(len(c) for c in chunks) <= 1
    elif scheme == "target_subsets":
        assert len(groups) == 5
        sizes = [g[0].shape[1] for g in groups]
        assert sorted(sizes) == [1, 1, 1, 2, 2]
        for g in groups:  # every group keeps all frames of all segments
            assert [s.shape[0] for s in g] == [23, 17, 40]
        again = kp.ci_groups(segs, scheme, n_groups=5, seed=1)
        assert all(np.array_equal(x[0], y[0]) for x, y in zip(groups, again))
    else:
        assert len(groups) == 3 and all(len(g) == 1 for g in groups)


def test_ci_groups_reject_impossible_splits():
    segs, _ = _tagged_segments([10], n=3)
    with pytest.raises(ValueError, match="at least 2 segments"):
        kp.ci_groups(segs, "segments")
    with pytest.raises(ValueError, match="targets"):
        kp.ci_groups(segs, "target_subsets", n_groups=5)
    with pytest.raises(ValueError, match="unknown CI scheme"):
        kp.ci_groups(segs, "bootstrap")
    with pytest.raises(ValueError, match="time chunks"):
        kp.ci_groups(segs, "time_chunks", n_groups=11)
    uneven, _ = _tagged_segments([10, 12], n=3)
    uneven.append(np.zeros((10, 4, 2)))
    with pytest.raises(ValueError, match="same targets"):
        kp.ci_groups(uneven, "target_subsets", n_groups=2)


def test_confidence_interval_matches_scipy_student_t():
    rng = np.random.default_rng(5)
    est = rng.normal(3.0, 0.4, size=(5, 2, 3))
    low, high = kp.confidence_interval(est)
    ref = stats.t.interval(0.95, df=4, loc=est.mean(0), scale=stats.sem(est, axis=0))
    np.testing.assert_allclose(low, ref[0])
    np.testing.assert_allclose(high, ref[1])
    # a failed group (all NaN) is left out: G = 4
    est[2] = np.nan
    low, _ = kp.confidence_interval(est)
    keep = est[[0, 1, 3, 4]]
    ref = stats.t.interval(0.95, df=3, loc=keep.mean(0), scale=stats.sem(keep, axis=0))
    np.testing.assert_allclose(low, ref[0])
    assert np.all(np.isnan(kp.confidence_interval(est[1:3])[0]))  # 1 valid group: no CI


def test_timescales_vs_lag_with_target_subsets():
    rng_seeds = range(10, 20)
    labels = np.stack([simulate(P2, 20_000, seed=s) for s in rng_seeds], 1)  # 10 targets
    df = kp.timescales_vs_lag([one_hot(labels, 2)], [1, 2, 4], dt=0.5,
                              scheme="target_subsets", n_groups=5)
    assert list(df.columns) == ["lag_ps", "process", "timescale_ps", "ci_low_ps", "ci_high_ps"]
    np.testing.assert_allclose(df.lag_ps, [0.5, 1.0, 2.0])
    assert set(df.process) == {1}
    exact = -0.5 / np.log(1 - P2[0, 1] - P2[1, 0])
    assert np.all(df.ci_low_ps < df.timescale_ps) and np.all(df.timescale_ps < df.ci_high_ps)
    half = (df.ci_high_ps - df.ci_low_ps) / 2
    assert np.all(np.abs(df.timescale_ps - exact) < 2 * half)  # ~2 CI half-widths
    assert np.all(np.abs(df.timescale_ps - exact) < 0.05 * exact)


def test_ck_test_with_segments_scheme(chain3):
    segs = [one_hot(chain3[i * 50_000:(i + 1) * 50_000], 3) for i in range(4)]
    df = kp.ck_test(segs, lag=3, n_steps=4, dt=1.0, scheme="segments")
    assert len(df) == 5 * 9
    d = df[df.step == 4].sort_values(["from_state", "to_state"])
    # state 1 is rare (~5 %, ~2000 visits of ~5 frames), so its row is only good to ~0.01 SE
    np.testing.assert_allclose(d.estimated, np.linalg.matrix_power(P3, 12).ravel(), atol=0.06)
    assert kp.ck_passes(df)
    with pytest.raises(ValueError, match="reduce n_steps"):
        kp.ck_test(segs, lag=3, n_steps=20_000, dt=1.0, scheme="segments")


def test_ck_passes_criterion():
    def table(pred, est, low, high):
        return pd.DataFrame({"step": [0, 1], "predicted": [1.0, pred], "estimated": [1.0, est],
                             "est_low": [1.0, low], "est_high": [1.0, high]})
    assert kp.ck_passes(table(0.50, 0.52, 0.48, 0.56))           # inside the CI
    assert kp.ck_passes(table(0.60, 0.52, 0.48, 0.56))           # 0.04 above: within tol
    assert not kp.ck_passes(table(0.62, 0.52, 0.48, 0.56))       # 0.06 above
    assert kp.ck_passes(table(0.50, 0.54, np.nan, np.nan))       # no CI: |Δ| <= tol
    assert not kp.ck_passes(table(0.50, 0.56, np.nan, np.nan))
    with pytest.raises(ValueError, match="tol"):
        kp.ck_passes(table(0.50, 0.52, 0.48, 0.56), tol=-0.1)


# ------------------------------------------------------------------ τ* choice
def _curve(values, lags=(1, 2, 3, 4, 5, 6), half=1.0):
    v = np.asarray(values, dtype=float)
    return pd.DataFrame({"lag_ps": np.asarray(lags, float), "process": 1, "timescale_ps": v,
                         "ci_low_ps": v - half, "ci_high_ps": v + half})


def _candidates(ck):
    # Each model's curve rises until lag 3 ps, then stays flat within its CI.
    curve = [20.0, 30.0, 40.0, 40.5, 39.6, 40.8]
    return [{"tau_ps": float(tau), "timescales": _curve(curve), "ck_pass": ck[i]}
            for i, tau in enumerate((1, 2, 3, 4))]


def test_select_tau_picks_start_of_plateau():
    out = kp.select_tau(_candidates([True, True, True, True]))
    assert out["tau_star_ps"] == 3.0
    ev = {e["tau_ps"]: e for e in out["evidence"]}
    assert [ev[t]["plateau"] for t in (1.0, 2.0, 3.0, 4.0)] == [False, False, True, True]
    assert ev[3.0]["slowest_timescale_ps"] == 40.0
    assert "CK" in out["reason"]


def test_select_tau_requires_ck_and_falls_back_to_largest():
    assert kp.select_tau(_candidates([True, True, False, True]))["tau_star_ps"] == 4.0
    out = kp.select_tau(_candidates([True, True, False, False]))
    assert out["tau_star_ps"] == 4.0 and "no trained lag" in out["reason"]
    # rising curve: CI and 10 % tolerance both violated at every lag
    rising = [{"tau_ps": 1.0, "timescales": _curve([10, 20, 30, 40, 50, 60]), "ck_pass": True},
              {"tau_ps": 2.0, "timescales": _curve([10, 20, 30, 40, 50, 60]), "ck_pass": True}]
    out = kp.select_tau(rising)
    assert out["tau_star_ps"] == 2.0 and not any(e["plateau"] for e in out["evidence"])


def test_select_tau_relative_tolerance_and_override():
    # CI far too narrow to cover a 5 % wobble, but the 10 % tolerance accepts it
    narrow = [{"tau_ps": 1.0, "timescales": _curve([100, 105, 96, 103, 99, 104], half=0.1),
               "ck_pass": True}]
    assert kp.select_tau(narrow)["evidence"][0]["plateau"]
    assert not kp.select_tau(narrow, rel_tol=0.01)["evidence"][0]["plateau"]
    out = kp.select_tau(_candidates([True] * 4), override_ps=2.0)
    assert out["tau_star_ps"] == 2.0 and out["reason"] == "set in config"
    assert len(out["evidence"]) == 4
    with pytest.raises(ValueError, match="not among the trained"):
        kp.select_tau(_candidates([True] * 4), override_ps=7.0)
    with pytest.raises(ValueError, match="no row at lag"):
        kp.select_tau([{"tau_ps": 2.5, "timescales": _curve([1] * 6), "ck_pass": True}])


# ------------------------------------------------- intervals that mean what they say
def simulate_many(P, n_steps, n_chains, seed):
    """(n_steps, n_chains) labels of independent Markov chains P, started stationary."""
    P = np.asarray(P, dtype=float)
    vals, vecs = np.linalg.eig(P.T)
    pi = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    pi /= pi.sum()
    cum = np.cumsum(P, axis=1)
    rng = np.random.default_rng(seed)
    out = np.empty((n_steps, n_chains), dtype=np.int64)
    out[0] = (rng.random(n_chains)[:, None] > np.cumsum(pi)[None, :]).sum(axis=1)
    u = rng.random((n_steps, n_chains))
    for t in range(1, n_steps):
        out[t] = (u[t][:, None] > cum[out[t - 1]]).sum(axis=1)
    return out


def test_timescale_interval_covers_the_analytic_value_in_95_percent_of_replicates():
    """200 independent replicates of a 2-state chain, each analysed like the test data of
    a system (5 time chunks): the 95 % CI of the implied timescale must cover the
    analytic -τ/ln(1-p-q) in 90-99 % of them, at two lags."""
    n_rep, dt = 200, 0.1
    labels = simulate_many(P2, 20_000, n_rep, seed=11)
    lam = 1 - P2[0, 1] - P2[1, 0]
    covered = {1: 0, 5: 0}
    for r in range(n_rep):
        ts = kp.timescales_vs_lag([one_hot(labels[:, r], 2)], list(covered), dt, n_groups=5)
        for lag in covered:
            row = ts[np.isclose(ts.lag_ps, lag * dt)].iloc[0]
            truth = -lag * dt / np.log(lam**lag)
            assert row.ci_low_ps <= row.timescale_ps <= row.ci_high_ps  # estimate inside
            assert row.ci_low_ps > 0
            covered[lag] += row.ci_low_ps <= truth <= row.ci_high_ps
    for lag, hits in covered.items():
        assert 0.90 <= hits / n_rep <= 0.99, (lag, hits / n_rep)


def test_intervals_contain_their_estimate_and_respect_bounds():
    # five groups, one of them far off: the group mean lies outside an interval around it,
    # the pooled value need not, and the log interval stays positive
    est = np.array([0.7, 0.8, 0.75, 2.9, 0.72])
    low, high = kp.confidence_interval(est, centre=0.70, log=True)
    assert 0 < low <= 0.70 <= high
    lin_low, _ = kp.confidence_interval(est)
    assert lin_low < 0  # the old scheme: a negative lower bound for a timescale
    # probabilities: clipped to [0, 1], and a centre just outside still inside
    p_low, p_high = kp.confidence_interval(np.array([0.01, 0.0, 0.03, 0.02]), centre=-0.001,
                                           bounds=(0.0, 1.0))
    assert p_low == -0.001 and 0 < p_high <= 1
    # log scale: the interval is the exponential of the interval of ln t (analytic)
    t = np.array([2.0, 3.0, 4.0])
    lo, hi = kp.confidence_interval(t, centre=3.0, log=True)
    half = stats.t.ppf(0.975, 2) * np.log(t).std(ddof=1) / np.sqrt(3)
    assert lo == pytest.approx(3.0 * np.exp(-half)) and hi == pytest.approx(3.0 * np.exp(half))


def test_ck_and_populations_intervals_contain_the_estimates(chain3):
    chi = [one_hot(chain3[:50_000], 3)]
    ck = kp.ck_test(chi, 5, 3, 0.1, n_groups=5)
    assert ((ck.est_low <= ck.estimated + 1e-12) & (ck.estimated <= ck.est_high + 1e-12)).all()
    assert ((ck.pred_low <= ck.predicted + 1e-12) & (ck.predicted <= ck.pred_high + 1e-12)).all()
    assert (ck[["est_low", "pred_low"]] >= 0).all().all()
    assert (ck[["est_high", "pred_high"]] <= 1).all().all()
    pi, low, high = kp.populations(chi, 5, n_groups=5)
    b, a = B3, A3
    truth = np.array([b, a, b]) / (2 * b + a)  # detailed balance (see P3)
    assert np.all((low <= pi) & (pi <= high))
    assert np.all((low <= truth) & (truth <= high))


# ------------------------------------------------- τ* over a window τ … 5τ
def _drifting(lags):
    """A timescale that drifts slowly, 8.5 -> 10.5 ps over lags 2-50 ps (linear), with a
    CI of ±3 %: what soft states give on a long grid."""
    lags = np.asarray(lags, float)
    v = 8.5 + 2.0 * (lags - 2) / 48
    return pd.DataFrame({"lag_ps": lags, "process": 1, "timescale_ps": v,
                         "ci_low_ps": 0.97 * v, "ci_high_ps": 1.03 * v})


@pytest.mark.parametrize("grid_end", [30, 40, 50])
def test_tau_star_does_not_hinge_on_where_the_grid_ends(grid_end):
    grid = [g for g in (1, 2, 5, 10, 20, 30, 40, 50) if g <= grid_end]
    trained = [t for t in (2, 5, 10, 20, 30, 40, 50) if t <= grid_end]
    # the smallest lag rises steeply into the drift: no plateau there
    cands = []
    for tau in trained:
        curve = _drifting(grid)
        curve.loc[curve.lag_ps < 2, "timescale_ps"] = 4.0
        cands.append({"tau_ps": float(tau), "timescales": curve, "ck_pass": True})
    out = kp.select_tau(cands)
    assert out["tau_star_ps"] == 2.0 and not out["fallback"]
    # over every larger lag, the drift (8.5 -> 10.5, 24 %) would break the plateau at 2 ps
    assert out["evidence"][0]["window_ps"] == [2.0, 10.0]


def test_the_largest_lag_can_have_a_plateau():
    flat = _curve([40.0, 40.2, 39.9, 40.1, 40.0, 40.3])  # lags 1-6, the grid ends at 6
    out = kp.select_tau([{"tau_ps": 6.0, "timescales": flat, "ck_pass": True}])
    ev = out["evidence"][0]
    assert ev["plateau"] and ev["judged"] == "below" and ev["window_ps"] == [1.2, 6.0]
    assert out["tau_star_ps"] == 6.0 and not out["fallback"]
    rising = _curve([10, 20, 30, 40, 50, 60])
    out = kp.select_tau([{"tau_ps": 6.0, "timescales": rising, "ck_pass": True}])
    assert not out["evidence"][0]["plateau"] and out["fallback"]
