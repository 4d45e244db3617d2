"""Known answer (issue 8): GDyNet learns the timescale of a few two-state hoppers among
many atoms, at the template's learning rate and network, within a small budget.

The hopper lattice (tests/synthetic.py): 216 atoms, 5 Li targets that hop by independent
two-state Markov chains with t2 = 19.5 ps between their site and one displaced 0.3 a
(0.9 Å; 0.1 Å thermal noise, so every frame shows its state). At τ = 2 ps a model that
reads the state of each frame gives the hidden states' own timescale and VAMP-2; a model
that has not finished learning gives noisy χ, whose K(τ) relaxes faster (the issue: 3.7
instead of 19.5 ps at VAMP-2 1.31 of 1.81).
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


def test_hopper_trains_to_its_timescale_at_the_template_learning_rate(tmp_path):
    import torch

    training = yaml.safe_load(TEMPLATE.read_text())["training"]
    data, types, targets, states = hopper_graphs(12_000, seed=3, shift=0.3)
    hidden = np.eye(2)[states[7000:]]
    t_hidden = slowest_timescale_ps(hidden, LAG)
    assert t_hidden == pytest.approx(HOPPER_T2_PS, rel=0.25)  # the generator: 5 x 5000 frames, ~130 hops
    assert lagged_score_np(hidden, LAG) == pytest.approx(hopper_max_vamp2(LAG * HOPPER_DT_PS), abs=0.06)

    torch.manual_seed(0)
    net = GDyNet(types, targets, n_states=2, radius_A=7.0, **training["gdynet"])
    settings = TrainSettings(epochs=5, steps_per_epoch=50, batch_pairs=64, seed=0, val_pairs=1000,
                             learning_rate=training["learning_rate"])
    trained = fit(net, data, train_ranges=[(0, 6000)], val_ranges=[(6000, 7000)], lag=LAG,
                  frame_interval_ps=HOPPER_DT_PS, settings=settings, checkpoint=tmp_path / "c.pt",
                  device="cpu")
    chi = predict(trained, data, [(7000, 12_000)], device="cpu")
    assert slowest_timescale_ps(chi, LAG) == pytest.approx(t_hidden, rel=0.12)
    assert lagged_score_np(chi, LAG) == pytest.approx(lagged_score_np(hidden, LAG), abs=0.03)
