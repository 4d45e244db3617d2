"""On-disk stores that every step after the import reads: frames and graphs.

All trajectories of one system are concatenated along the frame axis into ``.npy``
files that numpy memory-maps, so no step needs a whole trajectory in RAM. A
``meta.json`` beside them records the segments (one per input trajectory, as
half-open ``[start, stop)`` global frame ranges); time-lagged pairs never cross them.

frames/  coords.npy (F, N, 3) float32 Å, lattices.npy (F, 3, 3) float32 Å, meta.json
graphs/  nbr_idx.npy (F, N, M) uint16 (int32 for N > 65536), nbr_dist.npy (F, N, M)
         uint16 in steps of 2^-12 Å, meta.json: 4 M bytes per atom and frame (`Graphs`)

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
                 max_chunk_bytes: float = DEFAULT_CHUNK_BYTES, target_index=None) -> None:
    """Validate trajectory files and concatenate them into a frame store, streaming.

    paths: the .npz trajectories of one system; names: one unique segment name each.
    All files must describe the same atoms (atom types and targets); each becomes one
    segment. target_index: (n,) or (n, k) atom indices that replace the files' own
    targets (e.g. chosen by an analysis from the first frame); the files' targets are
    then ignored, and need not agree with each other. Headers, atom types and targets of every file are checked before
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
    if target_index is not None:
        infos = [trajectory.with_targets(i, target_index) for i in infos]
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


GRAPH_FORMAT_VERSION = 1
# Distances are stored as uint16 multiples of this many Å (a power of two, so that
# encoding and decoding are exact scalings): at most 2^-13 Å = 1.2e-4 Å off, which moves
# a Gaussian edge feature of Eq. 7 (sigma = 0.2 Å, slope at most sqrt(2)/sigma e^-1/2
# = 4.3 per Å) by at most 5.2e-4. float16 would be 0.002 Å off at 7 Å (8e-3 in the
# features). The range is 65535 / 4096 = 16.0 Å.
DISTANCE_SCALE_A = 2.0**-12
MAX_DISTANCE_A = 65535 * DISTANCE_SCALE_A


@dataclass(frozen=True)
class Graphs:
    """A graph store: the M nearest neighbours of every atom in every frame.

    nbr_idx: (F, N, M) neighbour atom indices, uint16 (int32 when N > 65536);
    nbr_dist: (F, N, M) uint16 distances in units of `distance_scale_A` Å, ascending
        along the last axis. Both are read-only memory maps of the .npy files, for
        inspection; `read` decodes frames without mapping them.
    bytes_per_atom_frame = M * (itemsize of nbr_idx + 2): 4 M for N <= 65536, else 6 M.
    """

    nbr_idx: np.ndarray
    nbr_dist: np.ndarray
    distance_scale_A: float
    directory: Path

    @property
    def n_frames(self) -> int:
        return self.nbr_idx.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.nbr_idx.shape[1]

    @property
    def n_neighbors(self) -> int:
        return self.nbr_idx.shape[2]

    @property
    def bytes_per_atom_frame(self) -> int:
        return self.n_neighbors * (self.nbr_idx.dtype.itemsize + self.nbr_dist.dtype.itemsize)

    def read(self, frames) -> tuple[np.ndarray, np.ndarray]:
        """Decoded graphs of `frames` (1-D integer array, any order, repeats allowed):
        idx (B, N, M) int32 and dist (B, N, M) float32 Å, in the order given.

        Plain file reads of runs of consecutive frames, in increasing order: the pages
        read do not stay mapped into the process, so its resident memory is the batch,
        however many frames a sweep reads (a memory map's touched pages would count as
        resident until the kernel evicts them).
        """
        frames = np.asarray(frames)
        if frames.ndim != 1 or not (np.issubdtype(frames.dtype, np.integer) or frames.size == 0):
            raise ValueError(f"frames must be a 1-D integer array, got shape {frames.shape} "
                             f"dtype {frames.dtype}")
        frames = frames.astype(np.int64)
        if frames.size and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise ValueError(f"frame numbers must lie in [0, {self.n_frames}), got "
                             f"[{frames.min()}, {frames.max()}]")
        unique, inverse = np.unique(frames, return_inverse=True)
        idx = _read_frames(self.nbr_idx, unique)
        if idx.size and int(idx.max()) >= self.n_atoms:
            raise ValueError(f"{self.directory}: nbr_idx.npy holds atom index {int(idx.max())} "
                             f"but there are only {self.n_atoms} atoms: the graph store is "
                             "corrupt; build it again")
        dist = decode_distances(_read_frames(self.nbr_dist, unique), self.distance_scale_A)
        return idx.astype(np.int32)[inverse], dist[inverse]


