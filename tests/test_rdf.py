"""Known answers for the state-weighted RDF (Eq. 12) and coordination numbers.

- an ideal gas (uniform random points) with random state weights has g_i(r) = 1;
- a simple cubic lattice has its shells at a, √2 a, √3 a with 6, 12 and 8 neighbours;
- a triclinic cell describing the same periodic system as a cube gives the same counts;
- counts match a brute-force sum over periodic images.
"""

import itertools

import numpy as np
import pytest

from gdynet.analysis.rdf import image_shifts, neighbour_counts, perpendicular_widths, state_rdf

LI, O, N = 3, 8, 7


def ideal_gas(rng, n_frames, n_ref, n_other, box):
    coords = rng.uniform(0, box, (n_frames, n_ref + n_other, 3))
    types = np.array([LI] * n_ref + [O] * n_other)
    lattices = np.broadcast_to(box * np.eye(3), (n_frames, 3, 3))
    return coords, lattices, types, np.arange(n_ref)


@pytest.mark.parametrize("r_max", [4.5, 8.0])  # below and above half the box (images)
def test_ideal_gas_with_random_weights_is_one(r_max):
    rng = np.random.default_rng(1)
    box, n_frames, n_ref, n_other = 10.0, 40, 20, 300
    coords, lattices, types, targets = ideal_gas(rng, n_frames, n_ref, n_other, box)
    chi = rng.dirichlet(np.ones(3), size=(n_frames, n_ref))
    rdf = state_rdf(coords, lattices, chi, types, targets, [O, LI], r_max=r_max, n_bins=15)
    g = rdf.g
    expected_counts = rdf.density_weight[..., None] * rdf.shell_volume  # ideal gas, per bin
    # Poisson noise of each bin (weights < 1 only shrink it): 4 standard deviations.
    sd = 1.0 / np.sqrt(expected_counts)
    assert np.all(np.abs(g - 1.0) < 4 * sd + 1e-12)
    # Pooled over bins the mean is 1 to well under 1 %.
    big = expected_counts > 50
    assert np.average(g[big], weights=expected_counts[big]) == pytest.approx(1.0, abs=0.01)
    # ρ_i is the number density of A: 300/1000 for O, (20 - 1)/1000 for the other Li.
    np.testing.assert_allclose(rdf.density[:, 0], 0.3)  # elements keep their order
    np.testing.assert_allclose(rdf.density[:, 1], 0.019)


def test_simple_cubic_shells_and_coordination_numbers():
    a, n = 3.0, 4
    sites = a * np.array(list(itertools.product(range(n), repeat=3)), dtype=float)
    coords = sites[None]
    lattices = (n * a * np.eye(3))[None]
    types = np.full(len(sites), LI)
    chi = np.ones((1, len(sites), 1))
    rdf = state_rdf(coords, lattices, chi, types, np.arange(len(sites)), [LI], r_max=5.5,
                    n_bins=110)
    counts = rdf.counts[0, 0] / rdf.weight[0]
    occupied = rdf.r[counts > 0]
    np.testing.assert_allclose(occupied, [a, np.sqrt(2) * a, np.sqrt(3) * a], atol=0.025)
    np.testing.assert_allclose(counts[counts > 0], [6, 12, 8])
    np.testing.assert_allclose(rdf.coordination_at(3.5)[0, 0], 6)
    np.testing.assert_allclose(rdf.coordination_at(4.5)[0, 0], 18)
    np.testing.assert_allclose(rdf.coordination_at(5.4)[0, 0], 26)


def test_triclinic_cell_of_the_same_lattice_gives_the_same_rdf():
    """A unimodular change of cell vectors describes the same periodic system."""
    rng = np.random.default_rng(2)
    box, n_frames = 8.0, 5
    coords, cube, types, targets = ideal_gas(rng, n_frames, 6, 60, box)
    skew = np.array([[1, 0, 0], [2, 1, 0], [1, 2, 1]]) @ (box * np.eye(3))  # det = box³
    triclinic = np.broadcast_to(skew, (n_frames, 3, 3))
    chi = rng.dirichlet(np.ones(2), size=(n_frames, 6))
    kw = dict(elements=[O, LI], r_max=0.45 * box, n_bins=30)
    # r_max beyond half the triclinic width: the minimum image alone would be wrong there.
    assert kw["r_max"] > perpendicular_widths(skew).min() / 2
    a = state_rdf(coords, cube, chi, types, targets, **kw)
    b = state_rdf(coords, triclinic, chi, types, targets, **kw)
    np.testing.assert_allclose(b.counts, a.counts, atol=1e-9)
    np.testing.assert_allclose(b.g, a.g, atol=1e-9)


