"""Several training seeds per (k, τ): pick the best on validation VAMP-2, measure the
spread, and say loudly when a model learned nothing or has not converged.

The paper selects its models on the validation VAMP-2 score. VAMP-2 of k soft states lies
between 1 (constant outputs: the network learned nothing, only the stationary process
is left) and k (k perfectly separated slow processes). Training is stochastic (initial
weights, batches), so one run can end in a poor local optimum; several seeds show how
far the timescales and populations depend on that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gdynet.analysis import koopman


@dataclass
class SeedResult:
    """One seed's run: its seed, best validation VAMP-2 and epoch, and on the validation
    frames the slowest implied timescale (ps) at the training lag and the stationary
    populations (fractions) of its K (NaN where the validation frames cannot give them)."""

    seed: int
    val_vamp2: float
    best_epoch: int
    timescale_ps: float
    populations: np.ndarray


def evaluate(seed: int, metrics: pd.DataFrame, val_chi_pieces, lag: int, lag_ps: float
             ) -> SeedResult:
    """SeedResult of one trained model. metrics: its per-epoch table (epoch, val_vamp2);
    val_chi_pieces: its state probabilities of the validation frames, one (F_s, n, k)
    array per validation range; lag: τ in frames, lag_ps the same in ps."""
    best = metrics.loc[metrics["val_vamp2"].idxmax()]
    k = val_chi_pieces[0].shape[-1]
    try:
        K = koopman.koopman_matrix(val_chi_pieces, lag)
        t = float(koopman.implied_timescales(K, lag_ps)[0]) if k > 1 else float("nan")
        pi = koopman.stationary_distribution(K)
    except ValueError:
        t, pi = float("nan"), np.full(k, np.nan)
    return SeedResult(int(seed), float(best["val_vamp2"]), int(best["epoch"]), t, pi)


def best(results: list[SeedResult]) -> int:
    """Index of the seed with the highest validation VAMP-2 (the first on ties)."""
    if not results:
        raise ValueError("no seeds to choose from")
    return int(np.argmax([r.val_vamp2 for r in results]))


def table(results: list[SeedResult], chosen: int) -> pd.DataFrame:
    """One row per seed (seed, val_vamp2, best_epoch, timescale_ps, population_<j>,
    chosen) plus rows 'spread' (max − min over seeds) when there are several."""
    rows = []
    for i, r in enumerate(results):
        row = {"seed": r.seed, "val_vamp2": r.val_vamp2, "best_epoch": r.best_epoch,
               "timescale_ps": r.timescale_ps, "chosen": i == chosen}
        row.update({f"population_{j}": float(p) for j, p in enumerate(r.populations)})
        rows.append(row)
    df = pd.DataFrame(rows)
    if len(results) > 1:
        numeric = df.drop(columns=["seed", "chosen", "best_epoch"])
        spread = (numeric.max() - numeric.min()).to_dict()
        df = pd.concat([df, pd.DataFrame([{"seed": "spread", **spread, "chosen": False}])],
                       ignore_index=True)
    return df


def warnings(metrics: pd.DataFrame, n_states: int, *, timescale_ps: float = float("nan"),
             lag_ps: float = float("nan"), nothing_tol: float = 0.05, rising_tol: float = 0.01,
             resolved: float = 2.0) -> list[str]:
    """What is wrong with a training run, in words (empty if nothing).

    metrics: per-epoch table (epoch, val_vamp2); n_states: k; timescale_ps: the slowest
    implied timescale of the model on the validation frames at its lag lag_ps (NaN if
    unknown).
    - learned nothing: the best validation VAMP-2 is within nothing_tol · (k − 1) of 1,
      its value for constant outputs, and no slow process is resolved. A score near 1 is
      also what a good model gets at a lag long against the timescales: VAMP-2 − 1 is the
      sum of the squared singular values, ~exp(−2τ/t_i), already below 0.05 for t = τ/1.5.
      So a model whose slowest process has t ≥ τ / resolved (exp(−τ/t) ≥ e^−2 ≈ 0.14, well
      above the ~1/√n that noise gives n validation pairs) gets a note on the lag instead;
    - not converged: the last epoch is the best and gained more than rising_tol of the
      learned score (best − 1) over every earlier epoch: the score is still rising.
    """
    out = []
    val = metrics["val_vamp2"].to_numpy(dtype=float)
    if val.size == 0:
        return ["no epochs were trained"]
    top = float(np.nanmax(val))
    if top - 1 < nothing_tol * max(n_states - 1, 1):
        if np.isfinite(timescale_ps) and np.isfinite(lag_ps) and timescale_ps * resolved >= lag_ps:
            out.append(f"validation VAMP-2 is only {top:.3f} (1 for constant outputs, at most "
                       f"{n_states}), but the slowest learned process (t = {timescale_ps:.3g} ps) "
                       f"has decayed to exp(-τ/t) = {np.exp(-lag_ps / timescale_ps):.2f} at "
                       f"τ = {lag_ps:g} ps, so the score cannot be much higher: the lag is long "
                       "against the dynamics; shorter lags resolve more")
        else:
            out.append(f"the model learned nothing: its best validation VAMP-2 is {top:.3f}, and "
                       f"{n_states} constant outputs score 1 (at most {n_states}); train longer, "
                       "with a higher learning rate, or check that the targets move at this lag")
    if val.size >= 2 and val[-1] >= top and val[-1] - np.max(val[:-1]) > rising_tol * max(top - 1, 1e-9):
        out.append(f"training has not converged: validation VAMP-2 rose from "
                   f"{np.max(val[:-1]):.4f} to {val[-1]:.4f} in the last epoch; raise "
                   "training.epochs or training.steps_per_epoch")
    return out


def summary_rows(metrics: pd.DataFrame, n_states: int, seed_table: pd.DataFrame,
                 lag_ps: float = float("nan")) -> pd.DataFrame:
    """Rows for summary.csv (columns of `koopman.summary_table`): learned_nothing and
    not_converged (1 = `warnings` says so, with the chosen seed's validation timescale
    and the lag lag_ps), the number of seeds, and with several seeds their spread
    (max − min) of the slowest timescale (ps) and of the validation VAMP-2."""
    flags = warnings(metrics, n_states, timescale_ps=chosen_timescale(seed_table), lag_ps=lag_ps)
    spread = seed_table[seed_table["seed"].astype(str) == "spread"]
    rows = [("learned_nothing", 0, float(any("learned nothing" in m for m in flags)), ""),
            ("not_converged", 0, float(any("not converged" in m for m in flags)), ""),
            ("seeds", 0, float(len(seed_table) - len(spread)), "")]
    if len(spread):
        rows += [("seed_spread_timescale", 1, float(spread["timescale_ps"].iloc[0]), "ps"),
                 ("seed_spread_val_vamp2", 0, float(spread["val_vamp2"].iloc[0]), "")]
    return pd.DataFrame([(q, i, v, np.nan, np.nan, u) for q, i, v, u in rows],
                        columns=["quantity", "index", "value", "ci_low", "ci_high", "unit"])


def chosen_timescale(seed_table: pd.DataFrame) -> float:
    """The chosen seed's slowest validation timescale (ps) in a `table` (or its CSV), NaN
    if the table has none."""
    if "chosen" not in seed_table or "timescale_ps" not in seed_table:
        return float("nan")
    chosen = seed_table[seed_table["chosen"].astype(str) == "True"]
    return float(chosen["timescale_ps"].iloc[0]) if len(chosen) else float("nan")
