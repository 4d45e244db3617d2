"""Koopman figures of every system: implied timescales and the CK test.

Timescale tables have the columns of ``koopman.timescales_vs_lag`` (lag_ps, process,
timescale_ps, ci_low_ps, ci_high_ps); CK tables those of ``koopman.ck_test``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from gdynet.plots import style

PREDICTED, ESTIMATED = "#1f5fa8", "#c8302b"  # the paper's CK colours: model blue, data red


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
