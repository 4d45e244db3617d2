"""What each model reads, and how a model is built for a system, by name.

GDyNet reads the graphs; the vanilla VAMPnet reads the target coordinates. Both are
built from a name ("gdynet" or "vampnet") and their hyperparameters; what depends on the
system (atoms, targets, the feature width and its standardisation) comes from the data.
"""

from __future__ import annotations

import numpy as np

from gdynet.data import store
from gdynet.learn import training
from gdynet.learn.model import GDyNet, VAMPNet

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
        return frames, training.GraphFrames(store.open_graphs(graphs_dir))
    if model == "vampnet":
        return frames, training.FeatureFrames(target_coordinates(frames))
    raise ValueError(f"unknown model '{model}'; expected one of {MODELS}")


def build_model(model: str, frames: store.Frames, data, train_ranges, **hyper):
    """A new, untrained network for this system.

    gdynet: GDyNet over the system's atoms and targets; hyper holds n_states,
        atom_fea_len, n_conv, batch_norm, radius_A (and optionally hidden_len).
    vampnet: VAMPNet on the target coordinates, standardised with their mean and
        standard deviation over the training frames; hyper holds n_states and hidden.
    Seed torch before calling it for reproducible initial weights.
    """
    if model == "gdynet":
        return GDyNet(frames.atom_types, frames.target_index, **hyper)
    if model == "vampnet":
        mean, std = training.feature_mean_std(data, train_ranges)
        return VAMPNet(data.features.shape[1], mean=mean, std=std, **hyper)
    raise ValueError(f"unknown model '{model}'; expected one of {MODELS}")
