"""Mapping fuzzy learned states onto the probability simplex."""

import numpy as np
import pytest

from gdynet.analysis import koopman
from gdynet.learn import simplex


def markov_chain(P, n_steps, seed):
    rng = np.random.default_rng(seed)
    cum = np.cumsum(P, axis=1)
    s = np.empty(n_steps, dtype=int)
    s[0] = 0
    u = rng.random(n_steps)
    for t in range(1, n_steps):
        s[t] = np.searchsorted(cum[s[t - 1]], u[t])
    return s


def fuzzy(states, mixing):
    """Soft states as a network with VAMP-2 may learn them: crisp states times a mixing."""
    return np.eye(mixing.shape[0])[states] @ mixing


def test_fuzzy_two_states_become_crisp_again():
    states = np.random.default_rng(0).integers(0, 2, 1000)
    mixing = np.array([[0.9, 0.1], [0.7, 0.3]])  # P(state 0) = 0.9 or 0.7: argmax says all 0
    chi = fuzzy(states, mixing)
    crisp = simplex.to_simplex(chi, simplex.vertices(chi))
    assert np.allclose(crisp.sum(axis=1), 1)
    # the learned labels are recovered up to a permutation
    agree = np.mean(crisp.argmax(axis=1) == states)
    assert max(agree, 1 - agree) == 1.0
    assert set(np.round(crisp.ravel(), 6)) <= {0.0, 1.0}


def test_three_states_are_recovered_and_ordered_by_population():
    rng = np.random.default_rng(1)
    states = rng.choice(3, size=3000, p=[0.2, 0.5, 0.3])
    mixing = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.3, 0.2, 0.5]])
    chi = fuzzy(states, mixing) + rng.normal(0, 1e-3, (3000, 3))
    chi /= chi.sum(axis=1, keepdims=True)
    corners = simplex.order_by_population(simplex.vertices(chi), chi)
    crisp = simplex.to_simplex(chi, corners)
    # most populated learned state first: hidden states 1, 2, 0
    assert np.mean(crisp.argmax(axis=1) == np.array([2, 0, 1])[states]) == 1.0
    np.testing.assert_allclose(crisp.mean(axis=0), [0.5, 0.3, 0.2], atol=0.03)


def test_mapping_keeps_the_implied_timescales():
    P = np.array([[0.98, 0.02], [0.05, 0.95]])
    states = markov_chain(P, 50_000, seed=2)
    chi = fuzzy(states, np.array([[0.85, 0.15], [0.6, 0.4]]))[:, None, :]  # (T, n=1, k)
    corners = simplex.order_by_population(simplex.vertices(chi[:, 0]), chi[:, 0])
    crisp = simplex.to_simplex(chi, corners)
    t_fuzzy = koopman.implied_timescales(koopman.koopman_matrix([chi], 5), 5)
    t_crisp = koopman.implied_timescales(koopman.koopman_matrix([crisp], 5), 5)
    np.testing.assert_allclose(t_crisp, t_fuzzy, rtol=1e-6)
    # state 0 is the more populated one (π = 5/7), so K is the chain's own P (known answer)
    np.testing.assert_allclose(koopman.koopman_matrix([crisp], 1), P, atol=0.01)


def test_collapsed_states_are_refused_and_kept_as_learned(caplog):
    chi = np.tile([0.6, 0.4], (100, 1))
    with pytest.raises(ValueError, match="collapsed"):
        simplex.vertices(chi)
    np.testing.assert_array_equal(simplex.corners(chi), np.eye(2))
    assert "keeping the states as learned" in caplog.text


def noisy_two_states(seed, n=20_000, p_minor=0.01, outliers=20, noise=0.01):
    """Crisp states (minor state population p_minor, like the toy's tet site) seen through
    a fuzzy mixing, with Gaussian noise and a few outlying frames beyond the minor state
    (frames mid-hop)."""
    rng = np.random.default_rng(seed)
    states = (rng.random(n) < p_minor).astype(int)
    chi = fuzzy(states, np.array([[0.8, 0.2], [0.55, 0.45]]))
    chi[:, 1] += rng.normal(0, noise, n)
    far = rng.choice(np.flatnonzero(states == 1), outliers, replace=False)
    chi[far, 1] += rng.uniform(0.1, 0.2, outliers)  # beyond the minor state's centre
    chi[:, 1] = chi[:, 1].clip(0, 1)
    chi[:, 0] = 1 - chi[:, 1]
    return states, chi


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_corners_at_state_centres_give_the_populations(seed):
    states, chi = noisy_two_states(seed)
    crisp = simplex.to_simplex(chi, simplex.corners(chi))
    truth = states.mean()
    assert crisp[:, 1].mean() == pytest.approx(truth, rel=0.1)
    # a typical frame of the minor state is crisp, not 0.96 / 0.04
    assert np.median(crisp[states == 1, 1]) > 0.95
    assert np.median(crisp[states == 0, 0]) > 0.95
    # the extreme points (inner simplex) are outliers and miss the populations, and so
    # does clipping to [0, 1] (it cuts the noise of the large state on one side only)
    extreme = simplex.to_simplex(chi, simplex.order_by_population(simplex.vertices(chi), chi))
    assert abs(extreme[:, 1].mean() - truth) > 0.1 * truth
    clipped = simplex.to_simplex(chi, simplex.corners(chi), clip=True)
    assert abs(clipped[:, 1].mean() - truth) > 0.1 * truth


def test_centres_of_three_clusters_are_found():
    rng = np.random.default_rng(3)
    states = rng.choice(3, size=6000, p=[0.6, 0.3, 0.1])
    mixing = np.array([[0.6, 0.3, 0.1], [0.2, 0.6, 0.2], [0.2, 0.3, 0.5]])
    chi = fuzzy(states, mixing) + rng.normal(0, 0.01, (6000, 3))
    chi /= chi.sum(axis=1, keepdims=True)
    found = simplex.corners(chi)
    np.testing.assert_allclose(found, mixing, atol=0.01)  # most populated first = mixing order


def test_probabilities_clip_below_zero_and_renormalise():
    chi = np.array([[1.05, -0.05], [0.3, 0.7], [-0.02, 1.02]])
    p = simplex.probabilities(chi)
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p, [[1.0, 0.0], [0.3, 0.7], [0.0, 1.0]], atol=1e-6)
