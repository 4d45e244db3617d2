"""Known answers for the PEO/LiTFSI analyses (Supp. Note 3, Eq. 13-16).

- populations and their t-interval, computed by hand;
- the Gaussian shell fit recovers μ and σ; a constructed shell gives the charge it was
  built with;
- Eq. 13-14 on random walks whose diffusion constant is set per state (states switch by a
  Markov chain): D_ii comes out as set and D_ij as the mean of the two;
- the identity Σ_ij P_ij E[d² | i→j] = MSD on random data;
- Eq. 15-16 on a two-state system computed by hand with CODATA constants typed in;
- unwrapping, drift removal, representative frames, state agreement.
"""

import numpy as np
import pytest
from scipy import stats

from gdynet.analysis import electrolyte as el
from gdynet.analysis import koopman
from gdynet.analysis.rdf import state_rdf

LI, N, O, C = 3, 7, 8, 6


def one_hot(labels, k):
    return np.eye(k, dtype=np.float32)[labels]


def markov_labels(rng, P, n_frames, n_targets):
    """(F, n) labels of n independent chains with transition matrix P, started stationary."""
    P = np.asarray(P)
    vals, vecs = np.linalg.eig(P.T)
    pi = np.real(vecs[:, np.argmin(np.abs(vals - 1))])
    pi /= pi.sum()
    labels = np.empty((n_frames, n_targets), dtype=np.int64)
    labels[0] = rng.choice(len(P), size=n_targets, p=pi)
    cum = np.cumsum(P, axis=1)
    for t in range(1, n_frames):
        u = rng.uniform(size=n_targets)
        labels[t] = (u[:, None] > cum[labels[t - 1]]).sum(axis=1)
    return labels


# ------------------------------------------------------------------------ populations
def test_populations_and_their_t_interval():
    rng = np.random.default_rng(0)
    segs = [one_hot(rng.choice(2, size=(50, 4), p=[p, 1 - p]), 2) for p in (0.6, 0.7, 0.8)]
    pops = el.populations(segs)
    per = np.array([s.reshape(-1, 2).mean(0) for s in segs])
    np.testing.assert_allclose(pops.per_segment, per)
    np.testing.assert_allclose(pops.mean, np.concatenate(segs).reshape(-1, 2).mean(0))
    half = stats.t.ppf(0.975, 2) * per.std(axis=0, ddof=1) / np.sqrt(3)
    np.testing.assert_allclose(pops.low, per.mean(0) - half, atol=1e-6)
    np.testing.assert_allclose(pops.high, per.mean(0) + half, atol=1e-6)


# ------------------------------------------------------------------ shells and charges
def test_gaussian_fit_recovers_the_peak():
    r = np.linspace(0.025, 8, 160)
    g = 5.0 * np.exp(-0.5 * ((r - 2.2) / 0.15) ** 2) + np.where(r > 3.5, 1.0, 0.0)
    mu, sigma, amp = el.fit_first_peak(r, g)
    assert mu == pytest.approx(2.2, abs=0.01)
    assert sigma == pytest.approx(0.15, rel=0.05)
    assert amp == pytest.approx(5.0, rel=0.05)


def shell_system(rng, shells, n_frames=30):
    """References Li far apart on a grid (14 Å), each with a planted first shell.

    shells: state -> atomic numbers placed at 2.0 ± 0.08 Å (Gaussian) around each
    reference of that state (states assigned round-robin); nothing else lies within 6 Å.
    The shell Li are not targets. Returns coords, lattices, types, targets, state.
    """
    spacing, per_side = 14.0, 3
    refs = spacing * np.array([(i, j, k) for i in range(per_side) for j in range(per_side)
                               for k in range(per_side)], dtype=float) + 1.0
    n_ref = len(refs)
    state = np.arange(n_ref) % len(shells)
    coords, types = [], None
    for _ in range(n_frames):
        atoms, kinds = [refs], [np.full(n_ref, LI)]
        for i, x in enumerate(refs):
            for z in shells[state[i]]:
                u = rng.normal(size=3)
                atoms.append((x + rng.normal(2.0, 0.08) * u / np.linalg.norm(u))[None])
                kinds.append(np.array([z]))
        coords.append(np.concatenate(atoms))
        types = np.concatenate(kinds)
    coords = np.array(coords)
    lattices = np.broadcast_to(spacing * per_side * np.eye(3), (n_frames, 3, 3))
    return coords, lattices, types, np.arange(n_ref), state


