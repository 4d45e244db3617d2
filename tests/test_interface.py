"""Known answers for the interface analyses (gdynet.analysis.interface).

Every case is built so that its answer is set by construction: a layered slab whose
outer layers are known, states drawn from known distributions along z, states whose
names follow from where they sit and how solid they are.
"""

import itertools

import numpy as np
import pytest
from scipy.stats import norm

from gdynet.analysis import bond_order as bo
from gdynet.analysis import interface as itf

L = 60.0  # Å, period along the normal
D = 2.0  # Å, layer spacing
N_LAYERS_BUILT = 10


def synthetic_slab(center, rng, n_per_layer=30, n_liquid=400, jitter=0.15, flicker=0.01):
    """z (cell coordinate), species (14 or 79), solid label, and the true layer of each atom.

    Crystal: N_LAYERS_BUILT layers of element 14 at center + (k - 4.5)·D, k = 0..9, all
    solid; the interfaces lie at center ± 10 Å. Liquid: uniform outside the slab (more
    than D/2 from the outer layers), a 60/40 mix of 14 and 79, with a few of it read as
    solid (flicker).
    """
    k = np.repeat(np.arange(N_LAYERS_BUILT), n_per_layer)
    z_xtal = center + (k - 4.5) * D + rng.normal(scale=jitter, size=k.size)
    half = N_LAYERS_BUILT * D / 2
    z_liq = center + half + rng.uniform(0.6, L - 2 * half - 0.6, n_liquid)
    z = np.mod(np.concatenate([z_xtal, z_liq]), L)
    species = np.concatenate([np.full(k.size, 14), np.where(rng.random(n_liquid) < 0.6, 14, 79)])
    solid = np.concatenate([np.ones(k.size, bool), rng.random(n_liquid) < flicker])
    layer = np.concatenate([k, np.full(n_liquid, -1)])
    return z, species, solid, layer


@pytest.mark.parametrize("center", [30.0, 2.0, 58.5])  # 2.0 and 58.5 straddle the boundary
@pytest.mark.parametrize("spacing", [D, None])  # given, or estimated from the crystal
@pytest.mark.parametrize("rule", itf.RULES)
def test_target_selection_picks_exactly_the_liquid_and_two_outer_layers(center, spacing, rule):
    rng = np.random.default_rng(int(center * 10))
    z, species, solid, layer = synthetic_slab(center, rng)
    si = species == 14
    found = itf.locate_interfaces(z[si], solid[si], L, spacing)
    assert found.half_width_A == pytest.approx(N_LAYERS_BUILT * D / 2, abs=0.1)
    assert np.angle(np.exp(2j * np.pi * (found.center_A - center) / L)) == pytest.approx(0, abs=0.01)
    assert found.layer_spacing_A == pytest.approx(D, abs=0.02)
    assert len(found.layer_centers_A) == N_LAYERS_BUILT

    chosen = itf.targets_from_labels(found.depth(z), si, solid, 2, found.layer_spacing_A, rule)
    expected = si & ((layer < 0) | np.isin(layer, [0, 1, 8, 9]))
    np.testing.assert_array_equal(chosen, expected)


def test_order_rule_takes_a_molten_spot_inside_the_slab_and_position_rule_does_not():
    z, species, solid, layer = synthetic_slab(30.0, np.random.default_rng(1))
    solid = solid.copy()
    molten = np.flatnonzero(layer == 5)[:3]  # three atoms of a central layer read liquid
    solid[molten] = False
    si = species == 14
    found = itf.locate_interfaces(z[si], solid[si], L, D)
    depth = found.depth(z)
    by_order = itf.targets_from_labels(depth, si, solid, 2, D, "order")
    by_position = itf.targets_from_labels(depth, si, solid, 2, D, "position")
    assert set(np.flatnonzero(by_order & ~by_position)) == set(molten)
    assert not (by_position & ~by_order).any()


def test_interfaces_from_an_extent_that_straddles_the_boundary():
    slab = itf.interfaces_from_extent(40.0, 10.0, 50.0, 2.0)
    assert slab.center_A == pytest.approx(0.0) and slab.half_width_A == pytest.approx(10.0)
    np.testing.assert_allclose(slab.positions_A, [40.0, 10.0])
    np.testing.assert_allclose(slab.depth(np.array([0.0, 45.0, 10.0, 25.0])), [10, 5, 0, -15])
    np.testing.assert_allclose(slab.centered(np.array([49.0, 1.0, 25.0])), [-1, 1, -25])


