"""Import one of the user's own trajectories (any format mdtraj reads) into the trajectory contract."""

from gdynet import logs
from gdynet.data import importer

log = logs.to_file(snakemake.log[0], f"import {snakemake.wildcards.name}")
opts = snakemake.params.options
try:
    summary = importer.import_trajectory(
        snakemake.input.trajectory,
        snakemake.input.topology or None,  # none for formats that carry their own (pdb, h5, gro)
        opts["selection"],
        out=snakemake.output[0],
        molecular=opts["molecular"],
        atoms=opts["atoms"],
        stride=opts["stride"],
        chunk=opts["chunk"],
        frame_interval_ps=snakemake.params.frame_interval_ps,
        trust_frame_interval=opts["trust_frame_interval"],
    )
except importer.FrameIntervalMismatch as err:
    raise ValueError(f"systems.{snakemake.wildcards.system}.frame_interval_ps: {err} "
                     f"(the config key: systems.{snakemake.wildcards.system}.import."
                     "trust_frame_interval: true)") from None
except ValueError as err:
    raise ValueError(f"systems.{snakemake.wildcards.system}.import: {err}") from None
log.info("summary: %s", {k: v for k, v in summary.items() if k != "warnings"})
