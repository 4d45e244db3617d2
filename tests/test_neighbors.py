"""Known-answer tests for gdynet.graphs.neighbors: periodic M-NN graphs and Eq. 7.

The reference is brute force: replicate the cell +-3 times along each lattice vector,
compute every distance and sort. It is checked to cover the neighbour shell with the
cell widths computed from cross products (independently of the code under test).
"""

import itertools
from collections import Counter

import numpy as np
import pytest

from gdynet.graphs.neighbors import BLOCK_FRAMES, gaussian_expand, periodic_knn

A_TOY = 6.5  # Å, FCC S lattice constant of the toy system
S_FRAC = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


def brute_knn(frac, lattice, m, n_img=3):
    """Reference: all images with shifts in [-n_img, n_img]^3, sorted by distance.

    frac: (N, 3) fractional positions in [0, 1). Returns j (N, m), d (N, m).
    """
    pos = frac @ lattice
    shifts = np.array(list(itertools.product(range(-n_img, n_img + 1), repeat=3)))
    zero = int(np.nonzero((shifts == 0).all(axis=1))[0][0])
    disp = pos[None, :, None, :] + (shifts @ lattice)[None, None] - pos[:, None, None, :]
    d = np.linalg.norm(disp, axis=-1)  # (i, j, shift)
    n = len(pos)
    d[np.arange(n), np.arange(n), zero] = np.inf
    d = d.reshape(n, -1)
    order = np.argsort(d, axis=1, kind="stable")[:, :m]
    j = order // len(shifts)
    dist = np.take_along_axis(d, order, axis=1)
    # Every image left out has |f_k + n_k| > n_img along some axis, i.e. lies farther
    # than n_img * width_k: the reference is complete if the shell is inside that.
    volume = abs(np.linalg.det(lattice))
    faces = [np.cross(lattice[(k + 1) % 3], lattice[(k + 2) % 3]) for k in range(3)]
    widths = [volume / np.linalg.norm(face) for face in faces]
    assert dist[:, -1].max() < n_img * min(widths), "brute force needs more images"
    return j, dist


def assert_matches(idx, dist, ref_j, ref_d, tol=1e-5):
    """Distances equal to tol; neighbour multisets equal apart from ties at the m-th place."""
    assert idx.shape == dist.shape == ref_j.shape
    assert idx.dtype == np.int32 and dist.dtype == np.float32
    np.testing.assert_allclose(dist, ref_d, atol=tol, rtol=0)
    assert (np.diff(dist, axis=-1) >= 0).all(), "distances must ascend"
    for i in range(len(idx)):
        inner = ref_d[i] < ref_d[i, -1] - 10 * tol
        got = idx[i][dist[i] < ref_d[i, -1] - 10 * tol]
        assert Counter(got.tolist()) == Counter(ref_j[i][inner].tolist())


def random_triclinic(rng):
    """Right-handed, clearly skewed cell with widths of a few Å."""
    lattice = np.diag(rng.uniform(4.0, 6.0, 3))
    lattice[1, 0] = rng.uniform(-2.0, 2.0)
    lattice[2, :2] = rng.uniform(-2.0, 2.0, 2)
    return lattice


def unwrap(frac, lattice, rng):
    """Cartesian positions moved by random whole lattice vectors (same periodic system)."""
    return (frac + rng.integers(-3, 4, frac.shape)) @ lattice


# ------------------------------------------------------------------ toy system


@pytest.mark.parametrize("method", ["auto", "dense", "cutoff"])
def test_toy_cell_li_neighbours_are_images_of_four_s_atoms(method):
    rng = np.random.default_rng(0)
    lattice = np.eye(3) * A_TOY
    n_frames = 6
    frac = np.concatenate([rng.random((n_frames, 1, 3)), np.broadcast_to(S_FRAC, (n_frames, 4, 3))], axis=1)
    coords = np.stack([unwrap(f, lattice, rng) for f in frac])
    idx, dist = periodic_knn(coords, np.broadcast_to(lattice, (n_frames, 3, 3)), 12, method=method)
    assert idx.shape == (n_frames, 5, 12)
    for f in range(n_frames):
        assert_matches(idx[f], dist[f], *brute_knn(frac[f], lattice, 12))
        # The 12 neighbours of the Li (atom 0) are images of the 4 S atoms only.
        assert set(idx[f, 0].tolist()) == {1, 2, 3, 4}


