"""The small system that tests/test_distributed.py trains in one and in two processes."""

import numpy as np
import torch

from gdynet.learn import training
from gdynet.learn.model import GDyNet

LAG = 2
BATCH = np.random.default_rng(7).integers(0, 300 - LAG, size=37)  # an odd count: unequal shares


def case():
    rng = np.random.default_rng(0)
    n_frames, n_atoms, m = 400, 40, 8
    idx = rng.integers(0, n_atoms, size=(n_frames, n_atoms, m)).astype(np.int32)
    dist = rng.uniform(1.0, 4.0, size=(n_frames, n_atoms, m)).astype(np.float32)
    torch.manual_seed(0)
    model = GDyNet([3] * 5 + [16] * 35, np.arange(5), n_states=3, atom_fea_len=8, n_conv=2,
                   radius_A=4.0, batch_norm=False)
    # float64, so that the comparison sees the algorithm, not float32 summation order (~1e-5)
    return training.GraphFrames(idx, dist), model.double()


def settings():
    return training.TrainSettings(epochs=2, steps_per_epoch=5, batch_pairs=5 * 30, learning_rate=1e-2, seed=3)
