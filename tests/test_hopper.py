"""Known answer (issue 8): GDyNet learns the timescale of a few two-state hoppers among
many atoms, with the template's network, in a short run (250 steps) at the learning rate
config/README.md recommends for short runs.

The hopper lattice (tests/synthetic.py): 216 atoms, 5 Li targets that hop by independent
two-state Markov chains with t2 = 19.5 ps between their site and one displaced 0.3 a
(0.9 Å; 0.1 Å thermal noise, so every frame shows its state). At τ = 2 ps a model that
reads the state of each frame gives the hidden states' own timescale and VAMP-2; a model
that has not finished learning gives noisy χ, whose K(τ) relaxes faster (issue 8: 3.7
instead of 19.5 ps at VAMP-2 1.31 of 1.81; config/README.md, "How long to train").
"""

from pathlib import Path

import numpy as np
import pytest
import yaml

from gdynet.analysis import koopman
from gdynet.learn.model import GDyNet
from gdynet.learn.training import TrainSettings, fit, predict
from gdynet.learn.vamp import lagged_score_np
from synthetic import HOPPER_DT_PS, HOPPER_T2_PS, hopper_graphs, hopper_max_vamp2

TEMPLATE = Path(__file__).parents[1] / "config" / "own-data.yaml"
LAG = 20  # frames: τ = 2 ps


def slowest_timescale_ps(chi, lag):
    return float(koopman.implied_timescales(koopman.koopman_matrix([chi], lag), lag * HOPPER_DT_PS)[0])


def test_hopper_trains_to_its_timescale_in_250_steps(tmp_path):
    import torch

    training = yaml.safe_load(TEMPLATE.read_text())["training"]
    data, types, targets, states = hopper_graphs(12_000, seed=3, shift=0.3)
    hidden = np.eye(2)[states[7000:]]
    t_hidden = slowest_timescale_ps(hidden, LAG)
    # The generator: ~64 hops in 5 x 5000 test frames, so ~13 % sampling error (here 15.3 ps).
    assert t_hidden == pytest.approx(HOPPER_T2_PS, rel=0.3)
    assert lagged_score_np(hidden, LAG) == pytest.approx(hopper_max_vamp2(LAG * HOPPER_DT_PS), abs=0.06)

    torch.manual_seed(0)
    net = GDyNet(types, targets, n_states=2, radius_A=7.0, **training["gdynet"])
    # 250 steps at 5e-4 stop short here (14.5 ps, VAMP-2 1.759: both outside the bounds
    # below); at 2e-3 they do not (15.2 ps, 1.768).
    settings = TrainSettings(epochs=5, steps_per_epoch=50, batch_pairs=64, learning_rate=2e-3, seed=0,
                             val_pairs=1000)
    trained = fit(net, data, train_ranges=[(0, 6000)], val_ranges=[(6000, 7000)], lag=LAG,
                  frame_interval_ps=HOPPER_DT_PS, settings=settings, checkpoint=tmp_path / "c.pt",
                  device="cpu")
    chi = predict(trained, data, [(7000, 12_000)], device="cpu")
    assert slowest_timescale_ps(chi, LAG) == pytest.approx(t_hidden, rel=0.05)
    assert lagged_score_np(chi, LAG) == pytest.approx(lagged_score_np(hidden, LAG), abs=0.01)
