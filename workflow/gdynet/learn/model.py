"""The networks: GDyNet (graph convolution, Methods Eq. 7-10) and the vanilla VAMPnet baseline.

Both map a batch of frames to state probabilities of shape (B, n, n_states)
(n target sets; the global VAMPnet has n = 1), so the loss, the training loop
and the prediction code treat them alike.

Graphs are dense fixed-degree tensors: every atom has exactly M neighbour
entries (nbr_idx (B, N, M) atom indices, nbr_dist (B, N, M) in Å; periodic
images are separate entries, so an atom j may appear several times for one i).
Plain PyTorch gathers express the paper's convolution exactly (DGL is not used,
see DESIGN.md).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def _as_index_array(x, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.size and not np.issubdtype(arr.dtype, np.integer) and np.any(np.mod(arr, 1) != 0):
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


class GaussianExpansion(nn.Module):
    """Edge features of Eq. 7: u_t(d) = exp(-(d - μ_t)^2 / σ^2), μ_t = t·step, t = 0..K.

    K = round(radius_A / step_A) and σ = step_A (the paper: step = σ = 0.2 Å).
    d (...) in Å -> (..., K + 1). Distances beyond the radius simply give ~0 features.
    """

    def __init__(self, radius_A: float = 7.0, step_A: float = 0.2):
        super().__init__()
        if not (radius_A > 0 and step_A > 0):
            raise ValueError(f"radius_A and gaussian_step_A must be positive, got {radius_A}, {step_A}")
        n = int(round(radius_A / step_A))
        self.sigma = float(step_A)
        self.register_buffer("centers", torch.arange(n + 1, dtype=torch.float32) * step_A, persistent=False)

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        # The exponent is floored at -80 (exp(-80) ~ 2e-35, nothing at float32 feature
        # precision): exp() of large negative arguments takes a slow underflow path on
        # CPU that made this expansion a third of the whole network's cost.
        x = (d.unsqueeze(-1) - self.centers) * (1.0 / self.sigma)
        if x.requires_grad:
            return torch.exp(-(x.square().clamp(max=80.0)))
        return x.square_().clamp_(max=80.0).neg_().exp_()  # in place: no temporaries


class AttentionConv(nn.Module):
    """One gated graph convolution (Methods Eq. 8-9), in split form.

    With z_ij = v_i ⊕ v_j ⊕ u_ij, the paper computes
        α_ij = softmax_j(z_ij W_a + b_a)                       (Eq. 8, over the M neighbours)
        v_i' = v_i + Σ_j α_ij g(z_ij W_n + b_n),  g = ReLU      (Eq. 9)
    The attention and message maps are fused into one map W = [W_a | W_n] of
    width 1 + F, and W acting on the concatenation splits into
        z_ij W = v_i W_self + (v W_nbr)[j] + u_ij W_edge,
    so node features are projected once per atom (N rows) and only then gathered
    into the (N, M) neighbour layout; the per-edge concatenation is never built.

    Optional batch norm (the original implementation had it) acts on the
    pre-activation message z_ij W_n + b_n, normalising over all edges of the batch
    (training mode: batch statistics, running statistics updated as nn.BatchNorm1d
    does; eval mode: running statistics). Its parameters and buffers live in `bn`.

    The per-edge chain after the projections (gather, edge map, batch norm, ReLU,
    softmax, weighted sum, and their gradients) runs in `_EdgeChain`, in chunks of
    atoms small enough to stay in cache, instead of as a dozen full-size (B, N, M, F)
    tensors: 3-9x faster than a PyG-style message-passing layer on CPU at F = 16-64
    (benchmarks/scale.py), and only one per-edge tensor per layer kept for backward.
    """

    def __init__(self, fea_len: int, edge_len: int, batch_norm: bool = True):
        super().__init__()
        self.fea_len = fea_len
        width = 1 + fea_len  # row 0: attention logit; rows 1..F: message
        self.self_proj = nn.Linear(fea_len, width)  # carries the biases b_a, b_n
        self.nbr_proj = nn.Linear(fea_len, width, bias=False)
        self.edge_proj = nn.Linear(edge_len, width, bias=False)
        self.bn = nn.BatchNorm1d(fea_len) if batch_norm else None

    def forward(self, v: torch.Tensor, nbr_idx: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """v (B, N, F) atom features, nbr_idx (B, N, M) long, u (B, N, M, G) -> (B, N, F)."""
        b, n, m = nbr_idx.shape
        flat = (nbr_idx + (torch.arange(b, device=nbr_idx.device) * n).view(b, 1, 1)).reshape(-1)
        rows = v.reshape(b * n, self.fea_len)
        bn = self.bn
        if bn is None:
            norm = (None, None, None, None, False, 0.0, 0.0)
        else:
            if bn.training:  # as nn.BatchNorm1d
                bn.num_batches_tracked.add_(1)
            momentum = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
            norm = (bn.weight, bn.bias, bn.running_mean, bn.running_var, bn.training, momentum, bn.eps)
        out = _EdgeChain.apply(self.nbr_proj(rows), self.self_proj(rows), u.reshape(b * n * m, -1),
                               self.edge_proj.weight, flat, m, *norm)
        return v + out.view(b, n, self.fea_len)


# Per-edge values (edges x (1 + F)) per chunk of `_EdgeChain`: ~0.5 MB per temporary,
# so that a chunk's few temporaries stay in cache. Backward of training-mode batch
# norm takes two passes over the edges; up to _STORE_VALUES the first pass's result
# is kept for the second (one tensor), above it recomputed chunk by chunk.
_CHUNK_VALUES = 2**17
_STORE_VALUES = 2**22


class _EdgeChain(torch.autograd.Function):
    """Σ_j α_ij ReLU(BN(pre_ij)) per atom from the projected node features, in chunks.

    Inputs: h_nbr (R, 1 + F) = v W_nbr and h_self (R, 1 + F) = v W_self + b for the
    R = B N atoms; u (R M, G) edge features; w_edge (1 + F, G); flat (R M,) neighbour
    rows; m = M; the batch-norm weight, bias, running mean and variance (or None),
    whether to use and update batch statistics, momentum, eps.
    z_e = h_nbr[flat_e] + h_self[row of e] + u_e w_edge^T holds [logit | pre-activation]
    of edge e. Output (R, F). The per-edge work runs chunk by chunk; saved for
    backward are z (R M, 1 + F) and α (R, M) only.
    """

    @staticmethod
    def forward(ctx, h_nbr, h_self, u, w_edge, flat, m, weight, bias, running_mean, running_var,
                batch_stats, momentum, eps):
        # The chain runs in the parameters' dtype, also under autocast (the gradients
        # are cast back to the inputs' dtypes by autograd).
        with torch.autocast(h_self.device.type, enabled=False):
            return _EdgeChain._forward(ctx, h_nbr.to(w_edge.dtype), h_self.to(w_edge.dtype),
                                       u.to(w_edge.dtype), w_edge, flat, m, weight, bias,
                                       running_mean, running_var, batch_stats, momentum, eps)

    @staticmethod
    def _forward(ctx, h_nbr, h_self, u, w_edge, flat, m, weight, bias, running_mean, running_var,
                 batch_stats, momentum, eps):
        n_rows, width = h_self.shape
        f, n_edges = width - 1, n_rows * m
        new = dict(dtype=h_self.dtype, device=h_self.device)
        wide = dict(dtype=torch.float64, device=h_self.device)
        keep = any(ctx.needs_input_grad)
        z_all = torch.empty(n_edges, width, **new) if keep or batch_stats else None
        chunks = _chunks(n_rows, m, width, h_self.device)
        w_t = w_edge.t()

        def edges(a, c):  # z of the edges of atoms a..c-1
            fl = flat[a * m : c * m]
            z = h_nbr.index_select(0, fl) if z_all is None else \
                torch.index_select(h_nbr, 0, fl, out=z_all[a * m : c * m])
            z.view(c - a, m, width).add_(h_self[a:c].unsqueeze(1))
            return z.addmm_(u[a * m : c * m], w_t)

        if batch_stats:
            if n_edges < 2:
                raise ValueError(f"batch norm in training mode needs more than one edge, got {n_edges}")
            # Sums of (pre - c), c the first chunk's mean, in float64: no cancellation.
            s1 = torch.zeros(f, **wide)
            s2 = torch.zeros(f, **wide)
            c0 = None
            for a, c in chunks:
                pre = edges(a, c)[:, 1:]
                c0 = pre.sum(0) / len(pre) if c0 is None else c0
                d = pre - c0
                s1 += d.sum(0).double()
                s2 += torch.linalg.vecdot(d, d, dim=0).double()
            mean = s1 / n_edges
            var = (s2 / n_edges - mean.square()).clamp_min(0.0)
            mean += c0.double()
            unbiased = var * (n_edges / (n_edges - 1))
            running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype), alpha=momentum)
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)
            mean, invstd = mean.to(h_self.dtype), torch.rsqrt(var + eps).to(h_self.dtype)
        elif weight is not None:
            mean, invstd = running_mean.to(h_self.dtype), torch.rsqrt(running_var.to(h_self.dtype) + eps)
        else:
            mean = invstd = None
        scale, shift = _bn_affine(weight, bias, mean, invstd)
        alpha = torch.empty(n_rows, m, **new)
        out = torch.empty(n_rows, f, **new)
        for a, c in chunks:
            z = z_all[a * m : c * m] if batch_stats else edges(a, c)
            y = _relu_affine(z[:, 1:], scale, shift).view(c - a, m, f)
            alpha[a:c] = torch.softmax(z[:, 0].view(c - a, m), dim=-1)
            torch.sum(y.mul_(alpha[a:c].unsqueeze(-1)), dim=1, out=out[a:c])
        if keep:
            ctx.save_for_backward(z_all, alpha, u, w_edge, flat, weight, bias, mean, invstd)
            ctx.m, ctx.batch_stats = m, batch_stats
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):
        with torch.autocast(g.device.type, enabled=False):
            return _EdgeChain._backward(ctx, g)

    @staticmethod
    def _backward(ctx, g):
        z_all, alpha, u, w_edge, flat, weight, bias, mean, invstd = ctx.saved_tensors
        m, batch_stats = ctx.m, ctx.batch_stats
        g = g.contiguous().to(z_all.dtype)
        n_rows, f = g.shape
        width, n_edges, dtype = f + 1, n_rows * m, g.dtype
        new = dict(dtype=dtype, device=g.device)
        wide = dict(dtype=torch.float64, device=g.device)
        chunks = _chunks(n_rows, m, width, g.device)
        scale, shift = _bn_affine(weight, bias, mean, invstd)
        stored = batch_stats and n_edges * width <= _STORE_VALUES
        buf = torch.empty(n_edges if stored else (chunks[0][1] - chunks[0][0]) * m, width, **new)

        def grad_z(a, c):
            """(pre, dL/d[logit | BN output]) of the edges of atoms a..c-1, (edges, 1 + F)."""
            pre = z_all[a * m : c * m, 1:]
            gz = buf[a * m : c * m] if stored else buf[: (c - a) * m]
            y = _relu_affine(pre, scale, shift, out=gz[:, 1:]).view(c - a, m, f)
            al, gc = alpha[a:c], g[a:c]
            g_alpha = torch.linalg.vecdot(y, gc.unsqueeze(1), dim=-1)
            gz[:, 0] = (al * (g_alpha - (al * g_alpha).sum(-1, keepdim=True))).view(-1)  # softmax
            y.sign_().mul_(al.unsqueeze(-1)).mul_(gc.unsqueeze(1))  # y >= 0: sign is the ReLU mask
            return pre, gz

        if weight is not None:  # Σ_e gy and Σ_e gy pre, per feature
            s1 = torch.zeros(f, **wide)
            s2 = torch.zeros(f, **wide)
        if batch_stats:  # the batch statistics couple all edges: first pass for the sums
            for a, c in chunks:
                pre, gz = grad_z(a, c)
                s1 += gz[:, 1:].sum(0).double()
                s2 += torch.linalg.vecdot(gz[:, 1:], pre, dim=0).double()
            # dL/dpre = scale (gy - s1 / E - x̂ Σ gy x̂ / E) = scale gy + k_pre pre + k_1
            sx = invstd.double() * (s2 - mean.double() * s1)
            k_pre = -scale.double() * invstd.double() * sx / n_edges
            k_1 = (-scale.double() * s1 / n_edges - k_pre * mean.double()).to(dtype)
            k_pre = k_pre.to(dtype)
        g_nbr = torch.zeros(n_rows, width, **new)
        g_self = torch.empty(n_rows, width, **new)
        g_w = torch.zeros_like(w_edge)
        g_u = torch.empty_like(u) if ctx.needs_input_grad[2] else None
        for a, c in chunks:
            pre, gz = (z_all[a * m : c * m, 1:], buf[a * m : c * m]) if stored else grad_z(a, c)
            gy = gz[:, 1:]
            if weight is not None and not batch_stats:
                s1 += gy.sum(0).double()
                s2 += torch.linalg.vecdot(gy, pre, dim=0).double()
            if batch_stats:
                gy.mul_(scale).add_(k_1).addcmul_(pre, k_pre)
            elif weight is not None:
                gy.mul_(scale)
            g_w.addmm_(gz.t(), u[a * m : c * m])
            torch.sum(gz.view(c - a, m, width), dim=1, out=g_self[a:c])
            g_nbr.index_add_(0, flat[a * m : c * m], gz)
            if g_u is not None:
                torch.mm(gz, w_edge, out=g_u[a * m : c * m])
        g_weight = g_bias = None
        if weight is not None:
            g_weight = (invstd.double() * (s2 - mean.double() * s1)).to(dtype)  # Σ gy x̂
            g_bias = s1.to(dtype)
        return g_nbr, g_self, g_u, g_w, None, None, g_weight, g_bias, None, None, None, None, None


def _chunks(n_rows: int, m: int, width: int, device: torch.device) -> list[tuple[int, int]]:
    """Consecutive atom ranges [a, c) of about _CHUNK_VALUES per-edge values each (on
    a GPU one range: there kernel launches, not cache misses, are what chunks cost)."""
    if device.type != "cpu":
        return [(0, n_rows)]
    step = max(1, _CHUNK_VALUES // (m * width))
    return [(a, min(a + step, n_rows)) for a in range(0, n_rows, step)]


def _bn_affine(weight, bias, mean, invstd):
    """Batch norm as y = scale x + shift (None, None without batch norm)."""
    if weight is None:
        return None, None
    scale = weight * invstd
    return scale, bias - mean * scale


def _relu_affine(x, scale, shift, out=None):
    """ReLU(scale x + shift) into a new tensor or `out`."""
    if scale is None:
        return torch.clamp_min(x, 0.0) if out is None else torch.clamp_min(x, 0.0, out=out)
    y = torch.addcmul(shift, x, scale) if out is None else torch.addcmul(shift, x, scale, out=out)
    return y.relu_()


class GDyNet(nn.Module):
    """Graph dynamical network: graphs of a frame -> state probabilities of each target set.

    atom_types: (N,) atomic numbers of the N atoms (fixed along the trajectory).
    target_index: (n,) atom indices of n single-atom targets, or (n, k) for n
        targets of k atoms each (molecules), pooled by mean (Eq. 4/10).
    n_states: dimension of the softmax output (the paper's "number of states").
    atom_fea_len: width F of the atom embeddings; n_conv: number of convolutions.
    radius_A, gaussian_step_A: Gaussian edge expansion of Eq. 7 (Å).
    batch_norm: batch norm on each convolution's message (see AttentionConv).
    hidden_len: 0 = output layer directly on the pooled embedding (the paper);
        > 0 adds one dense hidden layer (ELU) of that width before it.

    forward(nbr_idx (B, N, M) int, nbr_dist (B, N, M) Å) -> (B, n, n_states) softmax.

    This follows the paper's equations (Eq. 7-10). The authors' TensorFlow code
    differs in details the paper does not mention (a second batch norm after the
    neighbour sum, a ReLU after the residual add, a mean instead of a sum over the
    neighbours, a hidden ReLU layer before the output); `hidden_len` offers the last.

    Initial atom embeddings are learned per element. The sorted atomic numbers
    (`elements`) travel in the state_dict, atom_types/target_index do not (they are
    constructor arguments, `init_kwargs`), so trained weights load into a model of
    another system with the same elements.
    """

    def __init__(
        self,
        atom_types,
        target_index,
        n_states: int,
        atom_fea_len: int = 16,
        n_conv: int = 3,
        radius_A: float = 7.0,
        gaussian_step_A: float = 0.2,
        batch_norm: bool = True,
        hidden_len: int = 0,
    ):
        super().__init__()
        atom_types = _as_index_array(atom_types, "atom_types")
        target_index = _as_index_array(target_index, "target_index")
        if atom_types.ndim != 1 or atom_types.size == 0:
            raise ValueError(f"atom_types must be a non-empty 1-D array (N,), got shape {atom_types.shape}")
        n_atoms = atom_types.shape[0]
        if target_index.ndim == 1:
            target_index = target_index[:, None]
        if target_index.ndim != 2 or target_index.size == 0:
            raise ValueError(f"target_index must be (n,) or (n, k) and non-empty, got shape {target_index.shape}")
        if target_index.min() < 0 or target_index.max() >= n_atoms:
            raise ValueError(
                f"target_index holds atom indices in [{target_index.min()}, {target_index.max()}] "
                f"but there are only N = {n_atoms} atoms (valid: 0..{n_atoms - 1})"
            )
        if int(n_states) < 1:
            raise ValueError(f"n_states must be >= 1, got {n_states}")
        if int(atom_fea_len) < 1 or int(n_conv) < 0 or int(hidden_len) < 0:
            raise ValueError(
                f"need atom_fea_len >= 1, n_conv >= 0, hidden_len >= 0; got {atom_fea_len}, {n_conv}, {hidden_len}"
            )

        self.init_kwargs = dict(  # plain Python types that rebuild this model
            atom_types=atom_types.tolist(),
            target_index=target_index.tolist(),
            n_states=int(n_states),
            atom_fea_len=int(atom_fea_len),
            n_conv=int(n_conv),
            radius_A=float(radius_A),
            gaussian_step_A=float(gaussian_step_A),
            batch_norm=bool(batch_norm),
            hidden_len=int(hidden_len),
        )
        elements = np.unique(atom_types)
        self.register_buffer("elements", torch.as_tensor(elements))  # persistent: row -> atomic number
        self.register_buffer("atom_types", torch.as_tensor(atom_types), persistent=False)
        self.register_buffer("type_index", torch.as_tensor(np.searchsorted(elements, atom_types)), persistent=False)
        self.register_buffer("target_index", torch.as_tensor(target_index), persistent=False)
        self.register_load_state_dict_post_hook(GDyNet._remap_types)

        self.n_atoms = n_atoms
        self.embedding = nn.Embedding(len(elements), atom_fea_len)
        self.expansion = GaussianExpansion(radius_A, gaussian_step_A)
        edge_len = self.expansion.centers.numel()
        self.convs = nn.ModuleList(AttentionConv(atom_fea_len, edge_len, batch_norm) for _ in range(n_conv))
        extra = [nn.Linear(atom_fea_len, hidden_len), nn.ELU()] if hidden_len else []
        self.head = nn.Sequential(*extra, nn.Linear(hidden_len or atom_fea_len, n_states), nn.Softmax(-1))

    @staticmethod
    def _remap_types(module: "GDyNet", incompatible) -> None:
        # Loaded `elements` may differ from the constructor's: rebuild the atom -> row map.
        elements = module.elements.cpu().numpy()
        types = module.atom_types.cpu().numpy()
        rows = np.searchsorted(elements, types).clip(0, len(elements) - 1)
        if not np.array_equal(elements[rows], types):
            missing = sorted(set(types.tolist()) - set(elements.tolist()))
            raise ValueError(f"the loaded weights have no embedding for atomic numbers {missing}")
        module.type_index.copy_(torch.as_tensor(rows))

    def embed(self, nbr_idx: torch.Tensor, nbr_dist: torch.Tensor) -> torch.Tensor:
        """Atom embeddings after the convolutions: (B, N, M) graphs -> (B, N, F)."""
        if nbr_idx.ndim != 3 or nbr_idx.shape != nbr_dist.shape:
            raise ValueError(
                f"nbr_idx and nbr_dist must both be (B, N, M); got {tuple(nbr_idx.shape)} and {tuple(nbr_dist.shape)}"
            )
        if nbr_idx.shape[1] != self.n_atoms:
            raise ValueError(f"graphs have N = {nbr_idx.shape[1]} atoms but the model was built for {self.n_atoms}")
        nbr_idx = nbr_idx.long()
        u = self.expansion(nbr_dist.to(self.embedding.weight.dtype))
        v = self.embedding(self.type_index).unsqueeze(0).expand(nbr_idx.shape[0], -1, -1)
        for conv in self.convs:
            v = conv(v, nbr_idx, u)
        return v

    def forward(self, nbr_idx: torch.Tensor, nbr_dist: torch.Tensor) -> torch.Tensor:
        # Eq. 10: mean over each target's k atoms, (B, N, F) -> (B, n, F), then the shared head.
        return self.head(self.embed(nbr_idx, nbr_dist)[:, self.target_index].mean(dim=2))


_ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh}


class VAMPNet(nn.Module):
    """The vanilla VAMPnet baseline: a fully connected net on one flat feature vector per frame.

    n_features: D, the length of each frame's feature vector (e.g. raw coordinates, Å).
    hidden: widths of the hidden layers; activation: "elu", "relu" or "tanh".
    mean, std: (D,) input standardisation from the training data (None: identity);
        kept as buffers, so they travel with the state_dict. Zero std counts as 1.

    forward(features (B, D)) -> (B, 1, n_states) softmax: one global "target", so the
    output has the same (B, n, k) layout as GDyNet's.
    """

    def __init__(
        self,
        n_features: int,
        n_states: int,
        hidden=(100, 100, 100),
        activation: str = "elu",
        mean=None,
        std=None,
    ):
        super().__init__()
        if int(n_features) < 1 or int(n_states) < 1:
            raise ValueError(f"need n_features >= 1 and n_states >= 1, got {n_features}, {n_states}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        hidden = [int(h) for h in hidden]
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden layer widths must be >= 1, got {hidden}")
        self.n_features = int(n_features)
        # plain Python types that rebuild this model; mean/std travel in the state_dict
        self.init_kwargs = dict(
            n_features=self.n_features, n_states=int(n_states), hidden=hidden, activation=activation
        )

        mean = np.zeros(self.n_features) if mean is None else np.asarray(mean, dtype=np.float64)
        std = np.ones(self.n_features) if std is None else np.asarray(std, dtype=np.float64)
        if mean.shape != (self.n_features,) or std.shape != (self.n_features,):
            raise ValueError(f"mean and std must have shape ({self.n_features},), got {mean.shape} and {std.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std >= 0)):
            raise ValueError("mean and std must be finite and std >= 0")
        std = np.where(std > 1e-12 * max(1.0, float(np.abs(mean).max(initial=0.0))), std, 1.0)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

        layers: list[nn.Module] = []
        width = self.n_features
        for h in hidden:
            layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
            width = h
        layers += [nn.Linear(width, int(n_states)), nn.Softmax(-1)]
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 2 or features.shape[1] != self.n_features:
            raise ValueError(f"features must be (B, {self.n_features}), got {tuple(features.shape)}")
        x = (features.to(self.mean.dtype) - self.mean) / self.std
        return self.net(x).unsqueeze(1)


MODELS = {"GDyNet": GDyNet, "VAMPNet": VAMPNet}


def build(kind: str, **kwargs) -> nn.Module:
    """Construct a model by class name ("GDyNet" or "VAMPNet") from its init kwargs."""
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(MODELS)}")
    return MODELS[kind](**kwargs)

