"""State-weighted radial distribution functions (Eq. 12) and coordination numbers.

The paper (Methods, "State-weighted radial distribution function") counts the atoms A
around each reference atom (the targets, here Li), weighting every count by the
probability p_i that the reference is in state i at that frame:

    g_i(r_A) = (1/ρ_i) d[n(r_A) · p_i] / (4π r² dr)                          (Eq. 12)

What ρ_i is, here. We take ρ_i to be the number density of A atoms that a state-i
reference sees, averaged with the same weights p_i over references and frames:
ρ_i,A = Σ p_i ρ_A(t) / Σ p_i with ρ_A(t) = N_A / V(t) (N_A − 1 when the reference is itself
an A atom). With it g_i → 1 at large r, the ideal gas gives g_i = 1 at every r, and

    n_i,A(r) = ∫₀^r ρ_i,A g_i,A(r') 4π r'² dr'

is the mean number of A atoms within r of a state-i reference. Supplementary Note 3 writes
its charge integral as ∫ g_i 4πr² dr and says that it counts ions; it does so only with the
number density inside the integral, which is how it is computed here (`StateRDF.coordination`
is the count itself, accumulated directly, so it does not depend on the choice of ρ).

Periodic images. Distances are taken to *every* periodic image within r_max, not only to
the minimum image. For r_max below half the smallest perpendicular width of the cell that
is one image per pair (the fractional minimum image, which is exact there even in a skewed
triclinic cell: any other image is at least half a width away); beyond it the extra images
are enumerated, so g stays exact (and an ideal gas stays at 1) for any r_max, at a cost.

Streaming. Frames are processed in chunks of bounded memory, so coords may be a
memory-mapped (F, N, 3) array of a long trajectory. The result keeps *sums* (weighted counts
and weights), so results of several trajectories add up (`+`) to the pooled estimate, and
one result per trajectory gives the confidence intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gdynet import io

DEFAULT_CHUNK_BYTES = 32 * 2**20


@dataclass(frozen=True)
class StateRDF:
    """Weighted neighbour counts of the references, per state and element (sums).

    edges (B+1,) Å, bin edges from 0 to r_max; elements (E,) atomic numbers of A;
    counts (k, E, B): Σ over frames and references of p_i × (number of A atoms in bin b);
    weight (k,): Σ p_i (reference-frames in state i); density_weight (k, E): Σ p_i ρ_A(t),
    Å⁻³; n_frames: frames accumulated.
    """

    edges: np.ndarray
    elements: np.ndarray
    counts: np.ndarray
    weight: np.ndarray
    density_weight: np.ndarray
    n_frames: int

    @property
    def r(self) -> np.ndarray:
        """(B,) bin centres, Å."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def shell_volume(self) -> np.ndarray:
        """(B,) volume of each spherical shell, Å³."""
        return 4.0 / 3.0 * math.pi * np.diff(self.edges**3)

    @property
    def density(self) -> np.ndarray:
        """(k, E) ρ_i,A: number density of A seen by a state-i reference, Å⁻³."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.density_weight / self.weight[:, None]

    @property
    def g(self) -> np.ndarray:
        """(k, E, B) g_i(r_A) of Eq. 12 (NaN for a state of zero weight)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.counts / (self.density_weight[..., None] * self.shell_volume)

    @property
    def coordination(self) -> np.ndarray:
        """(k, E, B) n_i,A(r) at the outer edge of each bin: mean number of A within r."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.cumsum(self.counts, axis=-1) / self.weight[:, None, None]

    def coordination_at(self, r) -> np.ndarray:
        """(k, E) n_i,A at radius r (Å; a scalar, or one radius per state, shape (k,)).

        Linear in r³ inside a bin (uniform density within the shell).
        """
        r = np.broadcast_to(np.asarray(r, dtype=np.float64), self.weight.shape)
        if np.any(~np.isfinite(r) | (r < 0) | (r > self.edges[-1])):
            raise ValueError(f"radius {r} Å is outside the RDF range 0..{self.edges[-1]:g} Å; "
                             "compute the RDF with a larger r_max")
        cum = np.concatenate([np.zeros(self.counts.shape[:2] + (1,)),
                              self.coordination], axis=-1)  # (k, E, B+1) at the edges
        cube = self.edges**3
        return np.stack([[np.interp(ri**3, cube, cum[i, e]) for e in range(cum.shape[1])]
                         for i, ri in enumerate(r)])

    def element_index(self, z: int) -> int:
        hits = np.flatnonzero(self.elements == z)
        if hits.size == 0:
            raise ValueError(f"element Z={z} is not among the RDF elements "
                             f"{self.elements.tolist()}; compute the RDF for it too")
        return int(hits[0])

    def select(self, states) -> StateRDF:
        """The sums of some states only (a slice or index array over the k states), e.g. to
        split one pass over the frames with several state sets side by side in χ."""
        return StateRDF(self.edges, self.elements, self.counts[states], self.weight[states],
                        self.density_weight[states], self.n_frames)

    def save(self, path) -> None:
        """Write the sums as an npz file (atomically); `load_rdf` reads them back."""
        io.save_npz(path, edges=self.edges, elements=self.elements, counts=self.counts,
                    weight=self.weight, density_weight=self.density_weight,
                    n_frames=np.int64(self.n_frames))

    def __add__(self, other: StateRDF) -> StateRDF:
        """Pool two results (e.g. two trajectories) into one."""
        if not (np.array_equal(self.edges, other.edges)
                and np.array_equal(self.elements, other.elements)
                and self.counts.shape == other.counts.shape):
            raise ValueError("cannot pool RDFs with different bins, elements or numbers of "
                             "states; compute them with the same r_max, n_bins and elements")
        return StateRDF(self.edges, self.elements, self.counts + other.counts,
                        self.weight + other.weight, self.density_weight + other.density_weight,
                        self.n_frames + other.n_frames)


def load_rdf(path) -> StateRDF:
    """A `StateRDF` written by `StateRDF.save`."""
    with np.load(path) as f:
        return StateRDF(f["edges"], f["elements"], f["counts"], f["weight"],
                        f["density_weight"], int(f["n_frames"]))


def state_rdf(coords, lattices, chi, atom_types, target_index, elements, r_max: float,
              n_bins: int = 200, *, max_chunk_bytes: float = DEFAULT_CHUNK_BYTES) -> StateRDF:
    """State-weighted RDFs (Eq. 12) of the targets against each element, one trajectory.

    coords: (F, N, 3) Cartesian positions, Å (wrapped or not; memory-mapped is fine).
    lattices: (F, 3, 3) cell per frame, rows are the lattice vectors, Å (any triclinic cell).
    chi: (F, n, k) state probabilities of the n targets at the same F frames (one-hot for
        crisp labels; a single column of ones gives the ordinary RDF).
    atom_types: (N,) atomic numbers; target_index: (n,) atom index of each reference.
    elements: distinct atomic numbers of the atoms A counted around the references (the
        result keeps their order).
    r_max: outer radius, Å; n_bins: number of equal-width bins on [0, r_max].
    Returns a `StateRDF` of sums; g, ρ_i and n(r) are its properties.
    A reference is never its own neighbour at zero shift; its periodic images are
    counted like any atom's (they only exist within r_max when r_max exceeds the cell
    width).
    """
    coords, lattices, chi, types, targets, elements = _check_inputs(
        coords, lattices, chi, atom_types, target_index, elements)
    if not (np.isfinite(r_max) and r_max > 0):
        raise ValueError(f"r_max must be a positive radius in Å, got {r_max!r}")
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    n_frames, _, k = chi.shape
    n_el = len(elements)
    selected, el_of = _select(types, elements)
    self_pos = _self_positions(targets, selected)
    n_of_el = np.bincount(el_of, minlength=n_el).astype(np.float64)
    # ρ_A(t) = (N_A − [reference is an A atom]) / V(t): (n, E) numerators.
    partners = n_of_el[None, :] - (types[targets][:, None] == elements[None, :])

    edges = np.linspace(0.0, float(r_max), int(n_bins) + 1)
    counts = np.zeros((k, n_el, n_bins))
    weight = np.zeros(k)
    density_weight = np.zeros((k, n_el))
    per_frame = max(1, len(targets) * len(selected) * 3 * 8 * 3)  # float64 sep, d, r
    step = max(1, int(max_chunk_bytes // per_frame))
    for start in range(0, n_frames, step):
        stop = min(start + step, n_frames)
        lat = np.asarray(lattices[start:stop], dtype=np.float64)
        p = np.asarray(chi[start:stop], dtype=np.float64)  # (f, n, k)
        x = np.asarray(coords[start:stop], dtype=np.float64)
        hist = _histogram(x[:, targets], x[:, selected], lat, el_of, n_el, self_pos, edges)
        counts += np.einsum("fnk,fneb->keb", p, hist)
        volume = np.abs(np.linalg.det(lat))  # (f,)
        weight += p.sum(axis=(0, 1))
        density_weight += np.einsum("fnk,ne,f->ke", p, partners, 1.0 / volume)
    return StateRDF(edges, elements, counts, weight, density_weight, n_frames)


def neighbour_counts(coords, lattices, atom_types, target_index, elements, cutoff: float,
                     *, max_chunk_bytes: float = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Number of atoms of each element within `cutoff` (Å) of every target, per frame.

    coords (F, N, 3) Å, lattices (F, 3, 3) Å, atom_types (N,), target_index (n,),
    elements (E,) atomic numbers. Returns (F, n, E) int32, in the order of `elements` as
    given. Periodic images are counted as in `state_rdf` (exact for any cutoff).
    """
    chi = np.ones((np.shape(coords)[0], len(np.atleast_1d(target_index)), 1), np.float32)
    coords, lattices, _, types, targets, elements = _check_inputs(
        coords, lattices, chi, atom_types, target_index, elements)
    if not (np.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"cutoff must be a positive radius in Å, got {cutoff!r}")
    selected, el_of = _select(types, elements)
    self_pos = _self_positions(targets, selected)
    edges = np.array([0.0, float(cutoff)])
    n_frames = coords.shape[0]
    out = np.empty((n_frames, len(targets), len(elements)), np.int32)
    per_frame = max(1, len(targets) * len(selected) * 3 * 8 * 3)
    step = max(1, int(max_chunk_bytes // per_frame))
    for start in range(0, n_frames, step):
        stop = min(start + step, n_frames)
        x = np.asarray(coords[start:stop], dtype=np.float64)
        lat = np.asarray(lattices[start:stop], dtype=np.float64)
        hist = _histogram(x[:, targets], x[:, selected], lat, el_of, len(elements), self_pos,
                          edges)
        out[start:stop] = hist[..., 0].round().astype(np.int32)
    return out


def image_shifts(lattice, r_max: float) -> np.ndarray:
    """(S, 3) integer lattice shifts that can bring an image within r_max (Å) of a
    reference, given fractional separations already folded into [-1/2, 1/2].

    A separation with fractional component s_k is at least |s_k + n_k| w_k away
    (w_k the perpendicular width along axis k), so only |n_k| <= r_max / w_k + 1/2 can
    contribute: the zero shift alone when r_max < w_min / 2.
    """
    widths = perpendicular_widths(lattice)
    reach = np.floor(r_max / widths + 0.5).astype(int)
    axes = [np.arange(-m, m + 1) for m in reach]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)


def perpendicular_widths(lattice) -> np.ndarray:
    """(3,) distances between opposite faces of the cell (rows a, b, c), Å."""
    lattice = np.asarray(lattice, dtype=np.float64)
    return 1.0 / np.linalg.norm(np.linalg.inv(lattice), axis=0)


# ---------------------------------------------------------------------------- internals
def _histogram(ref, atoms, lattices, el_of, n_el, self_pos, edges) -> np.ndarray:
    """(f, n, E, B) neighbour counts of one chunk: ref (f, n, 3), atoms (f, M, 3) Å."""
    f, n, _ = ref.shape
    n_bins = len(edges) - 1
    r_max = edges[-1]
    inv = np.linalg.inv(lattices)
    sep = np.einsum("fmk,fkl->fml", atoms, inv)[:, None] - np.einsum(
        "fnk,fkl->fnl", ref, inv)[:, :, None]  # (f, n, M, 3) fractional
    sep -= np.round(sep)
    widths = 1.0 / np.linalg.norm(inv, axis=1)  # (f, 3): columns of inv are b_k
    reach = np.floor(r_max / widths.min(axis=0) + 0.5).astype(int)
    shifts = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in reach], indexing="ij"),
                      -1).reshape(-1, 3)
    hist = np.zeros(f * n * n_el * n_bins)
    base = (np.arange(f * n)[:, None] * n_el + el_of[None, :]) * n_bins  # (f·n, M)
    inv_width = n_bins / r_max
    for shift in shifts:
        d = np.einsum("fnmk,fkl->fnml", sep + shift, lattices)
        r = np.sqrt(np.einsum("...k,...k->...", d, d)).reshape(f * n, -1)
        if not shift.any() and len(self_pos[0]):
            r.reshape(f, n, -1)[:, self_pos[0], self_pos[1]] = np.inf
        keep = r < r_max
        b = np.minimum((r[keep] * inv_width).astype(np.int64), n_bins - 1)
        hist += np.bincount(base[keep] + b, minlength=hist.size)
    return hist.reshape(f, n, n_el, n_bins)


