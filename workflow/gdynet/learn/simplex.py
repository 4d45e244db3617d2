"""Map learned soft states onto the corners of the probability simplex.

The VAMP-2 score is invariant under invertible affine maps of the features, so a
network trained on it has no reason to make its softmax outputs crisp: two metastable
states may come out as P(state 0) = 0.70 and 0.90 rather than 0 and 1. The timescales
do not care, but populations, state-weighted averages and an argmax labelling do.

We therefore find one corner per state and map the corners linearly onto the unit
vectors. The corners are the centres of the states, not their most extreme points: the
inner simplex algorithm of PCCA+ (Weber & Galliat 2002) picks single extreme frames,
which in learned states are outliers (a frame caught mid-hop, a rare environment), and
mapping an outlier onto a unit vector leaves every typical frame of that state fuzzy
(0.96 / 0.04 instead of 1 / 0), which biases the populations by a factor 2-4. So the
extreme points only start k-means (`centres`), and each corner is the mean of the
densest half of its cluster (the points nearest its centre).
Because every row of χ sums to one and so does every vertex, the map keeps rows
summing to one, and the Koopman matrix transforms by a similarity, K' = A⁻¹ K A:
eigenvalues and implied timescales are unchanged, and the populations (the mean of χ,
the stationary vector of K) map linearly too.

The map is not clipped to [0, 1]: a frame that the network places a little beyond its
state's centre gets, e.g., 1.01 / -0.01. Clipping would move population: the noise of
the frames of a large state around its centre is cut on one side only, which adds
about 0.4 · noise / (distance of the centres) of the large state to the small one; at a
1 % state (the toy's tet site) that is a large relative error. Linear weights keep every
state-weighted average (populations, RDFs, z-profiles) unbiased.
"""

from __future__ import annotations

import numpy as np

from gdynet import logs


def vertices(chi: np.ndarray) -> np.ndarray:
    """The k extreme points of a cloud of soft states, (T, k) -> (k, k), one vertex per row.

    Greedy inner simplex algorithm: the point farthest from the centre, then repeatedly
    the point farthest from the affine hull of the vertices found so far.
    """
    chi = np.asarray(chi, dtype=np.float64)
    if chi.ndim != 2 or chi.shape[0] < chi.shape[1]:
        raise ValueError(f"need (T, k) soft states with T >= k, got shape {chi.shape}")
    k = chi.shape[1]
    x = chi[:, :-1]  # rows sum to 1: the last column is redundant
    chosen = [int(np.argmax(np.linalg.norm(x - x.mean(axis=0), axis=1)))]
    for _ in range(1, k):
        rel = x - x[chosen[0]]
        if len(chosen) > 1:
            basis, _ = np.linalg.qr((x[chosen[1:]] - x[chosen[0]]).T)
            rel = rel - rel @ basis @ basis.T
        chosen.append(int(np.argmax(np.linalg.norm(rel, axis=1))))
    corners = chi[chosen]
    if abs(np.linalg.det(corners)) < 1e-9:
        raise ValueError("the learned states do not span a simplex (the model collapsed "
                         "two or more states); train longer or with fewer states")
    return corners


def centres(chi: np.ndarray, start: np.ndarray | None = None, n_iter: int = 100,
            core: float = 0.5) -> np.ndarray:
    """The centres of the k densest regions of a cloud of soft states, (T, k) -> (k, k).

    k-means (Lloyd) on the rows of χ, started from `start` (default: the extreme points,
    `vertices`, so that every state starts in its own region), then each corner is the
    mean of the fraction `core` of its cluster's points nearest the cluster mean. A
    cluster that empties keeps its previous centre. Rows of the result sum to 1.
    """
    chi = np.asarray(chi, dtype=np.float64)
    c = vertices(chi) if start is None else np.asarray(start, dtype=np.float64).copy()
    k = c.shape[0]
    if not 0 < core <= 1:
        raise ValueError(f"core must lie in (0, 1], got {core!r}")

    def assign(c):
        d = (chi**2).sum(1)[:, None] - 2 * chi @ c.T + (c**2).sum(1)[None, :]
        return d.argmin(axis=1), d

    label = None
    for _ in range(n_iter):
        new_label, _ = assign(c)
        if label is not None and np.array_equal(new_label, label):
            break
        label = new_label
        for j in range(k):
            members = chi[label == j]
            if len(members):
                c[j] = members.mean(axis=0)
    label, d = assign(c)
    out = c.copy()
    for j in range(k):
        idx = np.flatnonzero(label == j)
        if idx.size:
            near = idx[np.argsort(d[idx, j], kind="stable")[:max(1, int(np.ceil(core * idx.size)))]]
            out[j] = chi[near].mean(axis=0)
    return out


def to_simplex(chi: np.ndarray, corners: np.ndarray, clip: bool = False) -> np.ndarray:
    """Map soft states (..., k) so that `corners` (k, k) land on the unit vectors.

    Returns float32 state weights, rows summing to one. Linear (see the module notes):
    points outside the simplex of the corners get entries slightly below 0 or above 1;
    `clip=True` clips them to [0, 1] (biased populations, only for display).
    """
    mapped = np.asarray(chi, dtype=np.float64) @ np.linalg.inv(corners)
    if clip:
        mapped = np.clip(mapped, 0.0, None)
    return (mapped / mapped.sum(axis=-1, keepdims=True)).astype(np.float32)


def probabilities(chi) -> np.ndarray:
    """State weights as probabilities: entries below 0 set to 0, rows renormalised to 1.

    The linear map of `to_simplex` leaves frames beyond their state's centre slightly
    outside [0, 1]. Koopman matrices and populations want exactly that (clipping biases a
    small state upwards), but state-resolved averages divide by a state's total weight
    (E[d² | i→j], weighted RDFs and profiles), and near-zero weights of either sign make
    them blow up; with non-negative weights each stays a convex average. (..., k) ->
    float32 (..., k).
    """
    return to_simplex(chi, np.eye(np.shape(chi)[-1]), clip=True)


def order_by_population(corners: np.ndarray, chi: np.ndarray) -> np.ndarray:
    """Reorder the corners so that state 0 is the most populated one in `chi` (T, k)."""
    population = to_simplex(chi, corners).mean(axis=0)
    return corners[np.argsort(-population, kind="stable")]


def corners(chi: np.ndarray) -> np.ndarray:
    """The simplex corners of learned states (T, k): the state centres (`centres`), most
    populated state first.

    If the states do not span a simplex (a collapsed model), warn and return the
    identity: the states are then used as the network gives them.
    """
    try:
        found = centres(chi)
        if abs(np.linalg.det(found)) < 1e-9:
            raise ValueError("the centres of the learned states do not span a simplex (the "
                             "model collapsed two or more states); train longer or with fewer "
                             "states")
    except ValueError as err:
        logs.get().warning("%s; keeping the states as learned", err)
        return np.eye(np.asarray(chi).shape[1])
    return order_by_population(found, chi)
