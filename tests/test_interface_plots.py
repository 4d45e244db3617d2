"""Smoke tests of the interface figures (gdynet.plots.interface) on synthetic tables."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gdynet.analysis import interface as itf
from gdynet.plots import interface as pl
from gdynet.plots import save

NAMES = ("liquid-interface", "solid", "solid-interface", "liquid")
W, L_NORMAL, L_PLANE = 8.0, 60.0, 20.0


@pytest.fixture
def section_table():
    rng = np.random.default_rng(0)
    n = 200
    chi = rng.dirichlet(np.ones(4), n)
    return itf.cross_section_table(
        itf.CrossSection(rows=np.arange(n), normal_A=rng.uniform(-30, 30, n),
                         inplane_A=rng.uniform(0, L_PLANE, n), normal_length_A=L_NORMAL,
                         inplane_length_A=L_PLANE, inplane_axis=0, cut_axis=1, cut_center_A=5.0,
                         thickness_A=3.0, interfaces_A=(-W, W)),
        atoms=np.arange(n) + 100, chi=chi, order=rng.uniform(0.1, 0.5, n))


def profile(rng, edges, centers):
    values = np.concatenate([rng.normal(c, 1.5, 2000) for c in centers])
    chi = np.repeat(np.eye(len(centers)), 2000, axis=0)
    return itf.profile_table(itf.weighted_profiles(values, chi, edges), NAMES)


def test_cross_section_has_one_panel_per_state_on_a_shared_probability_scale(section_table, tmp_path):
    assert list(section_table.columns[:3]) == ["atom", "normal_A", "inplane_A"]
    fig = pl.cross_section_figure(section_table, NAMES, W, L_NORMAL, L_PLANE,
                                  others=section_table[["normal_A", "inplane_A"]].iloc[:20])
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 5  # the most probable state, then one panel per state
    # from the solid to the liquid side, whatever the network's state order
    assert [ax.get_title(loc="left") for ax in panels[1:]] == [
        "P(state 1: solid)", "P(state 2: solid-interface)", "P(state 0: liquid-interface)",
        "P(state 3: liquid)"]
    overview = panels[0].collections[-1].get_facecolors()[:, :3]
    chi = section_table[[f"p_state{s}" for s in range(4)]].to_numpy()
    chi = chi[np.argsort(section_table["atom"].to_numpy())]
    # every atom is drawn in its most probable state's colour, paled towards white by 1 - P
    base = np.array([matplotlib.colors.to_rgb(pl.NAME_COLORS[NAMES[s]]) for s in chi.argmax(axis=1)])
    np.testing.assert_allclose(overview, 1 - chi.max(axis=1)[:, None] * (1 - base), atol=1e-6)
    for ax in panels[1:]:
        probs = [c for c in ax.collections if c.get_array() is not None]
        assert probs and probs[0].get_clim() == (0, 1)
        assert ax.get_xlim() == (-L_NORMAL / 2, L_NORMAL / 2)
    save(fig, tmp_path / "fig3b.png", tmp_path / "fig3b.pdf")
    assert (tmp_path / "fig3b.png").stat().st_size > 0 and (tmp_path / "fig3b.pdf").exists()


def test_z_profiles_plot_every_state_with_the_interfaces_and_a_physical_legend(tmp_path):
    rng = np.random.default_rng(1)
    table = profile(rng, np.linspace(-30, 30, 121), [-9.0, 0.0, 7.0, 20.0])
    fig = pl.z_profile_figure(table, W)
    ax = fig.axes[0]
    dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert sorted(dashed) == [-W, W]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert [lab.split(": ")[1].split(" (")[0] for lab in labels] == [
        "solid", "solid-interface", "liquid-interface", "liquid"]
    save(fig, tmp_path / "fig3c.png", tmp_path / "fig3c.pdf")


def test_order_map_colours_by_the_order_parameter(section_table, tmp_path):
    fig = pl.order_map_figure(section_table, W, L_NORMAL, L_PLANE, order_label="q̄₆")
    cbar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    assert "q̄₆" in cbar.get_ylabel()
    with pytest.raises(ValueError, match="order"):
        pl.order_map_figure(section_table.drop(columns="order"), W, L_NORMAL, L_PLANE)
    save(fig, tmp_path / "supp2a.png", tmp_path / "supp2a.pdf")


def test_order_distributions_plot_one_curve_per_state(tmp_path):
    rng = np.random.default_rng(2)
    table = profile(rng, np.linspace(0, 0.7, 71), [0.3, 0.45, 0.4, 0.15])
    fig = pl.order_distribution_figure(table, "q̄₃", reference={"perfect diamond": 0.447})
    assert len([ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "-"]) == 4
    save(fig, tmp_path / "supp2b.png", tmp_path / "supp2b.pdf")
    plt.close("all")
