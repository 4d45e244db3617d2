"""Solid–liquid interface analyses (paper Fig. 3b, 3c and Supp. Fig. 2).

The geometry is a crystal slab in contact with a liquid, periodic in x, y and z, so
there are two interfaces. Everything is measured along the interface normal, which is
one lattice vector's direction `axis` (0, 1, 2): the coordinate along it is the
fractional coordinate times the period L = V / |a_i × a_j| (the distance between the
cell's faces), so triclinic cells work too. Positions along the normal are reported

* absolute, z in [0, L) (the cell's own coordinate), or
* centred on the crystal slab, zc = z - centre wrapped into [-L/2, L/2): the crystal
  lies around 0, the interfaces at ±w, the liquid at |zc| > w, whether or not the slab
  straddles the periodic boundary in the cell's coordinate;
* as the depth into the crystal, w - |zc| (Å): positive inside the slab, negative in
  the liquid, 0 at an interface.

The crystal is found from the solid labels of the bond-order criterion
(`gdynet.analysis.bond_order`) and resolved into atomic layers, so that "the first two
layers of the {110} surfaces" (paper, Si-Au) is a count of layers, not a distance
guessed by eye. Every function takes arrays and returns arrays or small dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gdynet.analysis import bond_order as bo
from gdynet.analysis import koopman

RULES = ("position", "order")
SELECTION_RULES = RULES + ("file",)  # "file": targets given (e.g. a trajectory's own), slab found
SOLID, SOLID_INTERFACE, LIQUID_INTERFACE, LIQUID = (
    "solid", "solid-interface", "liquid-interface", "liquid")


# ------------------------------------------------------------------ geometry


def normal_coordinate(positions, lattice, axis: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Position along the normal of the faces spanned by the other two lattice vectors.

    positions: (..., N, 3) Å (a frame or frames); lattice: (3, 3) or (..., 3, 3) Å, rows
    are lattice vectors. Returns (z (..., N) Å in [0, L), L (...) Å): z is the fractional
    coordinate along lattice vector `axis` times L, the period along the normal.
    """
    axis = _axis(axis)
    pos = np.asarray(positions, dtype=np.float64)
    cell = np.asarray(lattice, dtype=np.float64)
    if pos.shape[-1] != 3 or pos.ndim < 2 or cell.shape[-2:] != (3, 3):
        raise ValueError(f"positions must be (..., N, 3) and lattice (..., 3, 3), got "
                         f"{pos.shape} and {cell.shape}")
    frac = np.einsum("...nj,...jk->...nk", pos, np.linalg.inv(cell))[..., axis]
    others = [i for i in range(3) if i != axis]
    cross = np.cross(cell[..., others[0], :], cell[..., others[1], :])
    period = np.abs(np.linalg.det(cell)) / np.linalg.norm(cross, axis=-1)
    z = np.mod(frac, 1.0) * period[..., None]
    return np.where(z >= period[..., None], 0.0, z), period


def guess_normal_axis(positions, lattice, solid, n_bins: int = 12) -> int:
    """The lattice axis along which the solid labels are most layered (0, 1 or 2).

    positions: (N, 3) Å, lattice: (3, 3) Å, solid: (N,) bool of the same atoms. For each
    axis, the solid fraction in `n_bins` slices across the cell; the normal is the axis
    whose slices differ most (largest variance), since along an interface plane every
    slice holds the same mix of crystal and liquid.
    """
    solid = np.asarray(solid, dtype=bool)
    spread = []
    for axis in range(3):
        z, period = normal_coordinate(positions, lattice, axis)
        b = np.minimum((z / period * n_bins).astype(np.int64), n_bins - 1)
        n_all = np.bincount(b, minlength=n_bins)
        n_solid = np.bincount(b, weights=solid, minlength=n_bins)
        frac = n_solid[n_all > 0] / n_all[n_all > 0]
        spread.append(frac.var())
    return int(np.argmax(spread))


@dataclass(frozen=True)
class Interfaces:
    """A crystal slab and its two interfaces along the normal.

    axis: lattice vector along the normal; length_A: the period L along it (Å).
    center_A: slab centre in the cell's coordinate, in [0, L).
    half_width_A: w; the interfaces lie at center ± w, the crystal between them.
    layer_spacing_A: distance between atomic layers parallel to the interface (Å).
    layer_centers_A: (n_layers,) the crystal's layers, centred coordinates (empty if
        the slab was given, not found).
    """

    axis: int
    length_A: float
    center_A: float
    half_width_A: float
    layer_spacing_A: float
    layer_centers_A: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def positions_A(self) -> np.ndarray:
        """(2,) the two interfaces in the cell's coordinate, in [0, L): lower, upper."""
        return np.mod(self.center_A + np.array([-1.0, 1.0]) * self.half_width_A, self.length_A)

    def centered(self, z) -> np.ndarray:
        """zc = z - centre wrapped into [-L/2, L/2) (Å); z (...) in the cell's coordinate."""
        half = 0.5 * self.length_A
        return np.mod(np.asarray(z, dtype=np.float64) - self.center_A + half, self.length_A) - half

    def depth(self, z) -> np.ndarray:
        """Signed distance into the crystal from the nearest interface, w - |zc| (Å)."""
        return self.half_width_A - np.abs(self.centered(z))

    @classmethod
    def from_dict(cls, record: dict) -> Interfaces:
        """The inverse of `to_dict` (e.g. read back from a targets JSON file)."""
        return cls(axis=int(record["axis"]), length_A=float(record["length_A"]),
                   center_A=float(record["center_A"]), half_width_A=float(record["half_width_A"]),
                   layer_spacing_A=float(record["layer_spacing_A"]),
                   layer_centers_A=np.asarray(record.get("layer_centers_A", []), dtype=np.float64))

    def to_dict(self) -> dict:
        return {
            "axis": self.axis, "length_A": self.length_A, "center_A": self.center_A,
            "half_width_A": self.half_width_A, "interfaces_A": self.positions_A.tolist(),
            "layer_spacing_A": self.layer_spacing_A,
            "layer_centers_A": np.asarray(self.layer_centers_A).tolist(),
        }


