"""On-disk stores that every step after the import reads: frames and graphs.

All trajectories of one system are concatenated along the frame axis into ``.npy``
files that numpy memory-maps, so no step needs a whole trajectory in RAM. A
``meta.json`` beside them records the segments (one per input trajectory, as
half-open ``[start, stop)`` global frame ranges); time-lagged pairs never cross them.

frames/  coords.npy (F, N, 3) float32 Å, lattices.npy (F, 3, 3) float32 Å, meta.json
graphs/  nbr_idx.npy (F, N, M) int32, nbr_dist.npy (F, N, M) float32 Å

Both stores are written in one sequential pass of bounded memory: frames are streamed
from the ``.npz`` members (`trajectory.iter_frames`) and appended to the ``.npy``
files with plain writes, and `write_graphs` reads its input chunks with plain reads.
Plain file I/O, not memory maps, on purpose: pages a process touches through a
memory map count as its resident memory until the kernel evicts them, so a sweep
through a mapped file grows the resident set towards the file size. (Memory maps
remain the right tool for the random access of training.) Outputs appear atomically;
``meta.json`` is written last, so a store without it is incomplete.
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from gdynet import io, logs
from gdynet.data import trajectory
from gdynet.data.trajectory import DEFAULT_CHUNK_BYTES
from gdynet.graphs import neighbors


@dataclass(frozen=True)
class Segment:
    name: str
    start: int  # first global frame
    stop: int  # one past the last global frame


@dataclass(frozen=True)
class Frames:
    coords: np.ndarray  # (F, N, 3) float32 Å, memory-mapped
    lattices: np.ndarray  # (F, 3, 3) float32 Å, memory-mapped
    atom_types: np.ndarray  # (N,)
    target_index: np.ndarray  # (n,) or (n, k)
    segments: tuple[Segment, ...]
    frame_interval_ps: float
    directory: Path | None = None  # the store's folder, named in errors


def write_frames(paths: Sequence, names: Sequence[str], out_dir, frame_interval_ps: float, *,
                 max_chunk_bytes: float = DEFAULT_CHUNK_BYTES) -> None:
    """Validate trajectory files and concatenate them into a frame store, streaming.

    paths: the .npz trajectories of one system; names: one unique segment name each.
    All files must describe the same atoms (atom types and targets); each becomes one
    segment. Headers, atom types and targets of every file are checked before
    anything is written; the frames are checked chunk by chunk while they are copied
    (NaN/inf, cells, zip CRC), and any error removes the partial output. Memory use is
    a few chunks of `max_chunk_bytes` (raw input bytes), whatever the file sizes.
    """
    out_dir = Path(out_dir)
    log = logs.get()
    paths = [Path(p) for p in paths]
    names = [str(n) for n in names]
    if not paths:
        raise ValueError("no trajectory files given; a system needs at least one")
    if len(names) != len(paths):
        raise ValueError(f"{len(paths)} trajectory files but {len(names)} segment names; "
                         "give one name per file")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"segment names {dup} repeat; name every trajectory file uniquely "
                         "(splits by trajectory refer to these names)")
    if not (math.isfinite(frame_interval_ps) and frame_interval_ps > 0):
        raise ValueError(f"frame_interval_ps must be a positive number of ps, got {frame_interval_ps!r}")
    infos = [trajectory.inspect(p) for p in paths]  # cheap: headers and small arrays
    trajectory.check_consistent(infos)
    first = infos[0]
    total = sum(i.n_frames for i in infos)
    n_atoms = first.n_atoms
    (out_dir / "meta.json").unlink(missing_ok=True)  # the store is incomplete until rewritten
    segments, start = [], 0
    with io.atomic_path(out_dir / "coords.npy", 12 * total * n_atoms, "the coordinates") as c_tmp, \
            io.atomic_path(out_dir / "lattices.npy", 36 * total, "the cells") as l_tmp, \
            _NpyWriter(c_tmp, np.float32, (total, n_atoms, 3)) as coords, \
            _NpyWriter(l_tmp, np.float32, (total, 3, 3)) as lattices:
        for name, info in zip(names, infos):
            for at, c, lat in trajectory.iter_frames(info.path, max_chunk_bytes):
                coords.write(_to_float32(c, info.path, "traj_coords", at))
                lattices.write(_to_float32(lat, info.path, "lattices", at))
            segments.append({"name": name, "start": start, "stop": start + info.n_frames})
            start += info.n_frames
            log.info("copied %s: %d frames (%d / %d)", info.path.name, info.n_frames, start, total)
    io.save_json(out_dir / "meta.json", {
        "atom_types": first.atom_types.tolist(),
        "target_index": first.target_index.tolist(),
        "frame_interval_ps": float(frame_interval_ps),
        "segments": segments,
    })


def open_frames(frames_dir) -> Frames:
    """Open a frame store (memory-mapped arrays); fail if it is incomplete."""
    frames_dir = Path(frames_dir)
    meta_path = frames_dir / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path} is missing: the frame store in {frames_dir} is "
                                "incomplete; run the prepare_frames step again")
    meta = io.load_json(meta_path)
    frames = Frames(
        coords=np.load(frames_dir / "coords.npy", mmap_mode="r"),
        lattices=np.load(frames_dir / "lattices.npy", mmap_mode="r"),
        atom_types=np.asarray(meta["atom_types"]),
        target_index=np.asarray(meta["target_index"]),
        segments=tuple(Segment(**s) for s in meta["segments"]),
        frame_interval_ps=meta["frame_interval_ps"],
        directory=frames_dir,
    )
    n_frames = frames.segments[-1].stop if frames.segments else 0
    if (frames.coords.shape[0] != n_frames or frames.lattices.shape[0] != n_frames
            or frames.coords.shape[1] != len(frames.atom_types)):
        raise ValueError(f"{frames_dir}: coords.npy {frames.coords.shape} and lattices.npy "
                         f"{frames.lattices.shape} do not match meta.json ({n_frames} frames, "
                         f"{len(frames.atom_types)} atoms); run the prepare_frames step again")
    return frames


def write_graphs(frames: Frames, out_dir, n_neighbors: int,
                 max_chunk_bytes: float = DEFAULT_CHUNK_BYTES, *,
                 radius_A: float | None = None, key: str = "graph") -> None:
    """Build the periodic M-nearest-neighbour graph of every frame, chunk by chunk.

    With `radius_A` (the Gaussian expansion radius, Å) first check on a few frames that
    every atom has M neighbours within it (`trajectory.validate_graph_radius`; `key`
    is the config path named in its error, e.g. "systems.peo.graph"). Memory use is a
    few chunks of about `max_chunk_bytes` plus the neighbour search's own working
    memory (bounded inside `neighbors.periodic_knn`).
    """
    out_dir = Path(out_dir)
    log = logs.get()
    n_frames, n_atoms = frames.coords.shape[:2]
    name = str(frames.directory) if frames.directory is not None else "frame store"
    if radius_A is not None:
        d = trajectory.validate_graph_radius(frames.coords, frames.lattices, n_neighbors,
                                             radius_A, name=name, key=key)
        log.info("largest %d-th neighbour distance in sampled frames: %.3f Å (radius %g Å)",
                 n_neighbors, d, radius_A)
    shape = (n_frames, n_atoms, n_neighbors)
    # per frame: N atom rows + 3 cell rows of 3 values, read as float32 (12 B) and
    # copied to float64 (24 B), twice for slack; int32 + float32 output per edge
    frame_bytes = 2 * (12 + 24) * (n_atoms + 3) + 8 * n_atoms * n_neighbors
    chunk = max(1, int(max_chunk_bytes // frame_bytes))
    with io.atomic_path(out_dir / "nbr_idx.npy") as i_tmp, \
            io.atomic_path(out_dir / "nbr_dist.npy") as d_tmp, \
            _NpyWriter(i_tmp, np.int32, shape) as idx, \
            _NpyWriter(d_tmp, np.float32, shape) as dist:
        for start in range(0, n_frames, chunk):
            stop = min(start + chunk, n_frames)
            i, d = neighbors.periodic_knn(
                np.asarray(_rows(frames.coords, start, stop), dtype=np.float64),
                np.asarray(_rows(frames.lattices, start, stop), dtype=np.float64),
                n_neighbors,
            )
            idx.write(i)
            dist.write(d)
            log.info("featurized %d / %d frames (%.0f %%)", stop, n_frames, 100 * stop / n_frames)


def open_graphs(graphs_dir) -> tuple[np.ndarray, np.ndarray]:
    """Memory-mapped (nbr_idx (F, N, M) int32, nbr_dist (F, N, M) float32 Å)."""
    graphs_dir = Path(graphs_dir)
    return (np.load(graphs_dir / "nbr_idx.npy", mmap_mode="r"),
            np.load(graphs_dir / "nbr_dist.npy", mmap_mode="r"))


# --------------------------------------------------------------- sequential .npy I/O


class _NpyWriter:
    """Write a C-order .npy of known shape by appending row blocks, with plain writes."""

    def __init__(self, path, dtype, shape):
        self._dtype, self._shape = np.dtype(dtype), tuple(int(x) for x in shape)
        self._rows = 0
        self._file = open(path, "wb")
        npy_format.write_array_header_1_0(self._file, {
            "descr": npy_format.dtype_to_descr(self._dtype), "fortran_order": False, "shape": self._shape})

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        self._file.close()
        if exc_type is None and self._rows != self._shape[0]:
            raise RuntimeError(f"wrote {self._rows} of {self._shape[0]} rows of {self._file.name}")

    def write(self, block) -> None:
        block = np.ascontiguousarray(block, dtype=self._dtype)
        if block.shape[1:] != self._shape[1:] or self._rows + len(block) > self._shape[0]:
            raise ValueError(f"cannot append a block of shape {block.shape} to an array of "
                             f"shape {self._shape} holding {self._rows} rows")
        self._file.write(memoryview(block).cast("B"))
        self._rows += len(block)


def _rows(array: np.ndarray, start: int, stop: int) -> np.ndarray:
    """array[start:stop]; a whole C-order memory map (as `open_frames` opens them) is
    read with a plain file read instead, so that no mapped page is touched."""
    if not (isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap)
            and array.flags.c_contiguous):  # a slice of a map keeps the map's offset
        return np.asarray(array[start:stop])
    row = math.prod(array.shape[1:])
    return np.fromfile(array.filename, array.dtype, count=(stop - start) * row,
                       offset=array.offset + start * row * array.dtype.itemsize
                       ).reshape((stop - start,) + array.shape[1:])


def _to_float32(block, path, key, first_frame) -> np.ndarray:
    """The store keeps float32; a finite float64 beyond its range would become inf."""
    with np.errstate(over="ignore"):
        out = block.astype(np.float32)
    if not np.isfinite(out).all():
        frame = first_frame + int(np.argmax(~np.isfinite(out).reshape(len(out), -1).all(axis=1)))
        raise trajectory.TrajectoryError(
            f"{path}: '{key}' holds values too large for float32 (|x| > 3.4e38, first in "
            f"frame {frame}); coordinates and cells must be in Å")
    return out
