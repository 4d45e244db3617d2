"""PEO/LiTFSI analyses of the learned Li states: populations, shells and charges, transition
diffusion and the conduction decomposition (paper Figs. 4-5, Supp. Note 3, Supp. Tables 1-2).

Inputs are the test trajectories as arrays: coordinates (F, N, 3) Å and cells (F, 3, 3) Å
(memory-mapped is fine; everything that reads them is streamed), and the state probabilities
χ (F, n, k) of the n target Li at the same frames. Several test trajectories are lists of
such arrays, one per trajectory; the 95 % confidence intervals treat each trajectory as an
independent estimate (Student t, `gdynet.analysis.koopman.confidence_interval`), as the
paper's Figs. 4-5 do with its four test trajectories, and the central values pool them.

Paper equations (Xie et al., Nat. Commun. 10, 2667, 2019, Methods):

- Eq. 12 state-weighted RDF g_i(r_A): `gdynet.analysis.rdf`.
- Supp. Note 3 Charge_i = 1 − n_i,N(r*) + n_i,Li(r*), with r* = μ + 3σ of a Gaussian fitted
  to the first peak of the state's N RDF (`shell_charges`).
- Eq. 13 E[d²(t) | i→j] = Σ_t' d²(t', t'+t) p_i(t') p_j(t'+t) / Σ_t' p_i(t') p_j(t'+t)
  (`transition_msd`), from unwrapped, drift-free Li displacements (`unwrap`).
- Eq. 14 D_ij(τ) = (1/6) dE[d²(t) | i→j]/dt at t = τ (`diffusion_coefficients`).
- Eq. 15-16 σ_ij = e² N_Li / (V k_B T) · π_i z_ij² K_ij(τ) D_ij(τ), shares σ_ij / Σ σ
  (`conduction`); see there for why the charge enters squared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import constants, optimize

from gdynet import io, logs
from gdynet.elements import symbol
from gdynet.analysis import koopman
from gdynet.analysis.rdf import DEFAULT_CHUNK_BYTES, StateRDF, perpendicular_widths

logger = logs.get()

A2_PER_PS_TO_CM2_PER_S = 1e-4  # 1 Å²/ps = 1e-16 cm² / 1e-12 s
SUPP_TABLE2_UNIT_CM2_PER_S = 1e-7  # Supp. Table 2 gives D in 10⁻⁷ cm²/s
DEFAULT_ION_CHARGES = {7: -1.0, 3: 1.0}  # anion centre N, Li (e)


def _as_list(segments) -> list:
    if isinstance(segments, np.ndarray) or not isinstance(segments, Sequence):
        return [segments]
    return list(segments)


# ----------------------------------------------------------------------- populations
@dataclass(frozen=True)
class Populations:
    """State populations: mean (k,) pooled over all test frames, targets and trajectories;
    low, high (k,) the 95 % CI over trajectories (NaN with fewer than two); per_segment
    (G, k) the population of each trajectory."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    per_segment: np.ndarray

    def to_dict(self) -> dict:
        return {name: np.asarray(getattr(self, name)).tolist()
                for name in ("mean", "low", "high", "per_segment")}

    @classmethod
    def from_dict(cls, record: Mapping) -> Populations:
        """The inverse of `to_dict` (e.g. read back from JSON, where NaN became null)."""
        return cls(*(np.array(record[name], dtype=np.float64)
                     for name in ("mean", "low", "high", "per_segment")))


