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