def test_charge_of_a_constructed_shell():
    """State 0: one anion (charge 1 − 1 = 0); state 1: three anions and a Li
    (1 − 3 + 1 = −1); state 2: no ion in the shell (+1, with the pooled shell edge)."""
    rng = np.random.default_rng(1)
    coords, lattices, types, targets, state = shell_system(
        rng, {0: [N], 1: [N, N, N, LI], 2: []})
    chi = np.broadcast_to(one_hot(state, 3), (len(coords), len(targets), 3))
    rdf = state_rdf(coords, lattices, chi, types, targets, [N, LI], r_max=6.0, n_bins=240)
    charges = el.shell_charges(rdf)
    np.testing.assert_array_equal(charges.shell.fitted, [True, True, False])
    np.testing.assert_allclose(charges.shell.mu[:2], 2.0, atol=0.02)
    # r* = μ + 3σ for every state; the anion-free state takes that of all states pooled.
    np.testing.assert_allclose(charges.shell.r_star, 2.0 + 3 * 0.08, atol=0.05)
    np.testing.assert_allclose(charges.ion_counts, [[1, 0], [3, 1], [0, 0]], atol=0.02)
    np.testing.assert_allclose(charges.charge, [0.0, -1.0, 1.0], atol=0.02)
    # Fig. 4c: the integral starts at the reference charge and ends at the shell charge.
    np.testing.assert_allclose(charges.integral[:, 0], 1.0)
    np.testing.assert_allclose(charges.integral[:, -1], [0.0, -1.0, 1.0], atol=1e-9)
    table = el.charge_table(charges)
    assert table["charge_e"].round(1).tolist() == [0.0, -1.0, 1.0]


def test_charges_do_not_depend_on_the_volume():
    """n(r) counts ions, so the charge is the same in a box twice as wide (ρ 8x lower)."""
    rng = np.random.default_rng(2)
    coords, lattices, types, targets, state = shell_system(rng, {0: [N], 1: [N, N, LI]})
    chi = np.broadcast_to(one_hot(state, 2), (len(coords), len(targets), 2))
    kw = dict(atom_types=types, target_index=targets, elements=[N, LI], r_max=6.0, n_bins=240)
    small = el.shell_charges(state_rdf(coords, lattices, chi, **kw))
    large = el.shell_charges(state_rdf(coords, 2 * lattices, chi, **kw))
    np.testing.assert_allclose(large.charge, small.charge, atol=1e-9)
    np.testing.assert_allclose(small.charge, [0.0, 0.0], atol=0.02)


# --------------------------------------------------------------- representative frames
def test_most_confident_frame_and_its_shell():
    rng = np.random.default_rng(3)
    chi = rng.dirichlet([1, 1, 1], size=(2, 20, 5)).astype(np.float32)
    chi[1, 7, 3] = [0.0, 0.999, 0.001]
    chi[0, 12, 1] = [0.0, 0.0, 1.0]
    reps = el.most_confident([chi[0], chi[1]])
    assert (reps[1].segment, reps[1].frame, reps[1].target) == (1, 7, 3)
    assert (reps[2].segment, reps[2].frame, reps[2].target) == (0, 12, 1)

    box = 10.0
    x = np.array([[0.5, 0.5, 0.5], [9.8, 0.5, 0.5], [0.5, 9.0, 0.5], [5.0, 5.0, 5.0]])
    cfg = el.shell_configuration(x, box * np.eye(3), np.array([LI, N, O, C]), 0, 2.0)
    assert cfg.indices.tolist() == [0, 1, 2]  # the far C is left out
    np.testing.assert_allclose(cfg.positions[1], [-0.7, 0, 0], atol=1e-12)  # across the wall
    np.testing.assert_allclose(cfg.positions[2], [0, -1.5, 0], atol=1e-12)
    with pytest.raises(ValueError, match="half the cell width"):
        el.shell_configuration(x, box * np.eye(3), np.array([LI, N, O, C]), 0, 6.0)