def interfaces_from_extent(lower_A: float, upper_A: float, length_A: float, layer_spacing_A: float,
                           axis: int = 2) -> Interfaces:
    """The slab between two given interface positions (Å, cell coordinate).

    The crystal runs upward from `lower_A` to `upper_A` through the cell; upper < lower
    means the slab straddles the periodic boundary (e.g. lower 40, upper 10 in L = 50).
    """
    length_A = _positive(length_A, "length_A")
    layer_spacing_A = _positive(layer_spacing_A, "layer_spacing_A")
    width = np.mod(upper_A - lower_A, length_A)
    if not 0 < width < length_A:
        raise ValueError(f"the slab from {lower_A} to {upper_A} Å has no thickness in a period of "
                         f"{length_A} Å; give two different interface positions")
    return Interfaces(axis=_axis(axis), length_A=float(length_A),
                      center_A=float(np.mod(lower_A + 0.5 * width, length_A)),
                      half_width_A=float(0.5 * width), layer_spacing_A=float(layer_spacing_A))


def locate_interfaces(z, solid, length_A: float, layer_spacing_A: float | None = None,
                      axis: int = 2, bin_A: float = 3.0) -> Interfaces:
    """Find the crystal slab and its atomic layers from solid labels (one frame).

    z: (N,) Å in the cell's coordinate; solid: (N,) bool (the bond-order criterion) of
    the same atoms (the species the crystal is made of); length_A: the period L.
    layer_spacing_A: distance between atomic layers (FCC {100}: a/2, diamond {110}:
        a/(2√2) = 1.92 Å for Si); None estimates it from the solid atoms (`layer_spacing`).

    1. Rough slab: the solid fraction in slices of about `bin_A` (smoothed over three
       slices, periodically); the crystal is the longest periodic run of slices that are
       at least half solid.
    2. Layers: the phase of the solid atoms' density wave exp(2πi zc/d) in the slab's
       interior puts a layer centre at z0 + k d for integer k; every atom belongs to
       its nearest layer k.
    3. A layer belongs to the crystal when it holds at least half as many solid atoms as
       the median interior layer; the crystal is the run of such layers through the
       interior. Its interfaces lie half a spacing outside its outermost layers, so the
       j-th layer from an interface lies at depth (j - ½) d.
    """
    z = np.asarray(z, dtype=np.float64)
    solid = np.asarray(solid, dtype=bool)
    if z.ndim != 1 or solid.shape != z.shape or z.size == 0:
        raise ValueError(f"z and solid must be 1-D arrays of the same length, got {z.shape} and "
                         f"{solid.shape}")
    length_A = _positive(length_A, "length_A")
    if not solid.any():
        raise ValueError("no atom is solid: there is no crystal slab to find (has the crystal "
                         "melted, or is the solid criterion wrong for this crystal?)")
    if solid.all():
        raise ValueError("every atom is solid: there is no liquid and so no interface")
    rough_center, rough_half = _rough_slab(z, solid, length_A, bin_A)
    zc = np.mod(z - rough_center + 0.5 * length_A, length_A) - 0.5 * length_A
    interior = solid & (np.abs(zc) < max(rough_half - 0.5 * bin_A, 0.5 * rough_half))
    if interior.sum() < 4:
        raise ValueError(f"only {int(interior.sum())} solid atoms inside the slab; too few to "
                         "resolve its atomic layers")
    if layer_spacing_A is None:
        layer_spacing_A = layer_spacing(zc[interior], max_A=max(rough_half * 2 / 3, 1.0))
    d = _positive(layer_spacing_A, "layer_spacing_A")
    z0 = d / (2 * np.pi) * np.angle(np.exp(2j * np.pi * zc[interior] / d).sum())
    k = np.rint((zc - z0) / d).astype(np.int64)
    k_min = k.min()
    n_solid = np.bincount(k[solid] - k_min, minlength=k.max() - k_min + 1)
    k_inner = np.unique(k[interior])
    need = 0.5 * np.median(n_solid[k_inner - k_min])
    crystal = n_solid >= need
    k_lo = k_hi = int(np.median(k_inner))
    if not crystal[k_lo - k_min]:
        raise ValueError("the slab's middle layer is not crystalline; the solid labels do not "
                         "form one slab")
    while k_lo - 1 >= k_min and crystal[k_lo - 1 - k_min]:
        k_lo -= 1
    while k_hi + 1 - k_min < len(crystal) and crystal[k_hi + 1 - k_min]:
        k_hi += 1
    if (k_hi - k_lo + 2) * d >= length_A:
        raise ValueError("the crystal layers fill the whole period; there is no liquid")
    mid = z0 + 0.5 * (k_lo + k_hi) * d
    return Interfaces(
        axis=_axis(axis), length_A=float(length_A),
        center_A=float(np.mod(rough_center + mid, length_A)),
        half_width_A=float(0.5 * (k_hi - k_lo + 1) * d), layer_spacing_A=float(d),
        layer_centers_A=(np.arange(k_lo, k_hi + 1) - 0.5 * (k_lo + k_hi)) * d,
    )


