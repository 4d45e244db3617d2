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
