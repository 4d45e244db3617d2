"""Periodic M-nearest-neighbour graphs and the Gaussian edge expansion (Eq. 7).

The paper connects every atom to its M nearest neighbours "considering periodic
boundary condition" (Methods, "Construction of the graphs from trajectory"). We read
this literally: every periodic image of every atom is a candidate neighbour, so in a
cell smaller than the neighbour shell one atom can appear several times, at different
distances (the toy cell is 6.5 Å with M = 12 and only 4 S atoms around the Li). An
atom's own images are neighbours too; only the atom itself at zero shift is not.
Minimum-image searches (scipy's periodic cKDTree, freud) return each atom at most
once and are therefore wrong here.

Two exact strategies, chosen automatically:

* ``dense``: vectorised over frames, for small cells (the toy system, ~2e6 frames of
  5 atoms). For every pair (i, j) only the few images of j that can lie within a
  radius R of i are enumerated; R is an upper bound on the M-th neighbour distance
  that is checked after the fact (see `_knn_dense`).
* ``cutoff``: one vesin cutoff search per frame, the cutoff grown until every atom
  has at least M neighbours, for large cells (up to ~20 000 atoms, M = 20).
"""

from __future__ import annotations

import math
import operator

import numpy as np

from . import logs

logger = logs.get()

# Bytes of working memory per candidate (i, j, image) in the dense path: float64
# squared distance, int64/float64 sort key and temporaries. Used to size chunks.
_BYTES_PER_CANDIDATE = 48
_DEFAULT_CHUNK_BYTES = 256 * 2**20
# Use the dense path while an atom has at most this many candidate images; beyond
# it the per-frame cutoff search is cheaper (measured, see the integrator notes).
_DENSE_MAX_CANDIDATES = 1000
# Relative safety margin on search radii, so that rounding never drops an image
# that lies exactly on the search sphere.
_MARGIN = 1e-9


def periodic_knn(coords, lattices, m: int, *, method: str = "auto"):
    """M nearest neighbours of every atom under periodic boundary conditions.

    coords: (F, N, 3) Cartesian positions, Å (need not be wrapped into the cell).
    lattices: (F, 3, 3) cell of each frame, Å; rows are the lattice vectors a, b, c
        (any triclinic, right-handed cell, i.e. det > 0).
    m: number of neighbours per atom (may exceed N: periodic images fill the list).
    method: "auto" (default), "dense" (vectorised image enumeration, small cells) or
        "cutoff" (vesin per frame, large cells). All give the same answer.

    Returns (idx, dist):
        idx (F, N, m) int32: atom index j of each neighbour of atom i. Periodic images
            are distinct neighbours, so a j may repeat (with different distances);
            i itself appears through its own images, never at zero shift.
        dist (F, N, m) float32: the distances, Å, ascending along the last axis.
    Among exactly equidistant candidates at the m-th place the choice is arbitrary.
    """
    coords, lattices, m = _validate(coords, lattices, m)
    n_frames, n_atoms, _ = coords.shape
    if method not in ("auto", "dense", "cutoff"):
        raise ValueError(f"method must be 'auto', 'dense' or 'cutoff', got {method!r}")
    if n_frames == 0:
        return (np.zeros((0, n_atoms, m), np.int32), np.zeros((0, n_atoms, m), np.float32))
    if method == "auto":
        method = "dense" if _dense_candidates(lattices, n_atoms, m) <= _DENSE_MAX_CANDIDATES else "cutoff"
    if method == "dense":
        return _knn_dense(coords, lattices, m)
    return _knn_cutoff(coords, lattices, m)