def test_extxyz_is_readable(tmp_path):
    cfg = el.Configuration(np.array([4, 9]), np.array([LI, N]),
                           np.array([[0.0, 0, 0], [1.5, 0, 0]]), np.array([0.0, 1.5]))
    path = tmp_path / "state0.xyz"
    el.write_extxyz(path, cfg, {"state": 0, "probability": 0.98})
    lines = path.read_text().splitlines()
    assert lines[0] == "2" and "state=0" in lines[1] and "pos:R:3" in lines[1]
    assert lines[3].split()[:4] == ["N", "1.50000", "0.00000", "0.00000"]


# ------------------------------------------------------------------------ unwrapping
def test_unwrap_recovers_a_wrapped_random_walk_and_removes_drift():
    rng = np.random.default_rng(4)
    lattice = np.array([[9.0, 0, 0], [2.0, 8.0, 0], [1.0, -1.5, 10.0]])  # triclinic
    n_frames, n_atoms = 300, 12
    walk = np.cumsum(rng.normal(0, 0.3, (n_frames, n_atoms, 3)), axis=0)
    walk += np.linspace(0, 20, n_frames)[:, None, None] * np.array([1.0, 0.5, 0.0])  # drift
    frac = walk @ np.linalg.inv(lattice)
    wrapped = (frac - np.floor(frac)) @ lattice
    lattices = np.broadcast_to(lattice, (n_frames, 3, 3))
    u = el.unwrap(wrapped, lattices, np.arange(n_atoms), max_chunk_bytes=1)  # chunks of 2
    assert u.image_jumps > 0
    com = walk.mean(axis=1)
    np.testing.assert_allclose(u.drift, com - com[0], atol=1e-9)
    expected = walk - (com - com[0])[:, None, :] - (walk[0] - wrapped[0])
    np.testing.assert_allclose(u.positions, expected, atol=1e-9)
    # Unwrapped input comes back unchanged (with drift removal off).
    same = el.unwrap(walk, lattices, [0, 5], remove_drift=False)
    np.testing.assert_allclose(same.positions, walk[:, [0, 5]], atol=1e-9)


def test_unwrap_refuses_large_steps_only_in_wrapped_coordinates():
    cell = np.broadcast_to(10 * np.eye(3), (3, 3, 3))
    x = np.zeros((3, 2, 3))
    x[1, 0] = [4.5, 0, 0]  # 4.5 Å of a 10 Å cell in one frame: could be -5.5 Å as well
    x[2, 1] = [9.9, 0, 0]  # atom 1 crosses the wall (a wrapped trajectory)
    with pytest.raises(ValueError, match="more frequent frames"):
        el.unwrap(x, cell, [0])
    # Unwrapped coordinates (no step needs an image) are taken as they are.
    x[2, 1] = [-0.1, 0, 0]
    u = el.unwrap(x, cell, [0, 1], remove_drift=False)
    assert u.image_jumps == 0
    np.testing.assert_allclose(u.positions, x)


# -------------------------------------------------------------- transition diffusion
def switching_walk(rng, D, P, n_frames, n_targets, dt):
    """3-D random walk whose diffusion constant D[s] (Å²/ps) follows a Markov chain P."""
    labels = markov_labels(rng, P, n_frames, n_targets)
    sd = np.sqrt(2 * np.asarray(D)[labels[:-1]] * dt)  # the step t -> t+1 uses the state at t
    steps = rng.normal(size=(n_frames - 1, n_targets, 3)) * sd[..., None]
    x = np.concatenate([np.zeros((1, n_targets, 3)), np.cumsum(steps, axis=0)])
    return x, labels


def test_diffusion_per_state_is_recovered_from_a_switching_random_walk():
    rng = np.random.default_rng(5)
    D, dt = np.array([0.1, 0.4]), 1.0
    P = [[0.998, 0.002], [0.003, 0.997]]  # rare switches: ~2 % within the lag window
    x, labels = switching_walk(rng, D, P, 6000, 100, dt)
    chi = one_hot(labels, 2)
    tau, h = 8, 4
    tm = el.transition_msd(x, chi, el.derivative_lags(tau, h))
    Dij = el.diffusion_coefficients(tm, tau, dt)
    np.testing.assert_allclose(np.diag(Dij), D, rtol=0.03)
    # One switch, uniform in the window: on average half the time in each state.
    np.testing.assert_allclose(Dij[0, 1], D.mean(), rtol=0.1)
    np.testing.assert_allclose(Dij[1, 0], D.mean(), rtol=0.1)
    # The plain MSD slope is the population-weighted D.
    pi = np.array([0.6, 0.4])  # stationary distribution of P
    assert el.plain_diffusion(tm, tau, dt) == pytest.approx(pi @ D, rel=0.03)


