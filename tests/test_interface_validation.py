"""The interface known-answer checks (gdynet.systems.interface.validation) on constructed data."""

import numpy as np
import pytest

from gdynet.analysis import interface as itf
from gdynet.systems.interface.validation import validate


def two_state_pieces(rng, n_pieces=2, n_frames=3000, n_atoms=40, p=0.01, q=0.02):
    """Solid labels from a 2-state Markov chain; solid atoms inside the slab, liquid outside."""
    pieces = []
    for _ in range(n_pieces):
        x = np.zeros((n_frames, n_atoms), dtype=np.int64)
        x[0] = rng.random(n_atoms) < p / (p + q)
        u = rng.random((n_frames, n_atoms))
        for t in range(1, n_frames):
            flip = np.where(x[t - 1] == 1, u[t] < q, u[t] < p)
            x[t] = np.where(flip, 1 - x[t - 1], x[t - 1])
        z = np.where(x == 1, rng.uniform(-5, 5, x.shape), rng.choice([-1, 1], x.shape)
                     * rng.uniform(7, 20, x.shape))
        pieces.append((x, z))
    return pieces


def test_a_model_equal_to_the_labels_passes_every_check():
    rng = np.random.default_rng(0)
    slab = itf.Interfaces(axis=2, length_A=40.0, center_A=20.0, half_width_A=6.0, layer_spacing_A=2.0)
    chi, obs = [], []
    for x, z in two_state_pieces(rng):
        # the network's state 0 is liquid, state 1 solid: order not assumed anywhere
        chi.append(np.eye(2)[x])
        obs.append(itf.TargetObservables(z_centered_A=z, depth_A=6.0 - np.abs(z), solid=x == 1,
                                         order=np.where(x == 1, 0.45, 0.2)))
    lag, dt = 5, 0.5
    out = validate(chi, obs, slab, lag=lag, lag_ps=lag * dt)
    assert out["state_names"] == ["liquid", "solid"]
    assert out["state_agreement"] == pytest.approx(1.0) and out["passes"]
    assert out["solid_fraction_inside_slab"] == pytest.approx(1.0)
    # one-hot states of the labels: K(τ) is the count matrix, so the timescales coincide;
    # both are near the chain's slowest timescale, -dt/ln(1 - p - q) = 16.4 ps
    assert out["timescale_ps"] == pytest.approx(out["reference_timescale_ps"], rel=1e-9)
    assert out["reference_timescale_ps"] == pytest.approx(-dt / np.log(0.97), rel=0.1)
    assert out["notes"] == []


def test_a_model_that_ignores_the_phases_scores_a_half():
    rng = np.random.default_rng(1)
    slab = itf.Interfaces(axis=2, length_A=40.0, center_A=20.0, half_width_A=6.0, layer_spacing_A=2.0)
    chi, obs = [], []
    for x, z in two_state_pieces(rng, n_frames=500):
        random_state = rng.integers(0, 2, x.shape)
        chi.append(np.eye(2)[random_state] * 0.8 + 0.1)
        obs.append(itf.TargetObservables(z_centered_A=z, depth_A=6.0 - np.abs(z), solid=x == 1,
                                         order=np.zeros(x.shape)))
    out = validate(chi, obs, slab, lag=5, lag_ps=2.5)
    assert out["state_agreement"] == pytest.approx(0.5, abs=0.03) and not out["passes"]


def test_mismatched_frames_are_refused():
    obs = itf.TargetObservables(np.zeros((5, 3)), np.zeros((5, 3)), np.zeros((5, 3), bool),
                                np.zeros((5, 3)))
    slab = itf.Interfaces(axis=2, length_A=40.0, center_A=20.0, half_width_A=6.0, layer_spacing_A=2.0)
    with pytest.raises(ValueError, match="same frames"):
        validate([np.full((5, 4, 2), 0.5)], [obs], slab, lag=1, lag_ps=1.0)
