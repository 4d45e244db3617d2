"""On-disk stores that every step after the import reads: frames and graphs.

All trajectories of one system are concatenated along the frame axis into ``.npy``
files that numpy memory-maps, so no step needs a whole trajectory in RAM. A
``meta.json`` beside them records the segments (one per input trajectory, as
half-open ``[start, stop)`` global frame ranges); time-lagged pairs never cross them.

frames/  coords.npy (F, N, 3) float32 Å, lattices.npy (F, 3, 3) float32 Å, meta.json
graphs/  nbr_idx.npy (F, N, M) int32, nbr_dist.npy (F, N, M) float32 Å
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from . import io, logs, neighbors, trajectory


@dataclass(frozen=True)
class Segment:
    name: str
    start: int  # first global frame
    stop: int  # one past the last global frame

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Frames:
    coords: np.ndarray  # (F, N, 3) float32 Å, memory-mapped
    lattices: np.ndarray  # (F, 3, 3) float32 Å, memory-mapped
    atom_types: np.ndarray  # (N,)
    target_index: np.ndarray  # (n,) or (n, k)
    segments: tuple[Segment, ...]
    frame_interval_ps: float


def write_frames(paths, names, out_dir, frame_interval_ps: float) -> None:
    """Validate trajectory files and concatenate them into a frame store.

    All files must describe the same atoms (atom types and targets); each becomes one
    segment. Every file is validated before anything is written.
    """
    out_dir = Path(out_dir)
    trajs = [trajectory.load(p) for p in paths]
    first = trajs[0]
    for path, traj in zip(paths[1:], trajs[1:]):
        if not np.array_equal(traj.atom_types, first.atom_types):
            raise trajectory.TrajectoryError(
                f"{path}: 'atom_types' differ from those of {paths[0]}; all trajectories "
                "of one system must hold the same atoms in the same order")
        if not np.array_equal(traj.target_index, first.target_index):
            raise trajectory.TrajectoryError(
                f"{path}: 'target_index' differs from that of {paths[0]}; all "
                "trajectories of one system must share their targets")
    total = sum(t.n_frames for t in trajs)
    n_atoms = first.n_atoms
    segments, start = [], 0
    with io.atomic_path(out_dir / "coords.npy") as c_tmp, \
            io.atomic_path(out_dir / "lattices.npy") as l_tmp:
        coords = open_memmap(c_tmp, mode="w+", dtype=np.float32, shape=(total, n_atoms, 3))
        lattices = open_memmap(l_tmp, mode="w+", dtype=np.float32, shape=(total, 3, 3))
        for name, traj in zip(names, trajs):
            stop = start + traj.n_frames
            coords[start:stop] = traj.coords
            lattices[start:stop] = traj.lattices
            segments.append({"name": name, "start": start, "stop": stop})
            start = stop
        coords.flush()
        lattices.flush()
        del coords, lattices
    io.save_json(out_dir / "meta.json", {
        "atom_types": first.atom_types.tolist(),
        "target_index": first.target_index.tolist(),
        "frame_interval_ps": float(frame_interval_ps),
        "segments": segments,
    })


def open_frames(frames_dir) -> Frames:
    frames_dir = Path(frames_dir)
    meta = io.load_json(frames_dir / "meta.json")
    return Frames(
        coords=np.load(frames_dir / "coords.npy", mmap_mode="r"),
        lattices=np.load(frames_dir / "lattices.npy", mmap_mode="r"),
        atom_types=np.asarray(meta["atom_types"]),
        target_index=np.asarray(meta["target_index"]),
        segments=tuple(Segment(**s) for s in meta["segments"]),
        frame_interval_ps=meta["frame_interval_ps"],
    )


def write_graphs(frames: Frames, out_dir, n_neighbors: int, max_chunk_bytes: float = 4e8) -> None:
    """Build the periodic M-nearest-neighbour graph of every frame, chunk by chunk."""
    out_dir = Path(out_dir)
    log = logs.get()
    n_frames, n_atoms = frames.coords.shape[:2]
    shape = (n_frames, n_atoms, n_neighbors)
    # distance work per frame scales with N * (candidate images); bound the chunk by bytes
    chunk = max(1, int(max_chunk_bytes // (n_atoms * n_neighbors * 8 * 16)))
    with io.atomic_path(out_dir / "nbr_idx.npy") as i_tmp, \
            io.atomic_path(out_dir / "nbr_dist.npy") as d_tmp:
        idx = open_memmap(i_tmp, mode="w+", dtype=np.int32, shape=shape)
        dist = open_memmap(d_tmp, mode="w+", dtype=np.float32, shape=shape)
        for start in range(0, n_frames, chunk):
            stop = min(start + chunk, n_frames)
            idx[start:stop], dist[start:stop] = neighbors.periodic_knn(
                np.asarray(frames.coords[start:stop], dtype=np.float64),
                np.asarray(frames.lattices[start:stop], dtype=np.float64),
                n_neighbors,
            )
            log.info("featurized %d / %d frames (%.0f %%)", stop, n_frames, 100 * stop / n_frames)
        idx.flush()
        dist.flush()
        del idx, dist


def open_graphs(graphs_dir) -> tuple[np.ndarray, np.ndarray]:
    """Memory-mapped (nbr_idx (F, N, M) int32, nbr_dist (F, N, M) float32 Å)."""
    graphs_dir = Path(graphs_dir)
    return (np.load(graphs_dir / "nbr_idx.npy", mmap_mode="r"),
            np.load(graphs_dir / "nbr_dist.npy", mmap_mode="r"))
