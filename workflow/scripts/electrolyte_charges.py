"""Shell edge (Gaussian fit of the anion peak, μ + 3σ) and charge of every learned state and
every geometric class (Supp. Note 3, Supp. Table 1, Fig. 4c)."""

import numpy as np

from gdynet import io, logs
from gdynet.analysis import electrolyte as el
from gdynet.analysis.rdf import load_rdf

log = logs.to_file(snakemake.log[0], f"electrolyte_charges {snakemake.wildcards.system}")
s = snakemake.params.settings
states = io.load_json(snakemake.input.states)
options = dict(anion_element=s["anion_element"], ion_charges=s["ion_charges"],
               reference_charge=s["reference_charge"], n_sigma=s["shell_sigmas"])
record, arrays = {}, {}
for source, names, table_path in (
        ("learned", states["labels"], snakemake.output.table),
        ("geometric", states["geometric_names"], snakemake.output.geometric_table)):
    charges = el.shell_charges(load_rdf(snakemake.input[source]), **options)
    pops = el.Populations.from_dict(states["populations"][source])
    table = el.charge_table(charges, pops)
    table.insert(1, "name", names)
    with io.atomic_path(table_path) as tmp:
        table.to_csv(tmp, index=False)
    record[source] = {"charge_e": charges.charge, "r_star_A": charges.shell.r_star,
                      "shell_fitted": charges.shell.fitted, "ions": charges.ions,
                      "ion_counts": charges.ion_counts}
    arrays.update({f"{source}_edges": charges.edges, f"{source}_integral": charges.integral,
                   f"{source}_r_star": charges.shell.r_star, f"{source}_charge": charges.charge})
    log.info("%s: r* %s Å, charges %s e", source, np.round(charges.shell.r_star, 2),
             np.round(charges.charge, 3))
io.save_json(snakemake.output.charges, record)
io.save_npz(snakemake.output.integral, **arrays)
