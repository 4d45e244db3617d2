"""Geometric solvation states of Li: the known answer the learned states are held to.

Every frame, each Li's first shell is a geometric fact: how many anion centres (N) lie
within the shell cutoff, and whether the polymer reaches in with ether oxygens (O) or with
a chain end (E, the hydroxyl H of the paper). Four classes follow, numbered like the
paper's learned states (Fig. 4b):

==  =====================  ===============================================  ===========
#   name                   shell                                            paper state
==  =====================  ===============================================  ===========
0   anion + ether O        exactly one anion, no chain end                  0 (PEO + TFSI)
1   anion + chain end      exactly one anion and at least one chain end     1 (OH + TFSI)
2   anions                 two or more anions                               2 (TFSI only)
3   polymer only           no anion                                         3 (PEO only)
==  =====================  ===============================================  ===========

A Li with one anion and no polymer at all counts as class 0 (it is rare: the wells hold Li
on the chains). The cutoff, 1.35 σ = 5.4 Å, is the first minimum of the Li–N and Li–O RDFs
of the analog (ANALOGS.md). Because the analog maps its beads onto the paper's elements, the
same labels can be computed for the paper's PEO/LiTFSI (with the hydroxyl H as chain end).
One-hot labels (`one_hot`) are a crisp χ, so the Supp. Note 3 code applies to them unchanged.
"""

from __future__ import annotations

import numpy as np

from gdynet.analysis.rdf import DEFAULT_CHUNK_BYTES, neighbour_counts

ANION_ETHER, ANION_END, ANIONS, POLYMER = 0, 1, 2, 3
STATE_NAMES = ("anion + ether O", "anion + chain end", "anions", "polymer only")
N_STATES = len(STATE_NAMES)
# 1.35 σ with the analog's σ = 4 Å (simulate.SIGMA_A; not imported here, so that the
# labels need no LAMMPS)
SHELL_CUTOFF_A = 1.35 * 4.0


def classify(n_anion, n_end) -> np.ndarray:
    """Class (int8, the table above) from the number of anions and of chain ends in a shell."""
    n_anion, n_end = np.asarray(n_anion), np.asarray(n_end)
    labels = np.where(n_anion >= 2, ANIONS,
                      np.where(n_anion == 1, np.where(n_end > 0, ANION_END, ANION_ETHER),
                               POLYMER))
    return labels.astype(np.int8)


def solvation_states(coords, lattices, atom_types, target_index, *,
                     cutoff_A: float = SHELL_CUTOFF_A, anion: int = 7, ether: int = 8,
                     end: int = 1, max_chunk_bytes: float = DEFAULT_CHUNK_BYTES
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Geometric state of every target Li at every frame.

    coords (F, N, 3) Å (memory-mapped is fine; read in chunks), lattices (F, 3, 3) Å,
    atom_types (N,) atomic numbers, target_index (n,) the Li. anion, ether, end: atomic
    numbers of the anion centre, the ether oxygen and the chain end (7, 8, 1).
    Returns (labels (F, n) int8 in 0..3, see the module table; counts (F, n, 3) int32 of
    anions, ether O and chain ends within cutoff_A).
    """
    counts = neighbour_counts(coords, lattices, atom_types, target_index, [anion, ether, end],
                              cutoff_A, max_chunk_bytes=max_chunk_bytes)
    return classify(counts[..., 0], counts[..., 2]), counts


def one_hot(labels, n_states: int = N_STATES) -> np.ndarray:
    """Crisp state probabilities (..., n_states) float32 from integer labels (...)."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_states):
        raise ValueError(f"labels must lie in 0..{n_states - 1}, got {labels.min()}..{labels.max()}")
    return np.eye(n_states, dtype=np.float32)[labels]


def lifetimes(labels, min_frames: int = 1) -> np.ndarray:
    """Lengths (frames) of the uninterrupted stays of each target in one state.

    labels (F, n). Stays cut by the start or end of the trajectory are left out. A stay
    shorter than min_frames is merged into the surrounding ones (it is not counted as a
    change), so that brief excursions do not shorten the lifetimes.
    """
    labels = np.asarray(labels)
    out = []
    for col in labels.reshape(labels.shape[0], -1).T:
        change = np.flatnonzero(np.diff(col)) + 1
        bounds = np.r_[0, change, len(col)]
        runs = np.diff(bounds)
        states = col[bounds[:-1]]
        if min_frames > 1:
            keep = runs >= min_frames
            if not keep.any():
                continue
            states, runs = _merge_short(states, runs, keep)
        if len(runs) > 2:
            out.append(runs[1:-1])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _merge_short(states, runs, keep):
    """Give each short run to the preceding long one (the first ones to the next)."""
    merged_states, merged_runs = [], []
    pending = 0
    for s, r, k in zip(states, runs, keep):
        if not k:
            if merged_runs:
                merged_runs[-1] += r
            else:
                pending += r
            continue
        if merged_states and merged_states[-1] == s:
            merged_runs[-1] += r
        else:
            merged_states.append(s)
            merged_runs.append(r + pending)
            pending = 0
    return np.array(merged_states), np.array(merged_runs)
