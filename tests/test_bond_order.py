"""Known answers for the Steinhardt bond order (gdynet.analysis.bond_order).

Expected q_l values are computed here without spherical harmonics, from the addition
theorem over the ideal neighbour shell,

    q_l² = (4π/(2l+1)) Σ_m |q_lm|² = (1/n²) Σ_j Σ_k P_l(r̂_j · r̂_k),

with numpy's Legendre series, and are also checked against the literature values
(Steinhardt, Nelson & Ronchetti, PRB 28, 784 (1983); Mickel et al., J. Chem. Phys.
138, 044501 (2013)): FCC q4 = 0.19094, q6 = 0.57452; BCC (8 nn) q4 = 0.50918,
q6 = 0.62854; SC q4 = 0.76376, q6 = 0.35355; a tetrahedron (diamond) q3 = √5/3.
"""

import itertools

import numpy as np
import pytest
from numpy.polynomial import legendre
from scipy.spatial.transform import Rotation

from gdynet.analysis.bond_order import (
    DIAMOND_Q3,
    FCC_Q6,
    SolidCriterion,
    bond_order,
    crystal_bonds,
    nearest_neighbors,
    order_series,
    spherical_harmonics,
)

FCC_BASIS = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
DIAMOND_BASIS = np.concatenate([FCC_BASIS, FCC_BASIS + 0.25])
BCC_BASIS = np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
SC_BASIS = np.zeros((1, 3))


def crystal(basis, cells, a=1.0):
    """(positions, lattice) of an n×n×n supercell of a cubic cell with the given basis."""
    grid = np.array(list(itertools.product(range(cells), repeat=3)), dtype=float)
    pos = (grid[:, None, :] + basis[None]).reshape(-1, 3) * a
    return pos, np.eye(3) * cells * a


def shell(kind):
    """The ideal nearest-neighbour shell (unit cell a = 1)."""
    if kind == "fcc":
        v = {p for s in itertools.product([-1, 1], repeat=2) for p in
             itertools.permutations((s[0], s[1], 0))}
        return np.array(sorted(v), dtype=float) / 2
    if kind == "bcc":
        return np.array(list(itertools.product([-0.5, 0.5], repeat=3)))
    if kind == "sc":
        return np.concatenate([np.eye(3), -np.eye(3)])
    if kind == "tetrahedron":
        return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / 4.0
    raise KeyError(kind)


def q_addition_theorem(vectors, l):
    u = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = np.clip(u @ u.T, -1, 1)
    coef = np.zeros(l + 1)
    coef[l] = 1
    return float(np.sqrt(legendre.legval(cos, coef).sum()) / len(u))


def crit(l, n):
    return SolidCriterion(l=l, n_neighbors=n, threshold=0.7, min_bonds=1)


@pytest.mark.parametrize("kind, basis, l, n, literature", [
    ("fcc", FCC_BASIS, 6, 12, 0.57452),
    ("fcc", FCC_BASIS, 4, 12, 0.19094),
    ("bcc", BCC_BASIS, 6, 8, 0.62854),
    ("bcc", BCC_BASIS, 4, 8, 0.50918),
    ("sc", SC_BASIS, 6, 6, 0.35355),
    ("sc", SC_BASIS, 4, 6, 0.76376),
    ("tetrahedron", DIAMOND_BASIS, 3, 4, np.sqrt(5) / 3),
])
def test_perfect_crystals_give_the_analytic_q(kind, basis, l, n, literature):
    expected = q_addition_theorem(shell(kind), l)
    assert expected == pytest.approx(literature, abs=5e-5)
    pos, lattice = crystal(basis, 3, a=3.0)
    result = bond_order(pos, lattice, crit(l, n))
    np.testing.assert_allclose(result.q_l, expected, atol=1e-10)


def test_perfect_fcc_is_solid_with_unit_bond_correlation():
    pos, lattice = crystal(FCC_BASIS, 3, a=1.6)
    r = bond_order(pos, lattice, FCC_Q6)
    np.testing.assert_allclose(r.bond_correlation, 1.0, atol=1e-10)
    # all neighbours of one atom alike -> averaging changes nothing
    np.testing.assert_allclose(r.q_bar, 0.57452, atol=5e-5)
    assert r.n_crystal_bonds.tolist() == [12] * len(pos) and r.solid.all()


def test_perfect_diamond_has_anticorrelated_q3_and_is_solid():
    pos, lattice = crystal(DIAMOND_BASIS, 2, a=5.431)
    r = bond_order(pos, lattice, DIAMOND_Q3)
    # The tetrahedron around a neighbour is the inverse of the one around the atom and
    # Y_3m is odd: q_3m(j) = -q_3m(i), so s_ij = -1 and q̄3 = |1 - 4| / 5 · q3 = 3/5 q3.
    np.testing.assert_allclose(r.bond_correlation, -1.0, atol=1e-10)
    np.testing.assert_allclose(r.q_bar, 0.6 * np.sqrt(5) / 3, atol=1e-10)
    assert r.solid.all()
    # with the threshold on the wrong side, nothing is solid
    wrong = SolidCriterion(l=3, n_neighbors=4, threshold=-0.75, min_bonds=3, solid_above=True)
    assert not bond_order(pos, lattice, wrong).solid.any()


