"""Koopman figures of every system: implied timescales and the CK test.

Timescale tables have the columns of ``koopman.timescales_vs_lag`` (lag_ps, process,
timescale_ps, ci_low_ps, ci_high_ps); CK tables those of ``koopman.ck_test``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from gdynet.plots import style

PREDICTED, ESTIMATED = "#1f5fa8", "#c8302b"  # the paper's CK colours: model blue, data red


def timescales_panel(ax, table: pd.DataFrame, tau_star_ps: float, title: str,
                     trained: pd.DataFrame | None = None, fallback: bool = False,
                     reference_ps: float | None = None, reference_label: str = "") -> None:
    """Implied timescales t_i(τ) (Eq. 11) against lag time, with 95 % CI bands.

    x: lag time τ (ps); y: relaxation timescale (ps), log scale. The grey area below
    t = τ holds timescales faster than the lag, which the model cannot resolve.
    `trained`: optional (tau_ps, timescale_ps) of each model at its own training lag.
    `fallback`: τ* is no converged choice (no lag qualified), which the legend says.
    `reference_ps`: a known answer drawn as a dotted horizontal line (`reference_label`).
    """
    colors = sns.color_palette("viridis", table["process"].nunique())
    for color, (process, df) in zip(colors, table.groupby("process")):
        df = df.sort_values("lag_ps")
        ax.plot(df["lag_ps"], df["timescale_ps"], color=color, lw=1.8, label=f"process {process}")
        ax.fill_between(df["lag_ps"], df["ci_low_ps"].clip(lower=1e-3), df["ci_high_ps"],
                        color=color, alpha=0.25, lw=0)
    lags = np.sort(table["lag_ps"].unique())
    ax.fill_between(lags, 1e-3, lags, color="0.6", alpha=0.5, lw=0, label="t < τ")
    label = f"τ* = {tau_star_ps:g} ps" + (" (fallback: no lag converged)" if fallback else "")
    ax.axvline(tau_star_ps, color="0.3", ls="--", lw=1, label=label)
    if reference_ps is not None and np.isfinite(reference_ps):
        ax.axhline(reference_ps, color="k", ls=":", lw=1.2, label=reference_label or "reference")
    if trained is not None:
        ax.plot(trained["tau_ps"], trained["timescale_ps"], "o", color="k", ms=5,
                label="model trained at τ")
    finite = table["timescale_ps"].replace([np.inf, -np.inf], np.nan).dropna()
    ax.set_yscale("log")
    positive = finite[finite > 0]
    bottom = min(positive.min(), lags.min()) / 2 if len(positive) else lags.min() / 2
    ax.set_ylim(max(bottom, 1e-3), max(finite.max() if len(finite) else 0, lags.max()) * 5)
    ax.set_xlim(lags.min(), lags.max())
    ax.set_xlabel("lag time τ (ps)")
    ax.set_ylabel("relaxation timescale (ps)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))


def timescales_figure(panels: list[dict]) -> plt.Figure:
    """Side-by-side timescale panels; each dict holds timescales_panel's arguments."""
    style()
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        timescales_panel(ax, **panel)
    fig.tight_layout()
    return fig


def ck_figure(panels: list[dict]) -> plt.Figure:
    """CK test (Eq. 6) grids: P(state j at t | state i at 0) predicted by K(τ)^n (blue line,
    95 % CI band) against K(nτ) estimated from the data (red points, 95 % CI bars).

    Each panel dict: table (ck_test DataFrame), title, optional state_names (a name per
    state, e.g. ["oct", "tet"]).
    """
    style()
    k_max = max(p["table"]["from_state"].nunique() for p in panels)
    side = max(4.5, 1.35 * k_max + 1.0)
    fig = plt.figure(figsize=(side * len(panels), side - 0.3), layout="constrained")
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
            below = np.nan_to_num((df["estimated"] - df["est_low"]).clip(lower=0))
            above = np.nan_to_num((df["est_high"] - df["estimated"]).clip(lower=0))
            ax.errorbar(df["time_ps"], df["estimated"], yerr=[below, above],
                        fmt="o", color=ESTIMATED, ms=3, lw=1, capsize=2, label="K(nτ), data")
            ax.set_ylim(-0.05, 1.05)
            names = panel.get("state_names") or [str(s) for s in range(k)]
            ax.set_title(f"{names[i]} → {names[j]}", fontsize="small")
        for ax in axes[-1]:
            ax.set_xlabel("time (ps)")
        for ax in axes[:, 0]:
            ax.set_ylabel("probability")
        axes[0, 0].legend(frameon=False, fontsize="x-small")
        sub.suptitle(panel["title"])
    return fig


