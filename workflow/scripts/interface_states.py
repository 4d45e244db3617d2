"""Name the learned states and place them: state table, z-profiles, order parameter per state."""

import numpy as np

from gdynet import io, logs
from gdynet.analysis import interface
from gdynet.data import splits
from gdynet.learn import simplex

w = snakemake.wildcards
log = logs.to_file(snakemake.log[0], f"interface_states {w.system} gdynet k{w.k}")
p = snakemake.params
tau_star = io.load_json(snakemake.input.tau_star)["tau_star_ps"]
chi = simplex.probabilities(np.load(p.chi[tau_star]))
test = io.load_json(snakemake.input.splits)["test"]
dt = io.load_json(snakemake.input.meta)["frame_interval_ps"]
slab = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets)).interfaces
with np.load(snakemake.input.observables) as f:
    obs = interface.TargetObservables.from_arrays(f)
if chi.shape[:2] != obs.solid.shape:
    raise ValueError(f"χ of τ* = {tau_star:g} ps has {chi.shape[:2]} test atom-frames, the "
                     f"observables {obs.solid.shape}; rerun predict and interface_observables")

persistence = max(1, round(p.persistence_ps / dt))  # frames a label change must last
solid = np.concatenate([interface.persistent_labels(piece.solid, persistence)
                        for piece in obs.pieces([b - a for a, b in test])])
names = interface.name_states(chi, solid, obs.depth_A, order=obs.order)
z = interface.z_profiles(obs.z_centered_A, chi, slab.length_A, bin_A=p.bin_A)
table = names.table()
table["inside_slab"] = z.mass_between(-slab.half_width_A, slab.half_width_A)
table["tau_star_ps"] = tau_star
for row in table.itertuples():
    log.info("state %d = %s: population %.3f, solid fraction %.3f, mean q̄ %.3f, mean depth "
             "%.2f Å, inside the slab %.3f", row.state, row.name, row.population,
             row.solid_fraction, row.mean_order, row.mean_depth_A, row.inside_slab)
top = max(0.7, float(np.quantile(obs.order, 0.999)) + 0.02)
q = interface.weighted_profiles(obs.order, chi, np.linspace(0.0, top, 71))
for path, df in ((snakemake.output.states, table),
                 (snakemake.output.z_profiles, interface.profile_table(z, names.names)),
                 (snakemake.output.order_profiles, interface.profile_table(q, names.names))):
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
