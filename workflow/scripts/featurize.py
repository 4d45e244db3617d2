"""Build the periodic M-nearest-neighbour graph of every frame."""

from pathlib import Path

from gdynet import logs
from gdynet.data import store

log = logs.to_file(snakemake.log[0])
frames = store.open_frames(Path(snakemake.input[0]).parent)
graph = snakemake.params.graph
store.write_graphs(frames, Path(snakemake.output[0]).parent, graph["n_neighbors"],
                   radius_A=graph["radius_A"], threads=snakemake.threads)
