"""VAMP-2 score: known answers from deeptime (the reference implementation) and from theory."""

import numpy as np
import pytest
import torch
from deeptime.decomposition import VAMP
from deeptime.decomposition.deep import vamp_score as deeptime_vamp_score

from gdynet.learn.vamp import (
    CovarianceAccumulator,
    covariances,
    lagged_score_np,
    vamp2_from_covariances,
    vamp2_score,
    vamp2_score_np,
)


def correlated_series(n_steps, dim, seed):
    """A slowly varying random signal plus noise: time-lagged pairs are correlated."""
    rng = np.random.default_rng(seed)
    slow = np.cumsum(rng.normal(size=(n_steps, dim)), axis=0) * 0.1
    return slow + rng.normal(size=(n_steps, dim)) @ rng.normal(size=(dim, dim))


def softmax_series(n_steps, k, seed):
    z = correlated_series(n_steps, k, seed) * 2.0
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def reference(x, y, epsilon=1e-6):
    return float(deeptime_vamp_score(torch.tensor(x), torch.tensor(y), method="VAMP2", epsilon=epsilon, mode="trunc"))


def test_random_data_matches_deeptime():
    z = correlated_series(3000, 4, seed=0)
    x, y = z[:-5], z[5:]
    expected = reference(x, y)
    estimator = VAMP(lagtime=5, epsilon=1e-6).fit(z).fetch_model().score(r=2)
    assert expected == pytest.approx(estimator, rel=1e-10)  # the two deeptime routes agree
    assert float(vamp2_score(torch.tensor(x), torch.tensor(y))) == pytest.approx(expected, rel=1e-10)
    assert vamp2_score_np(x, y) == pytest.approx(expected, rel=1e-10)


def test_softmax_outputs_singular_covariance_matches_deeptime():
    chi = softmax_series(3000, 3, seed=1)
    x, y = chi[:-2], chi[2:]
    c00 = np.cov(x.T)
    assert np.linalg.eigvalsh(c00)[0] < 1e-12  # rows sum to one: C00 is singular
    expected = reference(x, y)
    got = vamp2_score(torch.tensor(x), torch.tensor(y))
    assert np.isfinite(float(got))
    assert float(got) == pytest.approx(expected, abs=1e-6)
    assert vamp2_score_np(x, y) == pytest.approx(expected, abs=1e-6)
    # Theory: the last column is 1 - (the others), so dropping it loses nothing (the
    # constant is the +1). That reduced data has a regular covariance: no truncation.
    reduced = VAMP(epsilon=1e-12).fit((x[:, :-1], y[:, :-1])).fetch_model().score(r=2)
    assert float(got) == pytest.approx(reduced, abs=1e-6)
    assert 1.0 <= float(got) <= 3.0  # 1 + (k - 1) at most


def test_gradient_through_softmax_is_exact():
    rng = np.random.default_rng(2)
    logits = torch.tensor(rng.normal(size=(30, 3)), requires_grad=True)

    def score(z):
        p = torch.softmax(z, dim=1)
        return vamp2_score(p[:-1], p[1:])

    assert torch.autograd.gradcheck(score, (logits,), eps=1e-6, atol=1e-5)


def test_float32_input_scores_in_float64_and_backpropagates_in_float32():
    chi = softmax_series(500, 2, seed=3)
    x32 = torch.tensor(chi[:-1], dtype=torch.float32, requires_grad=True)
    s = vamp2_score(x32, torch.tensor(chi[1:], dtype=torch.float32))
    assert s.dtype == torch.float64
    s.backward()
    assert x32.grad.dtype == torch.float32 and torch.isfinite(x32.grad).all()
    as32 = chi.astype(np.float32).astype(np.float64)
    assert float(s.detach()) == pytest.approx(reference(as32[:-1], as32[1:]), abs=1e-6)


def test_streamed_covariances_equal_one_shot():
    chi = softmax_series(2001, 4, seed=4) + 100.0  # offset: catches cancellation in naive sums
    x, y = chi[:-1], chi[1:]
    acc = CovarianceAccumulator()
    for a in range(0, len(x), 333):
        acc.add(torch.tensor(x[a : a + 333]), y[a : a + 333])  # torch and numpy both accepted
    expected = [np.cov(x.T), np.cov(x.T, y.T)[:4, 4:], np.cov(y.T)]  # independent: numpy's cov
    for got, want in zip(acc.covariances(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    assert acc.score() == pytest.approx(reference(x, y), abs=1e-8)
    assert vamp2_from_covariances(*expected) == pytest.approx(acc.score(), rel=1e-12)


def test_torch_covariances_match_numpy():
    z = correlated_series(400, 3, seed=5)
    c00, c01, c11 = covariances(torch.tensor(z[:-1]), torch.tensor(z[1:]))
    full = np.cov(z[:-1].T, z[1:].T)
    np.testing.assert_allclose(c00.numpy(), full[:3, :3], rtol=1e-12)
    np.testing.assert_allclose(c01.numpy(), full[:3, 3:], rtol=1e-12)
    np.testing.assert_allclose(c11.numpy(), full[3:, 3:], rtol=1e-12)


def test_two_state_markov_chain_reaches_analytic_score():
    # One-hot features of a two-state chain span its Koopman eigenfunctions exactly:
    # VAMP-2 = 1 + λ², λ = 1 - p - q (lag 1), up to sampling error.
    p, q, n_steps = 0.05, 0.10, 200_000
    rng = np.random.default_rng(6)
    flips = rng.random(n_steps)
    s = np.zeros(n_steps, dtype=int)
    for t in range(1, n_steps):
        s[t] = 1 - s[t - 1] if flips[t] < (p if s[t - 1] == 0 else q) else s[t - 1]
    one_hot = np.eye(2)[s]
    lam = 1 - p - q
    assert lagged_score_np(one_hot, 1) == pytest.approx(1 + lam**2, abs=0.01)
    assert lagged_score_np(one_hot, 3) == pytest.approx(1 + lam**6, abs=0.01)


def test_lagged_score_pools_targets_like_brute_force_pairs():
    chi = softmax_series(300 * 3, 2, seed=7).reshape(300, 3, 2)
    pairs_x, pairs_y = [], []
    for t in range(300 - 4):
        for target in range(3):
            pairs_x.append(chi[t, target])
            pairs_y.append(chi[t + 4, target])
    assert lagged_score_np(chi, 4) == pytest.approx(reference(np.array(pairs_x), np.array(pairs_y)), abs=1e-8)


@pytest.mark.parametrize(
    "x, y",
    [
        (np.zeros((10, 2)), np.zeros((10, 3))),  # shapes differ
        (np.zeros(10), np.zeros(10)),  # not 2-D
        (np.zeros((1, 2)), np.zeros((1, 2))),  # one pair
    ],
)
def test_bad_input_raises(x, y):
    with pytest.raises(ValueError):
        vamp2_score(x, y)
    with pytest.raises(ValueError):
        vamp2_score_np(x, y)