def test_msd_identity_is_exact_on_random_data():
    rng = np.random.default_rng(6)
    x = np.cumsum(rng.normal(size=(200, 7, 3)), axis=0)
    chi = rng.dirichlet(np.ones(3), size=(200, 7))
    tm = el.transition_msd(x, chi, [0, 5, 10, 20])
    for lag in (5, 10, 20):
        assert el.msd_identity_rel_error(tm, lag) < 1e-10
        brute = np.mean(np.sum((x[lag:] - x[:-lag]) ** 2, axis=-1))
        assert tm.plain[tm.index(lag)] == pytest.approx(brute, rel=1e-12)


def test_koopman_weights_match_the_joint_weights_for_crisp_states():
    """π_i K_ij(τ) = P_ij(τ) up to edge effects when χ is one-hot, so the paper's weights
    reproduce the MSD too; the motion here depends on the state (E_ij differ by 4x)."""
    rng = np.random.default_rng(10)
    x, labels = switching_walk(rng, [0.1, 0.4], [[0.98, 0.02], [0.03, 0.97]], 3000, 30, 1.0)
    chi = one_hot(labels, 2)
    tm = el.transition_msd(x, chi, [10])
    K = koopman.koopman_matrix(chi, 10)
    err = el.msd_koopman_weights_rel_error(tm, K, koopman.stationary_distribution(K), 10)
    assert err < 0.01
    assert el.msd_identity_rel_error(tm, 10) < 1e-10


def test_pooled_transition_msd_equals_the_sum_of_parts():
    rng = np.random.default_rng(7)
    x = np.cumsum(rng.normal(size=(100, 3, 3)), axis=0)
    chi = rng.dirichlet(np.ones(2), size=(100, 3))
    a = el.transition_msd(x[:, :2], chi[:, :2], [1, 2])
    b = el.transition_msd(x[:, 2:], chi[:, 2:], [1, 2])
    whole = el.transition_msd(x, chi, [1, 2])
    np.testing.assert_allclose((a + b).msd, whole.msd)


def test_central_difference_needs_neighbouring_lags():
    tm = el.transition_msd(np.zeros((20, 1, 3)), np.ones((20, 1, 1)), [5, 10])
    with pytest.raises(ValueError, match="interior point"):
        el.diffusion_coefficients(tm, 10, 1.0)


# ------------------------------------------------------------------------ conduction
E_CHARGE = 1.602176634e-19  # C (exact, SI 2019)
K_B = 1.380649e-23  # J/K (exact, SI 2019)


def test_two_state_conduction_by_hand():
    K = np.array([[0.9, 0.1], [0.2, 0.8]])
    pi = np.array([2 / 3, 1 / 3])
    D = np.array([[1.0, 2.0], [2.0, 3.0]])  # Å²/ps
    z = np.array([1.0, -0.5])
    c = el.conduction(K, pi, D, z, n_ions=10, volume_A3=1000.0, temperature_K=300.0)
    # z_ij² = ((z_i + z_j)/2)²: 1, 1/16, 1/16, 1/4.
    by_hand = np.array([[2 / 3 * 1 * 0.9 * 1, 2 / 3 * 0.0625 * 0.1 * 2],
                        [1 / 3 * 0.0625 * 0.2 * 2, 1 / 3 * 0.25 * 0.8 * 3]])  # Å²/ps units
    np.testing.assert_allclose(c.shares, by_hand / by_hand.sum())
    assert c.shares[1, 1] > 0  # the negative state conducts (z² not z)
    prefactor = E_CHARGE**2 * 10 / (1000e-30 * K_B * 300.0)  # S/m per m²/s
    expected_S_cm = prefactor * by_hand.sum() * 1e-8 / 100
    assert c.total == pytest.approx(expected_S_cm, rel=1e-9)
    assert c.total == pytest.approx(5.0613, rel=1e-3)


