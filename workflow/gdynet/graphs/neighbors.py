"""Periodic M-nearest-neighbour graphs and the Gaussian edge expansion (Eq. 7).

The paper connects every atom to its M nearest neighbours "considering periodic
boundary condition" (Methods, "Construction of the graphs from trajectory"). We read
this literally: every periodic image of every atom is a candidate neighbour, so in a
cell smaller than the neighbour shell one atom can appear several times, at different
distances (the toy cell is 6.5 Å with M = 12 and only 4 S atoms around the Li). An
atom's own images are neighbours too; only the atom itself at zero shift is not.
Minimum-image searches (scipy's periodic cKDTree, freud) return each atom at most
once and are therefore wrong here.

Two exact strategies, chosen automatically from N and the cell:

* ``dense``: vectorised over frames, for small cells (the toy system, ~2e6 frames of
  5 atoms). For every pair (i, j) only the few images of j that can lie within a
  radius R of i are enumerated; R is an upper bound on the M-th neighbour distance
  that is checked after the fact (see `_knn_dense`).
* ``cutoff``: one vesin cutoff search per frame for large cells (thousands to tens of
  thousands of atoms, M = 20), its pairs ordered by a single sort of packed keys
  (`_SortedPairs`). Atoms with fewer than M neighbours within the cutoff are few by
  construction (the cutoff grows otherwise) and get an exact dense search as
  centers (see `_knn_cutoff`). About 0.5 M atom-frames/s per core at N = 2 000.

Both paths order candidates by float32 distance; exactly equal distances (a frozen
lattice) by the direction of the displacement (see _TIE_DIRECTION). Blocks of frames
run in parallel threads (`periodic_knn(..., threads=)`).
"""

from __future__ import annotations

import math
import operator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from gdynet import logs

logger = logs.get()

# Working memory per candidate (i, j, image) in the dense path: float32 squared
# distance, component and direction buffers, direction order, int64 sort key,
# partition copy. Sizes the chunks.
_BYTES_PER_CANDIDATE = 48
_DEFAULT_CHUNK_BYTES = 32 * 2**20
# Use the dense path for at most this many atoms and candidate images per frame;
# beyond that one cutoff search per frame is cheaper. Measured (random atoms at
# 0.05 Å^-3, m = 20, per frame): N = 40: 0.44 vs 0.73 ms, N = 64: 0.60 vs 0.63 ms,
# N = 100: 1.5 vs 0.8 ms (dense vs cutoff).
_DENSE_MAX_ATOMS = 64
_DENSE_MAX_CANDIDATES = 16384
# Exactly equal distances (a frozen, perfect lattice) are ordered by the direction of
# the displacement D, never by atom index: by u . D for a fixed unit vector u with
# rationally independent components, so that no two distinct lattice vectors tie
# again. Displacements do not change when the whole crystal is translated, so
# translation-equivalent configurations (the Li in any of the 4 octahedral sites of
# the toy cell) get isomorphic graphs. An index-based tie-break instead lets the
# network tell those sites apart and learn a spurious "global" slow process.
_TIE_DIRECTION = np.array([1.0, math.sqrt(2.0), math.sqrt(3.0)]) / math.sqrt(6.0)
# The cutoff path carries its cutoff from frame to frame within blocks of this many
# frames; blocks are the unit of its threads (see periodic_knn).
BLOCK_FRAMES = 8
# Relative margin on covered radii, so that rounding never passes off a candidate
# list as complete when an image lies on the search sphere.
_MARGIN = 1e-6


