"""Choose the interface's target atoms from the first frame and record them (targets.json)."""

from gdynet import io, logs
from gdynet.analysis import bond_order, interface
from gdynet.data import trajectory

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"select_targets {system}")
cfg = snakemake.params.interface
path = snakemake.input[0]
info = trajectory.inspect(path)
_, coords, lattices = next(trajectory.iter_frames(path, max_chunk_bytes=1))  # the first frame


def select(rule):
    return interface.select_targets(
        coords[0], lattices[0], info.atom_types, cfg["element"], criterion,
        n_layers=cfg["n_layers"], rule=rule, axis=cfg["normal_axis"],
        layer_spacing_A=cfg["layer_spacing_A"], given=info.target_index if rule == "file" else None)


try:
    criterion = bond_order.SolidCriterion(**cfg["order"])
    selection = select(cfg["target_rule"])
    # the evidence: the file's own targets against the position rule, whichever is used
    other = select("position").index if cfg["target_rule"] == "file" else info.target_index.ravel()
except ValueError as err:
    raise ValueError(f"systems.{system}.interface: {err} (first frame of {path})") from None
record = selection.to_dict()
record.update(source=str(path), order=cfg["order"],
              compared_with=dict(rule="position" if cfg["target_rule"] == "file" else "file",
                                 **interface.compare_targets(selection.index, other)))
slab = selection.interfaces
log.info("slab: centre %.2f Å, interfaces at %s Å, %d layers %.3f Å apart, period %.2f Å",
         slab.center_A, slab.positions_A.round(2), len(slab.layer_centers_A), slab.layer_spacing_A,
         slab.length_A)
log.info("targets (rule %s, %d layers): %d (%d in the liquid, %d in the crystal); rule %s: %d, "
         "shared %d", selection.rule, selection.n_layers, len(selection.index), selection.n_liquid,
         selection.n_crystal, record["compared_with"]["rule"], record["compared_with"]["n_other"],
         record["compared_with"]["n_shared"])
io.save_json(snakemake.output[0], record)
