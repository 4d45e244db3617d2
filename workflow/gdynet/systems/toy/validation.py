"""Known answers for the toy system: do the learned states match the geometric sites?

Every frame's Li site type is a geometric fact (`gdynet.systems.toy.sites.label_sites`:
site_type 0 = octahedral, 1 = tetrahedral), so a trained 2-state GDyNet can be checked
against it directly. The Li spends only a few per cent of its time in tetrahedral sites,
so plain accuracy would reward a model that never leaves the octahedral state; the
score here is the balanced accuracy (mean of the per-site-type recalls), which gives
such a model 0.5 and a perfect one 1.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from gdynet.analysis import koopman

OCT, TET = 0, 1
N_SITE_TYPES = 2


def _site_type(site_type, shape, need=(OCT, TET)) -> np.ndarray:
    site = np.asarray(site_type)
    if site.shape != tuple(shape):
        raise ValueError(f"site_type has shape {site.shape} but must match the frames "
                         f"(and targets) of the states, {tuple(shape)}")
    valid = np.issubdtype(site.dtype, np.integer) and np.isin(site, (OCT, TET)).all()
    if not valid:
        raise ValueError("site_type must be integers 0 (octahedral) or 1 (tetrahedral), as "
                         "returned by gdynet.systems.toy.sites.label_sites")
    missing = [name for code, name in ((OCT, "octahedral"), (TET, "tetrahedral"))
               if code in need and not np.any(site == code)]
    if missing:
        raise ValueError(f"no {' or '.join(missing)} frames in site_type, so the learned "
                         "states cannot be compared with them; use a longer test trajectory")
    return site


def balanced_state_agreement(chi_argmax, site_type, n_states: int | None = None
                             ) -> tuple[float, tuple[int, ...]]:
    """Balanced accuracy of the most probable learned state against the geometric site.

    chi_argmax: integer array (F,) or (F, n), the learned state of every frame (and
        target), e.g. chi.argmax(-1). site_type: same shape, 0 = oct, 1 = tet.
    n_states: number of learned states k (default: max(chi_argmax) + 1, at least 2).
    Returns (score, permutation): permutation[s] is the site type (0 oct, 1 tet) that
    learned state s is identified with, and score = mean over site types c of
    recall_c = P(permutation[state] == c | site == c), in [0, 1].

    The state labels a network learns are arbitrary, so the mapping maximises the score.
    Because the score is a sum over states of R[s, c] / 2 with R[s, c] = P(state s |
    site c), the best mapping of each state is chosen independently: c maximising R[s, c]
    (the site type it coincides with most often *relative to that type's frequency*; raw
    counts would send every state to the dominant octahedral type). For k = 2 the two
    permutations are compared directly (the optimum is always a permutation, since a
    mapping of both states to one type scores exactly 0.5); for k > 2 several states may
    share a site type.
    """
    states = np.asarray(chi_argmax)
    if not np.issubdtype(states.dtype, np.integer):
        raise ValueError(f"chi_argmax must be integer state indices (chi.argmax(-1)), got "
                         f"dtype {states.dtype}")
    if states.ndim not in (1, 2) or states.size == 0:
        raise ValueError(f"chi_argmax must be a non-empty (frames,) or (frames, targets) "
                         f"array, got shape {states.shape}")
    site = _site_type(site_type, states.shape)
    k = max(int(states.max()) + 1, 2) if n_states is None else int(n_states)
    if k < 2 or states.min() < 0 or states.max() >= k:
        raise ValueError(f"state indices must lie in 0..{k - 1} with at least 2 states, got "
                         f"range {states.min()}..{states.max()}")
    counts = np.bincount(states.ravel() * N_SITE_TYPES + site.ravel().astype(np.int64),
                         minlength=k * N_SITE_TYPES).reshape(k, N_SITE_TYPES)
    recall = counts / counts.sum(axis=0, keepdims=True)  # R[s, c] = P(state s | site c)
    if k == N_SITE_TYPES:
        best = max(permutations(range(k)),
                   key=lambda perm: sum(recall[s, perm[s]] for s in range(k)))
    else:
        best = tuple(int(c) for c in recall.argmax(axis=1))
    score = sum(recall[s, best[s]] for s in range(k)) / N_SITE_TYPES
    return float(score), tuple(int(c) for c in best)


def oct_state(chi, site_type) -> int:
    """Which learned state is the octahedral one.

    chi: (F, k) or (F, n, k) state probabilities. site_type: (F,) or (F, n), 0 = oct.
    Returns the state whose mean probability over octahedral frames is highest (the
    `oct_state` argument of `gdynet.analysis.koopman.global_from_local`).
    """
    chi = np.asarray(chi, dtype=np.float64)
    if chi.ndim not in (2, 3) or chi.shape[-1] < 2:
        raise ValueError(f"chi must be (frames, states) or (frames, targets, states) with at "
                         f"least 2 states, got shape {chi.shape}")
    site = _site_type(site_type, chi.shape[:-1], need=(OCT,))
    return int(np.argmax(chi[site == OCT].mean(axis=0)))


def validate(chi_pieces, site_type_pieces, site_id_pieces, lag: int, lag_ps: float) -> dict:
    """All toy known-answer checks of one trained 2-state model at lag τ (validation.json).

    chi_pieces: list of (F_s, n, k) test-set state probabilities, one per contiguous piece.
    site_type_pieces, site_id_pieces: matching lists of geometric labels, (F_s,) or
        (F_s, n) (`gdynet.systems.toy.sites.label_sites`: type 0 oct / 1 tet, id 0-3 oct, 4-11 tet).
    lag: τ in frames; lag_ps: the same τ in ps.
    Returns a JSON-ready dict:
        state_agreement, state_permutation   `balanced_state_agreement` of argmax χ
        oct_state                             `oct_state`
        koopman_matrix                        learned K(τ) (k, k)
        timescale_ps                          slowest learned timescale (Eq. 11)
        reference_timescale_ps                the same from the 2-state count model of
                                              the geometric site types (the known answer)
        global_from_local_timescale_ps        Supplementary Note 2 from the learned K
                                              (k = 2 only)
        global_from_local_reference_ps        Supplementary Note 2 from the counted 2x2 K
        global_counted_timescale_ps           slowest timescale of the 12-site count model
                                              of the site ids (what a global model sees)
        tet_fraction                          share of test frames in tet sites
        tet_population_geometric              the same (the known answer of the next two)
        tet_population_learned                stationary population of the learned tet
                                              state, π of K(τ) (k = 2 only)
        tet_population_mean_chi               mean learned tet weight over the same frames
        notes                                 why a value is None (e.g. a site never visited)
    A check that cannot be computed on these data gives None and a note instead of
    failing the whole validation (short quickstart runs may never visit some sites).
    """
    if not (len(chi_pieces) == len(site_type_pieces) == len(site_id_pieces)) or not chi_pieces:
        raise ValueError("chi_pieces, site_type_pieces and site_id_pieces must be non-empty "
                         "lists of equal length (one entry per test piece)")
    chi_pieces = [np.asarray(c) for c in chi_pieces]
    try:
        types = [np.asarray(s).reshape(c.shape[:-1]) for s, c in zip(site_type_pieces, chi_pieces)]
        ids = [np.asarray(s).reshape(c.shape[:-1]) for s, c in zip(site_id_pieces, chi_pieces)]
    except ValueError as err:
        raise ValueError(f"site labels do not match the frames of chi: {err}") from None
    notes: list[str] = []
    out: dict = {"notes": notes}

    def attempt(key, fn):
        try:
            out[key] = fn()
        except ValueError as err:
            out[key] = None
            notes.append(f"{key}: {err}")

    chi_all = np.concatenate([c.reshape(-1, c.shape[-1]) for c in chi_pieces])
    type_all = np.concatenate([t.ravel() for t in types])
    out["tet_fraction"] = float(np.mean(type_all == TET))
    out["state_permutation"] = None
    attempt("state_agreement", lambda: balanced_state_agreement(chi_all.argmax(-1), type_all))
    if out["state_agreement"] is not None:
        out["state_agreement"], out["state_permutation"] = out["state_agreement"]
    attempt("oct_state", lambda: oct_state(chi_all, type_all))
    attempt("koopman_matrix", lambda: koopman.koopman_matrix(chi_pieces, lag))
    K = out["koopman_matrix"]

    def slowest(matrix):
        return float(koopman.implied_timescales(matrix, lag_ps)[0])

    attempt("timescale_ps", lambda: slowest(K) if K is not None else None)
    k_ref = None
    try:
        k_ref = koopman.count_matrix_from_labels(types, lag, N_SITE_TYPES)
    except ValueError as err:
        notes.append(f"reference count model: {err}")
    out["reference_timescale_ps"] = slowest(k_ref) if k_ref is not None else None
    if K is not None and K.shape == (2, 2) and out["oct_state"] is not None:
        attempt("global_from_local_timescale_ps",
                lambda: slowest(koopman.global_from_local(K, out["oct_state"])))
    else:
        out["global_from_local_timescale_ps"] = None
        notes.append("global_from_local_timescale_ps: needs a 2-state model and its oct state")
    attempt("global_from_local_reference_ps",
            lambda: slowest(koopman.global_from_local(k_ref, OCT)) if k_ref is not None else None)
    attempt("global_counted_timescale_ps",
            lambda: slowest(koopman.count_matrix_from_labels(ids, lag, 12)))
    out["tet_population_geometric"] = out["tet_fraction"]
    out["tet_population_learned"] = None
    out["tet_population_mean_chi"] = None
    if K is not None and K.shape == (2, 2) and out["oct_state"] is not None:
        tet = 1 - out["oct_state"]
        attempt("tet_population_learned",
                lambda: float(koopman.stationary_distribution(K)[tet]))
        out["tet_population_mean_chi"] = float(chi_all[:, tet].mean())
    if K is not None:
        out["koopman_matrix"] = K.tolist()
    return out
