"""Koopman analysis of state probabilities: K(τ), implied timescales, CK test, τ* choice.

Everything here starts from the test-set state probabilities χ that a trained GDyNet
assigns to every target at every frame, given as a list of *segments*: each segment is
an array (F_s, n, k) (F_s frames of one contiguous trajectory piece, n targets, k states;
every row sums to 1). A time-lagged pair (χ_t, χ_{t+τ}) is always taken inside one
segment, never across a segment boundary. Lags are integers in frames; `dt` (ps per
frame) converts them to ps for output.

Paper equations (Xie et al., Nat. Commun. 10, 2667, 2019):

- Eq. 2  χ(x_{t+τ}) ≈ K(τ)^T χ(x_t); estimated here as K = C00⁻¹ C0τ (least squares).
- Eq. 6  Chapman-Kolmogorov test K(nτ) = K(τ)^n.
- Eq. 11 implied timescales t_i(τ) = −τ / ln|λ_i(τ)|.
- Supplementary Note 2: the 12-state global toy model built from the local 2-state one.

The 95 % confidence intervals follow the paper's figure captions: the test data are
split into G independent parts (time chunks, target subsets or trajectories) and the
quantity is estimated on each. The central value is always the estimate from all data
pooled, and the interval is put around it: pooled ± t_{0.975,G-1}·sd/√G, with sd the
spread of the G group estimates (`confidence_interval`). Timescales get this interval on
the log scale (ln t ± t·sd(ln t_g)/√G, mapped back): it is positive and asymmetric like
the uncertainty of −τ/ln|λ|. Probabilities (CK test, populations) are kept in [0, 1].
So the estimate always lies inside its interval and no bound is negative; a test on
Markov chains with analytic timescales checks that the 95 % interval covers the truth
in about 95 % of replicates (tests/test_koopman.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from gdynet import logs

logger = logs.get()

SCHEMES = ("time_chunks", "target_subsets", "segments")
_ROWS_PER_CHUNK = 1 << 18  # (frame, target) rows per matrix product: ~4 MiB for k = 2
_ROW_SUM_TOL = 1e-3


# --------------------------------------------------------------------------- input
def _as_segments(segments) -> list:
    """Accept one (F, n, k) array or a sequence of them; check shapes consistently."""
    if isinstance(segments, np.ndarray) and segments.ndim == 3:
        segments = [segments]
    if isinstance(segments, np.ndarray) or not isinstance(segments, Sequence):
        raise ValueError("segments must be a list of arrays shaped (frames, targets, states) "
                         f"(one per contiguous trajectory piece), got {type(segments).__name__}"
                         + (f" of shape {segments.shape}" if hasattr(segments, "shape") else ""))
    if len(segments) == 0:
        raise ValueError("segments is empty: pass at least one (frames, targets, states) array")
    shapes = []
    for i, seg in enumerate(segments):
        shape = getattr(seg, "shape", None)
        if shape is None or len(shape) != 3:
            raise ValueError(f"segment {i} must be an array shaped (frames, targets, states), "
                             f"got shape {shape}; add a targets axis of length 1 for a "
                             "single target (chi[:, None, :])")
        shapes.append(tuple(shape))
    ks = {s[2] for s in shapes}
    if len(ks) != 1:
        raise ValueError(f"all segments must have the same number of states, got {sorted(ks)}")
    if min(s[1] for s in shapes) < 1 or min(ks) < 1:
        raise ValueError(f"every segment needs >= 1 target and >= 1 state, got shapes {shapes}")
    return list(segments)


def _check_lag(lag) -> int:
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ValueError(f"lag must be a non-negative integer number of frames, got {lag!r}")
    return int(lag)


def _check_chunk(x: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{where} contains NaN or inf state probabilities")
    dev = np.abs(x.sum(axis=-1) - 1.0).max(initial=0.0)
    if dev > _ROW_SUM_TOL:
        raise ValueError(f"{where}: state probabilities must sum to 1 over the states axis "
                         f"(largest deviation {dev:.3g}); pass softmax outputs, not logits, "
                         "with the states on the last axis")


# ------------------------------------------------------------------ estimation
def covariances(segments, lag: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Instantaneous and time-lagged second moments of χ, pooled over targets and segments.

    segments: list of (F_s, n_s, k) arrays (numpy or memory-mapped; read chunk by chunk, so
        segments of ~1e6 frames need no extra memory). A single (F, n, k) array is one
        segment. Segments may differ in frames and targets, not in states.
    lag: τ in frames (>= 0). Pairs (t, t+τ) lie inside one segment; a segment with
        F_s <= τ contributes nothing.
    Returns (c00, c0t, count): c00 = Σ χ_tᵀ χ_t and c0t = Σ χ_tᵀ χ_{t+τ}, both (k, k)
    float64 sums over all targets and all valid t (not divided by count), and count, the
    number of (frame pair, target) terms in the sums.

    The moments are *not* mean-free: K must map state probabilities onto state
    probabilities (Eq. 2), and with non-centred moments K has rows summing to 1 and an
    eigenvalue 1 whose left eigenvector is the stationary state population.
    """
    segments = _as_segments(segments)
    lag = _check_lag(lag)
    k = segments[0].shape[2]
    c00 = np.zeros((k, k))
    c0t = np.zeros((k, k))
    count = 0
    for i, seg in enumerate(segments):
        step = max(1, _ROWS_PER_CHUNK // seg.shape[1])
        n_pairs = seg.shape[0] - lag
        for start in range(0, max(n_pairs, 0), step):
            stop = min(start + step, n_pairs)
            x = np.asarray(seg[start:stop], dtype=np.float64).reshape(-1, k)
            y = np.asarray(seg[start + lag:stop + lag], dtype=np.float64).reshape(-1, k)
            _check_chunk(x, f"segment {i}, frames {start}-{stop}")
            if lag:
                _check_chunk(y, f"segment {i}, frames {start + lag}-{stop + lag}")
            c00 += x.T @ x
            c0t += x.T @ y
            count += x.shape[0]
    if count == 0:
        longest = max(s.shape[0] for s in segments)
        raise ValueError(f"no time-lagged pairs: the lag ({lag} frames) is not shorter than "
                         f"the longest segment ({longest} frames); use a shorter lag")
    return c00, c0t, count


def koopman_matrix(segments, lag: int) -> np.ndarray:
    """Koopman matrix K(τ) = C00⁻¹ C0τ (Eq. 2), shape (k, k).

    segments, lag: as in `covariances`. K is the least-squares solution of
    χ_{t+τ} ≈ Kᵀ χ_t over all pairs. [K]_ij is read as the probability to go from state i
    to state j within τ; for one-hot χ it is exactly the row-normalised transition count
    matrix, and for any χ whose rows sum to 1 the rows of K sum to 1.
    Raises ValueError when C00 is singular (a state that is never populated, or two
    states that are always populated together); then fit fewer states.
    """
    c00, c0t, _ = covariances(segments, lag)
    return _solve(c00, c0t)


def _solve(c00: np.ndarray, c0t: np.ndarray) -> np.ndarray:
    diag = np.diag(c00)
    empty = np.flatnonzero(diag <= 1e-12 * max(diag.sum(), 1e-300))
    if empty.size:
        raise ValueError(f"state(s) {empty.tolist()} are never populated in these data, so "
                         "C00 is singular and K cannot be estimated; use a model with fewer "
                         "states or more data")
    # Condition number of the correlation-normalised C00 (scale-free).
    s = 1.0 / np.sqrt(diag)
    cond = np.linalg.cond(c00 * s[:, None] * s[None, :])
    if not np.isfinite(cond) or cond > 1e12:
        raise ValueError(f"C00 is numerically singular (condition number {cond:.3g}): some "
                         "states are linear combinations of others (e.g. always populated "
                         "together); use a model with fewer states")
    return np.linalg.solve(c00, c0t)


def count_matrix_from_labels(labels_segments, lag: int, n_states: int) -> np.ndarray:
    """Row-normalised transition count matrix of integer state labels, shape (n_states,)*2.

    labels_segments: list of integer arrays (F_s,) or (F_s, n) (n targets); a single array
        is one segment. Pairs (t, t+τ) are counted inside each segment only.
    lag: τ in frames (>= 0). n_states: number of labels (labels lie in 0..n_states-1).
    Equals `koopman_matrix` of the one-hot encoding, but counts directly (no (F, k) float
    array), so it stays cheap for many states. Raises ValueError if a state is never the
    start of a pair (its row would be 0/0).
    """
    lag = _check_lag(lag)
    if isinstance(n_states, bool) or not isinstance(n_states, (int, np.integer)) or n_states < 1:
        raise ValueError(f"n_states must be a positive integer, got {n_states!r}")
    if isinstance(labels_segments, np.ndarray):
        labels_segments = [labels_segments]
    counts = np.zeros(n_states * n_states, dtype=np.int64)
    for i, lab in enumerate(labels_segments):
        lab = np.asarray(lab)
        if lab.ndim not in (1, 2) or not np.issubdtype(lab.dtype, np.integer):
            raise ValueError(f"label segment {i} must be an integer array (frames,) or "
                             f"(frames, targets), got {lab.dtype} of shape {lab.shape}")
        if lab.size and (lab.min() < 0 or lab.max() >= n_states):
            raise ValueError(f"label segment {i} has labels outside 0..{n_states - 1}")
        if lab.shape[0] <= lag:
            continue
        pair = lab[:-lag or None].astype(np.int64) * n_states + lab[lag:]
        counts += np.bincount(pair.ravel(), minlength=n_states * n_states)
    counts = counts.reshape(n_states, n_states).astype(np.float64)
    rows = counts.sum(axis=1)
    if rows.sum() == 0:
        raise ValueError(f"no time-lagged pairs: every label segment is not longer than the "
                         f"lag ({lag} frames)")
    empty = np.flatnonzero(rows == 0)
    if empty.size:
        raise ValueError(f"state(s) {empty.tolist()} never start a time-lagged pair, so their "
                         "transition probabilities are undefined; use fewer states or more data")
    return counts / rows[:, None]


# -------------------------------------------------------------------- spectrum
def _check_matrix(K) -> np.ndarray:
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise ValueError(f"K must be a square (k, k) matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError("K contains NaN or inf")
    return K


def _spectrum(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and left eigenvectors (rows), stationary first, then by |λ| descending.

    The stationary process is the eigenvalue closest to 1 (K has an exact eigenvalue 1
    because its rows sum to 1), not simply the largest |λ|: an estimate from noisy soft
    χ can carry a spurious |λ| slightly above 1, which must then show up as an infinite
    timescale instead of silently replacing the stationary process.
    """
    vals, vecs = np.linalg.eig(K.T)  # right eigenvectors of Kᵀ = left eigenvectors of K
    first = int(np.argmin(np.abs(vals - 1.0)))
    rest = [i for i in np.argsort(-np.abs(vals), kind="stable") if i != first]
    order = [first, *rest]
    return vals[order], vecs[:, order].T


def implied_timescales(K, lag_time: float) -> np.ndarray:
    """Relaxation timescales of a Koopman matrix, Eq. 11: t_i = −τ / ln|λ_i|.

    K: (k, k) Koopman matrix estimated at lag time `lag_time` (any unit, e.g. ps).
    Returns (k-1,) timescales, slowest first, in the unit of `lag_time`. The stationary
    eigenvalue (the one closest to 1) is dropped; the others are sorted by |λ| descending.
    Edge cases, by continuity of −τ/ln|λ|:
      |λ| >= 1 -> inf (the process does not decay at this lag: disconnected states or
                       estimation noise);
      λ == 0   -> 0   (fully decayed within one lag; |λ| <= 1e-12, i.e. round-off, counts
                       as 0).
    Eq. 11 uses |λ|, so a negative or complex λ (which a reversible process cannot
    produce; it signals noise or non-Markovian χ at this lag) gets the timescale of its
    modulus.
    """
    K = _check_matrix(K)
    if not np.isfinite(lag_time) or lag_time <= 0:
        raise ValueError(f"lag_time must be a positive number, got {lag_time!r}")
    mod = np.abs(_spectrum(K)[0][1:])
    mod[mod <= 1e-12] = 0.0
    with np.errstate(divide="ignore"):
        t = -lag_time / np.log(mod)
    t[mod >= 1.0] = np.inf
    return t


def stationary_distribution(K) -> np.ndarray:
    """Stationary state populations π (k,), πᵀK = πᵀ, normalised to sum 1.

    For K from soft χ this is (up to edge effects of finite data) the mean of χ, since
    Kᵀ⟨χ_t⟩ = ⟨χ_{t+τ}⟩ holds exactly for the least-squares K. Entries can be slightly
    negative for soft χ; they are returned as computed.
    """
    K = _check_matrix(K)
    vec = _spectrum(K)[1][0].real
    total = vec.sum()
    if abs(total) < 1e-12 * np.abs(vec).sum():
        raise ValueError("K has no normalisable stationary distribution (the eigenvector of "
                         "eigenvalue ~1 sums to zero); check that the rows of K sum to 1")
    return vec / total


def eigenvectors(K) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and left eigenvectors of K: how each process projects on the states.

    K: (k, k). Returns (eigenvalues (k,), vectors (k, k)); row 0 is the stationary
    process (normalised as `stationary_distribution`), rows 1..k-1 are the relaxation
    processes in the order of `implied_timescales` (row i <-> timescale i-1), as plotted
    in Figs. 3e and 4e. A relaxation eigenvector sums to zero (it is orthogonal to the
    right eigenvector 1): the process moves population from states with negative to
    states with positive entries. Its scale and sign are arbitrary, so each is scaled to
    max |entry| = 1 with its largest-magnitude entry positive.
    Values are returned as real numbers; a complex pair (non-reversible estimate) is
    reported by its real part with a warning in the log.
    """
    K = _check_matrix(K)
    vals, vecs = _spectrum(K)
    if np.abs(vals.imag).max() > 1e-8 or np.abs(vecs.imag).max() > 1e-8:
        logger.warning("K has complex eigenvalues %s; eigenvectors are reported by their real "
                       "part", np.round(vals, 6))
    vals, vecs = vals.real.copy(), vecs.real.copy()
    total = vecs[0].sum()
    vecs[0] = vecs[0] / total if abs(total) > 1e-12 else vecs[0]
    for i in range(1, len(vals)):
        big = np.argmax(np.abs(vecs[i]))
        if vecs[i, big] != 0:
            vecs[i] /= vecs[i, big]
    return vals, vecs


# ------------------------------------------------------- confidence intervals
def ci_groups(segments, scheme: str, n_groups: int = 5, seed: int = 0) -> list[list]:
    """Split the test data into independent groups for the 95 % confidence intervals.

    segments: list of (F_s, n, k) arrays.
    scheme:
      "time_chunks"    every segment is cut into `n_groups` contiguous chunks of equal
                       length (±1 frame); group g pools chunk g of every segment. The
                       toy's "five independent trajectories by dividing the test data
                       equally into chunks" (Fig. 2). Chunks are views, nothing is copied.
      "target_subsets" the n targets are randomly partitioned (`seed`) into `n_groups`
                       subsets of equal size (±1); group g holds every segment restricted
                       to subset g (targets kept in ascending order). Si-Au (Fig. 3:
                       "five sets of Si atoms by randomly dividing the target atoms").
                       Each group is a copy of its targets' columns.
      "segments"       every segment is its own group (`n_groups` is ignored). PEO
                       (Fig. 4: "four independent trajectories in the test data").
    Returns a list of G groups, each a list of segments (same layout as the input).
    Every frame of every target lands in exactly one group.
    """
    segments = _as_segments(segments)
    if scheme not in SCHEMES:
        raise ValueError(f"unknown CI scheme {scheme!r}; use one of {SCHEMES}")
    if scheme == "segments":
        if len(segments) < 2:
            raise ValueError("the 'segments' CI scheme needs at least 2 segments (independent "
                             "trajectories); with one, use 'time_chunks' or 'target_subsets'")
        return [[seg] for seg in segments]
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) or n_groups < 2:
        raise ValueError(f"n_groups must be an integer >= 2 for a confidence interval, "
                         f"got {n_groups!r}")
    if scheme == "time_chunks":
        short = [s.shape[0] for s in segments if s.shape[0] < n_groups]
        if short:
            raise ValueError(f"segments of {short} frames cannot be cut into {n_groups} time "
                             "chunks; use fewer groups or longer segments")
        groups = [[] for _ in range(n_groups)]
        for seg in segments:
            edges = np.linspace(0, seg.shape[0], n_groups + 1).round().astype(int)
            for g in range(n_groups):
                groups[g].append(seg[edges[g]:edges[g + 1]])
        return groups
    n = segments[0].shape[1]
    if any(s.shape[1] != n for s in segments):
        raise ValueError("the 'target_subsets' CI scheme needs the same targets in every "
                         f"segment, got {[s.shape[1] for s in segments]} targets; use "
                         "'time_chunks' or 'segments'")
    if n < n_groups:
        raise ValueError(f"cannot split {n} targets into {n_groups} target subsets; use "
                         "n_groups <= number of targets or the 'time_chunks' scheme")
    perm = np.random.default_rng(seed).permutation(n)
    subsets = [np.sort(part) for part in np.array_split(perm, n_groups)]
    return [[np.asarray(seg[:, idx]) for seg in segments] for idx in subsets]


def confidence_interval(estimates, level: float = 0.95, centre=None, log: bool = False,
                        bounds: tuple[float, float] | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Student-t confidence interval from G independent group estimates.

    estimates: (G, ...) array, one independent estimate per group (NaN rows = groups
        whose estimate failed; they are left out).
    centre: the estimate the interval is put around, shaped like estimates[0] (the one
        from all data pooled); None: the mean of the groups.
    log: build the interval for ln(estimate) and map it back (for positive quantities
        such as timescales: bounds stay positive, the interval is asymmetric).
    bounds: (low, high) limits of the quantity (e.g. (0, 1) for probabilities); the
        interval is clipped to them.
    Returns (low, high), each shaped like estimates[0]:
        centre ± t_{(1+level)/2, G-1} · sd / √G   (on the log scale when `log`),
        sd the standard deviation (ddof = 1) of the G group estimates.
    NaN where fewer than 2 groups give a finite value for that entry (an infinite
    estimate, e.g. a timescale of a non-decaying process, makes that entry NaN), or
    where the centre is not finite (or, with `log`, not positive).

    Why Student t: the G = 4-5 groups are treated as independent replicates whose
    estimates are approximately normal (each pools many transitions), and with so few
    replicates the sample sd is itself uncertain; the pivot then follows a t distribution
    with G − 1 degrees of freedom (t_{0.975,4} = 2.78, t_{0.975,3} = 3.18, not 1.96).
    Each group holds 1/G of the data, so sd/√G estimates the standard error of the
    estimate from all data; centred on the pooled estimate the interval always contains
    it (the group mean of a nonlinear estimator such as a timescale is biased on short
    groups, and can lie outside an interval around itself).
    """
    est = np.asarray(estimates, dtype=np.float64)
    if est.ndim < 1 or est.shape[0] == 0 or not 0 < level < 1:
        raise ValueError("estimates must be a non-empty array (G, ...) and level in (0, 1)")
    failed = np.all(np.isnan(est.reshape(est.shape[0], -1)), axis=1)  # whole group failed
    est = est[~failed]
    g = est.shape[0]
    if g < 2:
        nan = np.full(est.shape[1:], np.nan)
        return nan, nan.copy()
    c = None if centre is None else np.broadcast_to(np.asarray(centre, dtype=np.float64),
                                                    est.shape[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        if log:
            est = np.where(est > 0, np.log(np.where(est > 0, est, 1.0)), np.nan)
            est[np.isinf(est)] = np.nan
            if c is not None:
                c = np.where(c > 0, np.log(np.where(c > 0, c, 1.0)), np.nan)
    ok = np.isfinite(est).all(axis=0)
    safe = np.where(ok, est, 0.0)  # keeps inf - inf warnings out; masked below
    half = stats.t.ppf(0.5 + level / 2, g - 1) * safe.std(axis=0, ddof=1) / np.sqrt(g)
    mid = safe.mean(axis=0) if c is None else c
    ok = ok & np.isfinite(mid)
    low, high = mid - half, mid + half
    if log:
        with np.errstate(over="ignore"):
            low, high = np.exp(low), np.exp(high)
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    if c is not None:  # a centre outside the bounds (noise) still lies in its interval
        centre_value = np.exp(mid) if log else mid
        low, high = np.minimum(low, centre_value), np.maximum(high, centre_value)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def _group_estimates(groups, estimate, shape) -> np.ndarray:
    """Apply `estimate` to every group; a group that fails (ValueError) gives NaNs."""
    out = np.full((len(groups), *shape), np.nan)
    for g, group in enumerate(groups):
        try:
            out[g] = estimate(group)
        except ValueError as err:
            logger.warning("CI group %d left out: %s", g, err)
    return out


def _groups_or_none(segments, scheme, n_groups, seed):
    return None if scheme is None else ci_groups(segments, scheme, n_groups, seed)


# ------------------------------------------------------------------ timescales
def timescales_vs_lag(segments, lags, dt: float, scheme: str | None = "time_chunks",
                      n_groups: int = 5, seed: int = 0) -> pd.DataFrame:
    """Implied timescales (Eq. 11) over a grid of lag times, with 95 % CIs (Figs. 2b, 3d, 4d).

    segments: list of (F_s, n, k) state probabilities. lags: lag times in frames (ints).
    dt: frame interval in ps. scheme, n_groups, seed: CI groups (`ci_groups`); None gives
        no CI (NaN columns).
    Returns a DataFrame with one row per (lag, process):
        lag_ps, process (1..k-1, 1 = slowest), timescale_ps (from all data pooled),
        ci_low_ps, ci_high_ps (95 % CI around it on the log scale from the spread of the
        group estimates, `confidence_interval`).
    Processes are matched across groups by rank (i-th slowest with i-th slowest).
    """
    segments = _as_segments(segments)
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive frame interval in ps, got {dt!r}")
    lags = [_check_lag(lag) for lag in np.atleast_1d(lags).tolist()]
    if not lags or min(lags) < 1:
        raise ValueError(f"lags must be a non-empty list of positive frame counts, got {lags}")
    k = segments[0].shape[2]
    groups = _groups_or_none(segments, scheme, n_groups, seed)
    rows = []
    for lag in lags:
        tau = lag * dt
        pooled = implied_timescales(koopman_matrix(segments, lag), tau)
        if groups is None:
            low = high = np.full(k - 1, np.nan)
        else:
            est = _group_estimates(
                groups, lambda grp: implied_timescales(koopman_matrix(grp, lag), tau), (k - 1,))
            low, high = confidence_interval(est, centre=pooled, log=True)
        logger.info("lag %g ps: timescales %s ps", tau, np.round(pooled, 4).tolist())
        for i in range(k - 1):
            rows.append((tau, i + 1, pooled[i], low[i], high[i]))
    return pd.DataFrame(rows, columns=["lag_ps", "process", "timescale_ps",
                                       "ci_low_ps", "ci_high_ps"])


# ---------------------------------------------------------------- populations
def populations(segments, lag: int, scheme: str | None = "time_chunks", n_groups: int = 5,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stationary state populations π of K(τ) with their 95 % CI (fractions, sum 1).

    segments, lag: as in `koopman_matrix`; scheme, n_groups, seed: CI groups as in
    `timescales_vs_lag` (None: NaN bounds).
    Returns (pi, low, high), each (k,): π from all data pooled, and its interval
    (`confidence_interval` of the group estimates, kept inside [0, 1]).
    """
    segments = _as_segments(segments)
    lag = _check_lag(lag)
    k = segments[0].shape[2]
    pi = stationary_distribution(koopman_matrix(segments, lag))
    groups = _groups_or_none(segments, scheme, n_groups, seed)
    if groups is None:
        return pi, np.full(k, np.nan), np.full(k, np.nan)
    est = _group_estimates(groups, lambda g: stationary_distribution(koopman_matrix(g, lag)), (k,))
    low, high = confidence_interval(est, centre=pi, bounds=(0.0, 1.0))
    return pi, low, high


def summary_table(tau_star_ps: float, fallback: bool, timescales: pd.DataFrame, pi, pi_low,
                  pi_high, metrics: pd.DataFrame) -> pd.DataFrame:
    """One model's headline numbers at τ* as a long table (summary.csv).

    tau_star_ps, fallback: the τ* choice (`select_tau`); timescales: the
    `timescales_vs_lag` table of the model trained at τ*; pi, pi_low, pi_high:
    `populations` at τ*; metrics: its training table (epoch, train_vamp2, val_vamp2).
    Returns columns quantity, index, value, ci_low, ci_high, unit: τ* (ps), one row per
    relaxation process (ps), one per state population (%), the best validation VAMP-2
    and the training VAMP-2 of the same epoch.
    """
    rows = [("tau_star", 0, tau_star_ps, np.nan, np.nan, "ps"),
            ("tau_star_is_fallback", 0, float(bool(fallback)), np.nan, np.nan, "")]
    at = timescales[np.isclose(timescales["lag_ps"], tau_star_ps, rtol=1e-6, atol=0)]
    for r in at.sort_values("process").itertuples():
        rows.append(("timescale", int(r.process), r.timescale_ps, r.ci_low_ps, r.ci_high_ps, "ps"))
    for j, (p, lo, hi) in enumerate(zip(pi, pi_low, pi_high)):
        rows.append(("population", j, 100 * p, 100 * lo, 100 * hi, "%"))
    if len(metrics):
        best = metrics.loc[metrics["val_vamp2"].idxmax()]
        rows.append(("val_vamp2_best", int(best["epoch"]), best["val_vamp2"], np.nan, np.nan, ""))
        rows.append(("train_vamp2_at_best", int(best["epoch"]), best["train_vamp2"], np.nan,
                     np.nan, ""))
    return pd.DataFrame(rows, columns=["quantity", "index", "value", "ci_low", "ci_high", "unit"])


# -------------------------------------------------------------------- CK test
def ck_test(segments, lag: int, n_steps: int, dt: float, scheme: str | None = "time_chunks",
            n_groups: int = 5, seed: int = 0) -> pd.DataFrame:
    """Chapman-Kolmogorov test (Eq. 6): K(τ)^n predicted vs K(nτ) estimated, n = 0..n_steps.

    segments: list of (F_s, n, k). lag: τ in frames. n_steps: largest n (>= 1).
    dt: ps per frame. scheme, n_groups, seed: CI groups as in `timescales_vs_lag`.
    Returns a long DataFrame, one row per (step, from_state, to_state):
        step n, time_ps = n·τ·dt, from_state i, to_state j,
        predicted  [K(τ)^n]_ij from pooled data, pred_low/pred_high its 95 % CI from the
                   groups' own K(τ)^n,
        estimated  [K(nτ)]_ij from pooled data, est_low/est_high its 95 % CI.
    Step 0 is the identity for both (the starting condition of the plot).
    """
    segments = _as_segments(segments)
    lag = _check_lag(lag)
    if lag < 1:
        raise ValueError("the CK test needs a lag of at least 1 frame")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    if not np.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a positive frame interval in ps, got {dt!r}")
    longest = max(s.shape[0] for s in segments)
    if n_steps * lag >= longest:
        raise ValueError(f"the CK test's longest lag ({n_steps} x {lag} frames) is not shorter "
                         f"than the longest segment ({longest} frames); reduce n_steps")
    k = segments[0].shape[2]
    groups = _groups_or_none(segments, scheme, n_groups, seed)
    k_tau = koopman_matrix(segments, lag)
    k_tau_groups = None if groups is None else _group_estimates(
        groups, lambda grp: koopman_matrix(grp, lag), (k, k))
    nan = np.full((k, k), np.nan)
    rows = []
    for step in range(n_steps + 1):
        if step == 0:
            pred = est = np.eye(k)
            pl = ph = el = eh = np.eye(k)
        else:
            pred = np.linalg.matrix_power(k_tau, step)
            est = koopman_matrix(segments, step * lag)
            if groups is None:
                pl = ph = el = eh = nan
            else:
                pl, ph = confidence_interval(
                    [np.linalg.matrix_power(m, step) if np.isfinite(m).all() else nan
                     for m in k_tau_groups], centre=pred, bounds=(0.0, 1.0))
                el, eh = confidence_interval(_group_estimates(
                    groups, lambda grp: koopman_matrix(grp, step * lag), (k, k)),
                    centre=est, bounds=(0.0, 1.0))
        for i in range(k):
            for j in range(k):
                rows.append((step, step * lag * dt, i, j, pred[i, j], pl[i, j], ph[i, j],
                             est[i, j], el[i, j], eh[i, j]))
    logger.info("CK test at lag %g ps: %d steps done", lag * dt, n_steps)
    return pd.DataFrame(rows, columns=["step", "time_ps", "from_state", "to_state",
                                       "predicted", "pred_low", "pred_high",
                                       "estimated", "est_low", "est_high"])


def ck_passes(df: pd.DataFrame, tol: float = 0.05) -> bool:
    """Whether a CK test (`ck_test` output) holds within statistical uncertainty.

    Criterion: for every step >= 1 and every (i, j), the predicted [K(τ)^n]_ij lies inside
    the estimate's 95 % CI [est_low, est_high] widened by `tol` on both sides; where that
    CI is NaN (no CI scheme, or too few groups), |predicted − estimated| <= tol instead.
    The absolute tolerance (default 0.05, in probability units) stops a test that has a
    very narrow CI from failing on deviations too small to see in the plot, and keeps
    the decision meaningful when the estimate's CI collapses (e.g. a probability of 1).
    """
    need = {"step", "predicted", "estimated", "est_low", "est_high"}
    if missing := need - set(df.columns):
        raise ValueError(f"CK table lacks columns {sorted(missing)}; pass the ck_test output")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}")
    d = df[df["step"] >= 1]
    if d.empty:
        raise ValueError("the CK table has no step >= 1")
    pred, est = d["predicted"].to_numpy(), d["estimated"].to_numpy()
    low, high = d["est_low"].to_numpy(), d["est_high"].to_numpy()
    has_ci = np.isfinite(low) & np.isfinite(high)
    inside = np.where(has_ci, (pred >= low - tol) & (pred <= high + tol),
                      np.abs(pred - est) <= tol)
    return bool(np.all(inside))


# -------------------------------------------------------------- τ* selection
def select_tau(candidates, override_ps: float | None = None, rel_tol: float = 0.1,
               window: float = 5.0) -> dict:
    """Choose the model lag τ* automatically (paper: "the smallest τ that fulfills the CK
    equation within statistical uncertainty", with timescales constant for τ > τ*).

    candidates: list of records, one per trained lag τ_m, each a dict with
        "tau_ps"     τ_m in ps,
        "timescales" the `timescales_vs_lag` table of the model trained at τ_m,
        "ck_pass"    bool, its `ck_passes` result at τ_m.
    override_ps: a τ* from the config; returned with reason "set in config" (it must be
        one of the trained lags when candidates are given).
    rel_tol: relative change of the slowest timescale accepted as "constant" (0.1 = 10 %).
    window: the plateau is judged over lags τ_m < L <= window · τ_m (default 5).

    Rule. Let t0 be the slowest timescale (process 1) at lag τ_m on τ_m's own curve.
    τ_m has a *plateau* if at every lag L of its window
        ci_low(L) <= t0 <= ci_high(L)      (t0 is within the uncertainty at L), or
        |t(L) − t0| <= rel_tol · t0        (the change is too small to matter);
    lags whose timescale is NaN are skipped and an infinite one breaks the plateau. The
    window (τ_m … 5 τ_m), not "every larger lag", keeps the decision from hinging on where
    the lag grid ends: a timescale that drifts slowly over a long grid (as timescales of
    soft states do) is judged where it matters. Comparing every lag of the window with
    t0 (not neighbours with each other) keeps a drift from passing step by step; the CI
    keeps noisy points from failing spuriously; the relative tolerance keeps huge data
    sets, whose intervals are tiny, from demanding an exactly flat curve. When no lag of
    the curve lies above τ_m (the largest trained lag at the end of the grid), the window
    is taken below instead, τ_m / window <= L < τ_m: the curve must have levelled off on
    arriving at τ_m ("judged": "below" in the evidence).
    τ* is the smallest τ_m with a plateau and a passing CK test. If none qualifies, τ* is
    the largest τ_m (the most Markovian choice available), "fallback" is true and the
    reason says so.
    Returns {"tau_star_ps", "reason", "fallback", "evidence": [{"tau_ps",
    "slowest_timescale_ps", "plateau", "ck_pass", "max_rel_change", "window_ps",
    "judged"}, ...]} with evidence sorted by τ_m.
    """
    if not isinstance(candidates, Sequence):
        raise ValueError("candidates must be a list of records {tau_ps, timescales, ck_pass}")
    if not np.isfinite(rel_tol) or rel_tol < 0:
        raise ValueError(f"rel_tol must be a non-negative number, got {rel_tol!r}")
    if not np.isfinite(window) or window <= 1:
        raise ValueError(f"window must be a number > 1 (a multiple of τ), got {window!r}")
    evidence = sorted((_tau_evidence(c, rel_tol, window) for c in candidates),
                      key=lambda e: e["tau_ps"])
    taus = [e["tau_ps"] for e in evidence]
    if len(set(taus)) != len(taus):
        raise ValueError(f"trained lags appear more than once: {taus}; pass one record per lag "
                         "(e.g. the best seed)")
    if override_ps is not None:
        override_ps = float(override_ps)
        if taus and not np.any(np.isclose(taus, override_ps, rtol=1e-6, atol=0)):
            raise ValueError(f"the configured tau* = {override_ps} ps is not among the trained "
                             f"lags {taus} ps; add it to the lag list or change the override")
        return {"tau_star_ps": override_ps, "reason": "set in config", "fallback": False,
                "evidence": evidence}
    if not evidence:
        raise ValueError("no candidate lags to choose tau* from; train at least one model or "
                         "set tau* in the config")
    for e in evidence:
        if e["plateau"] and e["ck_pass"]:
            return {"tau_star_ps": e["tau_ps"], "evidence": evidence, "fallback": False,
                    "reason": (f"smallest trained lag whose slowest implied timescale "
                               f"({e['slowest_timescale_ps']:.4g} ps) stays within the 95 % CI "
                               f"or within {rel_tol:.0%} over lags {e['window_ps'][0]:g}-"
                               f"{e['window_ps'][1]:g} ps, and that passes the CK test")}
    last = evidence[-1]
    return {"tau_star_ps": last["tau_ps"], "evidence": evidence, "fallback": True,
            "reason": ("no trained lag has both a timescale plateau and a passing CK test; "
                       f"using the largest trained lag ({last['tau_ps']:.4g} ps) as the most "
                       "Markovian choice available. Inspect the timescale and CK figures "
                       "(results/<system>/figures/), train at larger lags, or set tau* in "
                       "the config")}


def _tau_evidence(record, rel_tol: float, window: float) -> dict:
    try:
        tau = float(record["tau_ps"])
        df = record["timescales"]
        ck = bool(record["ck_pass"])
    except (KeyError, TypeError) as err:
        raise ValueError("each candidate must be a dict with keys 'tau_ps', 'timescales' "
                         f"(DataFrame) and 'ck_pass' (bool); problem: {err!r}") from None
    need = {"lag_ps", "process", "timescale_ps", "ci_low_ps", "ci_high_ps"}
    if not isinstance(df, pd.DataFrame) or need - set(df.columns):
        raise ValueError(f"the timescale table for tau = {tau} ps must be a DataFrame with "
                         f"columns {sorted(need)} (timescales_vs_lag output)")
    curve = df[df["process"] == 1].sort_values("lag_ps")
    lags = curve["lag_ps"].to_numpy(dtype=float)
    at = np.flatnonzero(np.isclose(lags, tau, rtol=1e-6, atol=0))
    if at.size != 1:
        raise ValueError(f"the timescale table of the model trained at tau = {tau} ps has "
                         f"{'no' if at.size == 0 else 'more than one'} row at lag {tau} ps "
                         "(process 1); include the training lag once in its lag grid")
    t = curve["timescale_ps"].to_numpy(dtype=float)
    low = curve["ci_low_ps"].to_numpy(dtype=float)
    high = curve["ci_high_ps"].to_numpy(dtype=float)
    t0 = t[at[0]]
    eps = 1e-6
    above = np.flatnonzero((lags > tau * (1 + eps)) & (lags <= window * tau * (1 + eps)))
    judged, span = "above", (tau, window * tau)
    if not np.any(lags > tau * (1 + eps)):  # the end of the grid: judge the arrival
        above = np.flatnonzero((lags < tau * (1 - eps)) & (lags >= tau / window * (1 - eps)))
        judged, span = "below", (tau / window, tau)
    later = above[~np.isnan(t[above])]
    plateau = bool(np.isfinite(t0) and t0 > 0 and later.size > 0)
    max_rel = float("nan")
    if plateau:
        rel = np.abs(t[later] - t0) / t0
        in_ci = (low[later] <= t0) & (t0 <= high[later])  # False where the CI is NaN
        ok = np.isfinite(t[later]) & (in_ci | (rel <= rel_tol))
        plateau = bool(ok.all())
        max_rel = float(rel.max())
    return {"tau_ps": tau, "slowest_timescale_ps": float(t0), "plateau": plateau,
            "ck_pass": ck, "max_rel_change": max_rel, "window_ps": [float(span[0]), float(span[1])],
            "judged": judged}


# ---------------------------------------------------------- toy: global model
def global_from_local(K_local, oct_state: int) -> np.ndarray:
    """12-state global toy model from the local 2-state one (Supplementary Note 2).

    K_local: (2, 2) Koopman matrix [[p_o, 1-p_o], [1-p_t, p_t]] of the learned states at
        lag τ (rows sum to 1). oct_state: which row/column (0 or 1) is the octahedral
        state (`gdynet.systems.toy.validation.oct_state`).
    Returns K_global (12, 12), states 0-3 = the 4 octahedral and 4-11 = the 8 tetrahedral
    sites of the FCC unit cell (same order as gdynet.systems.toy.sites):
        oct -> same oct p_o, oct -> each tet (1-p_o)/8,
        tet -> same tet p_t, tet -> each oct (1-p_t)/4, all other entries 0.
    In the periodic unit cell every oct site touches all 8 tet sites (faces shared with
    its 8 tetrahedra) and every tet site all 4 oct sites, hence the uniform split. (The
    printed matrix in the Supplementary has nine (1-p_o)/8 columns in the oct rows, a
    typo: eight make the rows sum to 1.) Hops to another site of the same type within τ
    are neglected, as in the paper.
    Eigenvalues: 1, p_o + p_t − 1 (the local process), p_o (×3, oct-oct redistribution)
    and p_t (×7); `implied_timescales(K_global, τ)[0]` is the "global from local" timescale.

    Caveat: p_o and p_t are read as staying probabilities, which is what K's diagonal
    means for (nearly) crisp χ. For fuzzy χ = crisp @ M, K = M⁻¹ P M keeps its trace and
    hence the local timescale, but its diagonal is not P's, so the global timescale
    (set by p_o alone) is off; check that χ is close to one-hot (or use the K counted
    from argmax χ) before trusting it.
    """
    K = _check_matrix(K_local)
    if K.shape != (2, 2):
        raise ValueError(f"K_local must be 2x2, got shape {K.shape}")
    if oct_state not in (0, 1):
        raise ValueError(f"oct_state must be 0 or 1, got {oct_state!r}")
    tet_state = 1 - oct_state
    p_o, p_t = K[oct_state, oct_state], K[tet_state, tet_state]
    if not np.allclose(K.sum(axis=1), 1.0, atol=1e-6):
        raise ValueError(f"rows of K_local must sum to 1, got {K.sum(axis=1)}")
    if not (0 <= p_o <= 1 and 0 <= p_t <= 1):
        raise ValueError(f"K_local must be a stochastic matrix (entries in [0, 1]); got "
                         f"p_o = {p_o:.4g}, p_t = {p_t:.4g}")
    G = np.zeros((12, 12))
    G[:4, :4] = p_o * np.eye(4)
    G[:4, 4:] = (1 - p_o) / 8
    G[4:, :4] = (1 - p_t) / 4
    G[4:, 4:] = p_t * np.eye(8)
    return G