def layer_spacing(z, min_A: float = 0.5, max_A: float = 6.0, step_A: float = 0.005) -> float:
    """Distance between atomic layers from positions along the normal (Å).

    z: (N,) positions of crystal atoms. Atoms in layers d apart make exp(2πi z/d') add
    up coherently, |Σ exp(2πi z/d')| / N near 1, for d' = d and its fractions d/2,
    d/3, ... (as coherent as d for a perfect crystal, less with thermal motion), and
    cancel for any other d' well below the slab thickness. Returns the largest d' in
    [min_A, max_A] whose coherence is a local maximum within 80 % of the best.
    """
    z = np.asarray(z, dtype=np.float64)
    trial = np.arange(min_A, max_A + step_A, step_A)
    coherence = np.abs(np.exp(2j * np.pi * z[None, :] / trial[:, None]).mean(axis=1))
    if coherence.max() < 0.3:
        raise ValueError(f"the crystal atoms show no layering between {min_A} and {max_A} Å "
                         f"(best coherence {coherence.max():.2f}); give the layer spacing")
    padded = np.concatenate([[-1.0], coherence, [-1.0]])
    peak = (coherence >= padded[:-2]) & (coherence >= padded[2:])
    return float(trial[np.flatnonzero(peak & (coherence >= 0.8 * coherence.max()))[-1]])


def _rough_slab(z, solid, length_A, bin_A):
    n_bins = max(8, int(round(length_A / bin_A)))
    b = np.minimum((z / length_A * n_bins).astype(np.int64), n_bins - 1)
    n_all = np.bincount(b, minlength=n_bins).astype(np.float64)
    n_solid = np.bincount(b, weights=solid.astype(np.float64), minlength=n_bins)
    frac = _smooth3(n_solid) / np.maximum(_smooth3(n_all), 1e-12)
    crystal = frac >= 0.5
    if crystal.all() or not crystal.any():
        raise ValueError("the solid fraction along the normal has no crystal/liquid contrast; "
                         "is the normal axis right?")
    start = int(np.flatnonzero(~crystal)[0])  # runs found in a rotation that starts in liquid
    rolled = np.roll(crystal, -start)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rolled.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2)
    lo, hi = runs[np.argmax(runs[:, 1] - runs[:, 0])]
    bin_width = length_A / n_bins
    width = (hi - lo) * bin_width
    center = np.mod((start + lo) * bin_width + 0.5 * width, length_A)
    return center, 0.5 * width


def _smooth3(x):
    """Periodic three-slice moving average."""
    return (np.roll(x, 1) + x + np.roll(x, -1)) / 3.0


# ------------------------------------------------------------------ targets


@dataclass(frozen=True)
class TargetSelection:
    """The target atoms (paper: the Si in the liquid and the first two crystal layers).

    index: (n,) int64 atom indices, ascending. rule: "position" or "order".
    n_layers: crystal layers taken at each interface. element: the species' atomic number.
    interfaces: the slab they were chosen against (from the first frame).
    n_liquid, n_crystal: targets outside / inside the slab (by position).
    """

    index: np.ndarray
    rule: str
    n_layers: int
    element: int
    interfaces: Interfaces
    n_liquid: int
    n_crystal: int

    @classmethod
    def from_dict(cls, record: dict) -> TargetSelection:
        """The inverse of `to_dict`."""
        return cls(index=np.asarray(record["target_index"], dtype=np.int64), rule=record["rule"],
                   n_layers=int(record["n_layers"]), element=int(record["element"]),
                   interfaces=Interfaces.from_dict(record["interfaces"]),
                   n_liquid=int(record["n_liquid"]), n_crystal=int(record["n_crystal"]))

    def to_dict(self) -> dict:
        """JSON-ready record of the choice and its evidence (positions in Å)."""
        return {
            "rule": self.rule, "n_layers": self.n_layers, "element": self.element,
            "n_targets": int(len(self.index)), "n_liquid": self.n_liquid,
            "n_crystal": self.n_crystal, "interfaces": self.interfaces.to_dict(),
            "target_index": self.index.tolist(),
        }