def periodic_knn(coords, lattices, m: int, *, method: str = "auto", threads: int = 1):
    """M nearest neighbours of every atom under periodic boundary conditions.

    coords: (F, N, 3) Cartesian positions, Å (need not be wrapped into the cell).
    lattices: (F, 3, 3) cell of each frame, Å; rows are the lattice vectors a, b, c
        (any triclinic, right-handed cell, i.e. det > 0).
    m: number of neighbours per atom (may exceed N: periodic images fill the list).
    method: "auto" (default), "dense" (vectorised image enumeration, small cells) or
        "cutoff" (vesin per frame, large cells). Both are exact. "auto" takes
        "dense" for N <= 64 atoms with at most 16384 candidate images per frame
        (N^2 times the images per pair that a sphere holding ~m atoms needs), else
        "cutoff".
    threads: search blocks of frames in this many parallel threads (vesin and numpy
        release the GIL); each holds its own working memory (a few times N m per
        frame in the cutoff path, one chunk in the dense path). The result does not
        depend on it. The cutoff path carries its cutoff from frame to frame within
        blocks of BLOCK_FRAMES frames, from the first frame given: a caller that
        splits a trajectory at multiples of BLOCK_FRAMES gets the very same graphs
        (otherwise the same up to the last bit of a few distances).

    Returns (idx, dist):
        idx (F, N, m) int32: atom index j of each neighbour of atom i. Periodic images
            are distinct neighbours, so a j may repeat (with different distances);
            i itself appears through its own images, never at zero shift.
        dist (F, N, m) float32: the distances, Å, ascending along the last axis.
    Exactly equidistant candidates (a frozen lattice) are ordered, and chosen at the
    m-th place, by the direction of their displacement (_TIE_DIRECTION), never by
    atom index.
    """
    coords, lattices, m = _validate(coords, lattices, m)
    n_frames, n_atoms, _ = coords.shape
    if method not in ("auto", "dense", "cutoff"):
        raise ValueError(f"method must be 'auto', 'dense' or 'cutoff', got {method!r}")
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    if n_frames == 0:
        return np.zeros((0, n_atoms, m), np.int32), np.zeros((0, n_atoms, m), np.float32)
    cell = _Cells.of(lattices)
    if method == "auto":
        radius = _radius_guess(cell.volume, n_atoms, m)
        per_pair = np.prod(_image_counts(radius[:, None] / cell.widths), axis=1).max()
        small = n_atoms <= _DENSE_MAX_ATOMS and n_atoms**2 * per_pair <= _DENSE_MAX_CANDIDATES
        method = "dense" if small else "cutoff"
    if method == "dense":  # frame by frame: any split gives the same graphs
        search, blocks = _knn_dense, np.array_split(np.arange(n_frames), threads)
    else:  # each block carries its cutoff from frame to frame
        search = _knn_cutoff
        blocks = [np.arange(s, min(s + BLOCK_FRAMES, n_frames)) for s in range(0, n_frames, BLOCK_FRAMES)]
    blocks = [b for b in blocks if len(b)]
    if len(blocks) == 1:  # one block of a large cell: vesin's own threads
        return _knn_cutoff(coords, cell, m, search_threads=threads) if method == "cutoff" else search(coords, cell, m)
    if threads == 1:
        return _join(search, coords, cell, m, blocks, None)
    with ThreadPoolExecutor(min(threads, len(blocks))) as pool:
        return _join(search, coords, cell, m, blocks, pool)


def _join(search, coords, cell, m, blocks, pool):
    """Run `search` on consecutive frame blocks (in `pool`'s threads, if given)."""
    n_frames, n_atoms, _ = coords.shape
    idx = np.empty((n_frames, n_atoms, m), np.int32)
    dist = np.empty((n_frames, n_atoms, m), np.float32)

    def run(frames):
        sel = slice(frames[0], frames[-1] + 1)
        idx[sel], dist[sel] = search(coords[sel], cell.take(frames), m)

    if pool is None:
        for frames in blocks:
            run(frames)
    else:
        for done in [pool.submit(run, frames) for frames in blocks]:
            done.result()  # re-raises a worker's error
    return idx, dist