def gaussian_expand(dist, radius_A: float, step_A: float = 0.2, sigma_A: float = 0.2) -> np.ndarray:
    """Gaussian expansion of distances, Eq. 7: u[..., t] = exp(-(d - mu_t)^2 / sigma^2).

    dist: (...) distances, Å. mu_t = t * step_A for t = 0..K, K = round(radius_A / step_A).
    Returns (..., K + 1); float32 for float32 input, else float64.
    Note the paper's form has no factor 1/2 in the exponent: sigma^2, not 2 sigma^2.
    """
    for name, value in (("radius_A", radius_A), ("step_A", step_A), ("sigma_A", sigma_A)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive finite number of Å, got {value!r}")
    dist = np.asarray(dist)
    dtype = np.float32 if dist.dtype == np.float32 else np.float64
    mu = np.arange(round(radius_A / step_A) + 1) * step_A
    u = np.exp(-((dist[..., None].astype(np.float64) - mu) ** 2) / sigma_A**2)
    return u.astype(dtype, copy=False)


# --------------------------------------------------------------------------- checks


def _validate(coords, lattices, m):
    try:
        m = operator.index(m)
    except TypeError:
        raise ValueError(f"m must be an integer number of neighbours, got {m!r}") from None
    if isinstance(m, bool) or m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    coords = np.asarray(coords, dtype=np.float64)
    lattices = np.asarray(lattices, dtype=np.float64)
    if coords.ndim != 3 or coords.shape[2] != 3:
        raise ValueError(f"coords must have shape (frames, atoms, 3), got {coords.shape}")
    if coords.shape[1] == 0:
        raise ValueError("coords has no atoms (shape (F, 0, 3)); a graph needs at least one atom")
    if lattices.shape != (coords.shape[0], 3, 3):
        raise ValueError(
            f"lattices must have shape (frames, 3, 3) = ({coords.shape[0]}, 3, 3) to match "
            f"coords {coords.shape}, got {lattices.shape}; for a fixed cell use "
            "np.broadcast_to(cell, (F, 3, 3))"
        )
    if not np.isfinite(coords).all():
        bad = np.unique(np.nonzero(~np.isfinite(coords))[0])
        raise ValueError(f"coords contain non-finite values (NaN/inf) in frames {bad[:10].tolist()}")
    if not np.isfinite(lattices).all():
        bad = np.unique(np.nonzero(~np.isfinite(lattices))[0])
        raise ValueError(f"lattices contain non-finite values (NaN/inf) in frames {bad[:10].tolist()}")
    if lattices.shape[0]:
        det = np.linalg.det(lattices)
        scale = np.prod(np.linalg.norm(lattices, axis=2), axis=1)
        singular = ~(np.abs(det) > 1e-10 * scale)
        if singular.any():
            bad = np.nonzero(singular)[0]
            raise ValueError(
                f"singular cell (zero volume, linearly dependent lattice vectors) in frames "
                f"{bad[:10].tolist()}; lattices rows must be the three lattice vectors a, b, c in Å"
            )
        if (det < 0).any():
            bad = np.nonzero(det < 0)[0]
            raise ValueError(
                f"left-handed cell (det < 0, negative volume) in frames {bad[:10].tolist()}; "
                "give the lattice vectors as a right-handed set, e.g. swap two rows"
            )
    return coords, lattices, m


# ---------------------------------------------------------------------- geometry


def _widths(lattices):
    """(F, 3) perpendicular widths of the cells, Å: the distance between opposite faces.

    Width k = V / |a_l x a_n| = 1 / |b_k| with b_k the reciprocal vector (columns of
    inv(lattice)); a sphere of radius R spans at most R / w_k cells along axis k.
    """
    return 1.0 / np.linalg.norm(np.linalg.inv(lattices), axis=1)


def _radius_guess(lattices, n_atoms, m):
    """(F,) radius, Å, of a sphere holding m + 1 atoms at the cell's mean density.

    Only a starting guess; both paths verify it and grow it where needed.
    """
    volume = np.linalg.det(lattices)
    return 1.1 * (3.0 * (m + 1) * volume / (4.0 * math.pi * n_atoms)) ** (1.0 / 3.0)


def _image_counts(radius_over_width):
    """Images per axis to enumerate for each pair: c_k = floor(2 r_k) + 1.

    With the pair's fractional separation f_k wrapped into [-1/2, 1/2], the images
    within radius R need integer shifts n_k with |f_k + n_k| <= r_k = R / w_k, i.e.
    n_k in [ceil(-r_k - f_k), floor(r_k - f_k)]: at most floor(2 r_k) + 1 integers.
    """
    return np.floor(2.0 * radius_over_width).astype(np.int64) + 1


def _dense_candidates(lattices, n_atoms, m):
    r = (_radius_guess(lattices, n_atoms, m)[:, None] / _widths(lattices)).max(axis=0)
    return n_atoms * int(np.prod(_image_counts(r)))


# ------------------------------------------------------------------- dense path


def _knn_dense(coords, lattices, m, *, radius=None, chunk_bytes=_DEFAULT_CHUNK_BYTES):
    """Exact periodic kNN for many frames of a small cell, vectorised over frames.

    For a search radius R (per frame), every pair (i, j) gets the prod_k c_k images
    of j that can lie within R of i (`_image_counts`), so the candidate list holds
    every image within R. If the m-th smallest candidate distance of every atom is
    <= R, the m nearest candidates are the true m nearest images. Frames where this
    fails are recomputed with R = their largest m-th candidate distance: that is an
    upper bound on the true m-th distance (candidates are real images), so the
    second pass is exact.

    radius: optional (F,) starting radii, Å (default: density guess, `_radius_guess`).
    """
    n_frames, n_atoms, _ = coords.shape
    widths = _widths(lattices)
    if radius is None:
        radius = _radius_guess(lattices, n_atoms, m)
    radius = np.array(radius, dtype=np.float64)
    # Enough candidates for m neighbours (e.g. one atom in the cell, large m).
    while True:
        counts = _image_counts(radius[:, None] / widths)
        short = n_atoms * np.prod(counts, axis=1) - 1 < m
        if not short.any():
            break
        radius[short] *= 1.25

    idx = np.empty((n_frames, n_atoms, m), np.int32)
    dist = np.empty((n_frames, n_atoms, m), np.float32)
    redo = []
    # Group frames by their image grid so a chunk shares one shift grid (in an MD
    # trajectory of a fixed or slowly changing cell there is a single group).
    keys, group = np.unique(_image_counts(radius[:, None] / widths), axis=0, return_inverse=True)
    for g, c in enumerate(keys):
        frames = np.nonzero(group.ravel() == g)[0]
        per_frame = n_atoms * n_atoms * int(np.prod(c)) * _BYTES_PER_CANDIDATE
        step = max(1, chunk_bytes // per_frame)
        for start in range(0, len(frames), step):
            sel = frames[start : start + step]
            r_k = radius[sel, None] / widths[sel]
            idx[sel], dist[sel], ok = _dense_chunk(coords[sel], lattices[sel], r_k, c, m)
            redo.extend(sel[~ok].tolist())
    if redo:
        redo = np.asarray(redo)
        logger.info("periodic_knn: %d of %d frames needed a larger search radius", len(redo), n_frames)
        bound = dist[redo, :, -1].max(axis=1).astype(np.float64) * (1.0 + 1e-6) + 1e-6
        idx[redo], dist[redo] = _knn_dense(coords[redo], lattices[redo], m, radius=bound, chunk_bytes=chunk_bytes)
    return idx, dist


def _dense_chunk(coords, lattices, r_k, counts, m):
    """One chunk of `_knn_dense`; r_k (F, 3) = R / w_k, counts (3,) images per axis.

    Returns idx (F, N, m), dist (F, N, m) and ok (F,) bool: the answer is exact.
    """
    n_frames, n_atoms, _ = coords.shape
    inv = np.linalg.inv(lattices)
    frac = coords @ inv  # rows of `lattices` are a, b, c, so cart = frac @ lattice
    frac -= np.floor(frac)
    sep = frac[:, None, :, :] - frac[:, :, None, :]  # (F, i, j, 3): f_j - f_i
    sep -= np.round(sep)
    # Lowest shift n_k that can reach within R; the c_k shifts base .. base + c_k - 1
    # then cover [ceil(-r - f), floor(r - f)] (floor(r-f) - ceil(-r-f) <= floor(2r)).
    base = np.ceil(-r_k[:, None, None, :] - sep)
    start = (sep + base) @ lattices[:, None]  # (F, i, j, 3) Å, the first image
    grid = np.stack(np.meshgrid(*(np.arange(c) for c in counts), indexing="ij"), -1).reshape(-1, 3)
    steps = grid.astype(np.float64) @ lattices  # (F, C, 3) Å, offsets from the first image
    n_img = grid.shape[0]

    # Squared distances (F, i, j, C), one Cartesian component at a time.
    sq = np.zeros((n_frames, n_atoms, n_atoms, n_img))
    comp = np.empty_like(sq)
    for k in range(3):
        np.add(start[..., k, None], steps[:, None, None, :, k], out=comp)
        comp *= comp
        sq += comp
    del comp
    # Atom i itself at zero shift: for the self pair sep = 0, base = ceil(-r), so the
    # zero shift sits at grid offset -base = floor(r) (the same for all i).
    self_shift = -np.ceil(-r_k)  # (F, 3)
    self_img = np.nonzero((grid[None, :, :] == self_shift[:, None, :]).all(axis=2))[1]
    atoms = np.arange(n_atoms)
    sq[np.arange(n_frames)[:, None], atoms, atoms, self_img[:, None]] = np.inf

    # Select with one SIMD sort on packed keys: float32 squared distance in the high
    # 32 bits, candidate number (j, image) in the low ones. Non-negative IEEE floats
    # order like their bit patterns, and the packed int64 read as float64 is finite
    # and positive, so numpy's fast float sort orders by distance, then candidate.
    sq = sq.reshape(n_frames, n_atoms, n_atoms * n_img)
    key = sq.astype(np.float32).view(np.int32).astype(np.int64)
    key <<= 32
    key |= np.arange(n_atoms * n_img, dtype=np.int64)
    del sq
    if m < key.shape[-1]:
        key = np.partition(key.view(np.float64), m - 1, axis=-1)[..., :m]
    key = np.sort(key.view(np.float64), axis=-1).view(np.int64)

    cand = (key & 0xFFFFFFFF).astype(np.int64)
    # sqrt of the float32 key keeps the order; the error (~1e-7 relative) is far below
    # what Eq. 7 (sigma = 0.2 Å) can resolve.
    dist = np.sqrt((key >> 32).astype(np.int32).view(np.float32))
    idx = (cand // n_img).astype(np.int32)
    # Exact iff every atom's m-th distance is within the radius the grid covers.
    covered = (r_k * _widths(lattices)).min(axis=1) * (1.0 - _MARGIN)
    ok = dist[:, :, -1].max(axis=1) <= covered
    return idx, dist, ok


# ------------------------------------------------------------------ cutoff path


def _knn_cutoff(coords, lattices, m):
    """Exact periodic kNN with one vesin cutoff search per frame (large cells).

    The cutoff starts at the density guess and grows until every atom has >= m
    neighbours within it; those include the m nearest images. The next frame starts
    from this frame's largest m-th distance (+5 %), so a trajectory needs about one
    search per frame. Memory is O(N m) per frame.
    """
    from vesin import NeighborList

    n_frames, n_atoms, _ = coords.shape
    idx = np.empty((n_frames, n_atoms, m), np.int32)
    dist = np.empty((n_frames, n_atoms, m), np.float32)
    guess = _radius_guess(lattices, n_atoms, m)
    cutoff = None
    for f in range(n_frames):
        cutoff = guess[f] if cutoff is None else cutoff
        while True:
            nl = NeighborList(cutoff=float(cutoff), full_list=True)
            i, j, d = nl.compute(points=coords[f], box=lattices[f], periodic=True, quantities="ijd")
            counts = np.bincount(i, minlength=n_atoms)
            fewest = counts.min()
            if fewest >= m:
                break
            # Grow by the volume ratio the sparsest atom suggests, at least 20 %.
            cutoff *= max(1.2, (m / max(fewest, 1)) ** (1.0 / 3.0) * 1.05)
        order = np.lexsort((d, i))  # by atom, then distance
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pick = order[first[:, None] + np.arange(m)]
        idx[f] = j[pick]
        dist[f] = d[pick]
        cutoff = float(d[pick[:, -1]].max()) * 1.05
    return idx, dist