def test_normal_coordinate_is_the_projection_on_the_face_normal():
    lattice = np.array([[6.0, 0.0, 0.0], [2.0, 5.0, 0.0], [1.0, -1.5, 9.0]])
    rng = np.random.default_rng(0)
    frac = rng.uniform(0, 1, (50, 3))
    pos = frac @ lattice + np.array([1, 0, -2]) @ lattice  # images outside the cell
    for axis in range(3):
        z, period = itf.normal_coordinate(pos, lattice, axis)
        a, b = (lattice[i] for i in range(3) if i != axis)
        n = np.cross(a, b) / np.linalg.norm(np.cross(a, b))
        assert period == pytest.approx(abs(lattice[axis] @ n))
        np.testing.assert_allclose(z, (frac @ lattice) @ n * np.sign(lattice[axis] @ n), atol=1e-9)


def test_select_targets_on_a_real_fcc_slab_in_a_gas():
    # 4x4x12 FCC cells (a = 3.4 Å); the middle 6 cells (12 atomic layers) are crystal, the
    # rest is replaced by random gas atoms of element 14 and 79 kept 1 Å clear of the slab.
    a, rng = 3.4, np.random.default_rng(2)
    cells = np.array(list(itertools.product(range(4), range(4), range(12))), dtype=float)
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    xtal = ((cells[:, None] + basis[None]).reshape(-1, 3) * a)
    lattice = np.diag([4 * a, 4 * a, 12 * a])
    lo, hi = 3 * a - 0.25 * a, 9 * a - 0.25 * a
    xtal = xtal[(xtal[:, 2] > lo) & (xtal[:, 2] < hi)]
    gas = rng.uniform(0, 1, (500, 3)) * np.diag(lattice)
    gas = gas[(gas[:, 2] < lo - 1.0) | (gas[:, 2] > hi + 1.0)]
    pos = np.concatenate([xtal, gas])
    types = np.concatenate([np.full(len(xtal), 14), rng.choice([14, 79], len(gas))])
    sel = itf.select_targets(pos, lattice, types, 14, bo.FCC_Q6, n_layers=2, axis=None)
    assert sel.interfaces.axis == 2
    assert sel.interfaces.layer_spacing_A == pytest.approx(a / 2, abs=0.02)
    n_layers = len(sel.interfaces.layer_centers_A)
    assert 10 <= n_layers <= 12  # the outermost layers face a gas and may not read as solid
    layer_z = np.sort(np.unique(np.round(xtal[:, 2], 6)))
    inner = sel.interfaces.centered(layer_z)
    outer_two = np.abs(inner) > sel.interfaces.half_width_A - 2 * a / 2
    picked = set(sel.index.tolist())
    for zc, is_outer in zip(layer_z, outer_two):
        members = set(np.flatnonzero(np.isclose(pos[:, 2], zc) & (types == 14)).tolist())
        assert (members <= picked) if is_outer else not (members & picked)
    gas_si = set((len(xtal) + np.flatnonzero(types[len(xtal):] == 14)).tolist())
    assert gas_si <= picked and not (picked & set(np.flatnonzero(types == 79).tolist()))
    assert sel.n_liquid == len(gas_si) and sel.n_crystal == len(picked) - len(gas_si)


def mixture(rng, n, weights, means, sds):
    """Draw z from a Gaussian mixture; χ is each component's posterior at z."""
    comp = rng.choice(len(weights), size=n, p=weights)
    z = rng.normal(np.asarray(means)[comp], np.asarray(sds)[comp])
    dens = np.stack([w * norm.pdf(z, m, s) for w, m, s in zip(weights, means, sds)], -1)
    return z, dens / dens.sum(axis=1, keepdims=True)


def test_z_profiles_recover_the_constructed_distributions():
    # Four layered states: Σ_s χ_s(z) p(z) = π_s p_s(z), so each χ-weighted histogram is p_s.
    weights, means, sds = [0.3, 0.2, 0.2, 0.3], [0.0, 9.0, 13.0, 20.0], [4.0, 1.0, 1.5, 2.5]
    rng = np.random.default_rng(0)
    z, chi = mixture(rng, 400_000, weights, means, sds)
    center = 55.0  # the slab straddles the periodic boundary in the cell's coordinate
    slab = itf.Interfaces(axis=2, length_A=L, center_A=center, half_width_A=8.0, layer_spacing_A=D)
    z_cell = np.mod(z + center, L).reshape(400, 1000)
    prof = itf.z_profiles(slab.centered(z_cell), chi.reshape(400, 1000, 4), L, bin_A=0.5)
    assert prof.density.shape == (4, 120)
    np.testing.assert_allclose(prof.density.sum(axis=1) * 0.5, 1.0, atol=1e-3)
    np.testing.assert_allclose(prof.weight / prof.weight.sum(), weights, atol=0.005)
    lo, hi = prof.edges[:-1], prof.edges[1:]
    for s, (m, sd) in enumerate(zip(means, sds)):
        expected = (norm.cdf(hi, m, sd) - norm.cdf(lo, m, sd)) / 0.5
        assert np.abs(prof.density[s] - expected).max() < 0.1 * expected.max()
        assert (prof.centers * prof.density[s]).sum() * 0.5 == pytest.approx(m, abs=0.1)


