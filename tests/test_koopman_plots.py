"""The system-independent Koopman figures draw for any number of states (2..8), with
missing CIs, infinite timescales and a fallback τ*, and never crash."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from gdynet.analysis import koopman as kp
from gdynet.plots import koopman as kplots


def random_chain_chi(k, n_frames=3000, n_targets=3, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(k), size=k) * 0.2 + 0.8 * np.eye(k)
    cum = np.cumsum(P, axis=1)
    s = np.zeros((n_frames, n_targets), dtype=int)
    for t in range(1, n_frames):
        s[t] = (rng.random(n_targets)[:, None] > cum[s[t - 1]]).sum(axis=1)
    return [np.eye(k)[s]]


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_every_figure_draws_for_k_states(k, tmp_path):
    chi = random_chain_chi(k)
    ts = kp.timescales_vs_lag(chi, [1, 2, 4], 0.1, n_groups=3)
    ck = kp.ck_test(chi, 2, 3, 0.1, n_groups=3)
    vals, vecs = kp.eigenvectors(kp.koopman_matrix(chi, 2))
    pi, lo, hi = kp.populations(chi, 2, n_groups=3)
    metrics = pd.DataFrame({"epoch": [1, 2, 3], "train_vamp2": [1.2, 1.5, 1.6],
                            "val_vamp2": [1.1, 1.4, 1.5]})
    figures = [
        kplots.timescales_figure([{"table": ts, "tau_star_ps": 0.2, "title": "t",
                                   "fallback": True}]),
        kplots.eigenvector_figure(vecs, kp.implied_timescales(kp.koopman_matrix(chi, 2), 0.2),
                                  0.2, "t"),
        kplots.ck_figure([{"table": ck, "title": "t"}]),
        kplots.populations_figure(pi, lo, hi, "t"),
        kplots.training_figure({0.2: metrics, 0.4: metrics}, "t"),
    ]
    for i, fig in enumerate(figures):
        fig.savefig(tmp_path / f"{i}.png")
        plt.close(fig)
    assert len(list(tmp_path.glob("*.png"))) == 5


def test_missing_intervals_and_infinite_timescales_draw():
    table = pd.DataFrame({"lag_ps": [1.0, 2.0, 1.0, 2.0], "process": [1, 1, 2, 2],
                          "timescale_ps": [np.inf, 10.0, 3.0, np.nan],
                          "ci_low_ps": np.nan, "ci_high_ps": np.nan})
    fig = kplots.timescales_figure([{"table": table, "tau_star_ps": 2.0, "title": "t"}])
    plt.close(fig)
    fig = kplots.populations_figure([0.7, 0.3], [np.nan, np.nan], [np.nan, np.nan], "t")
    plt.close(fig)
    fig = kplots.eigenvector_figure(np.eye(2), [np.inf], 1.0, "t")
    plt.close(fig)


def test_fallback_is_named_in_the_legend():
    table = pd.DataFrame({"lag_ps": [1.0, 2.0], "process": [1, 1], "timescale_ps": [5.0, 6.0],
                          "ci_low_ps": [4.0, 5.0], "ci_high_ps": [6.0, 7.0]})
    fig = kplots.timescales_figure([{"table": table, "tau_star_ps": 2.0, "title": "t",
                                     "fallback": True}])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert any("fallback" in label and "2 ps" in label for label in labels)


def test_a_ck_estimate_outside_its_interval_draws():
    ck = pd.DataFrame({"step": [0, 1], "time_ps": [0.0, 1.0], "from_state": 0, "to_state": 0,
                       "predicted": [1.0, 0.8], "pred_low": [1.0, 0.7], "pred_high": [1.0, 0.9],
                       "estimated": [1.0, 0.6], "est_low": [1.0, 0.65], "est_high": [1.0, np.nan]})
    plt.close(kplots.ck_figure([{"table": ck, "title": "t"}]))
