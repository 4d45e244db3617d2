"""Map learned soft states onto the corners of the probability simplex.

The VAMP-2 score is invariant under invertible affine maps of the features, so a
network trained on it has no reason to make its softmax outputs crisp: two metastable
states may come out as P(state 0) = 0.70 and 0.90 rather than 0 and 1. The timescales
do not care, but populations, state-weighted averages and an argmax labelling do.

We therefore find the k most extreme points of the learned states (the inner simplex
algorithm of PCCA+, Weber & Galliat 2002) and map them linearly onto the unit vectors.
Because every row of χ sums to one and so does every vertex, the map keeps rows
summing to one, and the Koopman matrix transforms by a similarity, K' = A⁻¹ K A:
eigenvalues and implied timescales are unchanged. Points slightly outside the simplex
(noise) are clipped to it.
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


def to_simplex(chi: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Map soft states (..., k) so that `corners` (k, k) land on the unit vectors.

    Returns float32 probabilities, rows summing to one, clipped to [0, 1].
    """
    mapped = np.asarray(chi, dtype=np.float64) @ np.linalg.inv(corners)
    mapped = np.clip(mapped, 0.0, None)
    return (mapped / mapped.sum(axis=-1, keepdims=True)).astype(np.float32)


def order_by_population(corners: np.ndarray, chi: np.ndarray) -> np.ndarray:
    """Reorder the corners so that state 0 is the most populated one in `chi` (T, k)."""
    population = to_simplex(chi, corners).mean(axis=0)
    return corners[np.argsort(-population, kind="stable")]


def corners(chi: np.ndarray) -> np.ndarray:
    """The simplex corners of learned states (T, k), most populated state first.

    If the states do not span a simplex (a collapsed model), warn and return the
    identity: the states are then used as the network gives them.
    """
    try:
        found = vertices(chi)
    except ValueError as err:
        logs.get().warning("%s; keeping the states as learned", err)
        return np.eye(np.asarray(chi).shape[1])
    return order_by_population(found, chi)
