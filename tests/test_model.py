"""GDyNet / VAMPNet: invariances and brute-force re-implementations as known answers."""

import itertools

import numpy as np
import pytest
import torch

from gdynet.learn.model import GDyNet, VAMPNet, build

TYPES = np.array([3, 16, 16, 3, 16, 8, 16, 3])  # Li, S, O: embedding rows follow sorted numbers
M = 12


def periodic_neighbours(coords, cell, m, reach=2):
    """Brute force: the m nearest atoms of every atom among explicit periodic images.

    coords (N, 3) Å, cell (3, 3) rows are lattice vectors. Returns idx (N, m), dist (N, m).
    """
    n = len(coords)
    shifts = np.array(list(itertools.product(range(-reach, reach + 1), repeat=3))) @ cell
    images = coords[None, :, :] + shifts[:, None, :]  # (S, N, 3)
    d = np.linalg.norm(images[None] - coords[:, None, None, :], axis=-1)  # (N, S, N)
    d[d < 1e-9] = np.inf  # the atom itself (zero shift)
    d = d.reshape(n, -1)
    order = np.argsort(d, axis=1)[:, :m]
    return np.tile(np.arange(n), len(shifts))[order], np.take_along_axis(d, order, axis=1)


def random_frames(n_frames, seed, n_atoms=len(TYPES)):
    rng = np.random.default_rng(seed)
    cell = np.diag([6.5, 7.0, 6.0]) + rng.normal(scale=0.4, size=(3, 3))  # triclinic
    return [(rng.random((n_atoms, 3)) @ cell, cell) for _ in range(n_frames)]


def graphs(frames):
    idx, dist = zip(*(periodic_neighbours(c, cell, M) for c, cell in frames))
    return torch.tensor(np.array(idx)), torch.tensor(np.array(dist))


def make_model(target_index, seed=0, **kw):
    torch.manual_seed(seed)
    model = GDyNet(TYPES, target_index, n_states=3, **kw).double()
    idx, dist = graphs(random_frames(16, seed=99))
    model.train()
    with torch.no_grad():  # make the batch-norm running statistics non-trivial
        for _ in range(3):
            model(idx, dist)
    return model.eval()


def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def test_outputs_are_probabilities():
    model = make_model([0, 3, 7])
    out = model(*graphs(random_frames(4, seed=1)))
    assert out.shape == (4, 3, 3)
    assert torch.all(out > 0)
    np.testing.assert_allclose(out.sum(-1).detach().numpy(), 1.0, rtol=1e-12)


def test_rotation_translation_reflection_invariance():
    model = make_model([0, 3, 7])
    frames = random_frames(3, seed=2)
    rng = np.random.default_rng(3)
    moved = []
    for coords, cell in frames:
        rot = random_rotation(rng) * rng.choice([-1, 1])  # also reflections
        shift = rng.normal(scale=10.0, size=3)
        moved.append((coords @ rot.T + shift, cell @ rot.T))
    with torch.no_grad():
        np.testing.assert_allclose(model(*graphs(moved)).numpy(), model(*graphs(frames)).numpy(), atol=1e-10)


def test_atom_permutation_invariance():
    target = np.array([0, 3, 7])
    model = make_model(target)
    frames = random_frames(3, seed=4)
    perm = np.random.default_rng(5).permutation(len(TYPES))  # new atom a is old atom perm[a]
    inv = np.argsort(perm)
    permuted = GDyNet(TYPES[perm], inv[target], n_states=3).double().eval()
    permuted.load_state_dict(model.state_dict())
    idx, dist = graphs(frames)
    with torch.no_grad():
        expected = model(idx, dist).numpy()
        # (a) graphs rebuilt from the permuted coordinates
        rebuilt = graphs([(c[perm], cell) for c, cell in frames])
        np.testing.assert_allclose(permuted(*rebuilt).numpy(), expected, atol=1e-10)
        # (b) the same graphs relabelled
        relabelled = torch.tensor(inv)[idx[:, perm]], dist[:, perm]
        np.testing.assert_allclose(permuted(*relabelled).numpy(), expected, atol=1e-10)


