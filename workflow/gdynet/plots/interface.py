"""Solid–liquid interface figures: Fig. 3b, Fig. 3c and Supp. Fig. 2 (a, b).

Drawn from the tables of ``gdynet.analysis.interface``:

* cross-section tables (`cross_section_table`): one row per atom of the slice, columns
  ``atom, normal_A, inplane_A, p_state0 … p_state{k-1}`` and optionally ``order``;
* profile tables (`profile_table`): one row per state and bin, columns
  ``state, name, lo, hi, density, weight``.

Positions along the interface normal are centred on the crystal slab (0 = its middle,
the interfaces at ±w). State colours follow the states' names (solid dark blue,
solid-interface light blue, liquid-interface orange, liquid red), so figures of one
model and of different models read the same.
"""

from __future__ import annotations

import matplotlib
import matplotlib.lines
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from gdynet.plots import style

NAME_COLORS = {
    "solid": "#1f4e8c", "solid-interface": "#6fa8dc",
    "liquid-interface": "#f0a030", "liquid": "#c8302b",
}
CRYSTAL_SHADE = "0.92"
MARKER_DIAMETER_A = 1.6  # drawn atom size (Å): atoms of a slice a few Å thick stay apart
NAME_RANK = {"solid": 0, "solid-interface": 1, "liquid-interface": 2, "liquid": 3}


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def q_bar_label(l: int) -> str:
    """The axis name of the Lechner-Dellago order parameter of degree l: q̄₃, q̄₆, ..."""
    return f"q̄{str(int(l)).translate(_SUBSCRIPTS)}"


def state_colors(names) -> list:
    """One colour per state, from its name (numbered interface states share a hue)."""
    fallback = iter(sns.color_palette("colorblind", len(names)))
    out = []
    for name in names:
        base = name.split(" ")[0]
        out.append(NAME_COLORS.get(base) or next(fallback))
    return out


def _state_label(state: int, name: str) -> str:
    return f"state {state}: {name}"


def _physical_order(states, names) -> list[int]:
    """Positions of `states` from the solid to the liquid side (for legends)."""
    rank = [(NAME_RANK.get(n.split(" ")[0], 9), n, i) for i, n in enumerate(names)]
    return [i for *_, i in sorted(rank)]


def _legend(fig, ax):
    handles, labels = ax.get_legend_handles_labels()
    names = [lab.split(": ", 1)[-1] for lab in labels]
    order = _physical_order(range(len(names)), names)
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside right center",
               frameon=False, fontsize="small")


def _prob_columns(table: pd.DataFrame) -> list[str]:
    cols = [c for c in table.columns if c.startswith("p_state")]
    if not cols:
        raise ValueError("the cross-section table has no p_state<k> columns")
    return sorted(cols, key=lambda c: int(c.removeprefix("p_state")))


def _slice_axes(ax, half_width_A, normal_length_A, inplane_length_A, inplane_name, others):
    ax.axvspan(-half_width_A, half_width_A, color=CRYSTAL_SHADE, zorder=0, lw=0)
    for x in (-half_width_A, half_width_A):
        ax.axvline(x, color="0.15", ls="--", lw=1.0, zorder=4)
    if others is not None and len(others):
        ax.scatter(others["normal_A"], others["inplane_A"], s=4, color="0.6", lw=0, zorder=1)
    ax.set_xlim(-normal_length_A / 2, normal_length_A / 2)
    ax.set_ylim(0, inplane_length_A)
    ax.set_aspect("equal")
    ax.set_ylabel(f"{inplane_name} (Å)")


def _marker_area(fig, ax, normal_length_A) -> float:
    """Scatter marker area (pt²) for a disc of MARKER_DIAMETER_A in data units."""
    fig.canvas.draw()
    width_pt = ax.get_window_extent().width * 72.0 / fig.dpi
    return (MARKER_DIAMETER_A * width_pt / normal_length_A) ** 2


def _panel_height(normal_length_A, inplane_length_A) -> float:
    """Inches for one equal-aspect slice panel of a 8-inch-wide figure, title included."""
    return 0.45 + 6.6 * inplane_length_A / normal_length_A


