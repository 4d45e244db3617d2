"""Transition diffusion (Eq. 13-14, Supp. Table 2) and the conduction decomposition
(Eq. 15-16, Fig. 5) of the learned states at τ*, with 95 % CI over the test trajectories."""

from pathlib import Path

import numpy as np
import pandas as pd

from gdynet import io, logs
from gdynet.analysis import electrolyte as el
from gdynet.data import splits, store
from gdynet.learn import simplex

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"electrolyte_transport {system}")
s = snakemake.params.settings
frames = store.open_frames(Path(snakemake.input[0]).parent)
dt = frames.frame_interval_ps
tau_ps = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
test = io.load_json(snakemake.input.splits)["test"]
chi = splits.pieces(simplex.probabilities(np.load(snakemake.params.chi[tau_ps])), test)
charges = io.load_json(snakemake.input.charges)["learned"]["charge_e"]

tau = splits.to_frames(tau_ps, dt, "τ*")
try:
    half = 1 if s["derivative_half_width_ps"] is None else splits.to_frames(
        s["derivative_half_width_ps"], dt, "derivative half width")
    lags = el.derivative_lags(tau, half)
except ValueError as err:
    raise ValueError(f"systems.{system}.electrolyte.derivative_half_width_ps: {err}") from None
shortest = min(b - a for a, b in test)
curve = [splits.to_frames(t, dt) for t in snakemake.params.msd_lags_ps]
grid = sorted({0, *lags, *(t for t in curve if t < shortest)})
if lags[-1] >= shortest:
    raise ValueError(f"systems.{system}: τ* + the derivative half width ({lags[-1] * dt:g} ps) "
                     f"is not shorter than the shortest test trajectory ({shortest * dt:g} ps)")

masses = None if s["drift_masses"] == "equal" else el.element_masses(frames.atom_types)
positions, volumes = [], []
for a, b in test:
    u = el.unwrap(frames.coords[a:b], frames.lattices[a:b], frames.target_index, masses)
    positions.append(u.positions)
    volumes.append(np.abs(np.linalg.det(np.asarray(frames.lattices[a:b], np.float64))))
    log.info("frames %d-%d: %d steps across the cell undone, largest step %.2f Å, centre of "
             "mass drift %.2f Å removed", a, b, u.image_jumps, u.max_step_A,
             float(np.linalg.norm(u.drift[-1])))
volume = float(np.concatenate(volumes).mean())
tr = el.transport(positions, chi, grid, tau, dt, charges, volume, s["temperature_K"])
log.info("τ* = %g ps: D_Li %.4g Å²/ps, σ = %.4g S/cm (95 %% CI %.3g-%.3g), shares %s %%", tau_ps,
         tr.diffusion_li, tr.conduction.total, tr.total_low, tr.total_high,
         np.round(100 * tr.conduction.shares, 1).tolist())

el.save_transport(snakemake.output.transport, tr)
k = tr.diffusion.shape[0]
msd = pd.DataFrame([{"lag_ps": tr.lag_ps[a], "from_state": i, "to_state": j,
                     "msd_A2": tr.msd[a, i, j], "ci_low_A2": tr.msd_low[a, i, j],
                     "ci_high_A2": tr.msd_high[a, i, j], "joint_weight": tr.tmsd.joint[a, i, j],
                     "plain_msd_A2": tr.plain_msd[a]}
                    for a in range(len(tr.lags)) for i in range(k) for j in range(k)])
for path, df in ((snakemake.output.msd, msd),
                 (snakemake.output.diffusion, el.diffusion_table(tr)),
                 (snakemake.output.conduction, el.conduction_table(tr))):
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