def targets_from_labels(depth_A, species, solid, n_layers: int, layer_spacing_A: float,
                        rule: str = "position") -> np.ndarray:
    """Which atoms are targets, from their depth into the crystal (one frame).

    depth_A: (N,) signed depth (`Interfaces.depth`); species: (N,) bool, the atoms that
    may be targets; solid: (N,) bool order-parameter labels (used by rule "order").
    The first n_layers layers at each interface lie at depth < n_layers · d.

    rule "position": species atoms with depth < n_layers · d (the liquid and the outer
        layers, by position alone);
    rule "order": species atoms that are liquid by the order parameter, wherever they
        are (a molten spot inside the slab included), plus the solid ones at depth
        < n_layers · d (solid clusters in the liquid included: they are liquid atoms
        momentarily ordered).
    Returns (N,) bool.
    """
    if rule not in RULES:
        raise ValueError(f"target rule {rule!r} is not one of {RULES}")
    n_layers = _nonneg_int(n_layers, "n_layers")
    near = np.asarray(depth_A) < n_layers * _positive(layer_spacing_A, "layer_spacing_A")
    species = np.asarray(species, dtype=bool)
    if rule == "position":
        return species & near
    return species & (near | ~np.asarray(solid, dtype=bool))


def select_targets(positions, lattice, atom_types, element: int, criterion: bo.SolidCriterion, *,
                   n_layers: int = 2, rule: str = "position", axis: int | None = 2,
                   extent_A: tuple[float, float] | None = None,
                   layer_spacing_A: float | None = None, given=None) -> TargetSelection:
    """Choose the target atoms from the first frame, as the paper does for Si-Au.

    positions: (N, 3) Å, lattice: (3, 3) Å, atom_types: (N,) atomic numbers;
    element: atomic number of the target species (14 for Si).
    criterion: the solid criterion (`bond_order.DIAMOND_Q3` for Si, `FCC_Q6` for LJ); the
        bond order of the species is computed with every atom as a possible neighbour.
    n_layers: crystal layers at each interface to include (paper: 2).
    rule: "position" or "order" (`targets_from_labels`), or "file": the targets are
        `given` ((n,) atom indices, e.g. the trajectory file's own target_index) and
        only the slab is found; they must be atoms of `element`.
    axis: the lattice vector along the interface normal; None guesses it
        (`guess_normal_axis`).
    extent_A: (lower, upper) interface positions in the cell's coordinate (Å) when the
        slab is known; None finds it from the solid labels (`locate_interfaces`).
    layer_spacing_A: None estimates it from the crystal (needed when extent_A is given).
    """
    if rule not in SELECTION_RULES:
        raise ValueError(f"target rule {rule!r} is not one of {SELECTION_RULES}")
    if (rule == "file") != (given is not None):
        raise ValueError("give the targets (`given`) with rule 'file', and only with it")
    pos = np.asarray(positions, dtype=np.float64)
    types = np.asarray(atom_types)
    if types.shape != (len(pos),):
        raise ValueError(f"atom_types has shape {types.shape}, expected ({len(pos)},)")
    species = types == element
    if not species.any():
        raise ValueError(f"no atom has atomic number {element}; the trajectory holds "
                         f"{sorted(set(types.tolist()))}")
    order = bo.bond_order(pos, lattice, criterion)
    solid = order.solid & species
    if axis is None:
        axis = guess_normal_axis(pos[species], lattice, solid[species])
    z, period = normal_coordinate(pos, lattice, axis)
    if extent_A is None:
        interfaces = locate_interfaces(z[species], solid[species], float(period), layer_spacing_A,
                                       axis=axis)
    else:
        if layer_spacing_A is None:
            raise ValueError("with a given slab extent, give its layer spacing (Å) too")
        interfaces = interfaces_from_extent(*extent_A, float(period), layer_spacing_A, axis=axis)
    depth = interfaces.depth(z)
    if rule == "file":
        index = _given_targets(given, species, element)
    else:
        chosen = targets_from_labels(depth, species, solid, n_layers, interfaces.layer_spacing_A,
                                     rule)
        index = np.flatnonzero(chosen).astype(np.int64)
    if index.size == 0:
        raise ValueError("no target atom was selected; check the element and n_layers")
    return TargetSelection(index=index, rule=rule, n_layers=int(n_layers), element=int(element),
                           interfaces=interfaces, n_liquid=int(np.sum(depth[index] < 0)),
                           n_crystal=int(np.sum(depth[index] >= 0)))


def _given_targets(given, species, element) -> np.ndarray:
    index = np.asarray(given)
    if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"the given targets must be (n,) atom indices (single atoms, not "
                         f"molecules), got shape {index.shape} dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= len(species)):
        raise ValueError(f"the given targets hold indices outside 0..{len(species) - 1}")
    if not species[index].all():
        raise ValueError(f"{int(np.sum(~species[index]))} of the given targets are not atoms of "
                         f"element {element}")
    return np.unique(index).astype(np.int64)


def compare_targets(chosen, other) -> dict:
    """How two target lists overlap: sizes, shared atoms and their Jaccard index."""
    a, b = np.unique(np.asarray(chosen)), np.unique(np.asarray(other))
    shared = np.intersect1d(a, b).size
    union = np.union1d(a, b).size
    return {"n_chosen": int(a.size), "n_other": int(b.size), "n_shared": int(shared),
            "jaccard": float(shared / union) if union else 1.0}