def cross_section_figure(table: pd.DataFrame, names, half_width_A: float, normal_length_A: float,
                         inplane_length_A: float, normal_name: str = "z", inplane_name: str = "x",
                         others: pd.DataFrame | None = None, time_ps: float | None = None
                         ) -> plt.Figure:
    """Fig. 3b: the target atoms of a slice: their most probable state, then P(each state).

    x: position along the interface normal from the slab's centre (Å); y: position along
    an in-plane axis (Å). Grey band: the crystal slab, dashed lines: the interfaces.
    Top panel: each atom in the colour of its most probable state (the states' name
    colours), shaded by that probability. Below, one panel per state, from the solid to
    the liquid side (by name, never by the network's index): the atom's probability of
    being in the panel's state (0-1, shared scale).
    others: optional (normal_A, inplane_A) of the slice's other atoms (the crystal's
    interior, the other species), drawn as small grey dots for context. time_ps: the
    frame's time, for the title.
    """
    style()
    cols = _prob_columns(table)
    k = len(cols)
    height = 0.9 + (k + 1) * _panel_height(normal_length_A, inplane_length_A)
    fig, axes = plt.subplots(k + 1, 1, figsize=(8.0, height), sharex=True, squeeze=False,
                             layout="constrained")
    axes = axes[:, 0]
    for ax in axes:
        _slice_axes(ax, half_width_A, normal_length_A, inplane_length_A, inplane_name, others)
    size = _marker_area(fig, axes[0], normal_length_A)
    order = np.argsort(table["atom"].to_numpy())
    x, y = table["normal_A"].to_numpy()[order], table["inplane_A"].to_numpy()[order]
    probs = table[cols].to_numpy()[order]
    colors = np.array([matplotlib.colors.to_rgb(c) for c in state_colors(names)])
    best = probs.argmax(axis=1)
    shade = probs.max(axis=1)[:, None]  # white (uncertain) to the full colour (certain)
    rgb = 1.0 - shade * (1.0 - colors[best]) if len(best) else np.zeros((0, 3))
    axes[0].scatter(x, y, c=rgb, s=size, linewidths=0.2, edgecolors="0.3", zorder=2)
    when = "" if time_ps is None else f" at t = {time_ps / 1000:.3g} ns"
    axes[0].set_title(f"most probable state{when} (paler: less certain; grey dots: other atoms)",
                      loc="left", fontsize="medium")
    handles = [matplotlib.lines.Line2D([], [], ls="", marker="o", ms=7, mfc=colors[s], mec="0.3",
                                       label=_state_label(s, names[s]))
               for s in _physical_order(range(k), names)]
    fig.legend(handles=handles, loc="outside upper center", ncols=min(k, 4), frameon=False,
               fontsize="small", handletextpad=0.2, columnspacing=1.2)
    for ax, s in zip(axes[1:], _physical_order(range(k), names)):
        sc = ax.scatter(x, y, c=probs[:, s], cmap="viridis", vmin=0, vmax=1, s=size,
                        linewidths=0.2, edgecolors="0.3", zorder=2)
        ax.set_title(f"P({_state_label(s, names[s])})", loc="left", fontsize="medium")
    axes[-1].set_xlabel(f"{normal_name} − slab centre (Å)   [grey band: crystal slab]")
    fig.colorbar(sc, ax=list(axes[1:]), label="probability of the state", shrink=0.8, aspect=30)
    return fig


def _slice_title(time_ps: float) -> str:
    return f"target atoms in a slice at t = {time_ps / 1000:.3g} ns (grey dots: other atoms)"


def z_profile_figure(table: pd.DataFrame, half_width_A: float, normal_name: str = "z") -> plt.Figure:
    """Fig. 3c: where each state's atoms are along the interface normal.

    x: position along the normal from the slab's centre (Å); y: probability density of
    a state's atoms (1/Å; each curve integrates to 1), from the χ-weighted histogram
    over all test frames. Grey band and dashed lines: the crystal slab and its
    interfaces. The legend gives each state's share of the target atom-frames.
    """
    style()
    fig, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    states = sorted(table["state"].unique())
    names = [table.loc[table["state"] == s, "name"].iloc[0] for s in states]
    total = table.groupby("state")["weight"].first()
    ax.axvspan(-half_width_A, half_width_A, color=CRYSTAL_SHADE, zorder=0, lw=0)
    for x in (-half_width_A, half_width_A):
        ax.axvline(x, color="0.35", ls="--", lw=0.9, zorder=1)
    for s, name, color in zip(states, names, state_colors(names)):
        df = table[table["state"] == s].sort_values("lo")
        x = np.append(df["lo"].to_numpy(), df["hi"].to_numpy()[-1])
        y = np.append(df["density"].to_numpy(), df["density"].to_numpy()[-1])
        share = 100 * total[s] / total.sum()
        ax.step(x, y, where="post", color=color, lw=1.6,
                label=f"{_state_label(s, name)} ({share:.0f} %)")
        ax.fill_between(x, y, step="post", color=color, alpha=0.15, lw=0)
    edges = np.sort(np.unique(np.concatenate([table["lo"], table["hi"]])))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, None)
    ax.set_xlabel(f"{normal_name} − slab centre (Å)")
    ax.set_ylabel("density of the state's atoms (1/Å)")
    ax.text(0, 1.0, "crystal", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
            color="0.35", fontsize="small")
    for side in (-1, 1):  # the liquid on either side, half-way to the cell's edge
        ax.text(side * 0.5 * (half_width_A + edges[-1]), 1.0, "liquid", ha="center", va="bottom",
                transform=ax.get_xaxis_transform(), color="0.35", fontsize="small")
    _legend(fig, ax)
    return fig


