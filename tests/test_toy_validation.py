"""Known-answer tests for gdynet.systems.toy.validation on constructed state/site labels."""

import numpy as np
import pytest

from gdynet.systems.toy.validation import balanced_state_agreement, oct_state, validate

OCT, TET = 0, 1


def labelled_frames():
    """980 oct and 20 tet frames (2 % tet); learned state 1 = oct, state 0 = tet.

    Recalls by construction: oct 882/980 = 0.9, tet 15/20 = 0.75.
    """
    site = np.array([OCT] * 980 + [TET] * 20, dtype=np.int8)
    state = np.ones(1000, dtype=np.int64)
    state[:98] = 0          # 98 oct frames wrongly in the tet-like state
    state[980:995] = 0      # 15 of the 20 tet frames found
    rng = np.random.default_rng(0)
    order = rng.permutation(1000)  # order must not matter
    return state[order], site[order]


def test_balanced_agreement_known_recalls_and_permutation():
    state, site = labelled_frames()
    score, perm = balanced_state_agreement(state, site)
    assert perm == (TET, OCT)  # state 0 -> tet, state 1 -> oct
    assert score == pytest.approx((0.9 + 0.75) / 2)
    # identical result with the state labels swapped back
    score2, perm2 = balanced_state_agreement(1 - state, site)
    assert score2 == pytest.approx(score) and perm2 == (OCT, TET)


def test_model_that_never_leaves_oct_scores_one_half():
    _, site = labelled_frames()
    score, _ = balanced_state_agreement(np.zeros(site.shape, dtype=int), site)
    assert score == pytest.approx(0.5)  # plain accuracy would be 0.98


def test_perfect_agreement_with_targets_axis():
    rng = np.random.default_rng(1)
    site = (rng.random((200, 3)) < 0.1).astype(np.int8)
    score, perm = balanced_state_agreement((1 - site).astype(int), site)
    assert score == 1.0 and perm == (TET, OCT)


def test_more_states_than_site_types_map_each_state_by_relative_frequency():
    # 3 states: 0 and 1 split most oct frames; 2 holds 8 of 10 tet frames but also
    # 20 oct frames, so raw counts (20 > 8) would call it oct and score 0.5.
    site = np.array([OCT] * 90 + [TET] * 10)
    state = np.array([0] * 40 + [1] * 30 + [2] * 20 + [2] * 8 + [1] * 2)
    # P(state | oct) = (40, 30, 20)/90; P(state | tet) = (0, 2, 8)/10
    score, perm = balanced_state_agreement(state, site)
    assert perm == (OCT, OCT, TET)
    assert score == pytest.approx(((40 + 30) / 90 + 8 / 10) / 2)


def test_oct_state_is_the_state_most_probable_on_oct_frames():
    site = np.array([[OCT, TET], [OCT, OCT], [TET, OCT], [OCT, OCT]], dtype=np.int8)
    chi = np.empty((4, 2, 2))
    chi[..., 1] = np.where(site == OCT, 0.8, 0.3)
    chi[..., 0] = 1 - chi[..., 1]
    assert oct_state(chi, site) == 1
    assert oct_state(chi[..., ::-1], site) == 0
    assert oct_state(chi[:, 0], site[:, 0]) == 1  # (F, k) input


def test_bad_inputs_raise():
    state, site = labelled_frames()
    with pytest.raises(ValueError, match="integer state indices"):
        balanced_state_agreement(state.astype(float), site)
    with pytest.raises(ValueError, match="shape"):
        balanced_state_agreement(state, site[:-1])
    with pytest.raises(ValueError, match="tetrahedral"):
        balanced_state_agreement(state, np.zeros_like(site))
    with pytest.raises(ValueError, match="0 .octahedral"):
        balanced_state_agreement(state, site + 2)
    with pytest.raises(ValueError, match="octahedral"):
        oct_state(np.full((3, 2), 0.5), np.ones(3, dtype=int))


def simulate(P, n_steps, seed):
    """Labels of a Markov chain with transition matrix P (plain inversion sampling)."""
    cum = np.cumsum(P, axis=1)
    u = np.random.default_rng(seed).random(n_steps)
    out = np.empty(n_steps, dtype=np.int64)
    state = 0
    for t in range(n_steps):
        state = out[t] = min(int(np.searchsorted(cum[state], u[t], side="right")), len(P) - 1)
    return out


def test_validate_on_a_known_global_chain():
    # Li hops on the 12 unit-cell sites with the Supplementary Note 2 matrix, so the
    # 12-site and 2-type count models and the learned-model checks all have known answers.
    p_o, p_t, dt = 0.95, 0.6, 0.1
    G = np.zeros((12, 12))
    G[:4, :4], G[:4, 4:] = p_o * np.eye(4), (1 - p_o) / 8
    G[4:, :4], G[4:, 4:] = (1 - p_t) / 4, p_t * np.eye(8)
    site_id = simulate(G, 100_000, seed=3)
    site_type = (site_id >= 4).astype(np.int8)
    chi = np.eye(2)[1 - site_type]  # crisp χ; learned state 1 = oct
    cut = 40_000  # two test pieces

    def run(chi):
        return validate([chi[:cut, None], chi[cut:, None]], [site_type[:cut], site_type[cut:]],
                        [site_id[:cut], site_id[cut:]], lag=1, lag_ps=dt)

    res = run(chi)
    assert res["notes"] == []
    assert res["state_agreement"] == 1.0 and tuple(res["state_permutation"]) == (TET, OCT)
    assert res["oct_state"] == 1
    assert res["timescale_ps"] == pytest.approx(res["reference_timescale_ps"], rel=1e-12)
    assert res["reference_timescale_ps"] == pytest.approx(-dt / np.log(p_o + p_t - 1), rel=0.05)
    slow = -dt / np.log(p_o)  # eigenvalue p_o of the 12-site matrix (theory)
    assert res["global_from_local_timescale_ps"] == pytest.approx(
        res["global_from_local_reference_ps"], rel=1e-12)  # same K, states swapped
    assert res["global_from_local_reference_ps"] == pytest.approx(slow, rel=0.05)
    assert res["global_counted_timescale_ps"] == pytest.approx(slow, rel=0.15)
    assert res["tet_fraction"] == pytest.approx(site_type.mean())
    # crisp χ: the stationary tet population of K is the counted tet share (up to the
    # frames at the ends of the pieces), and the geometric one is the share itself
    assert res["tet_population_geometric"] == pytest.approx(site_type.mean())
    assert res["tet_population_learned"] == pytest.approx(site_type.mean(), rel=1e-3)
    assert res["tet_population_mean_chi"] == pytest.approx(site_type.mean())
    # fuzzy χ = crisp @ M: K is a similarity transform, so the timescale is unchanged
    soft = run(chi @ np.array([[0.9, 0.1], [0.2, 0.8]]))
    assert soft["timescale_ps"] == pytest.approx(res["reference_timescale_ps"], rel=1e-8)
    assert soft["state_agreement"] == 1.0 and soft["oct_state"] == 1


def test_validate_reports_missing_sites_instead_of_failing():
    site_id = np.array([0, 0, 4, 4, 0, 0, 5, 0] * 10)  # sites 1-3, 6-11 never visited
    site_type = (site_id >= 4).astype(np.int8)
    chi = np.eye(2)[site_type][:, None]
    res = validate([chi], [site_type], [site_id], lag=1, lag_ps=1.0)
    assert res["global_counted_timescale_ps"] is None
    assert any("global_counted" in note for note in res["notes"])
    assert res["state_agreement"] == 1.0