# ------------------------------------------------- system-independent figures
def _grid(n: int, ncols_max: int = 4) -> tuple[int, int]:
    ncols = min(n, ncols_max)
    return -(-n // ncols), ncols


def eigenvector_figure(eigenvectors, timescales_ps, tau_ps: float, title: str) -> plt.Figure:
    """Eigenvectors of K(τ*) projected on the states, one panel per relaxation process
    (Figs. 3e, 4e).

    eigenvectors: (k, k) rows of `koopman.eigenvectors` (row 0 stationary, skipped; row i
    the process of timescale i-1, scaled to max |entry| = 1). timescales_ps: (k-1,).
    A bar below zero is a state the process empties, above zero one it fills.
    """
    style()
    vecs = np.asarray(eigenvectors, dtype=float)
    k = vecs.shape[0]
    rows, cols = _grid(k - 1)
    fig, axes = plt.subplots(rows, cols, figsize=(max(2.2, 0.45 * k + 1.2) * cols, 2.6 * rows),
                             sharey=True, squeeze=False, layout="constrained")
    colors = sns.color_palette("viridis", k)
    for i, ax in enumerate(axes.flat):
        if i >= k - 1:
            ax.set_visible(False)
            continue
        ax.bar(np.arange(k), vecs[i + 1], color=colors, edgecolor="0.2", lw=0.5)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xticks(np.arange(k))
        ax.set_xlabel("state")
        ax.set_ylim(-1.15, 1.15)
        t = float(timescales_ps[i])
        ax.set_title(f"process {i + 1}: t = {_fmt_time(t)}", fontsize="small")
    for ax in axes[:, 0]:
        ax.set_ylabel("eigenvector (scaled)")
    fig.suptitle(f"{title}, τ = {tau_ps:g} ps")
    return fig


def _fmt_time(t_ps: float) -> str:
    if not np.isfinite(t_ps):
        return "∞"
    if t_ps >= 1e4:
        return f"{t_ps / 1e3:.3g} ns"
    return f"{t_ps:.3g} ps"


def populations_figure(populations, low, high, title: str) -> plt.Figure:
    """Stationary state populations π (%) of K(τ*) with their 95 % CI as error bars."""
    style()
    pop = 100 * np.asarray(populations, dtype=float)
    lo, hi = 100 * np.asarray(low, dtype=float), 100 * np.asarray(high, dtype=float)
    k = pop.size
    fig, ax = plt.subplots(figsize=(max(3.0, 0.6 * k + 1.5), 3.2), layout="constrained")
    colors = sns.color_palette("viridis", k)
    ax.bar(np.arange(k), pop, color=colors, edgecolor="0.2", lw=0.5)
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.errorbar(np.arange(k)[ok], pop[ok], yerr=[np.clip(pop - lo, 0, None)[ok],
                                                 np.clip(hi - pop, 0, None)[ok]], fmt="none",
                ecolor="k", capsize=3, lw=1)
    for x, p in enumerate(pop):  # beside the error bar, not on it
        ax.annotate(f"{p:.3g} %", (x, p), textcoords="offset points", xytext=(4, 2),
                    ha="left", va="bottom", fontsize="x-small")
    top = np.nanmax(np.where(ok, hi, pop)) if pop.size else 1.0
    ax.set_ylim(min(0, np.nanmin(pop) * 1.2), top * 1.15 if top > 0 else 1)  # room for labels
    ax.set_xticks(np.arange(k))
    ax.set_xlabel("state")
    ax.set_ylabel("stationary population (%)")
    ax.set_title(title)
    return fig


def training_figure(metrics: dict, title: str) -> plt.Figure:
    """Train (solid) and validation (dashed) VAMP-2 per epoch of every trained lag.

    metrics: {τ (ps): metrics table with columns epoch, train_vamp2, val_vamp2}.
    VAMP-2 of k soft states lies between 1 (constant outputs: nothing learned) and k.
    """
    style()
    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    colors = sns.color_palette("viridis", len(metrics))
    for color, (tau, df) in zip(colors, sorted(metrics.items())):
        ax.plot(df["epoch"], df["train_vamp2"], color=color, lw=1.5, marker="o", ms=3,
                label=f"τ = {tau:g} ps, train")
        ax.plot(df["epoch"], df["val_vamp2"], color=color, lw=1.5, ls="--", marker="s", ms=3,
                label=f"τ = {tau:g} ps, validation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("VAMP-2 score")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig
