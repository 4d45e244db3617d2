"""Seed selection on validation VAMP-2, the spread over seeds, and the training warnings."""

import numpy as np
import pandas as pd
import pytest

from gdynet.learn import seeds


def metrics(values):
    return pd.DataFrame({"epoch": np.arange(1, len(values) + 1), "train_vamp2": values,
                         "val_vamp2": values})


def chain_chi(P, n, seed):
    rng = np.random.default_rng(seed)
    cum = np.cumsum(P, axis=1)
    s = np.zeros(n, dtype=int)
    for t in range(1, n):
        s[t] = (rng.random() > cum[s[t - 1]]).sum()
    return [np.eye(len(P))[s][:, None, :]]


def test_the_best_seed_on_validation_vamp2_is_kept_and_the_spread_reported():
    P = np.array([[0.95, 0.05], [0.1, 0.9]])
    chi = chain_chi(P, 20_000, 0)
    good = seeds.evaluate(3, metrics([1.2, 1.8, 1.85]), chi, 1, 0.1)
    poor = seeds.evaluate(4, metrics([1.1, 1.3, 1.2]), chi, 1, 0.1)
    # a "seed" whose states are noise: its timescale is short, its VAMP-2 low
    rng = np.random.default_rng(1)
    noise = [np.eye(2)[rng.integers(0, 2, 20_000)][:, None, :]]
    bad = seeds.evaluate(5, metrics([1.0, 1.01, 1.0]), noise, 1, 0.1)
    results = [poor, good, bad]
    chosen = seeds.best(results)
    assert results[chosen].seed == 3
    assert good.timescale_ps == pytest.approx(-0.1 / np.log(1 - 0.05 - 0.1), rel=0.1)
    np.testing.assert_allclose(good.populations, [2 / 3, 1 / 3], atol=0.03)
    df = seeds.table(results, chosen)
    assert list(df["chosen"]) == [False, True, False, False]
    spread = df[df.seed == "spread"].iloc[0]
    assert spread["val_vamp2"] == pytest.approx(1.85 - 1.01)
    assert spread["timescale_ps"] == pytest.approx(good.timescale_ps - min(r.timescale_ps for r in results))


def test_warnings_for_a_model_that_learned_nothing_or_is_still_rising():
    assert any("learned nothing" in w for w in seeds.warnings(metrics([1.0, 1.02, 1.01]), 2))
    assert any("not converged" in w for w in seeds.warnings(metrics([1.1, 1.2, 1.31]), 2))
    assert seeds.warnings(metrics([1.5, 1.8, 1.8, 1.799]), 2) == []
    assert seeds.warnings(metrics([1.5, 1.8, 1.801]), 2) == []  # gain 0.1 % of 0.8: flat


def test_summary_rows_flag_the_warnings_and_carry_the_spread():
    one = pd.DataFrame({"seed": ["0"], "val_vamp2": [1.01], "timescale_ps": [3.0]})
    rows = seeds.summary_rows(metrics([1.0, 1.01]), 2, one).set_index("quantity")["value"]
    assert rows["learned_nothing"] == 1 and rows["seeds"] == 1
    assert "seed_spread_timescale" not in rows
    many = pd.DataFrame({"seed": ["0", "1", "spread"], "val_vamp2": [1.5, 1.8, 0.3],
                         "timescale_ps": [10.0, 12.0, 2.0]})
    rows = seeds.summary_rows(metrics([1.5, 1.8, 1.8]), 2, many).set_index("quantity")["value"]
    assert rows["learned_nothing"] == 0 and rows["not_converged"] == 0 and rows["seeds"] == 2
    assert rows["seed_spread_timescale"] == 2.0 and rows["seed_spread_val_vamp2"] == 0.3


def test_a_low_score_at_a_lag_long_against_the_learned_timescale_is_not_called_nothing():
    # the electrolyte analog at τ = 60 ps: VAMP-2 1.088 of 4, slowest process 42.6 ps
    low = metrics([1.06, 1.088, 1.085])
    said = seeds.warnings(low, 4, timescale_ps=42.6, lag_ps=60.0)
    assert not any("learned nothing" in w for w in said)
    assert any("lag is long" in w and "0.24" in w for w in said)  # exp(-60/42.6) = 0.245
    # noise-level timescales, or none known, still mean nothing was learned
    assert any("learned nothing" in w for w in seeds.warnings(low, 4, timescale_ps=10.0, lag_ps=60.0))
    assert any("learned nothing" in w for w in seeds.warnings(low, 4))
    table = pd.DataFrame({"seed": [0], "val_vamp2": [1.088], "timescale_ps": [42.6], "chosen": [True]})
    rows = seeds.summary_rows(low, 4, table, 60.0).set_index("quantity")["value"]
    assert rows["learned_nothing"] == 0
    assert seeds.summary_rows(low, 4, table).set_index("quantity")["value"]["learned_nothing"] == 1
