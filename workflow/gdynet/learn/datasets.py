"""What each model reads: GDyNet the graphs, the vanilla VAMPnet the target coordinates."""

from __future__ import annotations

import numpy as np

from gdynet.data import store
from gdynet.learn import training

MODELS = ("gdynet", "vampnet")


def target_coordinates(frames: store.Frames, chunk: int = 200_000) -> np.ndarray:
    """Input of the vanilla VAMPnet baseline: target-atom positions, (F, 3 * n_target_atoms).

    Positions are wrapped into the cell (fractional coordinates in [0, 1) times the
    lattice), as in the paper's global baseline, which sees where in the cell an atom is,
    not its local environment. For the toy system this is the Li position in Å.
    """
    atoms = np.asarray(frames.target_index).ravel()
    n_frames = frames.coords.shape[0]
    out = np.empty((n_frames, 3 * atoms.size), dtype=np.float32)
    for start in range(0, n_frames, chunk):
        stop = min(start + chunk, n_frames)
        xyz = np.asarray(frames.coords[start:stop][:, atoms], dtype=np.float64)
        lat = np.asarray(frames.lattices[start:stop], dtype=np.float64)
        frac = np.linalg.solve(lat.transpose(0, 2, 1)[:, None], xyz[..., None])[..., 0] % 1.0
        out[start:stop] = np.einsum("fai,fij->faj", frac, lat).reshape(stop - start, -1)
    return out


def open_model_data(model: str, frames_dir, graphs_dir=None):
    """Return (frames, data) where `data` feeds `model(*data.batch(frame_indices))`."""
    frames = store.open_frames(frames_dir)
    if model == "gdynet":
        return frames, training.GraphFrames(*store.open_graphs(graphs_dir))
    if model == "vampnet":
        return frames, training.FeatureFrames(target_coordinates(frames))
    raise ValueError(f"unknown model '{model}'; expected one of {MODELS}")
