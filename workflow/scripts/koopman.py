"""Koopman analysis of one model's test-set states: timescales, CK test, eigenvectors."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.analysis import koopman
from gdynet.data import splits, store

log = logs.to_file(snakemake.log[0])
cfg = snakemake.params.koopman
dt = store.open_frames(Path(snakemake.input.meta).parent).frame_interval_ps
test = io.load_json(snakemake.input.splits)["test"]
chi = splits.pieces(np.load(snakemake.input.chi, mmap_mode="r"), test)
lag_ps = float(snakemake.wildcards.tau)
lag = splits.to_frames(lag_ps, dt)
splits.check_lag(test, lag * cfg["ck_steps"], "test", what="CK horizon (lag x ck_steps)",
                 key=f"systems.{snakemake.wildcards.system}.koopman.ck_steps")

longest = max(b - a for a, b in test)
lags = sorted({splits.to_frames(t, dt) for t in cfg["lags_ps"]} | {lag})
lags = [lg for lg in lags if lg < longest]
ci = dict(scheme=cfg["ci_scheme"], n_groups=cfg["ci_groups"])
timescales = koopman.timescales_vs_lag(chi, lags, dt, **ci)
ck = koopman.ck_test(chi, lag, cfg["ck_steps"], dt, **ci)

K = koopman.koopman_matrix(chi, lag)
eigenvalues, eigenvectors = koopman.eigenvectors(K)
summary = {
    "lag_ps": lag_ps,
    "koopman_matrix": K,
    "timescales_ps": koopman.implied_timescales(K, lag_ps),
    "stationary_distribution": koopman.stationary_distribution(K),
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