def test_weighted_profiles_of_one_hot_states_are_plain_histograms():
    rng = np.random.default_rng(1)
    values = rng.uniform(0, 1, (50, 20))
    states = (values > 0.7).astype(int)
    chi = np.eye(2)[states]
    edges = np.linspace(0, 1, 11)
    prof = itf.weighted_profiles(values, chi, edges)
    for s in range(2):
        hist, _ = np.histogram(values[states == s], bins=edges, density=True)
        np.testing.assert_allclose(prof.density[s], hist)
    assert prof.weight.tolist() == [np.sum(states == 0), np.sum(states == 1)]
    np.testing.assert_allclose(prof.mass_between(0.7, 1.0), [0.0, 1.0], atol=1e-12)


def four_states(rng, n_frames=40, n_atoms=300):
    """Atom-frames of four states, set up as the paper's: (name, depth mean, solid prob)."""
    truth = [(itf.SOLID, 4.0, 0.98), (itf.SOLID_INTERFACE, 1.0, 0.75),
             (itf.LIQUID_INTERFACE, -1.5, 0.2), (itf.LIQUID, -10.0, 0.01)]
    state = rng.integers(0, 4, (n_frames, n_atoms))
    depth = np.array([t[1] for t in truth])[state] + rng.normal(scale=0.5, size=state.shape)
    solid = rng.random(state.shape) < np.array([t[2] for t in truth])[state]
    return truth, state, depth, solid