@pytest.mark.parametrize("method", ["dense", "cutoff"])
def test_toy_cell_li_on_interstitial_sites_analytic(method):
    # Tetrahedral site (1/4, 1/4, 1/4) a: 4 S at a sqrt(3)/4, then 12 at a sqrt(11)/4.
    # Octahedral site (1/2, 1/2, 1/2) a: 6 S at a/2, then 8 at a sqrt(3)/2.
    sites = np.array([[[0.25, 0.25, 0.25]], [[0.5, 0.5, 0.5]]])
    coords = np.concatenate([sites, np.broadcast_to(S_FRAC, (2, 4, 3))], axis=1) * A_TOY
    _, dist = periodic_knn(coords, np.broadcast_to(np.eye(3) * A_TOY, (2, 3, 3)), 12, method=method)
    tet = [A_TOY * np.sqrt(3) / 4] * 4 + [A_TOY * np.sqrt(11) / 4] * 8
    octa = [A_TOY / 2] * 6 + [A_TOY * np.sqrt(3) / 2] * 6
    np.testing.assert_allclose(dist[0, 0], tet, atol=1e-5)
    np.testing.assert_allclose(dist[1, 0], octa, atol=1e-5)


@pytest.mark.parametrize("method", ["dense", "cutoff"])
def test_single_atom_has_only_its_own_images(method):
    # Simple cubic lattice: 6 images at a, 12 at a sqrt(2), 8 at a sqrt(3).
    a = 3.0
    idx, dist = periodic_knn(np.full((1, 1, 3), 0.7), np.eye(3)[None] * a, 26, method=method)
    assert (idx == 0).all()
    np.testing.assert_allclose(dist[0, 0], a * np.sqrt([1] * 6 + [2] * 12 + [3] * 8), atol=1e-5)


# ------------------------------------------------------------- general cells


@pytest.mark.parametrize("method", ["auto", "dense", "cutoff"])
def test_random_triclinic_more_neighbours_than_atoms(method):
    rng = np.random.default_rng(1)
    n_frames, n_atoms, m = 4, 10, 20
    # A different cell per frame (as in NPT): no shared-cell shortcut.
    lattices = np.stack([random_triclinic(rng) for _ in range(n_frames)])
    frac = rng.random((n_frames, n_atoms, 3))
    coords = np.stack([unwrap(frac[f], lattices[f], rng) for f in range(n_frames)])
    idx, dist = periodic_knn(coords, lattices, m, method=method)
    for f in range(n_frames):
        assert_matches(idx[f], dist[f], *brute_knn(frac[f], lattices[f], m))


@pytest.mark.parametrize("method", ["dense", "cutoff"])
def test_many_shells_in_a_thin_cell(method):
    # Widths 1.5, 6 and 7 Å, m = 40 for 3 atoms: many images along a, with no
    # assumed number of shells.
    rng = np.random.default_rng(2)
    lattice = np.array([[1.5, 0.0, 0.0], [0.8, 6.0, 0.0], [-0.5, 1.0, 7.0]])
    frac = rng.random((3, 3))
    idx, dist = periodic_knn(unwrap(frac, lattice, rng)[None], lattice[None], 40, method=method)
    assert_matches(idx[0], dist[0], *brute_knn(frac, lattice, 40, n_img=12))


def test_cluster_in_empty_cell_grows_dense_radius():
    # 20 close atoms and 1 far away in a 12 Å cell: the density guess (5.1 Å, under
    # half the cell width, so one image per pair) is far too small for the lone
    # atom, and the dense path must redo that frame with a larger radius.
    rng = np.random.default_rng(3)
    lattice = np.eye(3) * 12.0
    frac = np.vstack([0.05 + 0.2 * rng.random((20, 3)), [[0.65, 0.6, 0.7]]])
    idx, dist = periodic_knn((frac @ lattice)[None], lattice[None], 4, method="dense")
    assert_matches(idx[0], dist[0], *brute_knn(frac, lattice, 4))


def test_large_cell_path_matches_brute_force():
    # 120 atoms: "auto" takes the cutoff (vesin) path.
    rng = np.random.default_rng(4)
    lattice = np.array([[13.0, 0.0, 0.0], [2.0, 12.5, 0.0], [-1.5, 1.0, 12.0]])
    frac = rng.random((2, 120, 3))
    coords = np.stack([unwrap(f, lattice, rng) for f in frac])
    lattices = np.broadcast_to(lattice, (2, 3, 3))
    for method in ("auto", "cutoff"):
        idx, dist = periodic_knn(coords, lattices, 20, method=method)
        for f in range(2):
            assert_matches(idx[f], dist[f], *brute_knn(frac[f], lattice, 20, n_img=2))