def gaussian_expand(dist, radius_A: float, step_A: float = 0.2, sigma_A: float = 0.2) -> np.ndarray:
    """Gaussian expansion of distances, Eq. 7: u[..., t] = exp(-(d - mu_t)^2 / sigma^2).

    dist: (...) distances, Å. mu_t = t * step_A for t = 0..K, K = round(radius_A / step_A).
    Returns (..., K + 1); float32 for float32 input, else float64.
    The paper's exponent has sigma^2, not 2 sigma^2, and we keep it that way.
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
        if isinstance(m, bool):
            raise TypeError
        m = operator.index(m)
    except TypeError:
        raise ValueError(f"m must be an integer number of neighbours, got {m!r}") from None
    if m < 1:
        raise ValueError(f"m must be an integer >= 1, got {m!r}")
    coords = np.asarray(coords)
    if not np.issubdtype(coords.dtype, np.floating):
        coords = coords.astype(np.float64)
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
    for name, array in (("coords", coords), ("lattices", lattices)):
        finite = np.isfinite(array).all(axis=(1, 2))
        if not finite.all():
            bad = np.nonzero(~finite)[0]
            raise ValueError(f"{name} contain non-finite values (NaN/inf) in frames {bad[:10].tolist()}")
    return coords, lattices, m


@dataclass(frozen=True)
class _Cells:
    """Per-frame cell geometry; checked on construction.

    lattices (F, 3, 3) rows a, b, c, Å; inv (F, 3, 3) its inverse (frac = cart @ inv);
    widths (F, 3) perpendicular widths, Å; volume (F,) Å^3; shared: one cell for all.
    """

    lattices: np.ndarray
    inv: np.ndarray
    widths: np.ndarray
    volume: np.ndarray
    shared: bool

    @classmethod
    def of(cls, lattices):
        n_frames = len(lattices)
        # An MD cell is usually fixed: do the 3x3 algebra once, not per frame.
        shared = bool((lattices == lattices[0]).all())
        cells = lattices[:1] if shared else lattices
        volume = np.linalg.det(cells)
        scale = np.prod(np.linalg.norm(cells, axis=2), axis=1)
        singular = ~(np.abs(volume) > 1e-10 * scale)
        if singular.any():
            bad = np.arange(n_frames) if shared else np.nonzero(singular)[0]
            raise ValueError(
                f"singular cell (zero volume, linearly dependent lattice vectors) in frames "
                f"{bad[:10].tolist()}; lattices rows must be the three lattice vectors a, b, c in Å"
            )
        if (volume < 0).any():
            bad = np.arange(n_frames) if shared else np.nonzero(volume < 0)[0]
            raise ValueError(
                f"left-handed cell (det < 0, negative volume) in frames {bad[:10].tolist()}; "
                "give the lattice vectors as a right-handed set, e.g. swap two rows"
            )
        inv = np.linalg.inv(cells)
        # Width k = V / |a_l x a_n| = 1 / |b_k|, b_k the reciprocal vectors (columns of
        # inv); a sphere of radius R spans at most R / w_k cells along axis k.
        widths = 1.0 / np.linalg.norm(inv, axis=1)
        expand = (lambda a: np.broadcast_to(a, (n_frames,) + a.shape[1:])) if shared else (lambda a: a)
        return cls(lattices, expand(inv), expand(widths), expand(volume), shared)

    def take(self, frames):
        if self.shared:
            n = len(frames)
            return _Cells(*(np.broadcast_to(a[:1], (n,) + a.shape[1:]) for a in
                            (self.lattices, self.inv, self.widths, self.volume)), True)
        arrays = (self.lattices, self.inv, self.widths, self.volume)
        return _Cells(*(a[frames] for a in arrays), False)


def _radius_guess(volume, n_atoms, m):
    """(F,) radius, Å, of a sphere holding m + 1 atoms at the cell's mean density (+10 %).

    Only a starting guess; both paths verify it and grow it where needed.
    """
    return 1.1 * (3.0 * (m + 1) * volume / (4.0 * math.pi * n_atoms)) ** (1.0 / 3.0)


def _image_counts(radius_over_width):
    """Images per axis to enumerate for each pair: c_k = floor(2 r_k) + 1.

    With the pair's fractional separation f_k wrapped into [-1/2, 1/2], the images
    within radius R need integer shifts n_k with |f_k + n_k| <= r_k = R / w_k, i.e.
    n_k in [ceil(-r_k - f_k), floor(r_k - f_k)]: at most floor(2 r_k) + 1 integers.
    """
    return np.floor(2.0 * radius_over_width).astype(np.int64) + 1


# ------------------------------------------------------------------- dense path


def _knn_dense(coords, cell, m, *, centers=None, radius=None, chunk_bytes=None):
    """Exact periodic kNN for many frames of a small cell, vectorised over frames.

    For a search radius R (per frame), every pair (i, j) gets the prod_k c_k images
    of j that can lie within R of i (`_image_counts`), so the candidate list holds
    every image within R. If the m-th smallest candidate distance of every atom is
    <= R, the m nearest candidates are the true m nearest images. Frames where this
    fails are recomputed with R = their largest m-th candidate distance: that is an
    upper bound on the true m-th distance (candidates are real images), so the
    second pass is exact.

    centers: optional (k,) atom indices; only their neighbours are returned,
        (F, k, m), still searched among all N atoms (default: all atoms).
    radius: optional (F,) starting radii, Å (default: density guess, `_radius_guess`).
    """
    n_frames, n_atoms, _ = coords.shape
    centers = np.arange(n_atoms) if centers is None else np.asarray(centers, dtype=np.int64)
    chunk_bytes = _DEFAULT_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    if radius is None:
        radius = _radius_guess(cell.volume, n_atoms, m)
    radius = np.array(radius, dtype=np.float64)
    # Enough candidates for m neighbours (e.g. one atom in the cell with large m).
    while True:
        counts = _image_counts(radius[:, None] / cell.widths)
        short = n_atoms * np.prod(counts, axis=1) - 1 < m
        if not short.any():
            break
        radius[short] *= 1.25

    idx = np.empty((n_frames, len(centers), m), np.int32)
    dist = np.empty((n_frames, len(centers), m), np.float32)
    redo = []
    # Frames sharing an image grid go through together (one group for a fixed cell).
    if (counts == counts[0]).all():
        groups = [(counts[0], np.arange(n_frames))]
    else:
        keys, inverse = np.unique(counts, axis=0, return_inverse=True)
        groups = [(c, np.nonzero(inverse.ravel() == g)[0]) for g, c in enumerate(keys)]
    for c, frames in groups:
        per_frame = len(centers) * n_atoms * int(np.prod(c)) * _BYTES_PER_CANDIDATE
        step = max(1, chunk_bytes // per_frame)
        for start in range(0, len(frames), step):
            sel = frames[start : start + step]
            idx[sel], dist[sel], ok = _dense_chunk(coords[sel], cell.take(sel), radius[sel], c, m, centers)
            redo.extend(sel[~ok].tolist())
    if redo:
        redo = np.asarray(redo)
        logger.debug("periodic_knn: %d of %d frames needed a larger search radius", len(redo), n_frames)
        bound = dist[redo, :, -1].max(axis=1).astype(np.float64) * (1.0 + 4 * _MARGIN)
        idx[redo], dist[redo] = _knn_dense(
            coords[redo], cell.take(redo), m, centers=centers, radius=bound, chunk_bytes=chunk_bytes
        )
    return idx, dist


def _to_cart(frac, lattices):
    """Fractional (..., 3) times lattice rows (3, 3) or per frame (F, 3, 3) -> Å.

    einsum's plain loop, not BLAS: with K = 3 a GEMM gains nothing, and a threaded
    BLAS slowed the whole path down 4x when the cores were shared with other jobs.
    """
    if lattices.ndim == 2:
        return np.einsum("...k,kl->...l", frac, lattices)
    return np.einsum("f...k,fkl->f...l", frac, lattices)


def _dense_chunk(coords, cell, radius, counts, m, centers):
    """One chunk of `_knn_dense`; radius (F,) Å, counts (3,) images per axis and pair.

    Returns idx (F, k, m), dist (F, k, m) for the k centers and ok (F,) bool: exact.
    """
    n_frames, n_atoms, _ = coords.shape
    n_centers = len(centers)
    r_k = radius[:, None] / cell.widths  # (F, 3)
    lattices = cell.lattices[0] if cell.shared else cell.lattices
    frac = _to_cart(coords.astype(np.float64), cell.inv[0] if cell.shared else cell.inv)
    sep = frac[:, None, :, :] - frac[:, centers, None, :]  # (F, i, j, 3): f_j - f_i
    sep -= np.round(sep)  # in [-1/2, 1/2]
    # Lowest shift n_k that can come within R; the c_k shifts base .. base + c_k - 1
    # then cover [ceil(-r - f), floor(r - f)], since floor(r-f) - ceil(-r-f) <= floor(2r).
    sep += np.ceil(-r_k[:, None, None, :] - sep)
    first = _to_cart(sep, lattices).astype(np.float32)  # (F, i, j, 3) Å, first image of j
    del sep
    grid = np.stack(np.meshgrid(*(np.arange(c) for c in counts), indexing="ij"), -1).reshape(-1, 3)
    # (F or 1, C, 3) Å, offsets of the enumerated images from the first one
    if cell.shared:
        steps = (grid @ lattices)[None]
    else:
        steps = np.einsum("ck,fkl->fcl", grid.astype(np.float64), lattices)
    steps = steps.astype(np.float32)
    n_img = len(grid)

    # Squared distances (F, i, j, C) in float32: components are <~ 3 R, so the error
    # is ~1e-6 Å, far below what Eq. 7 (sigma = 0.2 Å) resolves.
    sq = np.zeros((n_frames, n_centers, n_atoms, n_img), np.float32)
    tie = np.zeros_like(sq)  # u . D, Å (see _TIE_DIRECTION)
    comp = np.empty_like(sq)
    for k in range(3):
        np.add(first[..., k, None], steps[:, None, None, :, k], out=comp)
        tie += np.float32(_TIE_DIRECTION[k]) * comp
        comp *= comp
        sq += comp
    del comp, first
    # Atom i itself at zero shift: the self pair has sep = 0, so its zero shift sits
    # at grid offset -ceil(-r_k) = floor(r_k) (the same for every atom i).
    self_grid = np.floor(r_k).astype(np.int64)  # (F, 3)
    self_img = (self_grid[:, 0] * counts[1] + self_grid[:, 1]) * counts[2] + self_grid[:, 2]
    sq[np.arange(n_frames)[:, None], np.arange(n_centers), centers, self_img[:, None]] = np.inf

    # Select with numpy's SIMD float sort on packed keys: the float32 squared distance
    # in the high 32 bits, the candidate number (j, image) in the low ones. Non-negative
    # IEEE floats order like their bit patterns, and the packed int64 read as float64
    # is finite and non-negative, so the keys order by distance, then by candidate.
    # Candidates in direction order, so that the packed key below breaks exact distance
    # ties by direction (see _TIE_DIRECTION).
    n_cand = n_atoms * n_img
    by_direction = np.argsort(tie.reshape(n_frames, n_centers, n_cand), axis=-1)
    del tie
    sq = np.take_along_axis(sq.reshape(n_frames, n_centers, n_cand), by_direction, axis=-1)
    packed = np.empty((n_frames, n_centers, n_cand, 2), np.int32)  # little endian: [low, high]
    packed[..., 1] = sq.view(np.int32)
    packed[..., 0] = np.arange(n_cand, dtype=np.int32)
    del sq
    key = packed.view(np.float64)[..., 0]
    if m < n_cand:
        key = np.partition(key, m - 1, axis=-1)[..., :m]
    key = np.sort(key, axis=-1).view(np.int32).reshape(n_frames, n_centers, m, 2)

    cand = np.take_along_axis(by_direction, key[..., 0].astype(np.int64), axis=-1)
    idx = (cand // n_img).astype(np.int32)
    # sqrt of the float32 square keeps the order (correctly rounded sqrt is monotone).
    dist = np.sqrt(key[..., 1].view(np.float32))
    # Exact iff every atom's m-th distance is within the radius the grid covers
    # (min_k r_k w_k = R, less a margin for the float32 distances).
    ok = dist[:, :, -1].max(axis=1) <= radius * (1.0 - _MARGIN)
    return idx, dist, ok


# ------------------------------------------------------------------ cutoff path


def _knn_cutoff(coords, cell, m, *, chunk_bytes=None, search_threads=1):
    """Exact periodic kNN with one vesin cutoff search per frame (large cells).

    Atoms with >= m neighbours within the cutoff take their m nearest from it
    (`_SortedPairs`). The few with fewer (low-density spots) get an exact `_knn_dense`
    search as centers; if there are many, the cutoff grows and the search is redone.
    The next frame starts from the 99.9th percentile of this frame's m-th distances
    (+2 %), so a trajectory needs about one search per frame. Memory is O(N m) per
    frame. search_threads: vesin's own threads (several blocks of frames run in
    parallel threads instead, see `periodic_knn`).
    """
    chunk_bytes = _DEFAULT_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    n_frames, n_atoms, _ = coords.shape
    idx = np.empty((n_frames, n_atoms, m), np.int32)
    dist = np.empty((n_frames, n_atoms, m), np.float32)
    guess = _radius_guess(cell.volume, n_atoms, m)
    # A block's first frame: 5 % above the guess, which in a liquid leaves a few
    # atoms deficient and rarely needs a second search.
    cutoff = 1.05 * float(guess[0])
    max_deficient = max(8, n_atoms // 500)
    nearly_all = int(_CUTOFF_QUANTILE * (n_atoms - 1))
    for f in range(n_frames):
        points = np.ascontiguousarray(coords[f], dtype=np.float64)
        lattice = np.ascontiguousarray(cell.lattices[f])
        while True:
            pairs = _SortedPairs.search(points, lattice, cutoff, search_threads)
            deficient = np.nonzero(pairs.counts < m)[0]
            if len(deficient) <= max_deficient:
                break
            # Grow by the volume ratio a typical deficient atom suggests, at least 10 %.
            typical = max(float(np.median(pairs.counts[deficient])), 1.0)
            cutoff *= max(1.1, 1.02 * (m / typical) ** (1.0 / 3.0))
        idx[f], dist[f] = pairs.nearest(m)
        if len(deficient):
            block = max(1, chunk_bytes // (8 * n_atoms * _BYTES_PER_CANDIDATE))
            for b in range(0, len(deficient), block):
                sub = deficient[b : b + block]
                idx[f, sub], dist[f, sub] = _knn_dense(
                    coords[f : f + 1], cell.take([f]), m, centers=sub,
                    radius=np.array([cutoff * 1.25]), chunk_bytes=chunk_bytes,
                )
        # Next frame: just above what nearly all atoms of this one needed.
        mth = np.partition(dist[f, :, -1], nearly_all)[nearly_all]
        cutoff = max(_CUTOFF_MARGIN * float(mth), 0.1 * float(guess[f]))
    return idx, dist


# The next frame's cutoff: this quantile of the m-th distances of the last one, times
# this margin (higher quantiles or margins cost more pairs, lower ones more redone
# searches and deficient atoms; measured flat around these values).
_CUTOFF_QUANTILE = 0.999
_CUTOFF_MARGIN = 1.02
# Up to this many atoms, the atom i, the float32 distance and the neighbour j of a pair
# fit one uint64 sort key (16 + 31 + 16 bits).
_PACK_MAX_ATOMS = 2**16
_DIST_BITS = np.uint64(0x7FFFFFFF)  # a non-negative float32


@dataclass(frozen=True)
class _SortedPairs:
    """Every periodic pair (i, j, image) of one frame within a cutoff, ordered by atom i,
    then float32 distance: one key per pair, sorted.

    The key packs i in the high bits, the float32 distance's bit pattern below it
    (non-negative IEEE floats order like their bits) and, for N <= 65536, j in the low
    16 bits, so one np.sort of 60 000 uint64 keys (0.2 ms) orders a 2 000-atom frame;
    the 3-key lexsort it replaces took 30 times as long. For larger N the keys hold
    (i, distance) and an argsort carries j along.

    key (P,) uint64, sorted; nbr (P,) int32 j in key order (None when packed);
    start (N,) int64 first key of each atom; counts (N,) its number of pairs;
    points (N, 3), lattice (3, 3) Å and cutoff Å: the search, for exact ties.
    """

    key: np.ndarray
    nbr: np.ndarray | None
    start: np.ndarray
    counts: np.ndarray
    points: np.ndarray
    lattice: np.ndarray
    cutoff: float

    @classmethod
    def search(cls, points, lattice, cutoff, threads=1):
        """vesin's half list (each pair once), mirrored into both directions. The
        result does not depend on the order of vesin's pairs, nor on its `threads`."""
        from vesin import NeighborList

        n_atoms = len(points)
        nl = NeighborList(cutoff=cutoff, full_list=False, n_threads=threads)
        i, j, d = nl.compute(points=points, box=lattice, periodic=True, quantities="ijd", copy=False)
        i, j = i.view(np.uint64), j.view(np.uint64)
        n = len(i)
        key = np.empty(2 * n, np.uint64)
        d_bits = d.astype(np.float32).view(np.uint32).astype(np.uint64)
        if n_atoms <= _PACK_MAX_ATOMS:
            shift, nbr = 47, None
            d_bits <<= np.uint64(16)
            np.bitwise_or(np.left_shift(i, np.uint64(shift)), d_bits, out=key[:n])
            key[:n] |= j
            np.bitwise_or(np.left_shift(j, np.uint64(shift)), d_bits, out=key[n:])
            key[n:] |= i
            key.sort()
        else:
            shift = 32
            np.bitwise_or(np.left_shift(i, np.uint64(shift)), d_bits, out=key[:n])
            np.bitwise_or(np.left_shift(j, np.uint64(shift)), d_bits, out=key[n:])
            order = np.argsort(key)
            key = key[order]
            nbr = np.concatenate([j, i]).astype(np.int32)[order]
        start = np.searchsorted(key, np.arange(n_atoms, dtype=np.uint64) << np.uint64(shift))
        counts = np.diff(start, append=len(key))
        return cls(key, nbr, start, counts, points, lattice, cutoff)

    def nearest(self, m):
        """idx (N, m) int32, dist (N, m) float32 Å: each atom's m nearest (garbage for
        atoms with fewer than m pairs). Exactly equal float32 distances within an
        atom's first m + 1 (a frozen lattice, or 1 in ~10^5 pairs of a liquid) are
        ordered by direction (_TIE_DIRECTION), as in the dense path."""
        idx, dist, dist_key = self._rows(np.arange(len(self.counts)), m + 1)
        # Ties between ranks r and r + 1 <= m of one atom (the keys compare i too).
        tied = (dist_key[:, 1:] == dist_key[:, :-1]) & (np.arange(1, m + 1) < self.counts[:, None])
        rows = np.nonzero(tied.any(axis=1) & (self.counts >= m))[0]
        idx, dist = idx[:, :m], dist[:, :m]
        if len(rows):
            idx[rows], dist[rows] = self._by_direction(rows, m)
        return idx, dist

    def _rows(self, rows, width):
        """The first `width` pairs of the given atoms (clipped at the end of the keys):
        j (R, width) int32, d (R, width) float32 Å, (i, d) keys (R, width) uint64."""
        packed = self.nbr is None
        take = np.minimum(self.start[rows, None] + np.arange(width), len(self.key) - 1)
        near = self.key[take]
        dist_key = near >> np.uint64(16) if packed else near
        dist = (dist_key & _DIST_BITS).astype(np.uint32).view(np.float32)
        idx = (near & np.uint64(0xFFFF)).astype(np.int32) if packed else self.nbr[take]
        return idx, dist, dist_key

    def _by_direction(self, rows, m):
        """The m nearest of the given atoms, equal distances ordered by direction."""
        inv = np.linalg.inv(self.lattice)
        widths = 1.0 / np.linalg.norm(inv, axis=0)
        if self.cutoff >= 0.5 * widths.min() * (1.0 - _MARGIN):
            return _by_direction(*self._vectors(), rows, m)
        # Below half the cell width, each j lies within the cutoff at most once, at
        # the minimum image: the displacement follows from the coordinates.
        width = int(self.counts[rows].max())
        idx, dist, _ = self._rows(rows, width)
        dist[np.arange(width) >= self.counts[rows, None]] = np.inf
        frac = (self.points[idx] - self.points[rows, None]) @ inv
        frac -= np.round(frac)
        order = np.lexsort(((frac @ self.lattice) @ _TIE_DIRECTION, dist), axis=-1)[:, :m]
        return np.take_along_axis(idx, order, -1), np.take_along_axis(dist, order, -1)

    def _vectors(self):
        """The same pairs again, both ways, with their displacements: i, j, d, D."""
        from vesin import NeighborList

        i, j, d, vec = NeighborList(cutoff=self.cutoff, full_list=False, n_threads=1).compute(
            points=self.points, box=self.lattice, periodic=True, quantities="ijdD")
        i, j = i.astype(np.int64), j.astype(np.int64)
        return (np.concatenate([i, j]), np.concatenate([j, i]), np.concatenate([d, d]),
                np.concatenate([vec, -vec]))


def _by_direction(i, j, d, vec, rows, m):
    """The m nearest pairs of the given atoms, exact ties ordered by direction."""
    mine = np.isin(i, rows)
    i, j, d32, vec = i[mine], j[mine], d[mine].astype(np.float32), vec[mine]
    order = np.lexsort((vec @ _TIE_DIRECTION, d32, i))
    start = np.searchsorted(i[order], rows)
    pick = order[start[:, None] + np.arange(m)]
    return j[pick].astype(np.int32), d32[pick]
