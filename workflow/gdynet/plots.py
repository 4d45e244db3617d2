"""Figures of the paper, drawn from the workflow's tables (pure: data in, Figure out).

Timescale tables have the columns of ``koopman.timescales_vs_lag`` (lag_ps, process,
timescale_ps, ci_low_ps, ci_high_ps); CK tables those of ``koopman.ck_test``.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from gdynet import io  # noqa: E402

PREDICTED, ESTIMATED = "#1f5fa8", "#c8302b"  # the paper's CK colours: model blue, data red


def style() -> None:
    sns.set_theme(context="paper", style="ticks", font_scale=1.1)


def timescales_panel(ax, table: pd.DataFrame, tau_star_ps: float, title: str,
                     trained: pd.DataFrame | None = None) -> None:
    """Implied timescales t_i(τ) (Eq. 11) against lag time, with 95 % CI bands.

    x: lag time τ (ps); y: relaxation timescale (ps), log scale. The grey area below
    t = τ holds timescales faster than the lag, which the model cannot resolve.
    `trained`: optional (tau_ps, timescale_ps) of each model at its own training lag.
    """
    colors = sns.color_palette("viridis", table["process"].nunique())
    for color, (process, df) in zip(colors, table.groupby("process")):
        df = df.sort_values("lag_ps")
        ax.plot(df["lag_ps"], df["timescale_ps"], color=color, lw=1.8, label=f"process {process}")
        ax.fill_between(df["lag_ps"], df["ci_low_ps"].clip(lower=1e-3), df["ci_high_ps"],
                        color=color, alpha=0.25, lw=0)
    lags = np.sort(table["lag_ps"].unique())
    ax.fill_between(lags, 1e-3, lags, color="0.6", alpha=0.5, lw=0, label="t < τ")
    ax.axvline(tau_star_ps, color="0.3", ls="--", lw=1, label=f"τ* = {tau_star_ps:g} ps")
    if trained is not None:
        ax.plot(trained["tau_ps"], trained["timescale_ps"], "o", color="k", ms=5,
                label="model trained at τ")
    finite = table["timescale_ps"].replace([np.inf, -np.inf], np.nan).dropna()
    ax.set_yscale("log")
    ax.set_ylim(max(lags.min() / 2, 1e-2), max(finite.max(), lags.max()) * 5)
    ax.set_xlim(lags.min(), lags.max())
    ax.set_xlabel("lag time τ (ps)")
    ax.set_ylabel("relaxation timescale (ps)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small")


def timescales_figure(panels: list[dict]) -> plt.Figure:
    """Side-by-side timescale panels; each dict holds timescales_panel's arguments."""
    style()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        timescales_panel(ax, **panel)
    fig.tight_layout()
    return fig


def ck_figure(panels: list[dict]) -> plt.Figure:
    """CK test (Eq. 6) grids: P(state j at t | state i at 0) predicted by K(τ)^n (blue line,
    95 % CI band) against K(nτ) estimated from the data (red points, 95 % CI bars).

    Each panel dict: table (ck_test DataFrame), title.
    """
    style()
    fig = plt.figure(figsize=(4.5 * len(panels), 4.2), layout="constrained")
    for sub, panel in zip(np.atleast_1d(fig.subfigures(1, len(panels))), panels):
        table = panel["table"]
        k = table["from_state"].nunique()
        axes = sub.subplots(k, k, sharex=True, sharey=True, squeeze=False)
        for (i, j), df in table.groupby(["from_state", "to_state"]):
            ax = axes[i, j]
            df = df.sort_values("time_ps")
            ax.plot(df["time_ps"], df["predicted"], color=PREDICTED, lw=1.6, label="K(τ)ⁿ, model")
            ax.fill_between(df["time_ps"], df["pred_low"], df["pred_high"], color=PREDICTED,
                            alpha=0.25, lw=0)
            ax.errorbar(df["time_ps"], df["estimated"],
                        yerr=[df["estimated"] - df["est_low"], df["est_high"] - df["estimated"]],
                        fmt="o", color=ESTIMATED, ms=3, lw=1, capsize=2, label="K(nτ), data")
            ax.set_ylim(-0.05, 1.05)
            ax.set_title(f"{i} → {j}", fontsize="small")
        for ax in axes[-1]:
            ax.set_xlabel("time (ps)")
        for ax in axes[:, 0]:
            ax.set_ylabel("probability")
        axes[0, 0].legend(frameon=False, fontsize="x-small")
        sub.suptitle(panel["title"])
    return fig


def state_map(positions_A: np.ndarray, p_state0: np.ndarray, lattice_A: float,
              sulfur_A: np.ndarray | None = None) -> plt.Figure:
    """Li positions folded into the cubic cell, coloured by the probability of state 0.

    positions_A: (P, 3) Å in [0, a); p_state0: (P,); sulfur_A: (S, 3) Å lattice sites.
    """
    style()
    fig = plt.figure(figsize=(5.5, 4.8))
    ax = fig.add_subplot(projection="3d")
    sc = ax.scatter(*positions_A.T, c=p_state0, cmap="coolwarm", vmin=0, vmax=1, s=2,
                    alpha=0.6, linewidths=0)
    if sulfur_A is not None:
        # draw the S sites and their periodic images on the cell faces
        shifts = np.array(np.meshgrid(*[[0, 1]] * 3)).reshape(3, -1).T * lattice_A
        images = (sulfur_A[:, None] + shifts[None]).reshape(-1, 3)
        images = images[(images <= lattice_A + 1e-6).all(axis=1)]
        ax.scatter(*images.T, c="gold", s=80, edgecolors="k", depthshade=False, label="S")
        ax.legend(loc="upper left", frameon=False)
    for s, e in _cube_edges(lattice_A):
        ax.plot(*zip(s, e), color="0.4", lw=0.8)
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
    ax.set_zlabel("z (Å)")
    fig.colorbar(sc, ax=ax, shrink=0.7, label="P(state 0)")
    fig.tight_layout()
    return fig


def _cube_edges(a: float):
    corners = np.array(np.meshgrid(*[[0, a]] * 3)).reshape(3, -1).T
    for i, c1 in enumerate(corners):
        for c2 in corners[i + 1:]:
            if np.count_nonzero(c1 != c2) == 1:
                yield c1, c2


def save(fig: plt.Figure, png_path, pdf_path) -> None:
    """Write PNG (for the report) and PDF, each atomically."""
    for path in (png_path, pdf_path):
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=200, bbox_inches="tight")
    plt.close(fig)
