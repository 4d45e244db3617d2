"""The trajectory contract, and its validation.

A trajectory is an ``.npz`` file in the format of the paper's Materials Cloud archive
(entry 2019.0017), so downloaded files need no conversion:

====================  ==============  =============================================
key                   shape           meaning
====================  ==============  =============================================
``traj_coords``       (F, N, 3)       Cartesian coordinates, Å, floating point
``lattices``          (F, 3, 3)       cell per frame; rows are the lattice vectors, Å,
                                      floating point
``atom_types``        (N,)            atomic numbers 1..118, integer
``target_index``      (n,) or (n, k)  atoms whose dynamics is learned, integer; k atoms
                                      per target are mean-pooled (paper Eq. 4 and 10)
====================  ==============  =============================================

The frame interval, temperature and anything else the file lacks come from config.

Two ways in:

* `load` reads a whole file into memory (small files, tests).
* `inspect` + `iter_frames` stream it: `inspect` reads only the ``.npy`` headers of the
  frame arrays and the two small arrays; `iter_frames` then reads the frames in chunks
  of bounded size straight from the zip members (stored or deflated), validating each
  chunk. The frame store is built this way, so a 5 x 80 ns PEO trajectory never sits
  in RAM as a whole.

Every error is a `TrajectoryError` (a ValueError) whose message names the file, the
key and the fix. `validate_graph_radius` checks the graph settings against the
geometry before featurization.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

REQUIRED_KEYS = ("traj_coords", "lattices", "atom_types", "target_index")
DEFAULT_CHUNK_BYTES = 64 * 2**20  # raw bytes of frame data read per chunk
# A cell is singular when its volume is this small relative to |a| |b| |c| (the
# volume of a cube with the same edge lengths): the product of the sines of the
# angles between the vectors; 1e-6 only catches (nearly) coplanar vectors.
_SINGULAR_RELATIVE_VOLUME = 1e-6


class TrajectoryError(ValueError):
    """A trajectory file breaks the contract; the message names the file, key and fix."""


@dataclass(frozen=True)
class Trajectory:
    coords: np.ndarray  # (F, N, 3) Å
    lattices: np.ndarray  # (F, 3, 3) Å
    atom_types: np.ndarray  # (N,)
    target_index: np.ndarray  # (n,) or (n, k)

    @property
    def n_frames(self) -> int:
        return self.coords.shape[0]

    @property
    def n_atoms(self) -> int:
        return self.coords.shape[1]


@dataclass(frozen=True)
class TrajectoryInfo:
    """What `inspect` learns from a file without reading its frames."""

    path: Path
    n_frames: int
    n_atoms: int
    atom_types: np.ndarray  # (N,) int64 atomic numbers
    target_index: np.ndarray  # (n,) or (n, k) int64 atom indices


@dataclass(frozen=True)
class Layout:
    """The shape of a system's trajectories, as far as it is known before frames are read.

    names: one segment name per trajectory (the file stems); n_frames: frames per
    trajectory, or None where not known yet (a file still to be downloaded or made);
    n_atoms, n_targets: atoms and targets per frame; volume_A3: the first frame's cell
    volume, Å^3 (None: unknown).
    """

    names: tuple[str, ...]
    n_frames: tuple[int, ...] | None = None
    n_atoms: int | None = None
    n_targets: int | None = None
    volume_A3: float | None = None


def layout_of(paths: Sequence[str | Path]) -> Layout:
    """The Layout of existing trajectory files: headers, the small arrays and one cell."""
    infos = [inspect(p) for p in paths]
    check_consistent(infos)
    _, _, cell = next(iter_frames(infos[0].path, max_chunk_bytes=1))
    return Layout(names=tuple(Path(p).stem for p in paths),
                  n_frames=tuple(i.n_frames for i in infos), n_atoms=infos[0].n_atoms,
                  n_targets=int(infos[0].target_index.shape[0]),
                  volume_A3=float(abs(np.linalg.det(np.asarray(cell[0], dtype=np.float64)))))


# --------------------------------------------------------------------- whole files


def load(path: str | Path) -> Trajectory:
    """Read and validate one whole trajectory file (see module docstring).

    Holds the file in memory: use `inspect` and `iter_frames` for large files.
    """
    path = Path(path)
    try:
        with np.load(path) as data:
            missing = [k for k in REQUIRED_KEYS if k not in data.files]
            if missing:
                raise _missing(path, missing)
            traj = Trajectory(*(data[k] for k in REQUIRED_KEYS))  # the fields' order
    except TrajectoryError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise _unreadable(path, err) from err
    validate(traj, str(path))
    return traj


def validate(traj: Trajectory, name: str) -> None:
    """Raise TrajectoryError naming `name` and the offending key if `traj` is invalid.

    The same checks as `inspect` + `iter_frames`, on arrays already in memory.
    """
    c, lat = np.asarray(traj.coords), np.asarray(traj.lattices)
    _check_layout(name, c.shape, c.dtype, lat.shape, lat.dtype)
    _check_atoms(name, c.shape[1], np.asarray(traj.atom_types), np.asarray(traj.target_index))
    _check_frames(name, c, lat, first_frame=0)


# ------------------------------------------------------------------------ streaming


def inspect(path: str | Path) -> TrajectoryInfo:
    """Validate everything about a trajectory file that does not need its frames.

    Reads the ``.npy`` headers of ``traj_coords`` and ``lattices`` (shapes, dtypes)
    and the small arrays ``atom_types`` and ``target_index`` in full. Cheap for any
    file size; run it on every file of a system before any heavy step.
    """
    path = Path(path)
    with _Npz(path) as npz:
        coords, lat = npz.member("traj_coords"), npz.member("lattices")
        _check_layout(str(path), coords.shape, coords.dtype, lat.shape, lat.dtype)
        atom_types = npz.small_array("atom_types")
        target_index = npz.small_array("target_index")
    _check_atoms(str(path), coords.shape[1], atom_types, target_index)
    return TrajectoryInfo(
        path=path, n_frames=coords.shape[0], n_atoms=coords.shape[1],
        atom_types=atom_types.astype(np.int64), target_index=target_index.astype(np.int64),
    )


def iter_frames(path: str | Path, max_chunk_bytes: float = DEFAULT_CHUNK_BYTES
                ) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Stream a trajectory's frames in validated chunks, never the whole file at once.

    Yields (start, coords, lattices): coords (f, N, 3) and lattices (f, 3, 3) of frames
    start .. start + f - 1, in the file's dtypes (read-only arrays). A chunk holds at
    most `max_chunk_bytes` of raw frame data (at least one frame). Each chunk is
    checked for NaN/inf and singular or left-handed cells; errors give the frame
    number within the file. A truncated or corrupt member (zip CRC) is reported too.
    Call `inspect` first for the header checks (this function repeats them cheaply).
    """
    path = Path(path)
    name = str(path)
    with _Npz(path) as npz:
        coords, lat = npz.member("traj_coords"), npz.member("lattices")
        _check_layout(name, coords.shape, coords.dtype, lat.shape, lat.dtype)
        n_frames, n_atoms = coords.shape[:2]
        frame_bytes = n_atoms * 3 * coords.dtype.itemsize + 9 * lat.dtype.itemsize
        chunk = max(1, int(max_chunk_bytes // frame_bytes))
        coords.prepare(max_chunk_bytes)
        lat.prepare(max_chunk_bytes)
        for start in range(0, n_frames, chunk):
            stop = min(start + chunk, n_frames)
            c = coords.rows(start, stop)
            la = lat.rows(start, stop)
            _check_frames(name, c, la, first_frame=start)
            yield start, c, la
        coords.finish()
        lat.finish()


def check_file(path: str | Path, max_chunk_bytes: float = DEFAULT_CHUNK_BYTES) -> TrajectoryInfo:
    """Validate a whole trajectory file by streaming it once; nothing is written."""
    info = inspect(path)
    for _ in iter_frames(path, max_chunk_bytes):
        pass
    return info


def check_consistent(infos: Sequence[TrajectoryInfo]) -> None:
    """All trajectories of one system must hold the same atoms and the same targets."""
    if not infos:
        raise ValueError("no trajectories given; a system needs at least one trajectory file")
    first = infos[0]
    for info in infos[1:]:
        if not np.array_equal(info.atom_types, first.atom_types):
            detail = (f"{info.n_atoms} atoms vs {first.n_atoms}" if info.n_atoms != first.n_atoms
                      else f"first difference at atom {int(np.argmax(info.atom_types != first.atom_types))}")
            raise TrajectoryError(
                f"{info.path}: 'atom_types' differ from those of {first.path} ({detail}); all "
                "trajectories of one system must hold the same atoms in the same order: "
                "reorder the atoms, or make them separate systems")
        if not np.array_equal(info.target_index, first.target_index):
            raise TrajectoryError(
                f"{info.path}: 'target_index' differs from that of {first.path} (shape "
                f"{info.target_index.shape} vs {first.target_index.shape}); all trajectories "
                "of one system must share their targets: write the same 'target_index' "
                "into every file")


def with_targets(info: TrajectoryInfo, target_index, source: str = "the given targets"
                 ) -> TrajectoryInfo:
    """`info` with its targets replaced by `target_index`, checked like a file's own.

    target_index: (n,) or (n, k) atom indices of `info`'s atoms (e.g. chosen by an
    analysis from the first frame); source names them in errors.
    """
    tgt = np.asarray(target_index)
    _check_atoms(f"{info.path} with {source}", info.n_atoms, info.atom_types, tgt)
    return replace(info, target_index=tgt.astype(np.int64))


# -------------------------------------------------------------------- graph radius


def validate_graph_radius(coords, lattices, n_neighbors: int, radius_A: float, *,
                          n_frames: int = 5, name: str = "trajectory") -> float:
    """Check on a few frames that every atom's M-th neighbour lies within radius_A.

    coords (F, N, 3) Å and lattices (F, 3, 3) Å may be memory-mapped: only `n_frames`
    evenly spaced frames (first and last included) are read. The edge features are
    the Gaussian expansion of Eq. 7 with centres up to radius_A; a neighbour well
    beyond the last centre gets features ~0, so an M-th neighbour beyond radius_A
    carries no information and M (or the radius) is set wrong for this system.
    The error names the measured distance, the radius and M, and the two fixes; the
    caller adds where these settings come from (a config key, a file).
    Returns the largest M-th-neighbour distance found, Å.
    """
    from gdynet.graphs import neighbors  # here, so that reading trajectories never needs vesin

    if not (np.isfinite(radius_A) and radius_A > 0):
        raise ValueError(f"the Gaussian expansion radius must be a positive number of Å, got {radius_A!r}")
    total = len(coords)
    if total == 0:
        raise TrajectoryError(f"{name}: 'traj_coords' has no frames; a trajectory needs at "
                              "least one frame")
    picks = np.unique(np.linspace(0, total - 1, max(1, min(n_frames, total))).round().astype(int))
    c = np.asarray(coords[picks], dtype=np.float64)
    lat = np.asarray(lattices[picks], dtype=np.float64)
    _, dist = neighbors.periodic_knn(c, lat, n_neighbors)
    mth = dist[..., -1]  # (frames, N) M-th neighbour distance
    worst = np.unravel_index(np.argmax(mth), mth.shape)
    d_max = float(mth[worst])
    if d_max > radius_A:
        # the largest M that every checked atom satisfies within the radius
        m_ok = int((dist <= radius_A).sum(axis=-1).min())
        lower = (f", or lower the number of neighbours to {m_ok}" if m_ok >= 1 else "")
        raise TrajectoryError(
            f"{name}: fewer than {n_neighbors} neighbours within the Gaussian expansion radius "
            f"{radius_A:g} Å: the {n_neighbors}-th neighbour of atom {int(worst[1])} in frame "
            f"{int(picks[worst[0]])} lies {d_max:.3f} Å away. Beyond the radius the Gaussian edge "
            "features (Eq. 7) are ~0, so such neighbours carry no information; raise the radius "
            f"to at least {math.ceil(d_max * 10) / 10:g} Å{lower}")
    return d_max


# ------------------------------------------------------------------------- checks


def _check_layout(name, c_shape, c_dtype, l_shape, l_dtype) -> None:
    """Shapes and dtypes of the two frame arrays (from headers or arrays)."""
    if len(c_shape) != 3 or c_shape[2] != 3 or c_shape[0] < 1 or c_shape[1] < 1:
        _fail(name, "traj_coords", f"has shape {tuple(c_shape)}",
              "expected (frames, atoms, 3) in Å with at least one frame and one atom")
    if not np.issubdtype(c_dtype, np.floating):
        _fail(name, "traj_coords", f"has dtype {c_dtype}",
              "expected floating-point coordinates in Å (write them with .astype(np.float32))")
    n_frames = c_shape[0]
    if tuple(l_shape) != (n_frames, 3, 3):
        _fail(name, "lattices", f"has shape {tuple(l_shape)}",
              f"expected ({n_frames}, 3, 3): one cell per frame of 'traj_coords' "
              "(for a fixed cell repeat it, np.broadcast_to(cell, (F, 3, 3)))")
    if not np.issubdtype(l_dtype, np.floating):
        _fail(name, "lattices", f"has dtype {l_dtype}",
              "expected floating-point lattice vectors in Å (write them with .astype(np.float32))")


def _check_atoms(name, n_atoms, types, tgt) -> None:
    """Atom types and targets (small arrays, read in full)."""
    if types.shape != (n_atoms,) or not np.issubdtype(types.dtype, np.integer):
        _fail(name, "atom_types", f"has shape {types.shape} and dtype {types.dtype}",
              f"expected ({n_atoms},) integer atomic numbers, one per atom of 'traj_coords'")
    if (types < 1).any() or (types > 118).any():
        bad = int(np.argmax((types < 1) | (types > 118)))
        _fail(name, "atom_types", f"holds values outside 1..118 (atom {bad}: {types[bad]})",
              "use atomic numbers (H = 1, Li = 3, ...)")
    if not np.issubdtype(tgt.dtype, np.integer):
        _fail(name, "target_index", f"has dtype {tgt.dtype}",
              "expected integer atom indices (write them with .astype(np.int64))")
    if tgt.ndim not in (1, 2):
        _fail(name, "target_index", f"has shape {tgt.shape}",
              "expected (n,) atom indices, or (n, k) for n targets of k atoms each")
    if tgt.size == 0:
        _fail(name, "target_index", f"has shape {tgt.shape} and selects no atom",
              "select at least one target atom (n >= 1, k >= 1)")
    if (tgt < 0).any() or (tgt >= n_atoms).any():
        _fail(name, "target_index", f"holds indices outside 0..{n_atoms - 1}",
              "indices refer to atoms of 'traj_coords', counted from 0")
    if len(np.unique(tgt)) != tgt.size:
        _fail(name, "target_index", "lists an atom more than once",
              "each atom belongs to at most one target, once")


def _check_frames(name, c, lat, first_frame: int) -> None:
    """Finite values and proper cells in one chunk of frames (numbered from first_frame)."""
    bad = ~np.isfinite(c).all(axis=(1, 2))
    if bad.any():
        _fail(name, "traj_coords", f"holds NaN or inf (first in frame "
              f"{int(np.argmax(bad)) + first_frame})", "remove or repair the bad frames")
    bad = ~np.isfinite(lat).all(axis=(1, 2))
    if bad.any():
        _fail(name, "lattices", f"holds NaN or inf (first in frame "
              f"{int(np.argmax(bad)) + first_frame})", "every frame needs a finite cell")
    lat = np.asarray(lat, dtype=np.float64)
    # An MD cell is often fixed: check each distinct cell of the chunk once.
    same = (lat == lat[:1]).all(axis=(1, 2))
    cells, index = (lat[:1], np.zeros(len(lat), int)) if same.all() else (lat, np.arange(len(lat)))
    volume = np.linalg.det(cells)
    scale = np.prod(np.linalg.norm(cells, axis=2), axis=1)
    singular = ~(np.abs(volume) > _SINGULAR_RELATIVE_VOLUME * scale)
    if singular.any():
        i = int(np.argmax(singular[index]))
        _fail(name, "lattices", f"has a singular cell in frame {i + first_frame} (volume "
              f"{volume[index[i]]:.3g} Å³, lattice vectors of zero length or in one plane)",
              "rows must be the three lattice vectors a, b, c in Å")
    if (volume < 0).any():
        i = int(np.argmax(volume[index] < 0))
        _fail(name, "lattices", f"has a left-handed cell in frame {i + first_frame} (volume "
              f"{volume[index[i]]:.3g} Å³ < 0)",
              "give the lattice vectors as a right-handed set, e.g. swap two rows")


def _fail(name, key, problem, fix):
    raise TrajectoryError(f"{name}: '{key}' {problem}; {fix}")


def _missing(path, missing):
    return TrajectoryError(
        f"{path}: missing key(s) {missing}; a trajectory needs {list(REQUIRED_KEYS)} "
        "(see the README, 'Data contracts')")


def _unreadable(path, err):
    return TrajectoryError(
        f"{path}: not a readable .npz trajectory ({type(err).__name__}: {err}); write it "
        "with numpy.savez, or download it again if it is truncated or corrupt")


# ------------------------------------------------------------- npz member reading


class _Npz:
    """An .npz opened for streaming: each array is a ``.npy`` file inside the zip.

    zipfile reads a member sequentially (stored or deflated) and checks its CRC once
    the member has been read to the end, so a corrupt file is caught on the way.
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, ValueError) as err:
            raise _unreadable(path, err) from err
        self._names = {n[:-4] if n.endswith(".npy") else n: n for n in self._zip.namelist()}
        missing = [k for k in REQUIRED_KEYS if k not in self._names]
        if missing:
            self._zip.close()
            raise _missing(path, missing)
        self._open = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for m in self._open:
            m.close()
        self._zip.close()

    def member(self, key) -> _Member:
        m = _Member(self, key)
        self._open.append(m)
        return m

    def small_array(self, key) -> np.ndarray:
        m = self.member(key)
        m.prepare(np.inf)
        data = m.rows(0, m.shape[0]) if m.shape else m.rows(0, 1).reshape(())
        m.finish()
        return data


class _Member:
    """One array of an .npz, read row block by row block from its zip member."""

    def __init__(self, npz: _Npz, key: str):
        self.path, self.key = npz.path, key
        self._fp = None
        self._whole = None
        self._next_row = 0
        try:
            self._fp = npz._zip.open(npz._names[key])
            version = npy_format.read_magic(self._fp)
            # 3.0 only differs from 2.0 by allowing UTF-8 field names; the 2.0 reader
            # parses any header that is ASCII.
            reader = (npy_format.read_array_header_1_0 if version == (1, 0)
                      else npy_format.read_array_header_2_0)
            self.shape, self.fortran, self.dtype = reader(self._fp)
        except (EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise self._corrupt(err) from err  # zipfile reads ahead: a small member ends here
        except (OSError, ValueError) as err:
            raise TrajectoryError(
                f"{self.path}: '{key}' is not a readable .npy array inside the .npz ({err}); "
                "write the file with numpy.savez, or download it again") from err
        if self.dtype.hasobject:
            raise TrajectoryError(
                f"{self.path}: '{key}' holds Python objects (dtype {self.dtype}), which are "
                "not read for safety; store plain numeric arrays")
        self._row_items = math.prod(self.shape[1:]) if self.shape else 1
        self._row_bytes = self._row_items * self.dtype.itemsize

    def prepare(self, max_chunk_bytes) -> None:
        """Fortran-ordered arrays cannot be read by rows: read a small one whole."""
        if not self.fortran or len(self.shape) < 2:
            return
        total = math.prod(self.shape) * self.dtype.itemsize
        if total > max_chunk_bytes:
            raise TrajectoryError(
                f"{self.path}: '{self.key}' is stored in Fortran (column-major) order, which "
                f"cannot be read frame by frame ({total / 2**20:.0f} MiB); write it again "
                "in C order, e.g. np.savez(..., traj_coords=np.ascontiguousarray(x))")
        flat = self._read_bytes(total)
        self._whole = np.frombuffer(flat, self.dtype).reshape(self.shape[::-1]).T

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start..stop-1; calls must be consecutive (the member is a stream)."""
        if start != self._next_row:
            raise RuntimeError(f"rows must be read in order: expected {self._next_row}, got {start}")
        self._next_row = stop
        if self._whole is not None:
            return np.ascontiguousarray(self._whole[start:stop])
        data = self._read_bytes((stop - start) * self._row_bytes, first_row=start)
        return np.frombuffer(data, self.dtype).reshape((stop - start,) + tuple(self.shape[1:]))

    def finish(self) -> None:
        """Read to the end of the member, so that zipfile verifies its CRC."""
        try:
            if self._fp.read(1):
                raise TrajectoryError(
                    f"{self.path}: '{self.key}' has more bytes than its header's shape "
                    f"{tuple(self.shape)} declares; write the file again")
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise self._corrupt(err) from err

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()

    def _read_bytes(self, n: int, first_row: int = 0) -> bytes:
        try:
            data = self._fp.read(n)
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
            raise self._corrupt(err) from err
        if len(data) != n:
            got = first_row + len(data) // max(self._row_bytes, 1)
            raise TrajectoryError(
                f"{self.path}: '{self.key}' ends after {got} of {self.shape[0] if self.shape else 1} "
                "rows that its header declares; the file is truncated: download or write it again")
        return data

    def _corrupt(self, err):
        return TrajectoryError(
            f"{self.path}: '{self.key}' is corrupt ({type(err).__name__}: {err}); the file "
            "fails the zip checksum or is cut short: download or write it again")
