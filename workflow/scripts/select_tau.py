"""Choose τ* over the trained lag times (smallest converged lag that passes the CK test)."""

import pandas as pd

from gdynet import io, logs
from gdynet.analysis import koopman

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"select_tau {w.system} {w.model} k{w.k}")
p = snakemake.params
candidates = [
    {"tau_ps": tau, "timescales": pd.read_csv(p.timescales[tau]),
     "ck_pass": koopman.ck_passes(pd.read_csv(p.ck[tau]))}
    for tau in p.timescales
]
choice = koopman.select_tau(candidates, override_ps=p.override_ps)
log.info("τ* = %g ps: %s", choice["tau_star_ps"], choice["reason"])
io.save_json(snakemake.output[0], choice)
