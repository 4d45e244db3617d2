"""Check the electrolyte analysis against what is known by construction (validation.json)."""

from gdynet import io, logs
from gdynet.analysis import electrolyte as el

log = logs.to_file(snakemake.log[0], f"validate_electrolyte {snakemake.wildcards.system}")
tr = el.load_transport(snakemake.input.transport)
states = io.load_json(snakemake.input.states)
charges = io.load_json(snakemake.input.charges)
result = el.validation(tr, agreement=el.Agreement.from_dict(states["agreement"]),
                       charges_geometric=charges["geometric"]["charge_e"])
result.update(
    msd_identity_within_1_percent=result["msd_identity_rel_error"] < 0.01,
    populations_learned=states["populations"]["learned"]["mean"],
    populations_geometric=states["populations"]["geometric"]["mean"],
    geometric_names=states["geometric_names"],
)
log.info("validation: %s", result)
io.save_json(snakemake.output[0], result)