def test_molecular_targets_pool_by_mean():
    model = make_model([[0, 3], [7, 2]])
    idx, dist = graphs(random_frames(3, seed=6))
    with torch.no_grad():
        out = model(idx, dist)
        v = model.embed(idx, dist)
        # Eq. 10 by hand: mean of the member atoms' embeddings, then the output layer.
        by_hand = model.head(torch.stack([(v[:, 0] + v[:, 3]) / 2, (v[:, 7] + v[:, 2]) / 2], dim=1))
        np.testing.assert_allclose(out.numpy(), by_hand.numpy(), atol=1e-12)
        # Member order does not matter; target order permutes the rows.
        swapped = GDyNet(TYPES, [[2, 7], [3, 0]], n_states=3).double().eval()
        swapped.load_state_dict(model.state_dict())
        np.testing.assert_allclose(swapped(idx, dist).numpy(), out.numpy()[:, ::-1], atol=1e-12)
        # A "molecule" of one atom listed twice is that atom.
        single = GDyNet(TYPES, [0, 7], n_states=3).double().eval()
        doubled = GDyNet(TYPES, [[0, 0], [7, 7]], n_states=3).double().eval()
        single.load_state_dict(model.state_dict())
        doubled.load_state_dict(model.state_dict())
        np.testing.assert_allclose(doubled(idx, dist).numpy(), single(idx, dist).numpy(), atol=1e-12)


def naive_forward(model, nbr_idx, nbr_dist):
    """GDyNet written from Eq. 7-10 with explicit per-edge concatenation z_ij = v_i ⊕ v_j ⊕ u_ij."""
    idx, dist = nbr_idx.numpy(), nbr_dist.numpy()
    n_frames, n_atoms, n_nbr = idx.shape
    elements = sorted(set(TYPES.tolist()))
    emb = model.embedding.weight.detach().numpy()
    v = np.stack([np.stack([emb[elements.index(t)] for t in TYPES])] * n_frames)  # (B, N, F)
    mu = 0.2 * np.arange(36)  # radius 7 Å / 0.2 Å = 35 -> t = 0..35
    u = np.exp(-((dist[..., None] - mu) ** 2) / 0.2**2)  # (B, N, M, 36)
    for conv in model.convs:
        w = torch.cat([conv.self_proj.weight, conv.nbr_proj.weight, conv.edge_proj.weight], 1).detach().numpy()
        bias = conv.self_proj.bias.detach().numpy()
        w_a, b_a, w_n, b_n = w[0], bias[0], w[1:], bias[1:]
        logits = np.empty((n_frames, n_atoms, n_nbr))
        pre = np.empty((n_frames, n_atoms, n_nbr, w_n.shape[0]))
        for b in range(n_frames):
            for i in range(n_atoms):
                for j in range(n_nbr):
                    z = np.concatenate([v[b, i], v[b, idx[b, i, j]], u[b, i, j]])
                    logits[b, i, j] = z @ w_a + b_a
                    pre[b, i, j] = w_n @ z + b_n
        if conv.bn is not None:  # eval mode: running statistics
            bn = conv.bn
            pre = (pre - bn.running_mean.numpy()) / np.sqrt(bn.running_var.numpy() + bn.eps)
            pre = pre * bn.weight.detach().numpy() + bn.bias.detach().numpy()
        alpha = np.exp(logits - logits.max(-1, keepdims=True))
        alpha /= alpha.sum(-1, keepdims=True)
        v = v + np.einsum("bnm,bnmf->bnf", alpha, np.maximum(pre, 0.0))
    pooled = v[:, model.target_index.numpy()].mean(axis=2)
    out_layer = model.head[0]
    logits = pooled @ out_layer.weight.detach().numpy().T + out_layer.bias.detach().numpy()
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_split_form_equals_naive_concatenation(batch_norm):
    model = make_model([[0, 3], [7, 2], [5, 5]], batch_norm=batch_norm, n_conv=2, atom_fea_len=6)
    idx, dist = graphs(random_frames(2, seed=7))
    with torch.no_grad():
        got = model(idx, dist).numpy()
    np.testing.assert_allclose(got, naive_forward(model, idx, dist), atol=1e-12)
    # float32 (training precision) stays within ~1e-6 of the float64 reference
    model32 = make_model([[0, 3], [7, 2], [5, 5]], batch_norm=batch_norm, n_conv=2, atom_fea_len=6).float()
    with torch.no_grad():
        got32 = model32(idx.int(), dist.float()).numpy()
    np.testing.assert_allclose(got32, naive_forward(model32.double(), idx, dist), atol=2e-6)