def test_large_cell_path_with_sparse_regions():
    # A dense cluster plus isolated atoms: the cutoff must grow (many atoms short of
    # m neighbours) and the last few short atoms are searched densely as centers.
    rng = np.random.default_rng(5)
    lattice = np.eye(3) * 20.0
    cluster = 0.4 * rng.random((100, 3))
    lone = 0.45 + 0.55 * rng.random((15, 3))
    frac = np.vstack([cluster, lone])
    idx, dist = periodic_knn((frac @ lattice)[None], lattice[None], 20, method="cutoff")
    assert_matches(idx[0], dist[0], *brute_knn(frac, lattice, 20))


# ---------------------------------------------------------------- invariances


@pytest.mark.parametrize("method", ["dense", "cutoff"])
def test_translation_and_permutation_invariance(method):
    rng = np.random.default_rng(6)
    lattice = random_triclinic(rng)
    coords = (rng.random((1, 9, 3)) @ lattice)
    lattices = lattice[None]
    idx, dist = periodic_knn(coords, lattices, 15, method=method)

    _, moved = periodic_knn(coords + rng.normal(scale=20.0, size=3), lattices, 15, method=method)
    np.testing.assert_allclose(moved, dist, atol=1e-5)

    perm = rng.permutation(9)
    p_idx, p_dist = periodic_knn(coords[:, perm], lattices, 15, method=method)
    np.testing.assert_allclose(p_dist[0], dist[0, perm], atol=1e-5)
    # Neighbour labels map back through the permutation (no ties in random positions).
    for new_i, old_i in enumerate(perm):
        assert sorted(perm[p_idx[0, new_i]].tolist()) == sorted(idx[0, old_i].tolist())


# -------------------------------------------------------------------- errors


def _toy(n_frames=2):
    coords = np.broadcast_to(S_FRAC * A_TOY, (n_frames, 4, 3)).copy()
    return coords, np.broadcast_to(np.eye(3) * A_TOY, (n_frames, 3, 3)).copy()


BAD_INPUTS = {
    "coords_2d": (lambda c, lat, m: (c[0], lat, m), r"coords must have shape \(frames, atoms, 3\)"),
    "coords_xy": (lambda c, lat, m: (c[..., :2], lat, m), r"coords must have shape \(frames, atoms, 3\)"),
    "no_atoms": (lambda c, lat, m: (c[:, :0], lat, m), "no atoms"),
    "lattice_3x3": (lambda c, lat, m: (c, lat[0], m), r"lattices must have shape \(frames, 3, 3\)"),
    "lattice_frames": (lambda c, lat, m: (c, lat[:1], m), r"lattices must have shape \(frames, 3, 3\)"),
    "coords_nan": (
        lambda c, lat, m: (np.where(np.arange(3) == 1, np.nan, c), lat, m),
        r"coords contain non-finite.*\[0, 1\]",
    ),
    "lattice_inf": (
        lambda c, lat, m: (c, np.where(np.arange(3) == 2, np.inf, lat), m),
        "lattices contain non-finite",
    ),
    "singular": (
        lambda c, lat, m: (c, np.stack([lat[0], np.diag([6.5, 6.5, 0.0])]), m),
        r"singular cell.*frames \[1\]",
    ),
    "left_handed": (
        lambda c, lat, m: (c, np.stack([lat[0], lat[1][[1, 0, 2]]]), m),
        r"left-handed cell.*frames \[1\]",
    ),
    "negative_volume": (lambda c, lat, m: (c, -lat, m), r"left-handed cell.*frames \[0, 1\]"),
    "m_zero": (lambda c, lat, m: (c, lat, 0), "m must be an integer >= 1"),
    "m_negative": (lambda c, lat, m: (c, lat, -3), "m must be an integer >= 1"),
    "m_float": (lambda c, lat, m: (c, lat, 2.5), "m must be an integer number"),
    "m_bool": (lambda c, lat, m: (c, lat, True), "m must be an integer number"),
}