def graph_bytes_per_atom_frame(n_atoms: int, n_neighbors: int) -> int:
    """Size of a graph store per atom and frame, bytes: M * (2 + 2), or M * (4 + 2) for
    N > 65536 (uint16 distances; uint16 or int32 indices)."""
    return n_neighbors * (_index_dtype(n_atoms).itemsize + 2)


def write_graphs(frames: Frames, out_dir, n_neighbors: int,
                 max_chunk_bytes: float = DEFAULT_CHUNK_BYTES, *,
                 radius_A: float | None = None, threads: int = 1) -> None:
    """Build the periodic M-nearest-neighbour graph of every frame into a graph store.

    out_dir receives nbr_idx.npy, nbr_dist.npy (see `Graphs`) and, last, meta.json;
    a folder without meta.json is an incomplete store. With `radius_A` (the Gaussian
    expansion radius, Å) first check on a few frames that every atom has M neighbours
    within it (`trajectory.validate_graph_radius`). `threads` parallel threads search
    the frames (`neighbors.periodic_knn`). Memory use is a few chunks of about
    `max_chunk_bytes` plus the neighbour search's own working memory, whatever the
    number of frames. Distances beyond 16 Å (MAX_DISTANCE_A) are refused.
    """
    out_dir = Path(out_dir)
    log = logs.get()
    n_frames, n_atoms = frames.coords.shape[:2]
    name = str(frames.directory) if frames.directory is not None else "frame store"
    if radius_A is not None:
        d = trajectory.validate_graph_radius(frames.coords, frames.lattices, n_neighbors,
                                             radius_A, name=name)
        log.info("largest %d-th neighbour distance in sampled frames: %.3f Å (radius %g Å)",
                 n_neighbors, d, radius_A)
    shape = (n_frames, n_atoms, n_neighbors)
    index_dtype = _index_dtype(n_atoms)
    # per frame: N atom rows + 3 cell rows of 3 values, read as float32 (12 B) and
    # copied to float64 (24 B), twice for slack; the search's int32 + float32 and the
    # encoded output per edge
    frame_bytes = 2 * (12 + 24) * (n_atoms + 3) + (8 + 4 + 4) * n_atoms * n_neighbors
    chunk = max(1, int(max_chunk_bytes // frame_bytes))
    if chunk > neighbors.BLOCK_FRAMES:  # the same graphs as one periodic_knn call
        chunk -= chunk % neighbors.BLOCK_FRAMES
    (out_dir / "meta.json").unlink(missing_ok=True)  # the store is incomplete until rewritten
    with io.atomic_path(out_dir / "nbr_idx.npy") as i_tmp, \
            io.atomic_path(out_dir / "nbr_dist.npy") as d_tmp, \
            _NpyWriter(i_tmp, index_dtype, shape) as idx, \
            _NpyWriter(d_tmp, np.uint16, shape) as dist:
        for start in range(0, n_frames, chunk):
            stop = min(start + chunk, n_frames)
            i, d = neighbors.periodic_knn(
                np.asarray(_rows(frames.coords, start, stop), dtype=np.float64),
                np.asarray(_rows(frames.lattices, start, stop), dtype=np.float64),
                n_neighbors, threads=threads,
            )
            idx.write(i)
            dist.write(_encode_frames(d, start, name))
            log.info("featurized %d / %d frames (%.0f %%)", stop, n_frames, 100 * stop / n_frames)
    io.save_json(out_dir / "meta.json", {
        "format_version": GRAPH_FORMAT_VERSION,
        "n_frames": n_frames,
        "n_atoms": n_atoms,
        "n_neighbors": n_neighbors,
        "index_dtype": index_dtype.name,
        "distance_dtype": "uint16",
        "distance_scale_A": DISTANCE_SCALE_A,
    })


def open_graphs(graphs_dir) -> Graphs:
    """Open a graph store written by `write_graphs`; fail if it is incomplete."""
    graphs_dir = Path(graphs_dir)
    meta_path = graphs_dir / "meta.json"
    if not meta_path.exists():
        raise FileNotFoundError(f"{meta_path} is missing: the graph store in {graphs_dir} is "
                                "incomplete (its writing was interrupted) or was written by an "
                                "older version; build the graphs again")
    meta = io.load_json(meta_path)
    if meta.get("format_version") != GRAPH_FORMAT_VERSION:
        raise ValueError(f"{meta_path}: graph store format version {meta.get('format_version')!r}, "
                         f"but this version reads {GRAPH_FORMAT_VERSION}; build the graphs again")
    graphs = Graphs(
        nbr_idx=np.load(graphs_dir / "nbr_idx.npy", mmap_mode="r"),
        nbr_dist=np.load(graphs_dir / "nbr_dist.npy", mmap_mode="r"),
        distance_scale_A=float(meta["distance_scale_A"]),
        directory=graphs_dir,
    )
    shape = (meta["n_frames"], meta["n_atoms"], meta["n_neighbors"])
    if (graphs.nbr_idx.shape != shape or graphs.nbr_dist.shape != shape
            or graphs.nbr_idx.dtype.name != meta["index_dtype"]
            or graphs.nbr_dist.dtype.name != meta["distance_dtype"]):
        raise ValueError(f"{graphs_dir}: nbr_idx.npy {graphs.nbr_idx.shape} {graphs.nbr_idx.dtype} "
                         f"and nbr_dist.npy {graphs.nbr_dist.shape} {graphs.nbr_dist.dtype} do not "
                         f"match meta.json ({shape}, {meta['index_dtype']}, {meta['distance_dtype']}); "
                         "build the graphs again")
    return graphs


def _index_dtype(n_atoms: int) -> np.dtype:
    return np.dtype(np.uint16 if n_atoms <= 2**16 else np.int32)


def encode_distances(dist_A) -> np.ndarray:
    """Distances (...) Å in [0, MAX_DISTANCE_A] -> uint16 multiples of DISTANCE_SCALE_A,
    rounded to nearest (at most DISTANCE_SCALE_A / 2 off)."""
    dist_A = np.asarray(dist_A, dtype=np.float32)
    if dist_A.size and not (dist_A.min() >= 0 and dist_A.max() <= MAX_DISTANCE_A):
        raise ValueError(f"distances must lie in [0, {MAX_DISTANCE_A:.4f}] Å to be stored, got "
                         f"[{dist_A.min():g}, {dist_A.max():g}] Å")
    return np.rint(dist_A * np.float32(1.0 / DISTANCE_SCALE_A)).astype(np.uint16)


def decode_distances(codes, scale_A: float = DISTANCE_SCALE_A) -> np.ndarray:
    """uint16 codes (...) -> float32 distances, Å (exact: the scale is a power of two)."""
    return np.asarray(codes).astype(np.float32) * np.float32(scale_A)


def _encode_frames(dist, first_frame, name) -> np.ndarray:
    """`encode_distances` of a chunk (B, N, M), naming the first atom out of range."""
    far = dist[..., -1] > MAX_DISTANCE_A  # distances ascend along the last axis
    if far.any():
        f, atom = np.argwhere(far)[0]
        raise ValueError(
            f"{name}: the {dist.shape[-1]}-th neighbour of atom {atom} in frame {first_frame + f} "
            f"lies {float(dist[f, atom, -1]):.2f} Å away, beyond the {MAX_DISTANCE_A:.1f} Å that "
            "the graph store keeps; the system is too dilute for this many neighbours (their "
            "Gaussian edge features would be zero anyway): use fewer neighbours")
    return encode_distances(dist)


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


def _read_frames(array: np.memmap, frames: np.ndarray) -> np.ndarray:
    """array[frames] of a C-order .npy memory map, for sorted unique `frames`, with one
    plain read per run of consecutive frames (no mapped page is touched)."""
    out = np.empty((len(frames),) + array.shape[1:], array.dtype)
    if not len(frames):
        return out
    row = math.prod(array.shape[1:]) * array.dtype.itemsize
    runs = np.flatnonzero(np.diff(frames) != 1) + 1
    flat = out.reshape(len(frames), -1).view(np.uint8)
    with open(array.filename, "rb", buffering=0) as f:
        for a, b in zip(np.r_[0, runs], np.r_[runs, len(frames)]):
            f.seek(array.offset + int(frames[a]) * row)
            view = memoryview(flat[a:b].reshape(-1))
            if f.readinto(view) != len(view):
                raise ValueError(f"{array.filename} is shorter than its header says: the graph "
                                 "store is corrupt; build it again")
    return out


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