def test_neighbour_distances_match_a_brute_force_image_search():
    rng = np.random.default_rng(3)
    lattice = np.array([[5.0, 0.0, 0.0], [1.2, 4.5, 0.0], [-0.8, 0.7, 4.8]])  # triclinic
    pos = rng.uniform(0, 1, (7, 3)) @ lattice
    _, vec, dist = nearest_neighbors(pos, lattice, 14)
    shifts = np.array(list(itertools.product(range(-3, 4), repeat=3))) @ lattice
    for i in range(len(pos)):
        d = np.linalg.norm(pos[None, :, :] + shifts[:, None, :] - pos[i], axis=-1).ravel()
        d = np.sort(d[d > 1e-9])[:14]
        np.testing.assert_allclose(dist[i], d, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(vec, axis=-1), dist, atol=1e-12)


def test_a_one_atom_primitive_cell_sees_its_own_images():
    # FCC primitive cell (triclinic, one atom): all 12 neighbours are images of atom 0.
    a = 1.6
    lattice = a / 2 * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    r = bond_order(np.zeros((1, 3)), lattice, FCC_Q6)
    assert r.neighbors.tolist() == [[0] * 12]
    assert r.q_l[0] == pytest.approx(q_addition_theorem(shell("fcc"), 6), abs=1e-10)
    assert r.solid[0]


def thermal_fcc(seed=0):
    rng = np.random.default_rng(seed)
    pos, lattice = crystal(FCC_BASIS, 3, a=1.6)
    return pos + rng.normal(scale=0.08, size=pos.shape), lattice


def test_rotation_and_translation_leave_every_value_unchanged():
    pos, lattice = thermal_fcc()
    ref = bond_order(pos, lattice, FCC_Q6)
    rot = Rotation.from_euler("zyx", [0.7, -1.1, 2.3]).as_matrix()
    moved = pos @ rot.T + np.array([0.31, -2.2, 5.0])
    new = bond_order(moved, lattice @ rot.T, FCC_Q6)
    np.testing.assert_allclose(new.q_l, ref.q_l, atol=1e-10)
    np.testing.assert_allclose(new.q_bar, ref.q_bar, atol=1e-10)
    np.testing.assert_allclose(np.sort(new.bond_correlation, axis=1),
                               np.sort(ref.bond_correlation, axis=1), atol=1e-10)
    # a thermal crystal is not perfect, so the test is not trivial
    assert ref.q_l.std() > 1e-3 and (new.solid == ref.solid).all()


def test_spherical_harmonics_are_orthonormal_on_a_quadrature_grid():
    # Gauss-Legendre in cos θ times a uniform grid in φ integrates Y_lm Y_l'm'* exactly.
    x, w = legendre.leggauss(20)
    phi = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    theta = np.arccos(x)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    vec = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1)
    weight = (w[:, None] * np.full(len(phi), 2 * np.pi / len(phi))[None, :])
    y = spherical_harmonics(vec, 4)
    gram = np.einsum("ab,abm,abn->mn", weight, y, y.conj())
    np.testing.assert_allclose(gram, np.eye(9), atol=1e-12)


def test_criterion_counts_bonds_on_the_chosen_side():
    corr = np.array([[0.9, 0.8, 0.1, -0.9], [0.71, 0.69, 0.7, 0.95]])
    above = SolidCriterion(l=6, n_neighbors=4, threshold=0.7, min_bonds=2)
    below = SolidCriterion(l=3, n_neighbors=4, threshold=-0.75, min_bonds=1, solid_above=False)
    assert crystal_bonds(corr, above).sum(axis=1).tolist() == [2, 2]
    assert crystal_bonds(corr, below).sum(axis=1).tolist() == [1, 0]


@pytest.mark.parametrize("kwargs", [
    dict(l=0, n_neighbors=4, threshold=0.5, min_bonds=1),
    dict(l=3, n_neighbors=4, threshold=-1.5, min_bonds=1),
    dict(l=3, n_neighbors=4, threshold=-0.7, min_bonds=5),
])
def test_bad_criteria_are_refused(kwargs):
    with pytest.raises(ValueError):
        SolidCriterion(**kwargs)


def test_an_ideal_gas_is_not_solid():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 12, (1500, 3))
    lattice = np.eye(3) * 12
    assert bond_order(pos, lattice, FCC_Q6).solid.mean() < 0.02
    assert bond_order(pos, lattice, DIAMOND_Q3).solid.mean() < 0.02


def test_order_series_reports_the_chosen_atoms_of_every_frame():
    frames = [thermal_fcc(s)[0] for s in range(3)]
    _, lattice = thermal_fcc()
    coords = np.stack(frames)
    atoms = np.array([5, 0, 17])
    series = order_series(coords, lattice, FCC_Q6, atoms=atoms)
    assert series.q_bar.shape == (3, 3)
    for f in range(3):
        ref = bond_order(coords[f], lattice, FCC_Q6)
        np.testing.assert_allclose(series.q_bar[f], ref.q_bar[atoms], rtol=1e-6)
        np.testing.assert_array_equal(series.solid[f], ref.solid[atoms])
    # a neighbour pool that excludes a reported atom is refused
    with pytest.raises(ValueError, match="neighbor_atoms"):
        order_series(coords, lattice, FCC_Q6, atoms=atoms, neighbor_atoms=np.arange(10))


@pytest.mark.parametrize("basis, criterion, a", [(FCC_BASIS, FCC_Q6, 1.6), (DIAMOND_BASIS, DIAMOND_Q3, 5.431)])
def test_perfect_crystal_reference_values_are_what_a_perfect_crystal_gives(basis, criterion, a):
    from gdynet.analysis.bond_order import PERFECT_Q_BAR

    pos, lattice = crystal(basis, 2 if len(basis) == 8 else 3, a=a)
    _, value = PERFECT_Q_BAR[(criterion.l, criterion.n_neighbors)]
    np.testing.assert_allclose(bond_order(pos, lattice, criterion).q_bar, value, atol=1e-4)