def populations(chi_segments, level: float = 0.95) -> Populations:
    """Mean state probabilities ⟨χ⟩ (Fig. 4b: 50.6 ± 0.8 % ...) with a CI over trajectories.

    chi_segments: one (F, n, k) array or a list of them (one per test trajectory), read in
    chunks. ⟨χ⟩ equals the stationary distribution of K(τ) up to edge effects.
    """
    segments = _as_list(chi_segments)
    sums, counts = [], []
    for seg in segments:
        k = seg.shape[-1]
        total = np.zeros(k)
        step = max(1, (1 << 20) // max(1, seg.shape[1] * k))
        for start in range(0, seg.shape[0], step):
            total += np.asarray(seg[start:start + step], dtype=np.float64).reshape(-1, k).sum(0)
        sums.append(total)
        counts.append(seg.shape[0] * seg.shape[1])
    sums, counts = np.array(sums), np.array(counts, dtype=np.float64)
    if counts.sum() == 0:
        raise ValueError("chi_segments hold no frames; pass the test-set state probabilities")
    per = sums / np.maximum(counts, 1)[:, None]
    low, high = koopman.confidence_interval(per[counts > 0], level)
    return Populations(sums.sum(0) / counts.sum(), low, high, per)


# ---------------------------------------------------------------- shells and charges
@dataclass(frozen=True)
class ShellFit:
    """Gaussian A·exp(−(r−μ)²/2σ²) fitted to the first peak of each state's RDF of one
    element. All (k,): mu, sigma (Å), amplitude, r_star = μ + n_sigma·σ (Å), and fitted:
    False where the state shows no first peak and r_star is that of all states pooled."""

    mu: np.ndarray
    sigma: np.ndarray
    amplitude: np.ndarray
    r_star: np.ndarray
    fitted: np.ndarray


def fit_first_peak(r, g, *, min_height: float = 1.0, search=None) -> tuple[float, float, float]:
    """(μ, σ, A) of a Gaussian fitted (scipy curve_fit) to the first peak of g(r).

    r (B,) bin centres Å, g (B,) the RDF. The first peak is the first local maximum of g
    (3-bin running mean) higher than `min_height` (g = 1 is the bulk density), optionally
    only within search = (r_lo, r_hi) Å. The fit window runs from where g first rises above
    zero before the peak to the first local minimum after it. Raises ValueError when g has
    no such peak.
    """
    r, g = np.asarray(r, dtype=np.float64), np.asarray(g, dtype=np.float64)
    g = np.nan_to_num(g)
    smooth = np.convolve(np.pad(g, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    inside = np.ones_like(r, bool) if search is None else (r >= search[0]) & (r <= search[1])
    is_max = np.r_[False, (smooth[1:-1] >= smooth[:-2]) & (smooth[1:-1] > smooth[2:]), False]
    peaks = np.flatnonzero(is_max & inside & (smooth > min_height))
    if peaks.size == 0:
        where = "" if search is None else f" within {search[0]:.2f}-{search[1]:.2f} Å"
        raise ValueError(f"no RDF peak higher than g = {min_height:g}{where}")
    p = int(peaks[0])
    left = p
    while left > 0 and g[left - 1] > 0:
        left -= 1
    right = p
    while right + 1 < len(g) and smooth[right + 1] <= smooth[right]:
        right += 1
    sl = slice(left, right + 1)
    if right - left < 3:
        raise ValueError(f"the first RDF peak at {r[p]:.2f} Å spans only {right - left + 1} "
                         "bins; use finer bins or more frames")
    dr = r[1] - r[0]
    guess = (g[p], r[p], max((r[right] - r[left]) / 4, dr))
    bounds = ([0.0, r[left], dr / 4], [np.inf, r[right], r[-1]])
    try:
        (amp, mu, sigma), _ = optimize.curve_fit(_gauss, r[sl], g[sl], p0=guess, bounds=bounds)
    except (RuntimeError, optimize.OptimizeWarning) as err:
        raise ValueError(f"the Gaussian fit of the first RDF peak at {r[p]:.2f} Å failed: {err}")
    return float(mu), float(abs(sigma)), float(amp)


def _gauss(r, amp, mu, sigma):
    return amp * np.exp(-0.5 * ((r - mu) / sigma) ** 2)


def fit_shell(rdf: StateRDF, element: int = 7, *, n_sigma: float = 3.0,
              min_height: float = 1.0) -> ShellFit:
    """First-shell edge r* = μ + n_sigma·σ of every state (Supp. Note 3), from the RDF of
    `element` (the anion centre N, Z = 7).

    The pooled RDF (all references, every state) is fitted first. A state's first peak
    is searched within μ ± n_sigma·σ of the pooled one, so a state whose anions sit only
    in outer shells is not given a far-away "first" peak. A state with no peak there (for
    example one with no anion in its shell) gets the pooled r* and fitted = False.
    """
    e = rdf.element_index(element)
    pooled = pooled_rdf(rdf)
    try:
        mu0, s0, _ = fit_first_peak(pooled.r, pooled.g[0, e], min_height=min_height)
    except ValueError as err:
        raise ValueError(f"the RDF of element {element} around all references has no first "
                         f"shell to fit ({err}); check the element or enlarge r_max") from None
    k = rdf.counts.shape[0]
    out = {name: np.full(k, np.nan) for name in ("mu", "sigma", "amplitude")}
    fitted = np.zeros(k, bool)
    g = rdf.g
    for i in range(k):
        try:
            mu, sigma, amp = fit_first_peak(rdf.r, g[i, e], min_height=min_height,
                                            search=(mu0 - n_sigma * s0, mu0 + n_sigma * s0))
        except ValueError as err:
            logger.info("state %d: %s; the shell edge of all states pooled is used", i, err)
            continue
        out["mu"][i], out["sigma"][i], out["amplitude"][i] = mu, sigma, amp
        fitted[i] = True
    r_star = np.where(fitted, out["mu"] + n_sigma * out["sigma"], mu0 + n_sigma * s0)
    r_star = np.minimum(r_star, rdf.edges[-1])
    return ShellFit(out["mu"], out["sigma"], out["amplitude"], r_star, fitted)


def pooled_rdf(rdf: StateRDF) -> StateRDF:
    """The ordinary RDF of all references: the state sums added up (one state)."""
    return StateRDF(rdf.edges, rdf.elements, rdf.counts.sum(0, keepdims=True),
                    rdf.weight.sum(keepdims=True), rdf.density_weight.sum(0, keepdims=True),
                    rdf.n_frames)


@dataclass(frozen=True)
class ShellCharges:
    """Charge of each state's first solvation shell (Supp. Note 3, Supp. Table 1, Fig. 4c).

    shell: the `ShellFit` giving r_star (k,) Å; ions (n_ions,) atomic numbers and
    ion_charges (n_ions,) e; ion_counts (k, n_ions): mean number of each ion within r*;
    charge (k,) e = reference_charge + Σ_A z_A n_A(r*); edges (B+1,) Å and integral
    (k, B+1) e: the same sum as a function of r (Fig. 4c), starting at reference_charge.
    """

    shell: ShellFit
    ions: np.ndarray
    ion_charges: np.ndarray
    ion_counts: np.ndarray
    charge: np.ndarray
    edges: np.ndarray
    integral: np.ndarray


def shell_charges(rdf: StateRDF, *, anion_element: int = 7,
                  ion_charges: Mapping[int, float] = DEFAULT_ION_CHARGES,
                  reference_charge: float = 1.0, n_sigma: float = 3.0,
                  min_height: float = 1.0) -> ShellCharges:
    """Charge carried by each state with its first solvation shell (Supp. Note 3):

        Charge_i = 1 − ∫₀^r* ρ_N g_i(r_N) 4πr² dr + ∫₀^r* ρ_Li g_i(r_Li) 4πr² dr,

    generalised to Charge_i = reference_charge + Σ_A z_A n_i,A(r*_i) over the ions A of
    `ion_charges` (atomic number → charge in e; default N −1, Li +1). The integrals are the
    coordination numbers n_i,A (number density folded in, see `gdynet.analysis.rdf`), so
    they count ions. r*_i comes from `fit_shell` on the `anion_element` RDF.
    rdf: a `StateRDF` holding every element of ion_charges.
    """
    shell = fit_shell(rdf, anion_element, n_sigma=n_sigma, min_height=min_height)
    ions = np.array(list(ion_charges), dtype=np.int64)
    z = np.array([float(ion_charges[a]) for a in ion_charges])
    cols = [rdf.element_index(int(a)) for a in ions]
    counts = rdf.coordination_at(shell.r_star)[:, cols]  # (k, n_ions)
    cum = np.concatenate([np.zeros(rdf.counts.shape[:2] + (1,)), rdf.coordination], axis=-1)
    integral = reference_charge + np.einsum("a,kab->kb", z, cum[:, cols])
    return ShellCharges(shell, ions, z, counts, reference_charge + counts @ z, rdf.edges,
                        integral)


def charge_table(charges: ShellCharges, pops: Populations | None = None) -> pd.DataFrame:
    """Supp. Table 1 as a DataFrame: one row per state with its shell edge (Å), the mean
    number of each ion within it, the charge (e) and, if given, the population."""
    rows = []
    for i in range(len(charges.charge)):
        row = {"state": i}
        if pops is not None:
            row.update(population=pops.mean[i], population_ci_low=pops.low[i],
                       population_ci_high=pops.high[i])
        row.update(r_star_A=charges.shell.r_star[i], gaussian_mu_A=charges.shell.mu[i],
                   gaussian_sigma_A=charges.shell.sigma[i],
                   shell_fitted=bool(charges.shell.fitted[i]))
        for a, n in zip(charges.ions, charges.ion_counts[i]):
            row[f"n_Z{int(a)}"] = n
        row["charge_e"] = charges.charge[i]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------- representative configurations
@dataclass(frozen=True)
class Representative:
    """Where a state is most confidently occupied: segment (trajectory), frame, target
    (index into the targets, not the atoms) and its probability χ_i there."""

    state: int
    segment: int
    frame: int
    target: int
    probability: float


def most_confident(chi_segments) -> list[Representative]:
    """For every state i, the (trajectory, frame, target) with the largest χ_i (Fig. 4b).

    chi_segments: one (F, n, k) array or a list of them, read in chunks. Ties go to the
    earliest trajectory, frame and target.
    """
    segments = _as_list(chi_segments)
    k = segments[0].shape[-1]
    best = [Representative(i, -1, -1, -1, -np.inf) for i in range(k)]
    for s, seg in enumerate(segments):
        step = max(1, (1 << 20) // max(1, seg.shape[1] * k))
        for start in range(0, seg.shape[0], step):
            block = np.asarray(seg[start:start + step], dtype=np.float64)
            flat = block.reshape(-1, k)
            top = flat.argmax(axis=0)
            for i in range(k):
                p = float(flat[top[i], i])
                if p > best[i].probability:
                    frame, target = divmod(int(top[i]), block.shape[1])
                    best[i] = Representative(i, s, start + frame, target, p)
    return best


@dataclass(frozen=True)
class Configuration:
    """A target and its neighbours as a cluster: indices (m,) atom indices, first the
    target; atom_types (m,) atomic numbers; positions (m, 3) Å relative to the target
    (minimum image, so the shell is whole); distances (m,) Å from the target."""

    indices: np.ndarray
    atom_types: np.ndarray
    positions: np.ndarray
    distances: np.ndarray


def shell_configuration(positions, lattice, atom_types, center: int, radius: float
                        ) -> Configuration:
    """The atoms within `radius` Å of atom `center` in one frame, unwrapped around it.

    positions (N, 3) Å, lattice (3, 3) Å (rows are the lattice vectors), atom_types (N,).
    The minimum image is unique only below half the smallest perpendicular width of the
    cell; a larger radius raises ValueError.
    """
    x = np.asarray(positions, dtype=np.float64)
    lattice = np.asarray(lattice, dtype=np.float64)
    half = perpendicular_widths(lattice).min() / 2
    if not (0 < radius < half):
        raise ValueError(f"radius {radius:g} Å must be positive and below half the cell width "
                         f"({half:.2f} Å), where the minimum image is unique")
    inv = np.linalg.inv(lattice)
    sep = (x - x[center]) @ inv
    d = (sep - np.round(sep)) @ lattice
    dist = np.linalg.norm(d, axis=1)
    near = np.flatnonzero(dist < radius)
    near = np.concatenate([[center], near[near != center]]).astype(np.int64)
    near = near[np.argsort(dist[near], kind="stable")]
    types = np.asarray(atom_types)[near]
    return Configuration(near, types, d[near], dist[near])


def write_extxyz(path, config: Configuration, comment: Mapping[str, object] | None = None) -> None:
    """Write a `Configuration` as extended XYZ (OVITO, VMD, ASE), atomically.

    Columns: element symbol, x y z (Å, target at the origin), atom index in the
    trajectory, distance to the target (Å). `comment` entries go into the header line as
    key=value pairs (e.g. state, frame, probability). The cluster is not periodic.
    """
    info = " ".join(f"{k}={v}" for k, v in (comment or {}).items())
    header = ('Properties=species:S:1:pos:R:3:index:I:1:distance:R:1 pbc="F F F" ' + info).strip()
    lines = [str(len(config.indices)), header]
    for z, (x, y, w), i, d in zip(config.atom_types, config.positions, config.indices,
                                  config.distances):
        lines.append(f"{symbol(z):<3} {x:12.5f} {y:12.5f} {w:12.5f} {int(i):7d} {d:9.4f}")
    with io.atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------- unwrapping
@dataclass(frozen=True)
class Unwrapped:
    """Continuous, drift-free trajectories of selected atoms.

    positions (F, n, 3) float64 Å: the selected atoms, unwrapped (no jumps across the cell)
    and with the centre-of-mass displacement of the whole system removed; drift (F, 3) Å:
    that removed displacement (0 at frame 0); image_jumps: how many single-frame steps of
    any atom were taken back across the cell (0 for coordinates that were already
    unwrapped); max_step_A: the largest step of any atom between consecutive frames, and
    max_step_fraction: it over the smallest perpendicular cell width.
    """

    positions: np.ndarray
    drift: np.ndarray
    image_jumps: int
    max_step_A: float
    max_step_fraction: float


def unwrap(coords, lattices, atoms, masses=None, *, remove_drift: bool = True,
           max_step_fraction: float = 0.4,
           max_chunk_bytes: float = DEFAULT_CHUNK_BYTES) -> Unwrapped:
    """Unwrap the atoms `atoms` and remove the centre-of-mass drift of the whole system.

    coords (F, N, 3) Å, wrapped or not (memory-mapped is fine; read in chunks);
    lattices (F, 3, 3) Å, rows are the lattice vectors; atoms (n,) indices to return;
    masses (N,) for the centre of mass (None: equal masses; pass the model's masses:
    the thermostat keeps the *mass-weighted* momentum at zero).

    Each step between consecutive frames is taken as its minimum image in the cell of the
    later frame. That is exact when no atom moves more than half the smallest perpendicular
    width between two frames. Already unwrapped coordinates need no image and come back
    unchanged (up to the drift removal), whatever their step sizes. For wrapped ones the
    true steps cannot be seen, so when images were needed the largest step found must stay
    below `max_step_fraction` of the width (default 0.4, i.e. 80 % of the limit; steps of
    thermal motion have Gaussian tails, so a maximum close to the limit means some steps
    beyond it went unseen), or ValueError asks for more frequent frames.
    """
    n_frames, n_atoms = coords.shape[:2]
    atoms = np.asarray(atoms, dtype=np.int64).ravel()
    if atoms.size == 0 or atoms.min() < 0 or atoms.max() >= n_atoms:
        raise ValueError(f"atoms must be indices in 0..{n_atoms - 1}, got {atoms.tolist()[:10]}")
    if tuple(lattices.shape) != (n_frames, 3, 3):
        raise ValueError(f"lattices must have shape ({n_frames}, 3, 3), got {lattices.shape}")
    if n_frames == 0:
        raise ValueError("coords hold no frames")
    w = np.ones(n_atoms) if masses is None else np.asarray(masses, dtype=np.float64)
    if w.shape != (n_atoms,) or np.any(w <= 0):
        raise ValueError(f"masses must be ({n_atoms},) positive numbers, got shape {w.shape}")
    w = w / w.sum()

    out = np.empty((n_frames, atoms.size, 3))
    drift = np.zeros((n_frames, 3))
    step = max(2, int(max_chunk_bytes // max(1, n_atoms * 3 * 8 * 3)))
    prev = np.asarray(coords[0], dtype=np.float64)
    out[0] = prev[atoms]
    current_sel, current_com = prev[atoms].copy(), np.zeros(3)
    jumps, max_step, max_frac = 0, 0.0, 0.0
    for start in range(1, n_frames, step):
        stop = min(start + step, n_frames)
        x = np.asarray(coords[start:stop], dtype=np.float64)
        lat = np.asarray(lattices[start:stop], dtype=np.float64)
        inv = np.linalg.inv(lat)
        raw = x - np.concatenate([prev[None], x[:-1]])
        image = np.round(np.einsum("fnk,fkl->fnl", raw, inv))
        d = raw - np.einsum("fnk,fkl->fnl", image, lat)  # (f, N, 3) minimum-image steps
        jumps += int(np.count_nonzero(image.any(axis=-1)))
        lengths = np.linalg.norm(d, axis=-1).max(axis=1)  # (f,)
        widths = (1.0 / np.linalg.norm(inv, axis=1)).min(axis=1)
        max_step = max(max_step, float(lengths.max()))
        max_frac = max(max_frac, float((lengths / widths).max()))
        sel = current_sel + np.cumsum(d[:, atoms], axis=0)
        com = current_com + np.cumsum(np.einsum("fnk,n->fk", d, w), axis=0)
        out[start:stop] = sel
        drift[start:stop] = com
        current_sel, current_com = sel[-1], com[-1]
        prev = x[-1]
    if jumps and max_frac > max_step_fraction:
        raise ValueError(f"an atom moves {max_step:.3g} Å between two frames, "
                         f"{max_frac:.2f} of the cell width (limit {max_step_fraction:g}), and "
                         f"the coordinates are wrapped ({jumps} steps across the cell): the "
                         "minimum image cannot tell such steps from jumps across the cell; use "
                         "a trajectory with more frequent frames, or unwrapped coordinates")
    if remove_drift:
        out -= drift[:, None, :]
    return Unwrapped(out, drift, jumps, max_step, max_frac)


# ---------------------------------------------------------------- transition diffusion
@dataclass(frozen=True)
class TransitionMSD:
    """Sums behind Eq. 13 over a lag grid; results of several trajectories add (`+`).

    lags (L,) frames; sum_d2 (L, k, k) Å²: Σ_{t', targets} d²(t', t'+t) p_i(t') p_j(t'+t);
    weight (L, k, k): Σ p_i(t') p_j(t'+t); plain_sum (L,) Å²: Σ d²; count (L,): number of
    (t', target) pairs.
    """

    lags: np.ndarray
    sum_d2: np.ndarray
    weight: np.ndarray
    plain_sum: np.ndarray
    count: np.ndarray

    @property
    def msd(self) -> np.ndarray:
        """(L, k, k) E[d²(t) | i→j] of Eq. 13, Å² (NaN where no pair carries weight)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sum_d2 / self.weight

    @property
    def plain(self) -> np.ndarray:
        """(L,) the ordinary mean-squared displacement of the targets, Å²."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.plain_sum / self.count

    @property
    def joint(self) -> np.ndarray:
        """(L, k, k) P_ij(t) = ⟨p_i(t') p_j(t'+t)⟩: the joint weights of the identity
        Σ_ij P_ij E[d² | i→j] = MSD, exact when every row of χ sums to 1."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.weight / self.count[:, None, None]

    def index(self, lag: int) -> int:
        hits = np.flatnonzero(self.lags == lag)
        if hits.size == 0:
            raise ValueError(f"lag {lag} frames is not in the lag grid {self.lags.tolist()}")
        return int(hits[0])

    def __add__(self, other: TransitionMSD) -> TransitionMSD:
        if not np.array_equal(self.lags, other.lags) or self.weight.shape != other.weight.shape:
            raise ValueError("cannot pool transition MSDs of different lag grids or states")
        return TransitionMSD(self.lags, self.sum_d2 + other.sum_d2, self.weight + other.weight,
                             self.plain_sum + other.plain_sum, self.count + other.count)


def transition_msd(positions, chi, lags) -> TransitionMSD:
    """Eq. 13 on one trajectory: the mean-squared displacement of every transition i→j.

    positions (F, n, 3) Å: unwrapped, drift-free target positions (`unwrap`); chi (F, n, k)
    their state probabilities at the same frames; lags: lag times t in frames (ints >= 0).
    A lag not shorter than the trajectory contributes nothing (zero weight).
    """
    x = np.asarray(positions, dtype=np.float64)
    p = np.asarray(chi, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3 or p.ndim != 3 or p.shape[:2] != x.shape[:2]:
        raise ValueError(f"positions must be (F, n, 3) and chi (F, n, k) with the same F and n, "
                         f"got {x.shape} and {p.shape}")
    raw = np.atleast_1d(np.asarray(lags))
    if raw.size == 0 or not np.issubdtype(raw.dtype, np.integer) or raw.min() < 0:
        raise ValueError(f"lags must be a non-empty list of non-negative integer frame counts, "
                         f"got {raw.tolist()}")
    lags = raw.astype(np.int64)
    k = p.shape[2]
    sum_d2 = np.zeros((len(lags), k, k))
    weight = np.zeros((len(lags), k, k))
    plain = np.zeros(len(lags))
    count = np.zeros(len(lags))
    n_frames = x.shape[0]
    for a, lag in enumerate(lags):
        if lag >= n_frames:
            continue
        d2 = np.sum((x[lag:] - x[:n_frames - lag]) ** 2, axis=-1)  # (F - lag, n)
        start, end = p[:n_frames - lag], p[lag:]
        sum_d2[a] = np.einsum("tn,tni,tnj->ij", d2, start, end)
        weight[a] = np.einsum("tni,tnj->ij", start, end)
        plain[a] = d2.sum()
        count[a] = d2.size
    return TransitionMSD(lags, sum_d2, weight, plain, count)


def derivative_lags(lag: int, half_width: int) -> list[int]:
    """The lags [τ − h, τ, τ + h] (frames) that Eq. 14's central difference at τ needs."""
    if not (0 < half_width <= lag):
        raise ValueError(f"half_width must be in 1..lag ({lag} frames), got {half_width}")
    return [lag - half_width, lag, lag + half_width]


def _slope(values: np.ndarray, lags: np.ndarray, lag: int, dt_ps: float) -> np.ndarray:
    """d values / dt at t = lag (second-order central difference on the lag grid), per ps."""
    order = np.argsort(lags)
    lags, values = lags[order], values[order]
    at = np.flatnonzero(lags == lag)
    if at.size == 0 or at[0] == 0 or at[0] == len(lags) - 1:
        raise ValueError(f"lag {lag} frames must be an interior point of the lag grid "
                         f"{lags.tolist()} for a central difference; add lags on both sides "
                         "(derivative_lags)")
    i = int(at[0])
    t = lags[i - 1:i + 2] * dt_ps
    return np.gradient(values[i - 1:i + 2], t, axis=0)[1]


def diffusion_coefficients(tmsd: TransitionMSD, lag: int, dt_ps: float) -> np.ndarray:
    """Eq. 14: D_ij(τ) = (1/6) dE[d²(t) | i→j]/dt at t = τ, (k, k) Å²/ps.

    lag: τ in frames, an interior point of tmsd.lags (the derivative is the central
    difference with the neighbouring lags); dt_ps: frame interval, ps.
    """
    return _slope(tmsd.msd, tmsd.lags, lag, dt_ps) / 6.0


def plain_diffusion(tmsd: TransitionMSD, lag: int, dt_ps: float) -> float:
    """D of the targets from the ordinary MSD, (1/6) dMSD/dt at t = τ, Å²/ps."""
    return float(_slope(tmsd.plain, tmsd.lags, lag, dt_ps) / 6.0)


# ------------------------------------------------------------------------ conduction
@dataclass(frozen=True)
class Conduction:
    """Eq. 15-16. sigma (k, k) S/cm: contribution of each transition i→j; shares (k, k):
    sigma / Σ sigma; total S/cm; z2 (k, k) e²: the squared mean charges used."""

    sigma: np.ndarray
    shares: np.ndarray
    total: float
    z2: np.ndarray


def conduction(K, stationary, diffusion, charges, n_ions: int, volume_A3: float,
               temperature_K: float) -> Conduction:
    """Cluster Nernst-Einstein decomposition of the conductivity (Eq. 15-16):

        σ_ij = e² N_Li / (V k_B T) · π_i z_ij² K_ij(τ) D_ij(τ),   z_ij = (z_i + z_j) / 2,
        share_ij = σ_ij / Σ_kl σ_kl.

    K (k, k) Koopman matrix at τ and stationary (k,) its stationary distribution π
    (`gdynet.analysis.koopman.koopman_matrix`, `stationary_distribution`); diffusion (k, k)
    D_ij(τ) Å²/ps (`diffusion_coefficients`); charges (k,) z_i in e (`shell_charges`);
    n_ions: number of Li; volume_A3: cell volume Å³; temperature_K. SI constants from
    scipy.constants.

    Why the charge is squared. Eq. 15 as printed has z_ij, but the relation it cites, the
    cluster Nernst-Einstein equation (France-Lanord & Grossman, 2019), sums z² D over
    charge-carrying clusters: a cluster's contribution to σ is positive whatever the sign
    of its charge, as for the cations and anions of the ordinary Nernst-Einstein relation.
    With the linear z_ij a negatively charged state would *reduce* the conductivity, and its
    share would come out negative, whereas the paper reports the negative state 2 carrying
    ≈ 40 % of the conduction (Fig. 5). That only follows with z_ij², which is used here.
    """
    K = np.asarray(K, dtype=np.float64)
    pi = np.asarray(stationary, dtype=np.float64)
    D = np.asarray(diffusion, dtype=np.float64)
    z = np.asarray(charges, dtype=np.float64)
    k = len(pi)
    if K.shape != (k, k) or D.shape != (k, k) or z.shape != (k,):
        raise ValueError(f"K {K.shape}, diffusion {D.shape} must be ({k}, {k}) and charges "
                         f"{z.shape} ({k},), matching the {k} stationary populations")
    for name, value in (("n_ions", n_ions), ("volume_A3", volume_A3),
                        ("temperature_K", temperature_K)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    z2 = (0.5 * (z[:, None] + z[None, :])) ** 2
    prefactor = constants.e**2 * n_ions / (volume_A3 * 1e-30 * constants.k * temperature_K)
    sigma = prefactor * pi[:, None] * z2 * K * (D * 1e-8) * 1e-2  # Å²/ps -> m²/s; S/m -> S/cm
    total = float(sigma.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = sigma / total
    return Conduction(sigma, shares, total, z2)


# ------------------------------------------------------------- the analysis as a whole
@dataclass(frozen=True)
class Transport:
    """Transition diffusion and conduction of the test trajectories (Supp. Table 2, Fig. 5).

    Central values pool all trajectories; *_low/*_high are 95 % CIs over trajectories.
    lags (L,) frames, lag_ps (L,); tau (frames), tau_ps; msd (L, k, k) Å² Eq. 13;
    plain_msd (L,) Å²; diffusion (k, k) Å²/ps Eq. 14 (diffusion_cm2_s in cm²/s);
    diffusion_li Å²/ps from the plain MSD; koopman (k, k) and stationary (k,) at τ;
    charges (k,) e; conduction (pooled `Conduction`); shares_low/high (k, k);
    total_low/high S/cm; per_segment: the estimates of every trajectory (arrays (G, ...)).
    """

    lags: np.ndarray
    lag_ps: np.ndarray
    tau: int
    tau_ps: float
    msd: np.ndarray
    msd_low: np.ndarray
    msd_high: np.ndarray
    plain_msd: np.ndarray
    diffusion: np.ndarray
    diffusion_low: np.ndarray
    diffusion_high: np.ndarray
    diffusion_li: float
    diffusion_li_low: float
    diffusion_li_high: float
    koopman: np.ndarray
    stationary: np.ndarray
    charges: np.ndarray
    conduction: Conduction
    shares_low: np.ndarray
    shares_high: np.ndarray
    total_low: float
    total_high: float
    tmsd: TransitionMSD
    per_segment: dict = field(default_factory=dict)

    @property
    def diffusion_cm2_s(self) -> np.ndarray:
        return self.diffusion * A2_PER_PS_TO_CM2_PER_S


def transport(positions, chi, lags, tau: int, dt_ps: float, charges, volume_A3: float,
              temperature_K: float, level: float = 0.95) -> Transport:
    """Eq. 13-16 on the test trajectories, with CIs over trajectories.

    positions: list of (F_s, n, 3) unwrapped, drift-free target positions, Å (`unwrap`);
    chi: matching list of (F_s, n, k) state probabilities; lags: lag grid (frames) for
    E[d²(t) | i→j], which must hold τ with a lag on each side (`derivative_lags`);
    tau: τ in frames; dt_ps: frame interval; charges (k,) e, or (G, k) one row per
    trajectory; volume_A3: mean cell volume; temperature_K.
    K(τ) and π come from `gdynet.analysis.koopman` on the same χ (pairs never cross
    trajectories). A trajectory whose estimate fails (a state never visited) is left out
    of the CI with a warning.
    """
    positions, chi = _as_list(positions), _as_list(chi)
    if len(positions) != len(chi) or not positions:
        raise ValueError(f"positions ({len(positions)}) and chi ({len(chi)}) must be lists of "
                         "the same, non-zero length (one entry per test trajectory)")
    if not (np.isfinite(dt_ps) and dt_ps > 0):
        raise ValueError(f"dt_ps must be a positive frame interval in ps, got {dt_ps!r}")
    grid = np.unique(np.asarray(lags, dtype=np.int64))
    if tau not in grid:
        grid = np.unique(np.r_[grid, tau])
    n_ions = positions[0].shape[1]
    k = chi[0].shape[-1]
    z = np.asarray(charges, dtype=np.float64)
    z_groups = np.broadcast_to(z, (len(chi), k)) if z.ndim == 1 else z
    z_pooled = z if z.ndim == 1 else z.mean(axis=0)

    parts = [transition_msd(x, p, grid) for x, p in zip(positions, chi)]
    pooled = parts[0]
    for part in parts[1:]:
        pooled = pooled + part
    K = koopman.koopman_matrix(chi, tau)
    pi = koopman.stationary_distribution(K)
    D = diffusion_coefficients(pooled, tau, dt_ps)
    cond = conduction(K, pi, D, z_pooled, n_ions, volume_A3, temperature_K)

    G = len(parts)
    per = {name: np.full((G, *shape), np.nan) for name, shape in (
        ("msd", pooled.msd.shape), ("diffusion", (k, k)), ("diffusion_li", ()),
        ("koopman", (k, k)), ("stationary", (k,)), ("shares", (k, k)), ("total", ()))}
    for g, (part, seg) in enumerate(zip(parts, chi)):
        per["msd"][g] = part.msd
        try:
            per["diffusion"][g] = diffusion_coefficients(part, tau, dt_ps)
            per["diffusion_li"][g] = plain_diffusion(part, tau, dt_ps)
            per["koopman"][g] = Kg = koopman.koopman_matrix([seg], tau)
            per["stationary"][g] = pig = koopman.stationary_distribution(Kg)
            cg = conduction(Kg, pig, per["diffusion"][g], z_groups[g], n_ions, volume_A3,
                            temperature_K)
            per["shares"][g], per["total"][g] = cg.shares, cg.total
        except ValueError as err:
            logger.warning("transport: trajectory %d left out of the CI: %s", g, err)
    ci = {name: koopman.confidence_interval(per[name], level) for name in per}
    return Transport(
        lags=grid, lag_ps=grid * dt_ps, tau=int(tau), tau_ps=float(tau * dt_ps),
        msd=pooled.msd, msd_low=ci["msd"][0], msd_high=ci["msd"][1], plain_msd=pooled.plain,
        diffusion=D, diffusion_low=ci["diffusion"][0], diffusion_high=ci["diffusion"][1],
        diffusion_li=plain_diffusion(pooled, tau, dt_ps),
        diffusion_li_low=float(ci["diffusion_li"][0]),
        diffusion_li_high=float(ci["diffusion_li"][1]),
        koopman=K, stationary=pi, charges=z_pooled, conduction=cond,
        shares_low=ci["shares"][0], shares_high=ci["shares"][1],
        total_low=float(ci["total"][0]), total_high=float(ci["total"][1]),
        tmsd=pooled, per_segment=per)


def save_transport(path, tr: Transport) -> None:
    """Write a `Transport` (with its sums, conduction and per-trajectory estimates) as one
    npz file, atomically; `load_transport` reads it back."""
    arrays = {}
    for name in Transport.__dataclass_fields__:
        value = getattr(tr, name)
        if isinstance(value, (Conduction, TransitionMSD)):
            for sub in type(value).__dataclass_fields__:
                arrays[f"{name}.{sub}"] = np.asarray(getattr(value, sub))
        elif isinstance(value, dict):
            for sub, v in value.items():
                arrays[f"{name}.{sub}"] = np.asarray(v)
        else:
            arrays[name] = np.asarray(value)
    io.save_npz(path, **arrays)


def load_transport(path) -> Transport:
    """A `Transport` written by `save_transport`."""
    with np.load(path) as f:
        arrays = {key: f[key] for key in f.files}

    def part(prefix):
        return {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + ".")}

    scalar = {"tau": int, "tau_ps": float, "diffusion_li": float, "diffusion_li_low": float,
              "diffusion_li_high": float, "total_low": float, "total_high": float}
    values = {}
    for name in Transport.__dataclass_fields__:
        if name == "conduction":
            c = part(name)
            values[name] = Conduction(c["sigma"], c["shares"], float(c["total"]), c["z2"])
        elif name == "tmsd":
            values[name] = TransitionMSD(**part(name))
        elif name == "per_segment":
            values[name] = part(name)
        else:
            values[name] = scalar[name](arrays[name]) if name in scalar else arrays[name]
    return Transport(**values)


def element_masses(atom_types) -> np.ndarray:
    """(N,) standard atomic weights (u) of atomic numbers (mdtraj's element table)."""
    from mdtraj.core.element import Element

    types = np.asarray(atom_types)
    table = {int(z): Element.getByAtomicNumber(int(z)).mass for z in np.unique(types)}
    return np.array([table[int(z)] for z in types], dtype=np.float64)


def diffusion_table(tr: Transport) -> pd.DataFrame:
    """Supp. Table 2 in long form: one row per transition i→j with D_ij(τ) and its CI in
    10⁻⁷ cm²/s (the paper's unit), and in Å²/ps."""
    scale = A2_PER_PS_TO_CM2_PER_S / SUPP_TABLE2_UNIT_CM2_PER_S
    k = tr.diffusion.shape[0]
    return pd.DataFrame([{
        "from_state": i, "to_state": j, "tau_ps": tr.tau_ps,
        "D_1e-7_cm2_s": tr.diffusion[i, j] * scale,
        "ci_low_1e-7_cm2_s": tr.diffusion_low[i, j] * scale,
        "ci_high_1e-7_cm2_s": tr.diffusion_high[i, j] * scale,
        "D_A2_ps": tr.diffusion[i, j],
    } for i in range(k) for j in range(k)])


def conduction_table(tr: Transport) -> pd.DataFrame:
    """Fig. 5 as a table: one row per transition i→j with π_i, K_ij(τ), z_ij², D_ij (Å²/ps),
    σ_ij (S/cm) and its share of the total with the 95 % CI."""
    c = tr.conduction
    k = c.sigma.shape[0]
    return pd.DataFrame([{
        "from_state": i, "to_state": j, "stationary_from": tr.stationary[i],
        "koopman": tr.koopman[i, j], "z2_e2": c.z2[i, j], "D_A2_ps": tr.diffusion[i, j],
        "sigma_S_cm": c.sigma[i, j], "share": c.shares[i, j],
        "share_ci_low": tr.shares_low[i, j], "share_ci_high": tr.shares_high[i, j],
    } for i in range(k) for j in range(k)])


# ------------------------------------------------------------------------ validation
def msd_identity_rel_error(tmsd: TransitionMSD, lag: int) -> float:
    """|Σ_ij P_ij E[d²(τ) | i→j] − MSD(τ)| / MSD(τ) with P_ij = ⟨p_i(t) p_j(t+τ)⟩.

    Exact (round-off only) whenever every row of χ sums to 1, so a larger value means the
    transition MSD and the plain MSD were not built from the same pairs.
    """
    a = tmsd.index(lag)
    est = np.nansum(tmsd.joint[a] * tmsd.msd[a])
    return float(abs(est - tmsd.plain[a]) / tmsd.plain[a])


def msd_koopman_weights_rel_error(tmsd: TransitionMSD, K, stationary, lag: int) -> float:
    """The same with the paper's weights π_i K_ij(τ) in place of P_ij: equal for crisp
    (one-hot) states, an approximation for soft ones."""
    a = tmsd.index(lag)
    weights = np.asarray(stationary)[:, None] * np.asarray(K)
    est = np.nansum(weights * tmsd.msd[a])
    return float(abs(est - tmsd.plain[a]) / tmsd.plain[a])


@dataclass(frozen=True)
class Agreement:
    """Learned states against reference labels under the best one-to-one mapping.

    balanced_accuracy: mean over reference classes c of P(mapped state = c | class c);
    mapping (k_learned,): reference class of each learned state (−1: left unmapped, when
    there are more learned states than classes); confusion (k_learned, k_ref) counts.
    """

    balanced_accuracy: float
    mapping: np.ndarray
    confusion: np.ndarray

    def to_dict(self) -> dict:
        return {"balanced_accuracy": self.balanced_accuracy, "mapping": self.mapping.tolist(),
                "confusion": self.confusion.tolist()}

    @classmethod
    def from_dict(cls, record: Mapping) -> Agreement:
        return cls(float(record["balanced_accuracy"]), np.asarray(record["mapping"], np.int64),
                   np.asarray(record["confusion"], np.int64))


def state_agreement(learned, reference, n_learned: int | None = None,
                    n_reference: int | None = None) -> Agreement:
    """Best-mapping agreement of learned states with reference (e.g. geometric) labels.

    learned, reference: integer arrays of the same shape ((F,) or (F, n)); learned is
    typically chi.argmax(-1). The mapping maximises the balanced accuracy: with
    R[s, c] = P(learned s | reference c), it is the assignment (Hungarian algorithm,
    scipy linear_sum_assignment) of learned states to classes maximising Σ R[s, c], and
    the score is that sum over the number of classes (1 = perfect, 1/k_ref = chance for a
    model that ignores the classes). Classes that never occur are left out of the mean.
    """
    a, b = np.asarray(learned), np.asarray(reference)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"learned {a.shape} and reference {b.shape} labels must have the same, "
                         "non-empty shape")
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        raise ValueError("labels must be integers (use chi.argmax(-1) for learned states)")
    if a.min() < 0 or b.min() < 0:
        raise ValueError("labels must be non-negative")
    kl = int(a.max()) + 1 if n_learned is None else int(n_learned)
    kr = int(b.max()) + 1 if n_reference is None else int(n_reference)
    confusion = np.bincount(a.ravel().astype(np.int64) * kr + b.ravel(),
                            minlength=kl * kr).reshape(kl, kr)
    present = confusion.sum(axis=0) > 0
    recall = np.where(present, confusion / np.maximum(confusion.sum(axis=0), 1), 0.0)
    rows, cols = optimize.linear_sum_assignment(-recall)
    mapping = np.full(kl, -1, dtype=np.int64)
    mapping[rows] = cols
    score = recall[rows, cols].sum() / present.sum()
    return Agreement(float(score), mapping, confusion)


def validation(tr: Transport, *, agreement: Agreement | None = None,
               charges_geometric=None) -> dict:
    """The known-by-construction checks of one electrolyte analysis (validation.json).

    msd_identity_rel_error (within 1 % means the implementation is right),
    msd_koopman_weights_rel_error, the Li diffusion coefficient from the plain MSD against
    the weighted D_ij (with P_ij and with π_i K_ij), in Å²/ps and 10⁻⁷ cm²/s, and, if
    given, the state agreement with geometric labels (`state_agreement`, learned states
    first) and both sets of charges, the geometric ones also in the learned states' order
    under the agreement's mapping.
    """
    a = tr.tmsd.index(tr.tau)
    joint = tr.tmsd.joint[a]
    koop = tr.stationary[:, None] * tr.koopman
    scale = A2_PER_PS_TO_CM2_PER_S / SUPP_TABLE2_UNIT_CM2_PER_S
    out = {
        "tau_ps": tr.tau_ps,
        "msd_identity_rel_error": msd_identity_rel_error(tr.tmsd, tr.tau),
        "msd_koopman_weights_rel_error": msd_koopman_weights_rel_error(
            tr.tmsd, tr.koopman, tr.stationary, tr.tau),
        "msd_at_tau_A2": float(tr.plain_msd[a]),
        "diffusion_li_A2_ps": tr.diffusion_li,
        "diffusion_li_ci_A2_ps": [tr.diffusion_li_low, tr.diffusion_li_high],
        "diffusion_joint_weighted_A2_ps": float(np.nansum(joint * tr.diffusion)),
        "diffusion_koopman_weighted_A2_ps": float(np.nansum(koop * tr.diffusion)),
        "diffusion_li_1e-7_cm2_s": tr.diffusion_li * scale,
        "conductivity_S_cm": tr.conduction.total,
        "conductivity_ci_S_cm": [tr.total_low, tr.total_high],
        "charges_learned_e": tr.charges.tolist(),
    }
    if charges_geometric is not None:
        out["charges_geometric_e"] = np.asarray(charges_geometric, dtype=float).tolist()
    if agreement is not None:
        out["state_agreement"] = agreement.balanced_accuracy
        out["state_mapping"] = agreement.mapping.tolist()
        out["state_confusion"] = agreement.confusion.tolist()
        if charges_geometric is not None:  # the geometric charge of each learned state's class
            geo = np.asarray(charges_geometric, dtype=float)
            out["charges_geometric_of_learned_e"] = [
                float(geo[c]) if c >= 0 else None for c in agreement.mapping]
    return out