@dataclass(frozen=True)
class TargetObservables:
    """What the interface analyses need of the targets, per frame (arrays (F, n)).

    z_centered_A: position along the normal from the slab's centre (Å);
    depth_A: signed depth into the crystal (Å, `Interfaces.depth`);
    solid: order-parameter solid label; order: the order parameter q̄_l.
    """

    z_centered_A: np.ndarray
    depth_A: np.ndarray
    solid: np.ndarray
    order: np.ndarray

    FIELDS = ("z_centered_A", "depth_A", "solid", "order")

    @classmethod
    def from_arrays(cls, arrays) -> TargetObservables:
        """From a mapping with the four fields (e.g. an open .npz file)."""
        return cls(**{name: np.asarray(arrays[name]) for name in cls.FIELDS})

    def pieces(self, lengths) -> list[TargetObservables]:
        """Cut the frames into consecutive pieces of the given lengths (e.g. test ranges)."""
        lengths = [int(n) for n in lengths]
        if sum(lengths) != len(self.solid):
            raise ValueError(f"pieces of {sum(lengths)} frames do not cover the {len(self.solid)} "
                             "frames of the observables")
        cuts = np.cumsum([0] + lengths)
        return [TargetObservables(**{name: getattr(self, name)[a:b] for name in self.FIELDS})
                for a, b in zip(cuts[:-1], cuts[1:])]


def target_observables(coords, lattices, targets, interfaces: Interfaces,
                       criterion: bo.SolidCriterion) -> TargetObservables:
    """Positions and bond order of the targets in every frame (e.g. the test frames).

    coords: (F, N, 3) Å; lattices: (F, 3, 3) or (3, 3) Å; targets: (n,) atom indices
    (`TargetSelection.index`); interfaces: the slab from the first frame (held fixed:
    the central layers are tethered in the analog, and the paper's slab does not move).
    The bond order of the targets counts every atom as a neighbour.
    """
    coords = np.asarray(coords)
    targets = np.asarray(targets, dtype=np.int64)
    series = bo.order_series(coords, lattices, criterion, atoms=targets)
    z, _ = normal_coordinate(coords[:, targets], lattices, interfaces.axis)
    return TargetObservables(z_centered_A=interfaces.centered(z), depth_A=interfaces.depth(z),
                             solid=series.solid, order=series.q_bar.astype(np.float64))


# ------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class Profiles:
    """Probability-weighted distributions of a per-atom quantity, one per state.

    edges: (B+1,) bin edges (unit of the quantity, e.g. Å). density: (k, B), each row a
    normalised distribution (integrates to 1 over the edges; density per unit, e.g. 1/Å).
    weight: (k,) total probability of each state in atom-frames (Σ χ_s).
    """

    edges: np.ndarray
    density: np.ndarray
    weight: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def mass_between(self, lo: float, hi: float) -> np.ndarray:
        """(k,) each state's probability mass in [lo, hi] (uniform within a bin)."""
        overlap = np.clip(np.minimum(self.edges[1:], hi) - np.maximum(self.edges[:-1], lo), 0, None)
        return self.density @ overlap


def weighted_profiles(values, chi, edges) -> Profiles:
    """χ-weighted histograms of `values`, one normalised distribution per state.

    values: (F, n) (or any shape S) per atom-frame, e.g. centred z in Å or q̄_l;
    chi: (*S, k) state probabilities of the same atom-frames; edges: (B+1,) ascending.
    Each state s gets the histogram of `values` with weights χ_s, divided by Σ χ_s and the
    bin width: the distribution of the atoms of that state. Values outside the edges are
    dropped; a state with no weight gets a row of zeros.
    """
    values = np.asarray(values, dtype=np.float64)
    chi = np.asarray(chi, dtype=np.float64)
    if chi.shape[:-1] != values.shape:
        raise ValueError(f"chi {chi.shape} must be values' shape {values.shape} plus a state axis")
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be at least two strictly ascending numbers")
    flat, w = values.ravel(), chi.reshape(-1, chi.shape[-1])
    b = np.searchsorted(edges, flat, side="right") - 1
    b[flat == edges[-1]] = len(edges) - 2
    keep = (b >= 0) & (b < len(edges) - 1)
    n_bins, k = len(edges) - 1, w.shape[1]
    hist = np.stack([np.bincount(b[keep], weights=w[keep, s], minlength=n_bins) for s in range(k)])
    total = w.sum(axis=0)
    density = np.divide(hist, total[:, None] * np.diff(edges)[None, :],
                        out=np.zeros_like(hist), where=total[:, None] > 0)
    return Profiles(edges=edges, density=density, weight=total)


def z_profiles(z_centered_A, chi, length_A: float, bin_A: float = 0.5) -> Profiles:
    """Fig. 3c: the distribution of each state's atoms along the interface normal.

    z_centered_A: (F, n) centred positions (`Interfaces.centered`) of the targets over
    the test frames; chi: (F, n, k) their state probabilities; bins of about `bin_A`
    spanning [-L/2, L/2). density (k, B) is per Å and integrates to 1 for each state.
    """
    length_A = _positive(length_A, "length_A")
    n_bins = max(1, int(round(length_A / _positive(bin_A, "bin_A"))))
    return weighted_profiles(z_centered_A, chi, np.linspace(-0.5 * length_A, 0.5 * length_A,
                                                            n_bins + 1))