@pytest.mark.parametrize("perm", [(0, 1, 2, 3), (3, 1, 0, 2), (2, 3, 1, 0)])
def test_state_names_follow_the_physics_not_the_state_order(perm):
    rng = np.random.default_rng(4)
    truth, state, depth, solid = four_states(rng)
    # the network's state index p = perm[true state]; soft but clear probabilities
    chi = np.full(state.shape + (4,), 0.05)
    np.put_along_axis(chi, np.asarray(perm)[state][..., None], 0.85, axis=-1)
    order = np.where(solid, 0.45, 0.2)
    names = itf.name_states(chi, solid, depth, order=order)
    for true_state, p in enumerate(perm):
        assert names.names[p] == truth[true_state][0]
    assert names.solid_like.tolist() == [names.names[p].startswith("solid") for p in range(4)]
    table = names.table()
    assert list(table.columns) == ["state", "name", "population", "solid_fraction", "mean_order",
                                   "mean_depth_A"]
    assert table["population"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("kept, expected", [
    ([0, 3], [itf.SOLID, itf.LIQUID]),
    ([0, 1, 3], [itf.SOLID, itf.SOLID_INTERFACE, itf.LIQUID]),
    ([0, 2, 3], [itf.SOLID, itf.LIQUID_INTERFACE, itf.LIQUID]),
])
def test_two_and_three_states_are_named_too(kept, expected):
    rng = np.random.default_rng(5)
    _, state, depth, solid = four_states(rng)
    keep = np.isin(state, kept)
    remap = {s: i for i, s in enumerate(kept)}
    reduced = np.vectorize(remap.get)(state[keep])
    chi = np.eye(len(kept))[reduced][::-1]  # reversed atom-frame order, reversed in all arrays
    names = itf.name_states(chi, solid[keep][::-1], depth[keep][::-1])
    assert list(names.names) == expected


def test_a_model_whose_states_are_all_mostly_liquid_still_names_one_solid():
    chi = np.eye(2)[np.array([0] * 50 + [1] * 50)]
    solid = np.array([True] * 20 + [False] * 30 + [True] * 5 + [False] * 45)
    depth = np.array([1.0] * 50 + [-5.0] * 50)
    names = itf.name_states(chi, solid, depth)
    assert names.names == (itf.SOLID, itf.LIQUID)
    np.testing.assert_allclose(names.solid_fraction, [0.4, 0.1])


def test_state_agreement_is_the_balanced_accuracy():
    # 100 solid atom-frames, 90 of them in the solid-like state 1; 400 liquid ones, 320
    # in the liquid-like states 0 and 2: balanced accuracy (0.9 + 0.8) / 2 = 0.85.
    solid = np.array([True] * 100 + [False] * 400)
    state = np.array([1] * 90 + [0] * 10 + [1] * 80 + [0] * 200 + [2] * 120)
    chi = np.eye(3)[state] * 0.6 + 0.4 / 3
    assert itf.state_agreement(chi, solid, [False, True, False]) == pytest.approx(0.85)


def test_solid_fraction_inside_slab_weights_states_by_population():
    edges = np.linspace(-10, 10, 21)
    density = np.zeros((2, 20))
    density[0, 5:15] = 0.1                 # uniform on [-5, 5]
    density[1, 0:10] = 0.1                 # uniform on [-10, 0]
    prof = itf.Profiles(edges=edges, density=density, weight=np.array([300.0, 100.0]))
    slab = itf.Interfaces(axis=2, length_A=20.0, center_A=10.0, half_width_A=3.5, layer_spacing_A=1.0)
    # state 0: 0.7 inside |zc| <= 3.5, state 1: 0.35; weighted (300·0.7 + 100·0.35) / 400
    got = itf.solid_fraction_inside_slab(prof, [True, True], slab)
    assert got == pytest.approx((300 * 0.7 + 100 * 0.35) / 400)
    assert itf.solid_fraction_inside_slab(prof, [False, True], slab) == pytest.approx(0.35)


def test_persistent_labels_drop_short_flickers_and_keep_real_changes():
    x = np.array([0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0])
    expected = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(itf.persistent_labels(x, 3), expected)
    assert itf.count_exchanges(x, 3) == 2
    assert itf.count_exchanges(x, 1) == 6
    # a column that starts with a flicker takes the first lasting value
    np.testing.assert_array_equal(itf.persistent_labels(np.array([1, 0, 0, 0, 1]), 3), [0] * 5)
    both = itf.persistent_labels(np.stack([x, 1 - x], axis=1), 3)
    np.testing.assert_array_equal(both, np.stack([expected, 1 - expected], axis=1))


def markov_labels(rng, p, q, n_frames, n_atoms):
    u = rng.random((n_frames, n_atoms))
    x = np.zeros((n_frames, n_atoms), dtype=np.int64)
    x[0] = rng.random(n_atoms) < p / (p + q)
    for t in range(1, n_frames):
        flip = np.where(x[t - 1] == 0, u[t] < p, u[t] < q)
        x[t] = np.where(flip, 1 - x[t - 1], x[t - 1])
    return x


def test_reference_timescale_recovers_a_two_state_chain_through_flicker():
    p, q, dt = 0.01, 0.02, 0.5  # per frame, ps
    expected = -dt / np.log(1 - p - q)  # 16.4 ps
    rng = np.random.default_rng(6)
    labels = markov_labels(rng, p, q, 4000, 60)
    assert itf.reference_timescale_ps(labels.astype(bool), 10, dt) == pytest.approx(expected, rel=0.1)
    # 3 % single-frame flickers: raw counting shortens the timescale, persistence restores it
    noisy = labels ^ (rng.random(labels.shape) < 0.03)
    raw = itf.reference_timescale_ps(noisy.astype(bool), 10, dt)
    smoothed = itf.reference_timescale_ps(noisy.astype(bool), 10, dt, min_frames=3)
    assert raw < 0.85 * expected
    assert smoothed == pytest.approx(expected, rel=0.15)


def test_cross_section_takes_the_atoms_of_the_slice():
    lattice = np.diag([20.0, 10.0, 40.0])
    pos = np.array([[1.0, 5.0, 20.0], [2.0, 5.9, 30.0], [3.0, 6.1, 0.5], [4.0, 0.2, 39.5],
                    [5.0, 9.9, 10.0]])
    slab = itf.Interfaces(axis=2, length_A=40.0, center_A=20.0, half_width_A=5.0, layer_spacing_A=1.0)
    atoms = np.array([0, 1, 2, 3, 4])
    cut = itf.cross_section(pos, lattice, atoms, slab, thickness_A=2.0, cut_axis=1)
    assert cut.rows.tolist() == [0, 1]  # |y - 5| <= 1
    np.testing.assert_allclose(cut.normal_A, [0.0, 10.0])
    np.testing.assert_allclose(cut.inplane_A, [1.0, 2.0])
    assert cut.inplane_axis == 0 and cut.interfaces_A == (-5.0, 5.0)
    # a slice centred on the periodic boundary takes atoms on both sides of it
    wrap = itf.cross_section(pos, lattice, atoms, slab, thickness_A=1.0, cut_axis=1, cut_center_A=0.0)
    assert wrap.rows.tolist() == [3, 4]


def test_guess_normal_axis_finds_the_layered_direction():
    rng = np.random.default_rng(0)
    lattice = np.diag([30.0, 12.0, 12.0])
    pos = rng.uniform(0, 1, (2000, 3)) * np.diag(lattice)
    solid = np.abs(pos[:, 0] - 15.0) < 6.0
    assert itf.guess_normal_axis(pos, lattice, solid) == 0


def test_a_target_selection_survives_a_json_round_trip(tmp_path):
    from gdynet import io

    z, species, solid, _ = synthetic_slab(30.0, np.random.default_rng(7))
    slab = itf.locate_interfaces(z[species == 14], solid[species == 14], L, D)
    index = np.flatnonzero(itf.targets_from_labels(slab.depth(z), species == 14, solid, 2, D))
    sel = itf.TargetSelection(index=index, rule="position", n_layers=2, element=14,
                              interfaces=slab, n_liquid=3, n_crystal=4)
    io.save_json(tmp_path / "targets.json", sel.to_dict())
    back = itf.TargetSelection.from_dict(io.load_json(tmp_path / "targets.json"))
    np.testing.assert_array_equal(back.index, sel.index)
    assert back.interfaces.center_A == slab.center_A and back.rule == "position"
    np.testing.assert_allclose(back.interfaces.depth(z), slab.depth(z))


def fcc_slab_in_gas(rng, a=3.4):
    """(positions, lattice, types): 12 FCC {100} layers of element 14 between gas of 14 and 79."""
    cells = np.array(list(itertools.product(range(4), range(4), range(12))), dtype=float)
    basis = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    xtal = (cells[:, None] + basis[None]).reshape(-1, 3) * a
    lattice = np.diag([4 * a, 4 * a, 12 * a])
    lo, hi = 3 * a - 0.25 * a, 9 * a - 0.25 * a
    xtal = xtal[(xtal[:, 2] > lo) & (xtal[:, 2] < hi)]
    gas = rng.uniform(0, 1, (500, 3)) * np.diag(lattice)
    gas = gas[(gas[:, 2] < lo - 1.0) | (gas[:, 2] > hi + 1.0)]
    types = np.concatenate([np.full(len(xtal), 14), rng.choice([14, 79], len(gas))])
    return np.concatenate([xtal, gas]), lattice, types


def test_rule_file_keeps_the_given_targets_and_still_finds_the_slab():
    pos, lattice, types = fcc_slab_in_gas(np.random.default_rng(5))
    by_position = itf.select_targets(pos, lattice, types, 14, bo.FCC_Q6, rule="position")
    given = np.flatnonzero(types == 14)[::3]
    kept = itf.select_targets(pos, lattice, types, 14, bo.FCC_Q6, rule="file", given=given[::-1])
    assert kept.rule == "file" and kept.index.tolist() == sorted(given.tolist())
    assert kept.interfaces.to_dict() == by_position.interfaces.to_dict()
    depth = kept.interfaces.depth(pos[kept.index, 2])
    assert kept.n_crystal == int(np.sum(depth >= 0)) and kept.n_liquid == int(np.sum(depth < 0))
    with pytest.raises(ValueError, match="not atoms of element 14"):
        itf.select_targets(pos, lattice, types, 14, bo.FCC_Q6, rule="file",
                           given=np.flatnonzero(types != 14)[:3])
    with pytest.raises(ValueError, match="only with it"):
        itf.select_targets(pos, lattice, types, 14, bo.FCC_Q6, rule="position", given=given)


def test_compare_targets_counts_the_shared_atoms():
    assert itf.compare_targets([1, 2, 3, 4], [3, 4, 5]) == {
        "n_chosen": 4, "n_other": 3, "n_shared": 2, "jaccard": 2 / 5}


def test_observables_cut_into_pieces_and_back():
    rng = np.random.default_rng(0)
    obs = itf.TargetObservables(z_centered_A=rng.normal(size=(10, 3)), depth_A=rng.normal(size=(10, 3)),
                                solid=rng.random((10, 3)) > 0.5, order=rng.random((10, 3)))
    parts = obs.pieces([4, 6])
    assert [p.solid.shape for p in parts] == [(4, 3), (6, 3)]
    np.testing.assert_array_equal(np.concatenate([p.order for p in parts]), obs.order)
    again = itf.TargetObservables.from_arrays({f: getattr(obs, f) for f in obs.FIELDS})
    np.testing.assert_array_equal(again.depth_A, obs.depth_A)
    with pytest.raises(ValueError, match="do not cover"):
        obs.pieces([4, 5])