@pytest.mark.parametrize("change, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_raises(change, message):
    coords, lattices, m = change(*_toy(), 12)
    with pytest.raises(ValueError, match=message):
        periodic_knn(coords, lattices, m)


def test_bad_method_raises():
    with pytest.raises(ValueError, match="method must be"):
        periodic_knn(*_toy(), 12, method="kdtree")


def test_no_frames_gives_empty_arrays():
    idx, dist = periodic_knn(np.zeros((0, 5, 3)), np.zeros((0, 3, 3)), 12)
    assert idx.shape == dist.shape == (0, 5, 12)


# -------------------------------------------------------------- Eq. 7 expansion


def test_gaussian_expand_matches_eq7():
    d = np.array([[1.0, 2.3]], dtype=np.float32)
    u = gaussian_expand(d, radius_A=3.0)  # K = 15: mu = 0, 0.2, ..., 3.0 Å
    assert u.shape == (1, 2, 16) and u.dtype == np.float32
    # d = 1.0 Å sits on mu_5; one step (= sigma) away the weight is e^-1, two: e^-4.
    np.testing.assert_allclose(u[0, 0, [5, 4, 6, 3]], np.exp([0.0, -1.0, -1.0, -4.0]), rtol=1e-6)
    # d = 2.3 Å is half a step from mu_11 and mu_12: e^-(0.1/0.2)^2 = e^-0.25.
    np.testing.assert_allclose(u[0, 1, [11, 12]], np.exp(-0.25), rtol=1e-5)
    assert gaussian_expand(np.array([0.5]), radius_A=1.0, step_A=0.5, sigma_A=1.0).shape == (1, 3)


@pytest.mark.parametrize(
    "kwargs", [dict(radius_A=0.0), dict(radius_A=5.0, step_A=-0.2), dict(radius_A=5.0, sigma_A=np.nan)]
)
def test_gaussian_expand_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="must be a positive finite number"):
        gaussian_expand(np.ones(3), **kwargs)


# ------------------------------------------------------------------ exact ties


