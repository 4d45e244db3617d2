"""Steinhardt local bond order: q_l, bond correlations and the solid criterion.

For atom i with its n nearest neighbours j (periodic images included; in a cell
smaller than the neighbour shell one atom can appear several times), with r̂_ij the
unit bond vector:

    q_lm(i) = (1/n) Σ_j Y_lm(r̂_ij),             m = -l..l         (Steinhardt 1983)
    q_l(i)  = sqrt(4π/(2l+1) Σ_m |q_lm(i)|²)                         rotation invariant
    s_ij    = Re Σ_m q_lm(i) q_lm(j)* / (|q_l(i)| |q_l(j)|)   in [-1, 1]   (ten Wolde 1996)
    q̄_l(i)  = q_l of q̄_lm(i) = (q_lm(i) + Σ_j q_lm(j)) / (n + 1)    (Lechner & Dellago 2008)

The solid criterion counts the bonds of i whose correlation s_ij passes a threshold:
i is solid when at least `min_bonds` of its n bonds do. The threshold's side depends
on the crystal:

* FCC (Lennard-Jones): l = 6 over 12 neighbours, a bond is crystalline when
  s_ij > 0.7, an atom is solid with at least 7 such bonds (`FCC_Q6`). In a perfect
  FCC crystal every s_ij = +1.
* Diamond (Si, the paper's q3): l = 3 over the 4 nearest neighbours, a bond is
  crystalline when s_ij < -0.75, solid with at least 3 of 4 (`DIAMOND_Q3`). In a
  perfect diamond crystal every s_ij = -1: the tetrahedron around a neighbour is the
  inversion of the one around i, and Y_3m is odd.

s_ij and the solid label do not depend on the sign convention of the bond vector
(r_j - r_i or r_i - r_j): flipping it flips every q_lm of an odd l, and s_ij holds two.

The per-atom order parameter the interface analyses plot (Supp. Fig. 2) is q̄_l, the
Lechner-Dellago average over the atom and its neighbours: it separates solid from
liquid better than q_l (the liquid's q_l is large for few neighbours, e.g. ~0.5 for
q3 over 4, because 4 random bonds are never isotropic), and it is larger in the
crystal for both criteria above (perfect crystal: q̄6 = q6 = 0.575 for FCC,
q̄3 = 3/5 q3 = 0.447 for diamond; liquids ~0.2).

Shapes: positions (N, 3) Å, lattice (3, 3) Å with rows the lattice vectors; a
trajectory is coords (F, N, 3) with lattices (F, 3, 3) (the trajectory contract).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import vesin
from scipy.special import sph_legendre_p

_MAX_CUTOFF_GROWTHS = 12
_CUTOFF_GROWTH = 1.3


@dataclass(frozen=True)
class SolidCriterion:
    """Which q_l, over how many neighbours, and when an atom counts as solid.

    l: degree of the spherical harmonics (6 for FCC, 3 for diamond).
    n_neighbors: neighbours per atom (12 for FCC, 4 for diamond).
    threshold: a bond (i, j) is crystalline when s_ij > threshold (solid_above) or
        s_ij < threshold (not solid_above).
    min_bonds: an atom is solid with at least this many crystalline bonds.
    solid_above: the side of the threshold on which a bond is crystalline.
    """

    l: int
    n_neighbors: int
    threshold: float
    min_bonds: int
    solid_above: bool = True

    def __post_init__(self):
        if isinstance(self.l, bool) or int(self.l) != self.l or self.l < 1:
            raise ValueError(f"l must be a positive integer (3 for diamond, 6 for FCC), got {self.l!r}")
        if isinstance(self.n_neighbors, bool) or int(self.n_neighbors) != self.n_neighbors \
                or self.n_neighbors < 1:
            raise ValueError(f"n_neighbors must be a positive integer, got {self.n_neighbors!r}")
        if not (np.isfinite(self.threshold) and -1.0 <= self.threshold <= 1.0):
            raise ValueError(f"threshold {self.threshold!r} lies outside [-1, 1], the range of the "
                             "normalised bond correlation; use e.g. 0.7 (FCC q6) or -0.75 (diamond q3)")
        if isinstance(self.min_bonds, bool) or int(self.min_bonds) != self.min_bonds \
                or not 1 <= self.min_bonds <= self.n_neighbors:
            raise ValueError(f"min_bonds must be an integer in 1..n_neighbors={self.n_neighbors}, "
                             f"got {self.min_bonds!r}")


FCC_Q6 = SolidCriterion(l=6, n_neighbors=12, threshold=0.7, min_bonds=7, solid_above=True)
DIAMOND_Q3 = SolidCriterion(l=3, n_neighbors=4, threshold=-0.75, min_bonds=3, solid_above=False)
# q̄_l of the perfect crystals, by (l, n_neighbors): in FCC every atom has the same q_lm, so
# q̄6 = q6; in diamond each of the 4 neighbours has -q_3m (Y_3m is odd), so
# q̄3 = |q_3m - 4 q_3m| / 5 -> 3/5 q3. Reference lines of Supp. Fig. 2b.
PERFECT_Q_BAR = {(6, 12): ("perfect FCC", 0.5745), (3, 4): ("perfect diamond", 0.4472)}


@dataclass(frozen=True)
class BondOrder:
    """Bond order of every atom of one frame (see the module docstring for the formulas).

    neighbors: (N, n) int64 index of each atom's n nearest neighbours, nearest first.
    q_lm: (N, 2l+1) complex128, m = -l..l.
    q_l: (N,) Steinhardt q_l. q_bar: (N,) Lechner-Dellago q̄_l.
    bond_correlation: (N, n) s_ij for each atom's neighbours, in [-1, 1].
    n_crystal_bonds: (N,) bonds passing the criterion's threshold.
    solid: (N,) bool, n_crystal_bonds >= min_bonds.
    """

    criterion: SolidCriterion
    neighbors: np.ndarray
    q_lm: np.ndarray
    q_l: np.ndarray
    q_bar: np.ndarray
    bond_correlation: np.ndarray
    n_crystal_bonds: np.ndarray
    solid: np.ndarray


def nearest_neighbors(positions, lattice, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n nearest neighbours of every atom under periodic boundary conditions.

    positions: (N, 3) Å; lattice: (3, 3) Å, rows are lattice vectors (any triclinic cell).
    Every periodic image is a candidate; the atom itself at zero shift is not.
    Returns (indices (N, n) int64, bond vectors r_j - r_i (N, n, 3) Å, distances (N, n) Å),
    nearest first (exact ties keep vesin's order).
    The search radius starts where the mean density holds ~1.5 n + 4 atoms and grows
    until every atom has n neighbours inside it.
    """
    pos, cell = _check_frame(positions, lattice)
    n = _positive_int(n, "n")
    n_atoms = len(pos)
    volume = abs(np.linalg.det(cell))
    cutoff = (3.0 * (1.5 * n + 4) * volume / (4.0 * np.pi * n_atoms)) ** (1.0 / 3.0)
    for _ in range(_MAX_CUTOFF_GROWTHS):
        nl = vesin.NeighborList(cutoff=cutoff, full_list=True, n_threads=1)
        i, j, d, vec = nl.compute(pos, cell, True, quantities="ijdD")
        counts = np.bincount(i.astype(np.int64), minlength=n_atoms)
        if counts.min() >= n:
            break
        cutoff *= _CUTOFF_GROWTH
    else:
        raise ValueError(f"found fewer than {n} neighbours within {cutoff:.3g} Å for some atom; "
                         "are the positions and the lattice in the same unit (Å)?")
    # by atom, then distance: one float sort key, exact for d < cutoff and N < 2**40
    order = np.argsort(i + d / (cutoff * (1.0 + 1e-9)), kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    take = order[starts[:, None] + np.arange(n)[None, :]]
    return j[take].astype(np.int64), vec[take], d[take]


def spherical_harmonics(vectors, l: int) -> np.ndarray:
    """Y_lm(r̂) for m = -l..l (scipy's `sph_harm_y` convention, Condon-Shortley phase).

    vectors: (..., 3) non-zero vectors in any unit. Returns (..., 2l+1) complex128.
    """
    v = np.asarray(vectors, dtype=np.float64)
    r = np.linalg.norm(v, axis=-1)
    if np.any(r == 0):
        raise ValueError("a bond vector has zero length: two atoms sit on the same position")
    theta = np.arccos(np.clip(v[..., 2] / r, -1.0, 1.0))
    phi = np.mod(np.arctan2(v[..., 1], v[..., 0]), 2.0 * np.pi)
    m = np.arange(l + 1)
    # Y_lm = P̃_lm(θ) e^{imφ} for m >= 0 (P̃ normalised, as scipy's sph_harm_y, at half
    # its cost); Y_l,-m = (-1)^m conj(Y_lm).
    # (some scipy versions prepend a length-1 axis for the derivatives: reshape drops it)
    legendre = np.reshape(sph_legendre_p(l, m, theta[..., None]), theta.shape + m.shape)
    positive = legendre * np.exp(1j * m * phi[..., None])
    negative = (positive[..., :0:-1] * (-1.0) ** m[:0:-1]).conj()
    return np.concatenate([negative, positive], axis=-1)


def q_from_qlm(q_lm, l: int) -> np.ndarray:
    """q_l = sqrt(4π/(2l+1) Σ_m |q_lm|²); q_lm (..., 2l+1) -> (...,)."""
    q_lm = np.asarray(q_lm)
    return np.sqrt(4.0 * np.pi / (2 * l + 1) * np.sum(np.abs(q_lm) ** 2, axis=-1))


def bond_correlation(q_lm, neighbors) -> np.ndarray:
    """Normalised bond correlation s_ij = Re Σ_m q_lm(i) q_lm(j)* / (|q(i)| |q(j)|).

    q_lm: (N, 2l+1); neighbors: (N, n) indices. Returns (N, n) in [-1, 1]; 0 for an atom
    whose q_lm vanish (no preferred orientation).
    """
    q_lm = np.asarray(q_lm)
    norm = np.sqrt(np.sum(np.abs(q_lm) ** 2, axis=-1))
    unit = np.divide(q_lm, norm[:, None], out=np.zeros_like(q_lm), where=norm[:, None] > 0)
    s = np.einsum("im,inm->in", unit, unit[neighbors].conj()).real
    return np.clip(s, -1.0, 1.0)


def averaged_q(q_lm, neighbors, l: int) -> np.ndarray:
    """Lechner-Dellago q̄_l: q_l of the q_lm averaged over the atom and its n neighbours.

    q_lm: (N, 2l+1); neighbors: (N, n). Returns (N,).
    """
    q_lm = np.asarray(q_lm)
    mean = (q_lm + q_lm[neighbors].sum(axis=1)) / (neighbors.shape[1] + 1)
    return q_from_qlm(mean, l)


def crystal_bonds(correlation, criterion: SolidCriterion) -> np.ndarray:
    """(..., n) bool: the bonds whose s_ij pass the criterion's threshold."""
    s = np.asarray(correlation)
    return s > criterion.threshold if criterion.solid_above else s < criterion.threshold


def bond_order(positions, lattice, criterion: SolidCriterion) -> BondOrder:
    """Steinhardt bond order and solid labels of every atom of one frame.

    positions: (N, 3) Å, every atom that counts as a neighbour (e.g. all atoms, or only
    one species); lattice: (3, 3) Å, rows are lattice vectors. See `BondOrder`.
    """
    l, n = criterion.l, criterion.n_neighbors
    neighbors, vectors, _ = nearest_neighbors(positions, lattice, n)
    q_lm = spherical_harmonics(vectors, l).mean(axis=1)
    corr = bond_correlation(q_lm, neighbors)
    n_bonds = crystal_bonds(corr, criterion).sum(axis=1)
    return BondOrder(
        criterion=criterion, neighbors=neighbors, q_lm=q_lm, q_l=q_from_qlm(q_lm, l),
        q_bar=averaged_q(q_lm, neighbors, l), bond_correlation=corr,
        n_crystal_bonds=n_bonds, solid=n_bonds >= criterion.min_bonds,
    )


@dataclass(frozen=True)
class OrderSeries:
    """Order parameters of selected atoms over frames.

    atoms: (n,) int64 the atoms described (indices into the trajectory's atoms).
    q_bar: (F, n) Lechner-Dellago q̄_l. q_l: (F, n) Steinhardt q_l.
    n_crystal_bonds: (F, n) int. solid: (F, n) bool.
    """

    criterion: SolidCriterion
    atoms: np.ndarray
    q_bar: np.ndarray
    q_l: np.ndarray
    n_crystal_bonds: np.ndarray
    solid: np.ndarray


def order_series(coords, lattices, criterion: SolidCriterion, atoms=None, neighbor_atoms=None
                 ) -> OrderSeries:
    """`bond_order` of every frame, kept for the atoms of interest.

    coords: (F, N, 3) Å; lattices: (F, 3, 3) or (3, 3) Å.
    atoms: (n,) indices of the atoms to report (default: all).
    neighbor_atoms: (N',) indices of the atoms that count as neighbours (default: all);
        must contain `atoms`. For Si in Si-Au, all atoms (a Si in the liquid sees Au).
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 3 or coords.shape[-1] != 3:
        raise ValueError(f"coords must be (frames, atoms, 3), got shape {coords.shape}")
    n_frames, n_atoms = coords.shape[:2]
    lattices = np.asarray(lattices, dtype=np.float64)
    if lattices.shape == (3, 3):
        lattices = np.broadcast_to(lattices, (n_frames, 3, 3))
    if lattices.shape != (n_frames, 3, 3):
        raise ValueError(f"lattices must be (3, 3) or ({n_frames}, 3, 3), got {lattices.shape}")
    pool = np.arange(n_atoms) if neighbor_atoms is None else _indices(neighbor_atoms, n_atoms,
                                                                       "neighbor_atoms")
    atoms = pool if atoms is None else _indices(atoms, n_atoms, "atoms")
    where = np.full(n_atoms, -1, dtype=np.int64)
    where[pool] = np.arange(len(pool))
    rows = where[atoms]
    if np.any(rows < 0):
        raise ValueError(f"{int(np.sum(rows < 0))} of the atoms are not among neighbor_atoms; "
                         "every reported atom must also count as a neighbour")
    out = {key: np.empty((n_frames, len(atoms)), dtype=dt) for key, dt in
           (("q_bar", np.float32), ("q_l", np.float32), ("n_crystal_bonds", np.int16),
            ("solid", bool))}
    for f in range(n_frames):
        bo = bond_order(coords[f, pool], lattices[f], criterion)
        for key in out:
            out[key][f] = getattr(bo, key)[rows]
    return OrderSeries(criterion=criterion, atoms=atoms, **out)


def _check_frame(positions, lattice) -> tuple[np.ndarray, np.ndarray]:
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(lattice, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) < 1:
        raise ValueError(f"positions must be a non-empty (N, 3) array, got shape {pos.shape}")
    if cell.shape != (3, 3):
        raise ValueError(f"lattice must be (3, 3) with rows the lattice vectors, got {cell.shape}")
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(cell))):
        raise ValueError("positions or lattice contain NaN or inf")
    if abs(np.linalg.det(cell)) < 1e-9:
        raise ValueError(f"lattice {cell.tolist()} is singular (zero volume)")
    return pos, cell


def _indices(idx, n_atoms: int, name: str) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer) or idx.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D integer array, got {idx.dtype} {idx.shape}")
    if idx.min() < 0 or idx.max() >= n_atoms:
        raise ValueError(f"{name} holds indices outside 0..{n_atoms - 1}")
    if len(np.unique(idx)) != len(idx):
        raise ValueError(f"{name} holds repeated indices")
    return idx.astype(np.int64)


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
