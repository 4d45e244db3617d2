"""How much memory a network needs per frame, and the batches that fit a budget.

The paper's realistic systems have N ≈ 5,000 atoms and M = 20 neighbours, so one frame
is ~100,000 edges and every per-edge tensor of a convolution holds 100,000 × F
numbers. Training, validation and prediction therefore size their batches by a
memory budget, never by the trajectory length:

- a training step draws `batch_pairs` time-lagged *target* pairs (frame pairs ×
  targets per frame, so a 1-target toy and a 1,500-target interface see comparable
  statistics), as many frame pairs as that needs, but no more than the budget holds;
- inference (validation, calibration, prediction) streams chunks of frames that fit it.

The estimate counts the float32 numbers per edge that a forward pass holds (the Gaussian
edge features, and per convolution what its fused chain keeps) and, in training, what it
saves for the backward pass. tests/test_memory.py checks that it bounds the peak resident
memory of real steps and chunks, within a factor 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gdynet.learn.model import GDyNet, VAMPNet

_FLOAT = 4
_INDEX = 8  # int64 neighbour indices inside the network
# float32 numbers per edge: (per feature channel, constant) per convolution, and per Gaussian
# edge feature, forward only or forward + backward. The convolution chain is one fused
# autograd Function that keeps one per-edge tensor for its backward (gdynet.learn.model),
# so training needs little more than inference. Fitted, with a margin, to the peak resident
# memory measured at N = 2,000 and 5,000 atoms, M = 20, F = 16 and 64 (tests/test_memory.py).
_CONV_FORWARD, _CONV_TRAIN = (0.35, 4.0), (1.0, 4.0)
_GAUSS_FORWARD, _GAUSS_TRAIN = 1.5, 2.0
# Inference chunks beyond ~a million edges gain nothing but memory (the per-chunk
# overhead is already negligible there), so chunks stop growing at this size.
_MAX_CHUNK_EDGES = 2**20


class MemoryBudgetError(ValueError):
    """Not even the smallest useful batch fits the memory budget (values in the message)."""


def gdynet_bytes_per_frame(n_atoms: int, n_neighbors: int, atom_fea_len: int, n_conv: int,
                           n_gaussians: int, *, train: bool) -> int:
    """Working memory (bytes) of one frame through a GDyNet: forward only, or forward + backward.

    n_gaussians: edge features per edge (Eq. 7: radius / step + 1).
    """
    per_fea, const = _CONV_TRAIN if train else _CONV_FORWARD
    floats = (_GAUSS_TRAIN if train else _GAUSS_FORWARD) * n_gaussians
    floats += n_conv * (per_fea * atom_fea_len + const)
    return int(n_atoms * n_neighbors * (floats * _FLOAT + _INDEX + 2 * _FLOAT))  # + the graph, decoded


def bytes_per_frame(net, n_neighbors: int, *, train: bool) -> int:
    """Working memory (bytes) of one frame through `net` (a GDyNet or a VAMPNet)."""
    if isinstance(net, GDyNet):
        return gdynet_bytes_per_frame(net.n_atoms, int(n_neighbors), net.init_kwargs["atom_fea_len"],
                                      net.init_kwargs["n_conv"], net.expansion.centers.numel(),
                                      train=train)
    if isinstance(net, VAMPNet):
        widths = [net.n_features, *net.init_kwargs["hidden"], net.init_kwargs["n_states"]]
        return sum(widths) * _FLOAT * (3 if train else 1)
    raise TypeError(f"no memory model for {type(net).__name__}")


def smallest_step(n_targets: int) -> int:
    """Frame pairs of the smallest useful step: 2 target pairs make a covariance."""
    return 1 if n_targets >= 2 else 2


def chunk_frames(net, n_neighbors: int, budget_bytes: float) -> int:
    """Frames per inference chunk: what fits the budget, at most ~a million edges."""
    fit = int(budget_bytes // bytes_per_frame(net, n_neighbors, train=False))
    edges = net.n_atoms * int(n_neighbors) if isinstance(net, GDyNet) else 1
    return max(1, min(fit, _MAX_CHUNK_EDGES // edges))


@dataclass(frozen=True)
class BatchPlan:
    """Batches that fit a memory budget.

    frame_pairs: frame pairs (t, t + τ) per training step; target_pairs: the time-lagged
    target pairs they hold (frame_pairs × targets); step_bytes: the estimated working
    memory of one step; chunk_frames: frames per inference chunk; capped: whether the
    budget, not `batch_pairs`, set frame_pairs.
    """

    frame_pairs: int
    target_pairs: int
    step_bytes: int
    chunk_frames: int
    capped: bool


def plan_batches(net, n_neighbors: int, n_targets: int, batch_pairs: int,
                 budget_bytes: float) -> BatchPlan:
    """The training and inference batches of `net` under a memory budget (bytes).

    A step needs at least 2 target pairs for a covariance, so one frame pair for a
    system of several targets and two for a single target. Raises MemoryBudgetError,
    with the estimate, when even that does not fit.
    """
    if batch_pairs < 2:
        raise ValueError(f"batch_pairs must be >= 2 time-lagged target pairs, got {batch_pairs}")
    if n_targets < 1:
        raise ValueError(f"need at least one target per frame, got {n_targets}")
    train = bytes_per_frame(net, n_neighbors, train=True)
    wanted = math.ceil(batch_pairs / n_targets)
    smallest = smallest_step(n_targets)
    fit = int(budget_bytes // (2 * train))
    if fit < smallest:
        raise MemoryBudgetError(
            f"one training step needs at least {smallest} frame pair(s) of {2 * train / 2**30:.2f} "
            f"GiB each ({net.n_atoms if isinstance(net, GDyNet) else 1} atoms x {n_neighbors} "
            f"neighbours), more than the memory budget of {budget_bytes / 2**30:.2f} GiB; raise the "
            "budget, or use fewer neighbours, narrower or fewer convolutions")
    pairs = max(smallest, min(wanted, fit))
    return BatchPlan(frame_pairs=pairs, target_pairs=pairs * n_targets, step_bytes=2 * pairs * train,
                     chunk_frames=chunk_frames(net, n_neighbors, budget_bytes), capped=fit < wanted)