def test_transport_on_trajectories_with_ci():
    rng = np.random.default_rng(8)
    D, P = np.array([0.1, 0.4]), [[0.99, 0.01], [0.015, 0.985]]
    xs, chis = [], []
    for _ in range(3):
        x, labels = switching_walk(rng, D, P, 1500, 40, 1.0)
        xs.append(x)
        chis.append(one_hot(labels, 2))
    tr = el.transport(xs, chis, [1, 2, 4, 6, 8], tau=4, dt_ps=1.0, charges=[1.0, -1.0],
                      volume_A3=1e5, temperature_K=363.0)
    assert tr.conduction.shares.sum() == pytest.approx(1.0)
    assert np.all(tr.shares_low <= tr.conduction.shares + 1e-12)
    assert np.all(tr.shares_high >= tr.conduction.shares - 1e-12)
    assert np.all(np.isfinite(tr.diffusion_low))
    # z_01 = 0: the mixed transitions carry no charge.
    np.testing.assert_allclose(tr.conduction.sigma[[0, 1], [1, 0]], 0.0)
    table = el.diffusion_table(tr)
    assert len(table) == 4
    np.testing.assert_allclose(table["D_1e-7_cm2_s"], tr.diffusion.ravel() * 1e3)
    agreement = el.state_agreement(1 - np.concatenate(chis).argmax(-1),
                                   np.concatenate(chis).argmax(-1))
    v = el.validation(tr, agreement=agreement, charges_geometric=[0.5, -0.5])
    assert v["state_agreement"] == pytest.approx(1.0)
    assert v["charges_geometric_of_learned_e"] == [-0.5, 0.5]  # learned 0 is class 1
    assert v["msd_identity_rel_error"] < 1e-10
    assert v["diffusion_li_A2_ps"] == pytest.approx(0.6 * 0.1 + 0.4 * 0.4, rel=0.1)
    assert len(el.conduction_table(tr)) == 4


# ------------------------------------------------------------------------ agreement
def test_state_agreement_under_a_permutation():
    rng = np.random.default_rng(9)
    ref = rng.integers(0, 4, size=(500, 6))
    perm = np.array([2, 0, 3, 1])
    learned = perm[ref]
    a = el.state_agreement(learned, ref)
    assert a.balanced_accuracy == pytest.approx(1.0)
    np.testing.assert_array_equal(a.mapping[perm], np.arange(4))
    noise = el.state_agreement(rng.integers(0, 4, size=ref.shape), ref)
    assert noise.balanced_accuracy < 0.35  # chance is 1/4 (the best mapping adds a little)
    # A model that puts everything in one state scores 1/k.
    assert el.state_agreement(np.zeros_like(ref), ref, n_learned=4).balanced_accuracy == \
        pytest.approx(0.25)


# ------------------------------------------------------------- records that cross files
def test_transport_populations_and_agreement_come_back_from_their_files(tmp_path):
    rng = np.random.default_rng(9)
    D, P = np.array([0.1, 0.4]), [[0.99, 0.01], [0.015, 0.985]]
    xs, chis = [], []
    for _ in range(2):
        x, labels = switching_walk(rng, D, P, 400, 10, 1.0)
        xs.append(x)
        chis.append(one_hot(labels, 2))
    tr = el.transport(xs, chis, [0, 1, 2, 3], tau=2, dt_ps=1.0, charges=[0.5, -0.5],
                      volume_A3=1e5, temperature_K=363.0)
    el.save_transport(tmp_path / "t.npz", tr)
    back = el.load_transport(tmp_path / "t.npz")
    assert back.tau == 2 and isinstance(back.tau, int) and back.tau_ps == 2.0
    np.testing.assert_array_equal(back.diffusion, tr.diffusion)
    np.testing.assert_array_equal(back.tmsd.sum_d2, tr.tmsd.sum_d2)
    np.testing.assert_array_equal(back.per_segment["shares"], tr.per_segment["shares"])
    assert back.conduction.total == tr.conduction.total
    assert el.validation(back) == el.validation(tr)

    pops = el.populations(chis)
    again = el.Populations.from_dict(pops.to_dict())
    np.testing.assert_array_equal(again.mean, pops.mean)
    np.testing.assert_array_equal(again.per_segment, pops.per_segment)
    agreement = el.state_agreement(np.array([0, 1, 1]), np.array([1, 0, 0]))
    same = el.Agreement.from_dict(agreement.to_dict())
    assert same.balanced_accuracy == 1.0 and same.mapping.tolist() == [1, 0]


def test_element_masses_are_atomic_weights():
    np.testing.assert_allclose(el.element_masses([3, 7, 8, 1, 3]),
                               [6.941, 14.0067, 15.9994, 1.00794, 6.941], rtol=2e-3)
