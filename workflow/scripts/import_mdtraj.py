"""Import one of the user's own trajectories (any format mdtraj reads) into the trajectory contract."""



from gdynet import logs
from gdynet.data import importer

log = logs.to_file(snakemake.log[0])
p = snakemake.params
summary = importer.import_trajectory(
    snakemake.input.trajectory,
    snakemake.input.topology or None,  # none for formats that carry their own (pdb, h5, gro)
    p.selection,
    out=snakemake.output[0],
    molecular=p.molecular,
    atoms=p.atoms,
    stride=p.stride,
    chunk=p.chunk,
    frame_interval_ps=p.frame_interval_ps,
    trust_frame_interval=p.get("trust_frame_interval", False),
)
log.info("summary: %s", {k: v for k, v in summary.items() if k != "warnings"})
