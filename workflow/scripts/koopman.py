"""Koopman analysis of one model's test-set states: timescales, CK test, eigenvectors."""

import numpy as np

from gdynet import io, logs
from gdynet.analysis import koopman
from gdynet.data import splits

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"koopman {w.system} {w.model} k{w.k} tau{w.tau}ps")
cfg = snakemake.params.koopman
dt = io.load_json(snakemake.input.meta)["frame_interval_ps"]
test = io.load_json(snakemake.input.splits)["test"]
chi = splits.pieces(np.load(snakemake.input.chi, mmap_mode="r"), test)
lag_ps = float(w.tau)
try:  # the DAG-time checks could not see the frame counts (e.g. before a download)
    lag = splits.to_frames(lag_ps, dt)
    splits.check_lag(test, lag * cfg["ck_steps"], "test", dt, "CK horizon (lag x ck_steps)")
    lags = [splits.to_frames(t, dt, "Koopman lag time") for t in cfg["lags_ps"]]
    for t in lags:
        splits.check_lag(test, t, "test", dt, "Koopman lag time")
except ValueError as err:
    raise ValueError(f"systems.{w.system}.koopman: {err}") from None

ci = dict(scheme=cfg["ci_scheme"], n_groups=cfg["ci_groups"])
timescales = koopman.timescales_vs_lag(chi, sorted(set(lags) | {lag}), dt, **ci)
ck = koopman.ck_test(chi, lag, cfg["ck_steps"], dt, **ci)

K = koopman.koopman_matrix(chi, lag)
populations, pop_low, pop_high = koopman.populations(chi, lag, **ci)
eigenvalues, eigenvectors = koopman.eigenvectors(K)
summary = {
    "lag_ps": lag_ps,
    "koopman_matrix": K,
    "timescales_ps": koopman.implied_timescales(K, lag_ps),
    "stationary_distribution": koopman.stationary_distribution(K),
    "populations": populations,  # = the stationary distribution, with its 95 % CI
    "populations_ci_low": pop_low,
    "populations_ci_high": pop_high,
    "eigenvalues": eigenvalues,
    "eigenvectors": eigenvectors,  # rows: stationary, then one per timescale (Figs. 3e, 4e)
    "ck_pass": koopman.ck_passes(ck),
}
log.info("lag %g ps: timescales %s ps, CK test %s", lag_ps,
         np.round(summary["timescales_ps"], 2), "passed" if summary["ck_pass"] else "failed")
for path, df in ((snakemake.output.timescales, timescales), (snakemake.output.ck, ck)):
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
io.save_json(snakemake.output.koopman, summary)
