"""Small synthetic inputs shared by several test files."""

import numpy as np


def write_traj(path, n_frames=20, n_atoms=5, compressed=False, **overrides):
    """A valid toy-like trajectory .npz (random atoms in a 6.5 Å cube); `overrides`
    replace arrays, and an override of None drops that key."""
    rng = np.random.default_rng(0)
    arrays = {
        "traj_coords": rng.uniform(0, 6.5, (n_frames, n_atoms, 3)),
        "lattices": np.broadcast_to(6.5 * np.eye(3), (n_frames, 3, 3)).copy(),
        "atom_types": np.array([3] + [16] * (n_atoms - 1)),
        "target_index": np.array([0]),
    }
    arrays.update(overrides)
    save = np.savez_compressed if compressed else np.savez
    save(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


HOP_CELL = np.array([[9.0, 0.0, 0.0], [2.0, 9.0, 0.0], [1.0, 1.5, 9.0]])  # triclinic, Å
HOP_P = np.array([[0.95, 0.03, 0.02], [0.05, 0.90, 0.05], [0.02, 0.08, 0.90]])  # per frame


def write_hopping_traj(path, n_frames=400, n_targets=4, n_host=12, seed=0):
    """A toy-like trajectory in the project's npz format: `n_targets` Li (atomic number 3)
    hop between 3 fixed sites of an irregular frozen host of `n_host` S atoms in a
    triclinic cell, each by its own Markov chain HOP_P (one step per frame), with 0.15 Å
    of thermal noise. Host and sites are the same in every file (fixed by seed 0 of the
    layout); `seed` sets the hops and the noise. Returns (path, states (F, n_targets))."""
    layout = np.random.default_rng(0)
    host = layout.uniform(0, 1, (n_host, 3)) @ HOP_CELL
    sites = layout.uniform(0, 1, (3, 3)) @ HOP_CELL
    rng = np.random.default_rng(seed)
    cum = np.cumsum(HOP_P, axis=1)
    states = np.empty((n_frames, n_targets), dtype=int)
    states[0] = rng.integers(0, 3, n_targets)
    u = rng.random((n_frames, n_targets))
    for t in range(1, n_frames):
        states[t] = (u[t][:, None] > cum[states[t - 1]]).sum(axis=1)
    li = sites[states] + rng.normal(0, 0.15, (n_frames, n_targets, 3))
    s = host[None] + rng.normal(0, 0.05, (n_frames, n_host, 3))
    np.savez(path, traj_coords=np.concatenate([li, s], axis=1),
             lattices=np.broadcast_to(HOP_CELL, (n_frames, 3, 3)).copy(),
             atom_types=np.array([3] * n_targets + [16] * n_host),
             target_index=np.arange(n_targets))
    return path, states


# A filled lattice with a few two-state hoppers (issue 8): 216 atoms of a 6 x 6 x 6 simple
# cubic lattice, a = 3 Å. A sublattice of period 3 a holds 8 Li, the rest is S; 5 of the Li
# are targets that sit on their site (state 0) or displaced `shift` a toward the +x face
# (state 1), each by its own two-state Markov chain; the other 3 Li never move. All 8 Li
# have the same static surroundings: targets that differed in them (say, in the number of
# Li within the three convolutions' reach) would give the network a time-independent
# difference between targets, which VAMP-2 scores as an infinitely slow process (seen:
# VAMP-2 1.98 > 1 + λ² = 1.81, "timescale" 200-1000 ps, with 5 Li on a diagonal).
HOPPER_A = 3.0  # lattice constant, Å
HOPPER_CELLS = 6
HOPPER_LI = [(i, j, k) for i in (0, 3) for j in (0, 3) for k in (0, 3)]  # lattice sites of the 8 Li
HOPPER_TARGETS = 5  # the first 5 Li of HOPPER_LI hop
HOPPER_SHIFT = 0.15  # displacement of state 1, in units of a (0.45 Å; thermal noise 0.1 Å)
HOPPER_DT_PS = 0.1
HOPPER_T2_PS = 19.5  # analytic implied timescale
HOPPER_P = HOPPER_Q = 0.5 * (1 - np.exp(-HOPPER_DT_PS / HOPPER_T2_PS))  # 0 -> 1, 1 -> 0 per frame


def hopper_max_vamp2(lag_ps):
    """VAMP-2 of the hidden two states at lag τ: 1 + λ², λ = exp(-τ / t2)."""
    return 1.0 + np.exp(-2.0 * lag_ps / HOPPER_T2_PS)


def hopper_frames(n_frames, seed=0, noise_A=0.1, shift=HOPPER_SHIFT):
    """Coordinates (F, 216, 3) Å, lattices (F, 3, 3), atom types (216,), target
    indices (5,) and hidden states (F, 5) of the hopper lattice (independent stationary
    chains with t2 = HOPPER_T2_PS at HOPPER_DT_PS per frame); every atom carries
    `noise_A` of Gaussian thermal noise per coordinate."""
    n = HOPPER_CELLS
    grid = np.stack(np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij"), -1)
    sites = HOPPER_A * grid.reshape(-1, 3).astype(float)
    li = np.array([(i * n + j) * n + k for i, j, k in HOPPER_LI])
    targets = li[:HOPPER_TARGETS]
    rng = np.random.default_rng(seed)
    states = np.empty((n_frames, len(targets)), dtype=np.int8)
    states[0] = rng.random(len(targets)) < HOPPER_P / (HOPPER_P + HOPPER_Q)
    u = rng.random((n_frames, len(targets)))
    for t in range(1, n_frames):
        states[t] = np.where(states[t - 1] == 0, u[t] < HOPPER_P, u[t] >= HOPPER_Q)
    coords = np.broadcast_to(sites, (n_frames,) + sites.shape).copy()
    coords[:, targets, 0] += shift * HOPPER_A * states
    coords += rng.normal(0.0, noise_A, coords.shape)
    lattices = np.broadcast_to(n * HOPPER_A * np.eye(3), (n_frames, 3, 3)).copy()
    types = np.full(len(sites), 16)
    types[li] = 3
    return coords, lattices, types, targets, states


def hopper_graphs(n_frames, seed=0, m=12, **kw):
    """GraphFrames of the hopper (periodic M nearest neighbours), with atom types,
    target indices and hidden states (F, 5)."""
    from gdynet.graphs.neighbors import periodic_knn
    from gdynet.learn.training import GraphFrames

    coords, lattices, types, targets, states = hopper_frames(n_frames, seed, **kw)
    idx, dist = periodic_knn(coords, lattices, m)
    return GraphFrames(idx, dist), types, targets, states
