"""PEO/LiTFSI figures: Fig. 4b (representative shells), Fig. 4c (charge integral), Fig. 5
(conduction shares) and Supp. Fig. 3 (state-weighted RDFs).

Pure: arrays in, Figure out (see `gdynet.analysis.electrolyte` and `gdynet.analysis.rdf`
for what the arrays mean). Every state has one colour in every figure (`state_colors`).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from gdynet.elements import symbol
from gdynet.plots import style

# CPK-like element colours and drawing sizes (points²) for the 3-D shells.
ELEMENT_COLOR = {1: "#e8e8e8", 3: "#8f40d4", 6: "#505050", 7: "#3050f8", 8: "#e02020",
                 9: "#90e050", 16: "#e8c020"}
ELEMENT_SIZE = {1: 60, 3: 140, 6: 110, 7: 150, 8: 120, 9: 90, 16: 170}


def state_colors(k: int) -> list:
    return sns.color_palette("colorblind", k)


# ------------------------------------------------------------------------- Fig. 4b
def configurations_figure(panels: Sequence[dict]) -> plt.Figure:
    """Fig. 4b: one 3-D panel per state with its most confident Li and first shell.

    Each panel dict: atom_types (m,), positions (m, 3) Å relative to the Li (the Li first,
    at the origin), title (str); optional r_star (Å): the shell edge, drawn as a faint
    sphere, and every atom of `contact_elements` (default N, O, H, Li: the elements of
    Supp. Fig. 3) inside it is joined to the Li by a dashed line, darker for the ions
    (`ion_elements`, default N and Li); optional probability (χ of that state, shown in
    the title).
    """
    style()
    n = len(panels)
    fig = plt.figure(figsize=(3.6 * n, 4.0))
    seen = {}
    for p, panel in enumerate(panels):
        ax = fig.add_subplot(1, n, p + 1, projection="3d")
        types = np.asarray(panel["atom_types"])
        x = np.asarray(panel["positions"], dtype=float)
        r_star = panel.get("r_star")
        ions = panel.get("ion_elements", (7, 3))
        contacts = panel.get("contact_elements", (7, 8, 1, 3))
        dist = np.linalg.norm(x, axis=1)
        if r_star is not None:
            u, v = np.mgrid[0:2 * np.pi:30j, 0:np.pi:15j]
            ax.plot_wireframe(r_star * np.cos(u) * np.sin(v), r_star * np.sin(u) * np.sin(v),
                              r_star * np.cos(v), color="0.75", lw=0.3, alpha=0.5)
            for j in np.flatnonzero((dist < r_star) & np.isin(types, contacts))[1:]:
                ion = np.isin(types[j], ions)
                ax.plot(*zip(x[0], x[j]), color="0.2" if ion else "0.55", ls="--",
                        lw=1.1 if ion else 0.7)
        order = np.argsort(-x[:, 1])  # far atoms first, so near ones are drawn on top
        for z in np.unique(types):
            sel = order[types[order] == z]
            art = ax.scatter(*x[sel].T, s=ELEMENT_SIZE.get(int(z), 100),
                             c=ELEMENT_COLOR.get(int(z), "#b0b0b0"), edgecolors="k",
                             linewidths=0.4, depthshade=True, alpha=0.95)
            seen.setdefault(int(z), art)
        ax.scatter(*x[0], s=ELEMENT_SIZE[3] * 1.6, facecolors="none", edgecolors="k", lw=1.5)
        half = max(float(np.abs(x).max()), r_star or 0.0)
        for set_lim in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            set_lim(-half, half)
        ax.set_box_aspect((1, 1, 1))
        ax.set_xlabel("x (Å)", labelpad=-8)
        ax.set_ylabel("y (Å)", labelpad=-8)
        ax.set_zlabel("z (Å)", labelpad=-8)
        ax.tick_params(labelsize="x-small", pad=-2)
        title = panel.get("title", f"state {p}")
        notes = []
        if r_star is not None:
            inside = types[1:][dist[1:] < r_star]
            notes.append(", ".join(f"{(inside == z).sum()} {symbol(z)}" for z in np.unique(inside))
                         + f" within {r_star:.1f} Å" if inside.size else f"none within {r_star:.1f} Å")
        if panel.get("probability") is not None:
            notes.append(f"χ = {panel['probability']:.2f}")
        ax.set_title("\n".join([title, *notes]), fontsize="medium")
    handles = [seen[z] for z in sorted(seen)]
    names = [symbol(z) for z in sorted(seen)]
    if any(panel.get("r_star") is not None for panel in panels):
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="0.3", ls="--", lw=1))
        names.append("contact within r*")
    fig.legend(handles, names, loc="lower center", ncol=len(handles), frameon=False,
               markerscale=0.8)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.12, top=0.88, wspace=0.05)
    return fig


# ------------------------------------------------------------------------- Fig. 4c
def charge_integral_figure(edges, integral, r_star, charges, labels=None) -> plt.Figure:
    """Fig. 4c: charge within a sphere of radius r around the Li of each state.

    edges (B+1,) Å; integral (k, B+1) e (`ShellCharges.integral`); r_star (k,) Å, the shell
    edges, marked with a dot and the charge there; charges (k,) e; labels: optional state
    names for the legend.
    """
    style()
    k = len(integral)
    colors = state_colors(k)
    fig, ax = plt.subplots(figsize=(7.8, 3.8))
    ax.axhline(0.0, color="0.6", lw=0.8)
    for i in range(k):
        name = labels[i] if labels is not None else f"state {i}"
        ax.plot(edges, integral[i], color=colors[i], lw=1.8,
                label=f"{name}: {charges[i]:+.2f} e at r* = {r_star[i]:.1f} Å")
        ax.axvline(r_star[i], color=colors[i], ls=":", lw=1)
        ax.plot(r_star[i], charges[i], "o", color=colors[i], ms=6, mec="k", mew=0.6)
    ax.set_xlim(0, edges[-1])
    lo = min(float(np.nanmin(integral)), -1.0)
    hi = max(float(np.nanmax(integral)), 1.0)
    ax.set_ylim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))
    ax.set_xlabel("distance from Li, r (Å)")
    ax.set_ylabel("charge within r (e)")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="state: charge at the shell edge r*")
    sns.despine(fig)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- Fig. 5
def conduction_figure(shares, low=None, high=None, labels=None, total_S_cm=None,
                      tau_ps=None) -> plt.Figure:
    """Fig. 5: share of the Li-ion conduction carried by each transition i→j (Eq. 16).

    shares, low, high (k, k): the shares σ_ij/Σσ and their 95 % CI (fractions; shown in
    %). Bars are grouped by the initial state i and coloured by it; transitions within a
    state (i→i) are solid, between states hatched. total_S_cm: optional (σ, low, high), the
    absolute conductivity in S/cm, and tau_ps the lag, for the title.
    """
    style()
    shares = np.asarray(shares, dtype=float)
    k = shares.shape[0]
    colors = state_colors(k)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.5 * k * k + 1.5), 3.8))
    x = 0.0
    ticks, names = [], []
    for i in range(k):
        for j in range(k):
            yerr = None
            if low is not None and high is not None and np.isfinite(low[i][j]):
                yerr = [[100 * (shares[i, j] - low[i][j])], [100 * (high[i][j] - shares[i, j])]]
            ax.bar(x, 100 * shares[i, j], width=0.8, color=colors[i], edgecolor="k", lw=0.6,
                   hatch=None if i == j else "///", yerr=yerr, capsize=2,
                   error_kw=dict(lw=0.9, ecolor="0.15"))
            ticks.append(x)
            names.append(f"{i}→{j}")
            x += 1.0
        x += 0.6
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_xticks(ticks, names, fontsize="small")
    ax.set_xlabel("transition i → j (within τ)")
    ax.set_ylabel("share of Li⁺ conduction (%)")
    if total_S_cm is not None:
        sigma, lo, hi = (1e3 * v for v in total_S_cm)  # mS/cm
        ci = f" (95 % CI {lo:.2g}–{hi:.2g})" if np.isfinite(lo) and np.isfinite(hi) else ""
        at = f" at τ = {tau_ps:g} ps" if tau_ps is not None else ""
        ax.set_title(f"σ = {sigma:.2g} mS/cm{ci}{at}", fontsize="medium")
    if labels is not None:
        from matplotlib.patches import Patch

        ax.legend([Patch(color=colors[i]) for i in range(k)], labels, frameon=False,
                  fontsize="small", title="from state")
    sns.despine(fig)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------- Supp. Fig. 3
def rdf_figure(r, g, n, elements, r_star=None, labels=None) -> plt.Figure:
    """Supp. Fig. 3: state-weighted RDFs g_i(r) (blue, left axis) and coordination numbers
    n_i(r) (black, right axis) of every element (columns) around the Li of every state
    (rows).

    r (B,) Å bin centres; g, n (k, E, B) (`StateRDF.g`, `StateRDF.coordination`, n at the
    outer bin edge r + dr/2); elements (E,) atomic numbers; r_star (k,) Å: the shell edge,
    a dotted line; labels: optional state names.
    """
    style()
    g, n = np.asarray(g), np.asarray(n)
    k, n_el, _ = g.shape
    r = np.asarray(r)
    dr = r[1] - r[0] if len(r) > 1 else 0.0
    fig, axes = plt.subplots(k, n_el, figsize=(2.9 * n_el, 1.9 * k + 0.6), sharex=True,
                             squeeze=False)
    colors = state_colors(k)
    gmax = np.nanmax(g, axis=(0, 2))
    nmax = np.nanmax(n, axis=(0, 2))
    for i in range(k):
        for e in range(n_el):
            ax = axes[i, e]
            ax.plot(r, g[i, e], color="#1f5fa8", lw=1.4)
            ax.axhline(1.0, color="#1f5fa8", lw=0.5, ls="--", alpha=0.5)
            ax.set_ylim(0, 1.08 * gmax[e] if np.isfinite(gmax[e]) and gmax[e] > 0 else 1)
            twin = ax.twinx()
            twin.plot(r + dr / 2, n[i, e], color="k", lw=1.2)
            twin.set_ylim(0, 1.08 * nmax[e] if np.isfinite(nmax[e]) and nmax[e] > 0 else 1)
            twin.tick_params(labelsize="x-small")
            ax.tick_params(labelsize="x-small")
            if r_star is not None:
                ax.axvline(r_star[i], color="0.5", ls=":", lw=1)
            if i == 0:
                ax.set_title(f"Li–{symbol(elements[e])}")
            if e == 0:
                ax.set_ylabel("g(r)", color="#1f5fa8")
                twin.text(0.97, 0.92, labels[i] if labels is not None else f"state {i}",
                          transform=twin.transAxes, ha="right", va="top", fontsize="small",
                          color=colors[i], fontweight="bold",
                          bbox=dict(facecolor="white", edgecolor="none", alpha=0.8, pad=1.5))
            if e == n_el - 1:
                twin.set_ylabel("n(r)")
            if i == k - 1:
                ax.set_xlabel("r (Å)")
    ax.set_xlim(0, r[-1] + dr / 2)
    fig.tight_layout(h_pad=0.4, w_pad=0.4)
    return fig