def reference_conv(conv, v, nbr_idx, u, running):
    """Eq. 8-9 with plain autograd: per-edge concatenation z_ij = v_i ⊕ v_j ⊕ u_ij, one
    linear map, softmax over the M neighbours, torch's batch norm over all edges
    (running: the (mean, var) buffers it updates in training mode), ReLU, sum."""
    b, n, m = nbr_idx.shape
    f = v.shape[-1]
    z = torch.cat([v.unsqueeze(2).expand(b, n, m, f), v[torch.arange(b)[:, None, None], nbr_idx], u], -1)
    w = torch.cat([conv.self_proj.weight, conv.nbr_proj.weight, conv.edge_proj.weight], 1)
    out = z @ w.T + conv.self_proj.bias
    logit, pre = out[..., 0], out[..., 1:]
    if conv.bn is not None:
        bn = conv.bn
        pre = torch.nn.functional.batch_norm(pre.reshape(-1, f), *running, bn.weight, bn.bias, conv.training,
                                             bn.momentum, bn.eps).view(b, n, m, f)
    return v + (torch.softmax(logit, -1).unsqueeze(-1) * torch.relu(pre)).sum(2)


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("chunking", ["one chunk", "many chunks", "many chunks, recomputed"])
def test_convolution_and_its_gradients_equal_plain_autograd(batch_norm, training, chunking, monkeypatch):
    from gdynet.learn import model as model_module

    if chunking != "one chunk":  # 3 atoms per chunk; without the stored first pass
        monkeypatch.setattr(model_module, "_CHUNK_VALUES", 3 * M * 7)
        if chunking.endswith("recomputed"):
            monkeypatch.setattr(model_module, "_STORE_VALUES", 0)
    torch.manual_seed(0)
    conv = model_module.AttentionConv(6, 36, batch_norm=batch_norm).double().train(training)
    if batch_norm:  # non-trivial affine map and running statistics
        with torch.no_grad():
            conv.bn.weight.uniform_(0.5, 1.5), conv.bn.bias.uniform_(-0.3, 0.3)
            conv.bn.running_mean.uniform_(-1, 1), conv.bn.running_var.uniform_(0.5, 2)
    idx, dist = graphs(random_frames(3, seed=11))
    u = GDyNet(TYPES, [0], n_states=2).expansion(dist.double())
    v_start = np.random.default_rng(12).normal(size=(3, len(TYPES), 6))

    def gradients(forward):
        v, uu = torch.tensor(v_start, requires_grad=True), u.clone().requires_grad_(True)
        conv.zero_grad()
        out = forward(v, uu)
        (out.sin() * torch.linspace(0.5, 2.0, 6)).sum().backward()  # a generic loss
        return [out, v.grad, uu.grad] + [p.grad.clone() for p in conv.parameters()]

    start = (conv.bn.running_mean.clone(), conv.bn.running_var.clone()) if batch_norm else ()
    ours = gradients(lambda v, uu: conv(v, idx, uu))
    ref_running = tuple(t.clone() for t in start)  # the reference updates these
    ref = gradients(lambda v, uu: reference_conv(conv, v, idx, uu, ref_running))
    for got, want in zip(ours, ref):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), atol=1e-10, rtol=1e-10)
    if batch_norm:
        for got, want, before in zip((conv.bn.running_mean, conv.bn.running_var), ref_running, start):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
            assert training != np.allclose(got.numpy(), before.numpy())  # moved in training only


def test_batch_norm_in_training_mode_uses_batch_statistics_over_edges():
    model = make_model([0, 3], n_conv=1, atom_fea_len=4).train()
    idx, dist = graphs(random_frames(3, seed=8))
    conv = model.convs[0]
    before = conv.bn.running_mean.clone(), conv.bn.running_var.clone(), int(conv.bn.num_batches_tracked)
    v0 = model.embedding(model.type_index).unsqueeze(0).expand(3, -1, -1)
    u = model.expansion(dist.double())
    with torch.no_grad():
        out = conv(v0, idx, u).numpy()
    # by hand: the pre-activation message of every edge of the batch, normalised with the
    # batch's own mean and (biased) variance; running statistics move by momentum 0.1
    w = torch.cat([conv.self_proj.weight, conv.nbr_proj.weight, conv.edge_proj.weight], 1).detach().numpy()
    bias = conv.self_proj.bias.detach().numpy()
    v, i = v0.detach().numpy(), idx.numpy()
    z = np.concatenate([np.broadcast_to(v[:, :, None], (3, len(TYPES), M, 4)),
                        v[np.arange(3)[:, None, None], i], u.numpy()], axis=-1) @ w.T + bias
    pre = z[..., 1:].reshape(-1, 4)
    assert pre.shape == (3 * len(TYPES) * M, 4)  # every edge of the batch is one sample
    normed = (pre - pre.mean(0)) / np.sqrt(pre.var(0) + conv.bn.eps) * conv.bn.weight.detach().numpy()
    normed = (normed + conv.bn.bias.detach().numpy()).reshape(3, len(TYPES), M, 4)
    alpha = np.exp(z[..., 0] - z[..., 0].max(-1, keepdims=True))
    alpha /= alpha.sum(-1, keepdims=True)
    expected = v + np.einsum("bnm,bnmf->bnf", alpha, np.maximum(normed, 0.0))
    np.testing.assert_allclose(out, expected, atol=1e-10)
    np.testing.assert_allclose(conv.bn.running_mean.numpy(), 0.9 * before[0].numpy() + 0.1 * pre.mean(0), atol=1e-12)
    np.testing.assert_allclose(conv.bn.running_var.numpy(), 0.9 * before[1].numpy() + 0.1 * pre.var(0, ddof=1),
                               atol=1e-12)
    assert int(conv.bn.num_batches_tracked) == before[2] + 1