@pytest.mark.parametrize("method", ["dense", "cutoff"])
def test_equivalent_sites_of_a_frozen_lattice_give_isomorphic_graphs(method):
    """The Li in each of the 4 octahedral sites of the toy cell, with the same small
    offset: the configurations differ by a lattice translation of the FCC crystal, so
    any permutation-invariant function of the graphs (here a randomly initialised
    GDyNet) must give the same value. The S-S distances of the frozen lattice tie
    exactly; breaking those ties by atom index would tell the sites apart."""
    import torch

    from gdynet.learn.model import GDyNet

    oct_sites = np.array([[0.5, 0.5, 0.5], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    offset = np.array([0.03, -0.02, 0.01])
    frac = np.array([np.vstack([site + offset, S_FRAC]) % 1.0 for site in oct_sites])
    coords = frac * A_TOY
    lattices = np.broadcast_to(A_TOY * np.eye(3), (4, 3, 3))
    idx, dist = periodic_knn(coords, lattices, 12, method=method)
    torch.manual_seed(0)
    net = GDyNet([3, 16, 16, 16, 16], [0], n_states=4, atom_fea_len=8, n_conv=3).eval()
    with torch.no_grad():
        out = net(torch.as_tensor(idx), torch.as_tensor(dist)).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(out[0], out.shape), atol=1e-6)


# ------------------------------------------------- the cutoff path's own code


def jittered_liquid(n_side, spacing, rng, n_frames=1, jitter=0.3):
    """A dense liquid-like periodic box: a simple cubic lattice, shuffled, with every
    atom displaced by a Gaussian of `jitter` lattice spacings. Returns frac (F, N, 3)
    and the cubic lattice (3, 3), Å."""
    grid = np.stack(np.meshgrid(*[np.arange(n_side)] * 3, indexing="ij"), -1).reshape(-1, 3)
    grid = grid[rng.permutation(len(grid))] + 0.5
    frac = (grid + rng.normal(scale=jitter, size=(n_frames,) + grid.shape)) / n_side
    return frac % 1.0, np.eye(3) * n_side * spacing


def test_threads_give_the_same_graphs():
    rng = np.random.default_rng(7)
    n_frames = 2 * BLOCK_FRAMES + 5  # three blocks
    frac, lattice = jittered_liquid(6, 2.3, rng, n_frames=n_frames)  # 216 atoms: cutoff path
    coords = frac @ lattice
    lattices = np.broadcast_to(lattice, (n_frames, 3, 3))
    one = periodic_knn(coords, lattices, 20, threads=1)
    for threads in (2, 3, 10):  # 10 > blocks: some threads get none
        many = periodic_knn(coords, lattices, 20, threads=threads)
        np.testing.assert_array_equal(many[0], one[0])
        np.testing.assert_array_equal(many[1], one[1])
    # a single block: vesin's own threads instead
    for a, b in zip(periodic_knn(coords[:5], lattices[:5], 20, threads=2), one):
        np.testing.assert_array_equal(a, b[:5])
    for f in (4, BLOCK_FRAMES, n_frames - 1):
        assert_matches(one[0][f], one[1][f], *brute_knn(frac[f], lattice, 20, n_img=1))
    # the dense path (toy cell) splits its frames the same way
    toy = np.concatenate([rng.random((9, 1, 3)), np.broadcast_to(S_FRAC, (9, 4, 3))], axis=1) * A_TOY
    toy_cells = np.broadcast_to(np.eye(3) * A_TOY, (9, 3, 3))
    for a, b in zip(periodic_knn(toy, toy_cells, 12, threads=4), periodic_knn(toy, toy_cells, 12)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_bad_threads_raise(threads):
    with pytest.raises(ValueError, match="threads must be an integer >= 1"):
        periodic_knn(*_toy(), 12, threads=threads)


def test_lone_atom_in_a_void_is_searched_densely():
    # A liquid with a 4 Å void holding one atom: that atom has fewer than m pairs
    # within the first cutoff (it alone is short, so the cutoff does not grow) and
    # takes the exact dense search as a center; all other atoms come from vesin.
    rng = np.random.default_rng(8)
    frac, lattice = jittered_liquid(7, 2.3, rng)
    frac = frac[0]
    pos = frac @ lattice
    centre = lattice.sum(axis=0) / 2
    frac = np.vstack([frac[np.linalg.norm(pos - centre, axis=1) > 4.0], [[0.5, 0.5, 0.5]]])
    idx, dist = periodic_knn((frac @ lattice)[None], lattice[None], 20, method="cutoff")
    ref_j, ref_d = brute_knn(frac, lattice, 20, n_img=1)
    assert ref_d[-1, 0] > 4.0 - 1.0  # the lone atom's nearest neighbour is far away
    assert_matches(idx[0], dist[0], ref_j, ref_d)


def test_ties_in_a_large_perfect_lattice_are_broken_by_direction():
    # 5 x 5 x 5 simple cubic, a = 3 Å, positions exact in binary: every atom has the
    # same 6 + 12 neighbours and must take the same 2 of the 8 tied ones at a sqrt(3),
    # the same displacements for every atom (translation symmetry), as in the dense path.
    a, n = 3.0, 5
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    coords = (a * grid[np.random.default_rng(9).permutation(len(grid))])[None].astype(np.float64)
    lattice = (a * n * np.eye(3))[None]
    idx, dist = periodic_knn(coords, lattice, 20, method="cutoff")
    np.testing.assert_allclose(dist[0], np.broadcast_to(a * np.sqrt([1] * 6 + [2] * 12 + [3] * 2), (125, 20)),
                               rtol=1e-6)
    disp = coords[0][idx[0]] - coords[0][:, None]
    disp -= a * n * np.round(disp / (a * n))  # minimum image (a sqrt(3) < half the cell)
    np.testing.assert_allclose(disp, np.broadcast_to(disp[0], disp.shape), atol=1e-9)
    dense_idx, _ = periodic_knn(coords, lattice, 20, method="dense")
    np.testing.assert_array_equal(idx, dense_idx)


def test_unpacked_keys_for_more_atoms_than_16_bits_match_brute_force(monkeypatch):
    # Beyond 65 536 atoms j does not fit the sort key and travels beside it; force
    # that path on a small system.
    from gdynet.graphs import neighbors

    monkeypatch.setattr(neighbors, "_PACK_MAX_ATOMS", 0)
    rng = np.random.default_rng(4)
    lattice = np.array([[13.0, 0.0, 0.0], [2.0, 12.5, 0.0], [-1.5, 1.0, 12.0]])
    frac = rng.random((2, 120, 3))
    coords = np.stack([unwrap(f, lattice, rng) for f in frac])
    idx, dist = periodic_knn(coords, np.broadcast_to(lattice, (2, 3, 3)), 20, method="cutoff")
    for f in range(2):
        assert_matches(idx[f], dist[f], *brute_knn(frac[f], lattice, 20, n_img=2))
