"""Choose τ* over the trained lag times (smallest converged lag that passes the CK test)."""



import pandas as pd

from gdynet import io, logs
from gdynet.analysis import koopman

log = logs.to_file(snakemake.log[0])
candidates = [
    {"tau_ps": tau, "timescales": pd.read_csv(ts), "ck_pass": koopman.ck_passes(pd.read_csv(ck))}
    for tau, ts, ck in zip(snakemake.params.lags_ps, snakemake.input.timescales, snakemake.input.ck)
]
choice = koopman.select_tau(candidates, override_ps=snakemake.params.override_ps)
log.info("τ* = %g ps: %s", choice["tau_star_ps"], choice["reason"])
io.save_json(snakemake.output[0], choice)
