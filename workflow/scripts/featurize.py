"""Build the periodic M-nearest-neighbour graph of every frame."""

from pathlib import Path

from gdynet import logs
from gdynet.data import store

system = snakemake.wildcards.system
log = logs.to_file(snakemake.log[0], f"featurize {system}")
frames = store.open_frames(Path(snakemake.input[0]).parent)
graph = snakemake.params.graph
try:
    store.write_graphs(frames, Path(snakemake.output[0]).parent, graph["n_neighbors"],
                       radius_A=graph["radius_A"], threads=snakemake.threads)
except ValueError as err:  # the M-th neighbour beyond the radius, or beyond the store's range
    raise ValueError(f"systems.{system}.graph: {err}") from None