def order_map_figure(table: pd.DataFrame, half_width_A: float, normal_length_A: float,
                     inplane_length_A: float, order_label: str = "q̄₃", normal_name: str = "z",
                     inplane_name: str = "x", others: pd.DataFrame | None = None,
                     time_ps: float | None = None) -> plt.Figure:
    """Supp. Fig. 2a: the slice of Fig. 3b coloured by the order parameter of each atom.

    Axes as in `cross_section_figure`; colour: the order parameter (column ``order``),
    light for liquid-like (low) to dark for crystal-like (high) values.
    """
    if "order" not in table.columns:
        raise ValueError("the cross-section table has no `order` column")
    style()
    fig, ax = plt.subplots(figsize=(8.0, 0.9 + _panel_height(normal_length_A, inplane_length_A)),
                           layout="constrained")
    _slice_axes(ax, half_width_A, normal_length_A, inplane_length_A, inplane_name, others)
    size = _marker_area(fig, ax, normal_length_A)
    values = table["order"].to_numpy()
    lo, hi = np.nanpercentile(values, [1, 99])
    sc = ax.scatter(table["normal_A"], table["inplane_A"], c=values, cmap="mako_r", vmin=lo, vmax=hi,
                    s=size, linewidths=0.2, edgecolors="0.3", zorder=2)
    ax.set_xlabel(f"{normal_name} − slab centre (Å)   [grey band: crystal slab]")
    if "solid" in table.columns:  # the solid criterion's verdict: a dot on solid atoms
        solid = table["solid"].to_numpy(dtype=bool)
        ax.scatter(table["normal_A"][solid], table["inplane_A"][solid], s=max(size / 12, 2),
                   color="#f0a030", linewidths=0, zorder=3, label="solid by the bond-order criterion")
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize="small",
                  borderaxespad=0.2)
    fig.colorbar(sc, ax=ax, label=f"order parameter {order_label}", shrink=0.75, aspect=15)
    if time_ps is not None:
        fig.suptitle(_slice_title(time_ps), fontsize="medium")
    return fig


def order_distribution_figure(table: pd.DataFrame, order_label: str = "q̄₃",
                              reference: dict | None = None, state_table: pd.DataFrame | None = None
                              ) -> plt.Figure:
    """Supp. Fig. 2b: the distribution of the order parameter in each learned state.

    x: order parameter; y: probability density of the state's atom-frames (χ-weighted
    histogram over the test frames; each curve integrates to 1). `reference`: optional
    {label: value} vertical lines, e.g. the perfect crystal's value. state_table: optional
    state table (`StateNames.table`); the legend then gives each state's solid fraction by
    the bond-order criterion.
    """
    style()
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    states = sorted(table["state"].unique())
    names = [table.loc[table["state"] == s, "name"].iloc[0] for s in states]
    for s, name, color in zip(states, names, state_colors(names)):
        df = table[table["state"] == s].sort_values("lo")
        centers = 0.5 * (df["lo"] + df["hi"])
        label = _state_label(s, name)
        if state_table is not None:
            row = state_table.loc[state_table["state"] == s].iloc[0]
            label += f" ({100 * row['solid_fraction']:.0f} % solid)"
        ax.plot(centers, df["density"], color=color, lw=1.8, label=label)
        ax.fill_between(centers, df["density"], color=color, alpha=0.15, lw=0)
    for label, value in (reference or {}).items():
        ax.axvline(value, color="0.3", ls=":", lw=1)
        ax.text(value, 0.97, f"{label} ", transform=ax.get_xaxis_transform(), rotation=90,
                ha="right", va="top", fontsize="x-small", color="0.3")
    ax.set_xlim(table["lo"].min(), table["hi"].max())
    ax.set_ylim(0, None)
    ax.set_xlabel(f"order parameter {order_label}")
    ax.set_ylabel("density of the state's atom-frames")
    _legend(fig, ax)
    return fig