def profile_table(profiles: Profiles, names=None) -> pd.DataFrame:
    """Long table of `Profiles`: one row per state and bin.

    Columns: state, name (from `names`, default "state <s>"), lo, hi (bin edges, the
    quantity's unit), density (per unit; integrates to 1 per state), weight (the state's
    Σ χ in atom-frames, repeated on each of its rows).
    """
    k, n_bins = profiles.density.shape
    names = [f"state {s}" for s in range(k)] if names is None else list(names)
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} states")
    return pd.DataFrame({
        "state": np.repeat(np.arange(k), n_bins), "name": np.repeat(names, n_bins),
        "lo": np.tile(profiles.edges[:-1], k), "hi": np.tile(profiles.edges[1:], k),
        "density": profiles.density.ravel(), "weight": np.repeat(profiles.weight, n_bins),
    })


# ------------------------------------------------------------------ cross-section


@dataclass(frozen=True)
class CrossSection:
    """Atoms in a slice through the cell, projected on the plane of the slice.

    rows: (m,) positions in the array of atoms given (e.g. rows of the target list, so
        chi[frame, rows] are their state probabilities).
    normal_A: (m,) centred position along the interface normal (horizontal axis, Å).
    inplane_A: (m,) position along the in-plane lattice axis `inplane_axis` (vertical, Å),
        in [0, inplane_length_A).
    cut_axis: the lattice axis across the slice; thickness_A and cut_center_A its width
        and centre.
    """

    rows: np.ndarray
    normal_A: np.ndarray
    inplane_A: np.ndarray
    normal_length_A: float
    inplane_length_A: float
    inplane_axis: int
    cut_axis: int
    cut_center_A: float
    thickness_A: float
    interfaces_A: tuple[float, float]


def cross_section(positions, lattice, atoms, interfaces: Interfaces, thickness_A: float,
                  cut_axis: int | None = None, cut_center_A: float | None = None) -> CrossSection:
    """Fig. 3b: the atoms in a slice of given thickness, seen along its normal.

    positions: (N, 3) Å of one frame; lattice: (3, 3) Å; atoms: (n,) indices of the
    atoms to show (the targets); interfaces: the slab (for the normal axis and centre).
    thickness_A: width of the slice (Å); cut_axis: the in-plane lattice axis across the
    slice (default: the last axis that is not the normal, so that for a z normal the
    slice is cut across y and shows x); cut_center_A: the slice's centre along it
    (default: the middle of the cell).
    """
    normal = interfaces.axis
    if cut_axis is None:
        cut_axis = max(a for a in range(3) if a != normal)
    cut_axis = _axis(cut_axis)
    if cut_axis == normal:
        raise ValueError(f"cut_axis {cut_axis} is the interface normal; cut across an in-plane axis")
    inplane_axis = 3 - normal - cut_axis
    atoms = np.asarray(atoms, dtype=np.int64)
    pos = np.asarray(positions, dtype=np.float64)[atoms]
    thickness_A = _positive(thickness_A, "thickness_A")
    zn, _ = normal_coordinate(pos, lattice, normal)
    zcut, l_cut = normal_coordinate(pos, lattice, cut_axis)
    zin, l_in = normal_coordinate(pos, lattice, inplane_axis)
    center = 0.5 * float(l_cut) if cut_center_A is None else float(cut_center_A)
    offset = np.mod(zcut - center + 0.5 * l_cut, l_cut) - 0.5 * l_cut
    rows = np.flatnonzero(np.abs(offset) <= 0.5 * thickness_A)
    w = interfaces.half_width_A
    return CrossSection(rows=rows, normal_A=interfaces.centered(zn[rows]), inplane_A=zin[rows],
                        normal_length_A=interfaces.length_A, inplane_length_A=float(l_in),
                        inplane_axis=inplane_axis, cut_axis=cut_axis, cut_center_A=center,
                        thickness_A=thickness_A, interfaces_A=(-w, w))


def cross_section_table(section: CrossSection, atoms, chi=None, order=None) -> pd.DataFrame:
    """One row per atom of the slice: atom, normal_A, inplane_A, p_state<s>..., order.

    atoms: (n,) the atom indices given to `cross_section`; chi: (n, k) their state
    probabilities in that frame; order: (n,) their order parameter. Rows are taken with
    `section.rows`.
    """
    atoms = np.asarray(atoms)
    out = {"atom": atoms[section.rows], "normal_A": section.normal_A, "inplane_A": section.inplane_A}
    if chi is not None:
        chi = np.asarray(chi)
        if chi.ndim != 2 or len(chi) != len(atoms):
            raise ValueError(f"chi must be (n atoms, k) = ({len(atoms)}, k), got {chi.shape}")
        out.update({f"p_state{s}": chi[section.rows, s] for s in range(chi.shape[1])})
    if order is not None:
        order = np.asarray(order)
        if order.shape != (len(atoms),):
            raise ValueError(f"order must be ({len(atoms)},), got {order.shape}")
        out["order"] = order[section.rows]
    return pd.DataFrame(out)


# ------------------------------------------------------------------ naming


