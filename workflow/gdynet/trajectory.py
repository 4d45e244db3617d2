"""The trajectory contract, and its validation.

A trajectory is an ``.npz`` file in the format of the paper's Materials Cloud archive
(entry 2019.0017), so downloaded files need no conversion:

====================  ==============  =============================================
key                   shape           meaning
====================  ==============  =============================================
``traj_coords``       (F, N, 3)       Cartesian coordinates, Å
``lattices``          (F, 3, 3)       cell per frame; rows are the lattice vectors, Å
``atom_types``        (N,)            atomic numbers
``target_index``      (n,) or (n, k)  atoms whose dynamics is learned; k atoms per
                                      target are mean-pooled (paper Eq. 4 and 10)
====================  ==============  =============================================

The frame interval, temperature and anything else the file lacks come from config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

REQUIRED_KEYS = ("traj_coords", "lattices", "atom_types", "target_index")


class TrajectoryError(ValueError):
    """A trajectory file breaks the contract; the message names the file, key and fix."""


@dataclass(frozen=True)
class Trajectory:
    coords: np.ndarray  # (F, N, 3) Å
    lattices: np.ndarray  # (F, 3, 3) Å
    atom_types: np.ndarray  # (N,)
    target_index: np.ndarray  # (n,) or (n, k)

    @property
    def n_frames(self) -> int:
        return self.coords.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.coords.shape[1]


def load(path: str | Path) -> Trajectory:
    """Read and validate one trajectory file (see module docstring)."""
    path = Path(path)
    try:
        with np.load(path) as data:
            missing = [k for k in REQUIRED_KEYS if k not in data.files]
            if missing:
                raise TrajectoryError(
                    f"{path}: missing key(s) {missing}; a trajectory needs "
                    f"{list(REQUIRED_KEYS)} (see the README, 'Data contracts')"
                )
            arrays = {k: data[k] for k in REQUIRED_KEYS}
    except (OSError, ValueError) as err:
        if isinstance(err, TrajectoryError):
            raise
        raise TrajectoryError(f"{path}: not a readable .npz trajectory ({err})") from err
    traj = Trajectory(
        coords=arrays["traj_coords"],
        lattices=arrays["lattices"],
        atom_types=arrays["atom_types"],
        target_index=arrays["target_index"],
    )
    validate(traj, str(path))
    return traj


def validate(traj: Trajectory, name: str) -> None:
    """Raise TrajectoryError naming `name` and the offending key if `traj` is invalid."""
    c, lat, types, tgt = traj.coords, traj.lattices, traj.atom_types, traj.target_index

    def fail(key, problem, fix):
        raise TrajectoryError(f"{name}: '{key}' {problem}; {fix}")

    if c.ndim != 3 or c.shape[2] != 3 or c.shape[0] < 1 or c.shape[1] < 1:
        fail("traj_coords", f"has shape {c.shape}", "expected (frames, atoms, 3) in Å")
    if not np.issubdtype(c.dtype, np.floating):
        fail("traj_coords", f"has dtype {c.dtype}", "expected floating-point coordinates in Å")
    n_frames, n_atoms = c.shape[:2]
    if lat.shape != (n_frames, 3, 3):
        fail("lattices", f"has shape {lat.shape}",
             f"expected ({n_frames}, 3, 3): one cell per frame of 'traj_coords'")
    bad = ~np.isfinite(c)
    if bad.any():
        frame = int(np.argwhere(bad)[0, 0])
        fail("traj_coords", f"holds NaN or inf ({int(bad.sum())} values, first in frame {frame})",
             "remove or repair those frames")
    if not np.isfinite(lat).all():
        fail("lattices", "holds NaN or inf", "every frame needs a finite cell")
    volumes = np.linalg.det(lat.astype(np.float64))
    if (volumes <= 1e-6).any():
        frame = int(np.argmax(volumes <= 1e-6))
        fail("lattices", f"has a singular or left-handed cell in frame {frame} "
             f"(volume {volumes[frame]:.3g} Å³)", "rows must be right-handed lattice vectors in Å")
    if types.shape != (n_atoms,) or not np.issubdtype(types.dtype, np.integer):
        fail("atom_types", f"has shape {types.shape} and dtype {types.dtype}",
             f"expected ({n_atoms},) integer atomic numbers")
    if (types < 1).any() or (types > 118).any():
        fail("atom_types", "holds values outside 1..118", "use atomic numbers")
    if tgt.ndim not in (1, 2) or tgt.size == 0 or not np.issubdtype(tgt.dtype, np.integer):
        fail("target_index", f"has shape {tgt.shape} and dtype {tgt.dtype}",
             "expected (n,) or (n, k) integer atom indices")
    if (tgt < 0).any() or (tgt >= n_atoms).any():
        fail("target_index", f"holds indices outside 0..{n_atoms - 1}",
             "indices refer to atoms of 'traj_coords'")
    if len(np.unique(tgt)) != tgt.size:
        fail("target_index", "lists an atom more than once", "each atom belongs to one target")
