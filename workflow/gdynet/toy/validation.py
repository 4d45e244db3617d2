"""Known answers for the toy system: do the learned states match the geometric sites?

Every frame's Li site type is a geometric fact (`gdynet.toy.sites.label_sites`:
site_type 0 = octahedral, 1 = tetrahedral), so a trained 2-state GDyNet can be checked
against it directly. The Li spends only a few per cent of its time in tetrahedral sites,
so plain accuracy would reward a model that never leaves the octahedral state; the
score here is the balanced accuracy (mean of the per-site-type recalls), which gives
such a model 0.5 and a perfect one 1.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

OCT, TET = 0, 1
N_SITE_TYPES = 2


def _site_type(site_type, shape, need=(OCT, TET)) -> np.ndarray:
    site = np.asarray(site_type)
    if site.shape != tuple(shape):
        raise ValueError(f"site_type has shape {site.shape} but must match the frames "
                         f"(and targets) of the states, {tuple(shape)}")
    if not np.issubdtype(site.dtype, np.integer) or (site.size and not np.isin(site, (OCT, TET)).all()):
        raise ValueError("site_type must be integers 0 (octahedral) or 1 (tetrahedral), as "
                         "returned by gdynet.toy.sites.label_sites")
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
    `oct_state` argument of `gdynet.koopman.global_from_local`).
    """
    chi = np.asarray(chi, dtype=np.float64)
    if chi.ndim not in (2, 3) or chi.shape[-1] < 2:
        raise ValueError(f"chi must be (frames, states) or (frames, targets, states) with at "
                         f"least 2 states, got shape {chi.shape}")
    site = _site_type(site_type, chi.shape[:-1], need=(OCT,))
    return int(np.argmax(chi[site == OCT].mean(axis=0)))