@dataclass(frozen=True)
class StateNames:
    """What each learned state is, and the evidence (see `name_states`).

    names: (k,) e.g. "solid", "liquid-interface". solid_like: (k,) bool.
    solid_fraction: (k,) χ-weighted mean of the order-parameter solid label.
    mean_depth_A: (k,) χ-weighted mean signed depth into the crystal (Å).
    mean_order: (k,) χ-weighted mean order parameter (NaN when none was given).
    population: (k,) share of the atom-frames (Σ χ_s / Σ χ).
    """

    names: tuple[str, ...]
    solid_like: np.ndarray
    solid_fraction: np.ndarray
    mean_depth_A: np.ndarray
    mean_order: np.ndarray
    population: np.ndarray

    def table(self) -> pd.DataFrame:
        """One row per state: state, name, population, solid_fraction, mean_order, mean_depth_A."""
        return pd.DataFrame({
            "state": np.arange(len(self.names)), "name": list(self.names),
            "population": self.population, "solid_fraction": self.solid_fraction,
            "mean_order": self.mean_order, "mean_depth_A": self.mean_depth_A,
        })


def name_states(chi, solid, depth_A, order=None) -> StateNames:
    """Name the learned states from their order parameter and position (never their index).

    chi: (F, n, k) state probabilities of the targets over test frames; solid: (F, n)
    order-parameter labels; depth_A: (F, n) signed depth into the crystal
    (`Interfaces.depth`: positive inside, negative in the liquid); order: (F, n)
    optional order parameter (e.g. q̄_l), only reported.

    The rule:
    1. Each state's solid fraction f_s is the χ-weighted mean of the solid label.
    2. States with f_s >= 1/2 are solid-like, the others liquid-like; should all states
       fall on one side, the state with the highest (lowest) f_s joins the solid-like
       (liquid-like) group, so that both groups exist.
    3. Each state's mean depth is the χ-weighted mean of depth_A, the first moment of its
       z-profile measured from the nearest interface. In the solid-like group the deepest
       state (largest mean depth) is "solid" and the others "solid-interface"; in the
       liquid-like group the state farthest into the liquid (smallest mean depth) is
       "liquid" and the others "liquid-interface".
    4. Several interface states in one group (k > 4) are numbered from the bulk towards
       the interface: "solid-interface 1", "solid-interface 2", ...
    k = 2 gives solid and liquid; k = 3 solid, liquid and one interface state named by
    its side; k = 4 the paper's four.
    """
    chi, solid, depth = _atom_frames(chi, solid, depth_A)
    k = chi.shape[1]
    if k < 2:
        raise ValueError(f"naming needs at least 2 states, got {k}")
    total = chi.sum(axis=0)
    if np.any(total <= 0):
        raise ValueError(f"state(s) {np.flatnonzero(total <= 0).tolist()} have no probability "
                         "in these frames; they cannot be named")
    frac = (chi * solid[:, None]).sum(axis=0) / total
    mean_depth = (chi * depth[:, None]).sum(axis=0) / total
    if order is None:
        mean_order = np.full(k, np.nan)
    else:
        order = np.asarray(order, dtype=np.float64).reshape(-1)
        if order.shape != solid.shape:
            raise ValueError(f"order has {order.size} atom-frames, solid has {solid.size}")
        mean_order = (chi * order[:, None]).sum(axis=0) / total
    solid_like = frac >= 0.5
    if solid_like.all():
        solid_like[np.argmin(frac)] = False
    elif not solid_like.any():
        solid_like[np.argmax(frac)] = True
    names = [""] * k
    for group, bulk, interface, sign in ((solid_like, SOLID, SOLID_INTERFACE, -1.0),
                                         (~solid_like, LIQUID, LIQUID_INTERFACE, 1.0)):
        members = np.flatnonzero(group)
        ranked = members[np.argsort(sign * mean_depth[members], kind="stable")]  # bulk first
        names[ranked[0]] = bulk
        rest = ranked[1:]
        for i, s in enumerate(rest):
            names[s] = interface if len(rest) == 1 else f"{interface} {i + 1}"
    return StateNames(names=tuple(names), solid_like=solid_like, solid_fraction=frac,
                      mean_depth_A=mean_depth, mean_order=mean_order,
                      population=total / total.sum())


# ------------------------------------------------------------------ validation


def state_agreement(chi, solid, solid_like) -> float:
    """Balanced accuracy of the learned states grouped solid-like / liquid-like.

    chi: (F, n, k) (or (P, k)) state probabilities; solid: matching (F, n) labels;
    solid_like: (k,) bool, e.g. `StateNames.solid_like`. Every atom-frame is assigned
    to its most probable state; the score is the mean of the recall of solid atom-frames
    (assigned to a solid-like state) and of liquid ones (assigned to a liquid-like state):
    0.5 for a model that calls everything liquid, 1 for perfect agreement.
    """
    chi, solid, _ = _atom_frames(chi, solid, None)
    solid_like = np.asarray(solid_like, dtype=bool)
    if solid_like.shape != (chi.shape[1],):
        raise ValueError(f"solid_like must have one entry per state ({chi.shape[1]}), got "
                         f"{solid_like.shape}")
    called = solid_like[chi.argmax(axis=1)]
    if solid.all() or not solid.any():
        raise ValueError("the labels hold only one phase; agreement needs both solid and liquid "
                         "atom-frames")
    return float(0.5 * (called[solid].mean() + (~called[~solid]).mean()))


