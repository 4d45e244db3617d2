"""Training on several processes (GPUs, or CPU processes with gloo) with PyTorch DDP.

VAMP-2 is not a mean of per-sample terms: it is a function of the batch covariances. So
ranks do not average per-rank losses. Every rank draws the same global batch of frame
pairs (same seed, same stream), keeps every `size`-th pair, and the sufficient statistics
of the covariances — the count, the sums of x and y, and of x xᵀ, x yᵀ, y yᵀ, in float64 —
are summed over the ranks before the eigenproblem, with a differentiable all-reduce. Each
rank then holds the same loss L(S), S = Σ_r s_r; the all-reduce's backward sums the ranks'
upstream gradients, so rank r's parameter gradient is R · ∂L/∂S · ∂s_r/∂θ, and DDP's
average over the R ranks gives exactly ∂L/∂θ = Σ_r ∂L/∂S · ∂s_r/∂θ, the single-process
gradient of the same global batch (tests/test_distributed.py checks it to 1e-5).

Batch norm inside the convolutions normalises over each rank's own edges, as a plain
DDP model does (torch's SyncBatchNorm runs on GPUs only); with `batch_norm: false` a
multi-process run follows the single-process one step by step.

Launch: `torchrun --nproc-per-node G <script>` (one process per GPU on one node), or under
SLURM `srun torchrun --nnodes N ...`; the train rule does this itself for training.gpus > 1.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank_and_size() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside a process group."""
    return (dist.get_rank(), dist.get_world_size()) if active() else (0, 1)


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher setting WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_environment(device: str = "auto") -> torch.device:
    """Join the process group torchrun describes (env://); return this rank's device.

    CUDA: backend nccl, device cuda:LOCAL_RANK; CPU: backend gloo.
    """
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose backward all-reduces (sums) the incoming gradients."""

    @staticmethod
    def forward(ctx, t):
        out = t.clone()
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad


def sum_over_ranks(t: torch.Tensor) -> torch.Tensor:
    """Σ over ranks of `t`, differentiable (its backward sums the gradients likewise)."""
    return _SumOverRanks.apply(t) if active() else t


def shard(values, rank: int, size: int):
    """This rank's share of a global batch: every `size`-th element from `rank`."""
    return values[rank::size]


def launch_command(script: str, gpus_per_node: int, nodes: int = 1, *, python: str = "python",
                   head_node: str | None = None, port: int = 29500) -> list[str]:
    """The command that runs `script` once per GPU: torchrun on one node, srun + torchrun on several.

    One node: `python -m torch.distributed.run --standalone --nproc-per-node G script`.
    Several (inside a SLURM allocation of `nodes` nodes): srun starts one torchrun per node,
    which meet at `head_node:port` (c10d rendezvous) and start G ranks each.
    """
    if gpus_per_node < 1 or nodes < 1:
        raise ValueError(f"need at least one GPU per node and one node, got {gpus_per_node} and {nodes}")
    run = [python, "-m", "torch.distributed.run", f"--nproc-per-node={gpus_per_node}"]
    if nodes == 1:
        return [*run, "--standalone", script]
    if not head_node:
        raise ValueError("several nodes need the head node's host name for the rendezvous")
    return ["srun", f"--nodes={nodes}", "--ntasks-per-node=1", *run, f"--nnodes={nodes}",
            "--rdzv-backend=c10d", f"--rdzv-endpoint={head_node}:{port}", f"--rdzv-id=gdynet-{port}", script]