def _select(types, elements):
    """Atoms of the requested elements and, for each, its position in `elements`."""
    selected = np.flatnonzero(np.isin(types, elements))
    order = np.argsort(elements)
    return selected, order[np.searchsorted(elements[order], types[selected])]


def _self_positions(targets, selected):
    """(reference rows, column in `selected`) of every reference that is itself selected."""
    col = {int(a): c for c, a in enumerate(selected)}
    pairs = [(i, col[int(t)]) for i, t in enumerate(targets) if int(t) in col]
    if not pairs:
        return np.zeros(0, int), np.zeros(0, int)
    rows, cols = zip(*pairs)
    return np.array(rows), np.array(cols)


def _check_inputs(coords, lattices, chi, atom_types, target_index, elements):
    if not hasattr(coords, "shape"):
        coords = np.asarray(coords, dtype=np.float64)
    if len(coords.shape) != 3 or coords.shape[2] != 3:
        raise ValueError(f"coords must have shape (frames, atoms, 3), got {coords.shape}")
    n_frames, n_atoms, _ = coords.shape
    lattices = lattices if hasattr(lattices, "shape") else np.asarray(lattices, dtype=np.float64)
    if tuple(lattices.shape) != (n_frames, 3, 3):
        raise ValueError(f"lattices must have shape (frames, 3, 3) = ({n_frames}, 3, 3) to "
                         f"match coords {tuple(coords.shape)}, got {tuple(lattices.shape)}; for "
                         "a fixed cell use np.broadcast_to(cell, (F, 3, 3))")
    types = np.asarray(atom_types)
    if types.shape != (n_atoms,) or not np.issubdtype(types.dtype, np.integer):
        raise ValueError(f"atom_types must be ({n_atoms},) integer atomic numbers, got "
                         f"{types.dtype} of shape {types.shape}")
    targets = np.asarray(target_index)
    if targets.ndim != 1 or not np.issubdtype(targets.dtype, np.integer) or targets.size == 0:
        raise ValueError(f"target_index must be a non-empty 1-D integer array of reference "
                         f"atoms (molecular targets (n, k) are not supported here), got shape "
                         f"{targets.shape}")
    if targets.min() < 0 or targets.max() >= n_atoms:
        raise ValueError(f"target_index must lie in 0..{n_atoms - 1}, got "
                         f"{targets.min()}..{targets.max()}")
    chi = chi if hasattr(chi, "shape") else np.asarray(chi, dtype=np.float64)
    if len(chi.shape) != 3 or tuple(chi.shape[:2]) != (n_frames, targets.size):
        raise ValueError(f"chi must have shape (frames, targets, states) = ({n_frames}, "
                         f"{targets.size}, k) to match coords and target_index, got "
                         f"{tuple(chi.shape)}")
    elements = np.asarray(elements, dtype=np.int64).ravel()
    if len(np.unique(elements)) != elements.size:
        raise ValueError(f"elements must be distinct atomic numbers, got {elements.tolist()}")
    if elements.size == 0:
        raise ValueError("elements is empty: give the atomic numbers to count, e.g. [8, 1, 7, 3]")
    missing = [int(z) for z in elements if not np.any(types == z)]
    if missing:
        raise ValueError(f"element(s) {missing} do not occur in atom_types (present: "
                         f"{np.unique(types).tolist()}); leave them out of elements")
    return coords, lattices, chi, types, targets, elements