def solid_fraction_inside_slab(profiles: Profiles, solid_like, interfaces: Interfaces) -> float:
    """Share of the solid-like states' z-profile mass inside the crystal, |zc| <= w.

    profiles: `z_profiles` (centred coordinates); solid_like: (k,) bool. The states are
    weighted by their total probability, so the result is the fraction of solid-like
    atom-frames that sit inside the slab.
    """
    solid_like = np.asarray(solid_like, dtype=bool)
    if solid_like.shape != profiles.weight.shape or not solid_like.any():
        raise ValueError("solid_like must be (k,) bool with at least one solid-like state")
    w = interfaces.half_width_A
    inside = profiles.mass_between(-w, w)[solid_like]
    weight = profiles.weight[solid_like]
    return float((inside * weight).sum() / weight.sum())


def persistent_labels(labels, min_frames: int) -> np.ndarray:
    """Labels that change only when the new value persists for at least min_frames.

    labels: (F,) or (F, n) integer or bool, one column per atom. Along each column, a run
    of a new value shorter than `min_frames` (an atom of the liquid momentarily read as
    solid, about 1 % of liquid atom-frames for q3) keeps the value before it; a run of
    at least `min_frames` is a real change (transition-based assignment, as in
    milestoning). The value before the first such run is that of the first run lasting
    min_frames (or the column's most frequent value if none does). min_frames <= 1
    returns the labels unchanged.
    """
    labels = np.asarray(labels)
    if labels.ndim not in (1, 2):
        raise ValueError(f"labels must be (frames,) or (frames, atoms), got shape {labels.shape}")
    min_frames = _nonneg_int(min_frames, "min_frames")
    if min_frames <= 1:
        return labels.copy()
    cols = labels.reshape(len(labels), -1)
    out = np.empty_like(cols)
    for c in range(cols.shape[1]):
        out[:, c] = _persistent_column(cols[:, c], min_frames)
    return out.reshape(labels.shape)


def _persistent_column(x, min_frames):
    change = np.flatnonzero(x[1:] != x[:-1]) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [len(x)]]))
    values = x[starts]
    long = lengths >= min_frames
    if long.any():
        current = values[np.argmax(long)]
    else:
        uniq, counts = np.unique(x, return_counts=True)
        current = uniq[np.argmax(counts)]
    out = np.empty_like(x)
    for start, length, value, is_long in zip(starts, lengths, values, long):
        if is_long:
            current = value
        out[start:start + length] = current
    return out


def count_exchanges(labels, min_frames: int) -> int:
    """Number of changes of `persistent_labels(labels, min_frames)` over all columns.

    With solid labels of the target atoms this counts solid↔liquid exchanges that last
    at least min_frames.
    """
    p = persistent_labels(labels, min_frames)
    return int(np.count_nonzero(p[1:] != p[:-1]))


def reference_timescale_ps(solid_pieces, lag: int, frame_interval_ps: float,
                           min_frames: int = 1) -> float:
    """Slowest timescale of the 2-state count model of the order-parameter labels (ps).

    solid_pieces: list of (F_s, n) bool labels (or one array), one per contiguous piece
    of test frames; lag: τ in frames; frame_interval_ps: time between frames.
    min_frames: `persistent_labels` smoothing before counting (1 = none). Transient
    flickers of the label decorrelate it within a frame and pull the counted timescale
    down, far below the lifetime of a phase; smoothing over a few frames removes them.
    Uses `koopman.count_matrix_from_labels` and `koopman.implied_timescales` (Eq. 11).
    """
    if isinstance(solid_pieces, np.ndarray):
        solid_pieces = [solid_pieces]
    pieces = [persistent_labels(np.asarray(s).astype(np.int64), min_frames) for s in solid_pieces]
    k = koopman.count_matrix_from_labels(pieces, lag, 2)
    return float(koopman.implied_timescales(k, lag * _positive(frame_interval_ps,
                                                               "frame_interval_ps"))[0])


# ------------------------------------------------------------------ helpers


def _atom_frames(chi, solid, depth):
    chi = np.asarray(chi, dtype=np.float64)
    if chi.ndim < 2:
        raise ValueError(f"chi must be (..., k) state probabilities, got shape {chi.shape}")
    solid = np.asarray(solid)
    if solid.shape != chi.shape[:-1]:
        raise ValueError(f"solid has shape {solid.shape}, expected chi's atom-frames "
                         f"{chi.shape[:-1]}")
    out_depth = None
    if depth is not None:
        depth = np.asarray(depth, dtype=np.float64)
        if depth.shape != chi.shape[:-1]:
            raise ValueError(f"depth_A has shape {depth.shape}, expected {chi.shape[:-1]}")
        out_depth = depth.reshape(-1)
    return chi.reshape(-1, chi.shape[-1]), solid.reshape(-1).astype(bool), out_depth


def _axis(axis) -> int:
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2 (a lattice vector), got {axis!r}")
    return int(axis)


def _positive(value, name: str) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


def _nonneg_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)