def test_counts_match_brute_force_over_images():
    rng = np.random.default_rng(3)
    lattice = np.array([[5.0, 0.0, 0.0], [1.5, 4.5, 0.0], [-1.0, 0.8, 4.0]])
    frac = rng.uniform(size=(12, 3))
    coords = (frac @ lattice)[None]
    types = np.array([LI] * 3 + [N] * 9)
    cutoff = 6.0  # wider than the cell: several images of every atom
    got = neighbour_counts(coords, lattice[None], types, np.arange(3), [N, LI], cutoff)
    expected = np.zeros((3, 2), int)
    for i in range(3):
        for j in range(12):
            for shift in itertools.product(range(-4, 5), repeat=3):
                if i == j and shift == (0, 0, 0):
                    continue
                d = np.linalg.norm(coords[0, j] + np.array(shift) @ lattice - coords[0, i])
                if d < cutoff:
                    expected[i, 0 if types[j] == N else 1] += 1
    np.testing.assert_array_equal(got[0], expected)


def test_image_shifts_only_zero_below_half_width():
    cell = np.diag([10.0, 12.0, 14.0])
    assert image_shifts(cell, 4.9).tolist() == [[0, 0, 0]]
    assert len(image_shifts(cell, 5.1)) == 3  # ±1 along the 10 Å axis only


def test_results_of_two_trajectories_pool_to_the_joint_estimate():
    rng = np.random.default_rng(4)
    coords, lattices, types, targets = ideal_gas(rng, 10, 4, 40, 8.0)
    chi = rng.dirichlet(np.ones(2), size=(10, 4))
    kw = dict(atom_types=types, target_index=targets, elements=[O], r_max=3.0, n_bins=10)
    whole = state_rdf(coords, lattices, chi, **kw)
    parts = state_rdf(coords[:4], lattices[:4], chi[:4], **kw) + state_rdf(
        coords[4:], lattices[4:], chi[4:], **kw)
    np.testing.assert_allclose(parts.counts, whole.counts)
    np.testing.assert_allclose(parts.g, whole.g)
    # Streaming in chunks of one frame changes nothing either.
    chunked = state_rdf(coords, lattices, chi, **kw, max_chunk_bytes=1)
    np.testing.assert_allclose(chunked.counts, whole.counts)


@pytest.mark.parametrize("kwargs, match", [
    (dict(elements=[9]), "do not occur"),
    (dict(r_max=-1.0), "r_max"),
    (dict(target_index=np.array([[0, 1]])), "1-D"),
    (dict(chi=np.ones((3, 2, 1))), "chi must have shape"),
])
def test_bad_input_raises(kwargs, match):
    rng = np.random.default_rng(5)
    coords, lattices, types, targets = ideal_gas(rng, 2, 2, 5, 5.0)
    args = dict(coords=coords, lattices=lattices, chi=np.ones((2, 2, 1)), atom_types=types,
                target_index=targets, elements=[O], r_max=2.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        state_rdf(**args)


def test_rdf_sums_come_back_from_their_file_and_split_by_state(tmp_path):
    from gdynet.analysis.rdf import load_rdf

    rng = np.random.default_rng(4)
    coords, lattices, types, targets = ideal_gas(rng, 5, 4, 30, 10.0)
    chi = rng.dirichlet(np.ones(3), size=(5, 4))
    rdf = state_rdf(coords, lattices, chi, types, targets, [O], r_max=4.0, n_bins=8)
    rdf.save(tmp_path / "rdf.npz")
    back = load_rdf(tmp_path / "rdf.npz")
    np.testing.assert_array_equal(back.g, rdf.g)
    assert back.n_frames == 5
    # one pass with two state sets side by side = two passes
    first = state_rdf(coords, lattices, chi[..., :2], types, targets, [O], r_max=4.0, n_bins=8)
    np.testing.assert_allclose(rdf.select(slice(0, 2)).counts, first.counts)
    np.testing.assert_allclose(rdf.select(slice(0, 2)).density, first.density)
