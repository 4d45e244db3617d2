"""Where every target atom of every test frame is along the interface normal, with its order."""

from pathlib import Path

import numpy as np

from gdynet import io, logs
from gdynet.analysis import interface
from gdynet.data import store

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"interface_observables {system}")
frames = store.open_frames(Path(snakemake.input[0]).parent)
slab = interface.TargetSelection.from_dict(io.load_json(snakemake.input.targets)).interfaces
with np.load(snakemake.input.order) as order:
    test, atoms = order["frames"], order["atoms"]
    solid, q_bar = order["solid"], order["q_bar"]
z = np.concatenate([
    interface.normal_coordinate(frames.coords[test[a:a + 200]][:, atoms],
                                frames.lattices[test[a:a + 200]], slab.axis)[0]
    for a in range(0, len(test), 200)])
obs = interface.TargetObservables(z_centered_A=slab.centered(z), depth_A=slab.depth(z),
                                  solid=solid, order=q_bar.astype(np.float64))
inside = obs.depth_A >= 0
log.info("%d test frames x %d targets; inside the slab: %.3f of atom-frames, of which solid "
         "%.3f; outside, solid %.3f", *obs.solid.shape, inside.mean(),
         obs.solid[inside].mean() if inside.any() else float("nan"),
         obs.solid[~inside].mean() if (~inside).any() else float("nan"))
io.save_npz(snakemake.output[0], frames=test, atoms=atoms,
            **{name: getattr(obs, name) for name in obs.FIELDS})
