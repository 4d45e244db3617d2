"""Fig. 2c: the state map's labels stay readable."""

import matplotlib

matplotlib.use("Agg")

import numpy as np

from gdynet.plots import toy


def test_the_z_label_of_fig2c_is_not_hidden_behind_the_colour_bar():
    rng = np.random.default_rng(0)
    a = 6.5
    sulfur = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * a
    fig = toy.state_map(rng.uniform(0, a, (500, 3)), rng.uniform(0, 1, 500), a, sulfur_A=sulfur)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax, bar = fig.axes
    label = ax.zaxis.label.get_window_extent(renderer)
    assert ax.zaxis.label.get_text() == "z (Å)"
    assert label.x1 < bar.get_window_extent(renderer).x0  # wholly left of the bar
    assert fig.bbox.contains(label.x0, label.y0) and fig.bbox.contains(label.x1, label.y1)
