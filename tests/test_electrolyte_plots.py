"""Smoke tests of the PEO/LiTFSI figures on synthetic data: each one draws what it is given."""

import matplotlib.patches
import numpy as np
import pytest

from gdynet import plots
from gdynet.plots import electrolyte as fig


def test_conduction_bars_show_the_shares_in_percent(tmp_path):
    shares = np.array([[0.5, 0.1], [0.05, 0.35]])
    f = fig.conduction_figure(shares, shares - 0.02, shares + 0.03, ["a", "b"])
    bars = [p for p in f.axes[0].patches if isinstance(p, matplotlib.patches.Rectangle)]
    heights = sorted(round(b.get_height(), 6) for b in bars if b.get_height() != 0)
    assert heights == pytest.approx(sorted(100 * shares.ravel()))
    assert [t.get_text() for t in f.axes[0].get_xticklabels()] == ["0→0", "0→1", "1→0", "1→1"]
    plots.save(f, tmp_path / "fig5.png", tmp_path / "fig5.pdf")
    assert (tmp_path / "fig5.png").stat().st_size > 1000


def test_charge_integral_marks_every_shell_edge(tmp_path):
    edges = np.linspace(0, 10, 101)
    integral = np.stack([1 - np.clip(edges - 2, 0, 1), 1 - 2 * np.clip(edges - 2, 0, 1)])
    f = fig.charge_integral_figure(edges, integral, [3.0, 3.5], [0.0, -1.0])
    ax = f.axes[0]
    assert ax.get_xlabel() == "distance from Li, r (Å)"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), integral[0])
    assert len(ax.get_legend().get_texts()) == 2
    plots.save(f, tmp_path / "fig4c.png", tmp_path / "fig4c.pdf")


def test_rdf_grid_has_one_panel_per_state_and_element(tmp_path):
    r = np.linspace(0.05, 10, 100)
    g = np.ones((3, 2, 100))
    n = np.cumsum(g, axis=-1) * 0.1
    f = fig.rdf_figure(r, g, n, [8, 7], r_star=[3, 3, 3])
    assert len(f.axes) == 3 * 2 * 2  # each panel has its twin axis for n(r)
    assert f.axes[0].get_title() == "Li–O"
    plots.save(f, tmp_path / "supp_fig3.png", tmp_path / "supp_fig3.pdf")


def test_configuration_panels(tmp_path):
    rng = np.random.default_rng(0)
    panels = []
    for s in range(2):
        x = np.vstack([[0, 0, 0], rng.normal(0, 3, (12, 3))])
        types = np.array([3] + list(rng.choice([1, 6, 7, 8, 16], 12)))
        panels.append(dict(atom_types=types, positions=x, title=f"state {s}", r_star=4.0,
                           probability=0.97))
    f = fig.configurations_figure(panels)
    assert len(f.axes) == 2 and "χ = 0.97" in f.axes[0].get_title()
    plots.save(f, tmp_path / "fig4b.png", tmp_path / "fig4b.pdf")
    assert fig.symbol(16) == "S" and fig.symbol(26) == "Fe"