def test_gaussian_expansion_follows_eq7():
    model = GDyNet(TYPES, [0], n_states=2, radius_A=7.0, gaussian_step_A=0.2)
    d = torch.tensor([0.0, 1.0, 3.3, 6.9])
    u = model.expansion(d)
    assert u.shape == (4, 36)
    expected = np.exp(-((d.numpy()[:, None] - 0.2 * np.arange(36)) ** 2) / 0.04)
    np.testing.assert_allclose(u.numpy(), expected, atol=1e-6)


def test_state_dict_carries_element_mapping():
    model = make_model([0])
    assert model.state_dict()["elements"].tolist() == [3, 8, 16]
    # Weights transfer to a system with the same elements in another order...
    other = GDyNet([16, 16, 3, 8], [2], n_states=3).double()
    other.load_state_dict(model.state_dict())
    assert other.type_index.tolist() == [2, 2, 0, 1]
    # ...but not to one with an element they have no embedding for.
    foreign = GDyNet([3, 16, 11], [0], n_states=3).double()
    with pytest.raises(ValueError, match="11"):
        foreign.load_state_dict(model.state_dict())


def test_bad_input_raises():
    with pytest.raises(ValueError, match="target_index"):
        GDyNet(TYPES, [0, 8], n_states=2)
    with pytest.raises(ValueError, match="atom_types"):
        GDyNet([], [0], n_states=2)
    model = GDyNet(TYPES, [0], n_states=2)
    with pytest.raises(ValueError, match="atoms"):
        model(torch.zeros(1, 5, M, dtype=torch.long), torch.ones(1, 5, M))
    with pytest.raises(ValueError, match="nbr_dist"):
        model(torch.zeros(1, 8, M, dtype=torch.long), torch.ones(1, 8, M - 1))
    with pytest.raises(ValueError, match="unknown model"):
        build("CGCNN")


def test_vampnet_shapes_and_standardisation():
    rng = np.random.default_rng(9)
    x = rng.normal(loc=5.0, scale=3.0, size=(20, 4))
    mean, std = x.mean(0), x.std(0)
    torch.manual_seed(0)
    net = VAMPNet(4, n_states=3, hidden=(8, 8), mean=mean, std=std).double()
    plain = build("VAMPNet", n_features=4, n_states=3, hidden=(8, 8)).double()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if k not in ("mean", "std")}, strict=False)
    out = net(torch.tensor(x))
    assert out.shape == (20, 1, 3)
    np.testing.assert_allclose(out.sum(-1).detach().numpy(), 1.0, rtol=1e-12)
    # Standardisation inside the model == feeding standardised features to the same net.
    np.testing.assert_allclose(
        out.detach().numpy(), plain(torch.tensor((x - mean) / std)).detach().numpy(), atol=1e-12
    )
    with pytest.raises(ValueError, match="features"):
        net(torch.zeros(3, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="activation"):
        VAMPNet(4, 2, activation="swish")


def test_convolutions_run_under_bf16_autocast_in_the_parameters_dtype():
    # Under autocast the linear maps give bf16; the per-edge chain casts to the
    # parameters' float32 and gradients reach the parameters in float32.
    model = make_model([0, 3], n_conv=2, atom_fea_len=8).float().train()
    idx, dist = graphs(random_frames(4, seed=13))
    dist = dist.float()
    with torch.no_grad():
        want = model(idx, dist)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = model(idx, dist)
    got.float().sum().backward()
    grad = model.convs[0].edge_proj.weight.grad
    assert grad.dtype == torch.float32 and torch.isfinite(grad).all() and grad.abs().sum() > 0
    np.testing.assert_allclose(got.float().detach().numpy(), want.numpy(), atol=3e-2)
