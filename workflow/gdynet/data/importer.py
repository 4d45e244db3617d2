"""Users' own trajectories: any file mdtraj reads -> one trajectory ``.npz`` of our contract.

`import_trajectory` reads a trajectory (xtc, trr, dcd, netcdf, h5, lammpstrj, gro, ...;
every format of ``mdtraj.iterload``) with a topology (pdb, psf, prmtop/parm7, gro, h5,
mol2, ...) and writes the arrays of the contract in `gdynet.data.trajectory`:

* ``traj_coords`` (F, N, 3) float32, Å. mdtraj works in nm, so positions are × 10.
* ``lattices`` (F, 3, 3) float32, Å: mdtraj's ``unitcell_vectors`` × 10; its rows are
  the lattice vectors a, b, c (lower-triangular for a triclinic cell), as ours are.
* ``atom_types`` (N,) int64 atomic numbers, from the topology's elements. Files without
  element columns get mdtraj's guess from the atom names, which can be wrong (a PDB
  atom "CA" without an element becomes calcium): check ``summary["elements"]``.
* ``target_index`` (n,) int64: the atoms of `selection` (mdtraj's selection language,
  e.g. ``"element Li"``), in index order. With ``molecular=True``, (n, k): the selected
  atoms grouped by residue, one row per residue, so a water molecule is one target of
  3 atoms; the model mean-pools each row (paper Eq. 4 and 10).

Memory stays bounded by one chunk of frames: chunks stream into raw files on disk
(the frame count is known only at the end), which are then copied behind an ``.npy``
header into an uncompressed ``.npz`` (the layout ``np.savez`` writes). Peak disk use
is about twice the output. A killed or failed import leaves no file at `out`.

The frame interval is not part of the contract; it comes from config. The file's
own times are read where the format stores simulation time in ps (xtc, trr, netcdf,
h5, dtr); mdtraj numbers the frames of other formats (dcd, lammpstrj, ...) 0, 1, 2,
..., which says nothing about time, so those report no interval. The interval
describes the imported frames, i.e. it already includes `stride`. A configured interval
that the file's uniform times contradict is an error (:class:`FrameIntervalMismatch`),
because every timescale would silently scale with it; `trust_frame_interval=True` keeps
the configured value (for files whose stored times are known to be wrong) with a warning.
"""

from __future__ import annotations

import numbers
import re
import shutil
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from gdynet import io, logs
from gdynet.data import trajectory

# Formats whose stored times are simulation times in ps (mdtraj reads them as such).
TIMED_FORMATS = (".xtc", ".trr", ".nc", ".ncdf", ".netcdf", ".h5", ".dtr")
# Relative disagreement between two frame intervals that counts as a mismatch.
_INTERVAL_RTOL = 1e-3
# Trajectory formats that carry their own topology (mdtraj reads them without one).
_SELF_DESCRIBING = (".pdb", ".pdb.gz", ".h5", ".hdf5", ".lh5", ".gro", ".arc", ".gsd")
_TOPOLOGY_HINT = "a topology file mdtraj reads (pdb, psf, prmtop/parm7, gro, h5, mol2, ...)"


class TrajectoryImportWarning(UserWarning):
    """Something about an imported file that the user should look at (non-uniform times...)."""


class FrameIntervalMismatch(trajectory.TrajectoryError):
    """The configured frame interval contradicts the file's own uniform time stamps.

    Attributes: path (the trajectory), configured_ps, file_ps (ps between imported frames,
    stride included) and stride.
    """

    def __init__(self, path, configured_ps: float, file_ps: float, stride: int):
        self.path, self.configured_ps, self.file_ps, self.stride = str(path), configured_ps, file_ps, stride
        super().__init__(
            f"{path}: frame_interval_ps is {configured_ps:g} ps, but the file's own time stamps put "
            f"its frames (stride {stride}) {file_ps:g} ps apart, so every timescale would be "
            f"{configured_ps / file_ps:.3g} times off. Either correct frame_interval_ps to "
            f"{file_ps:g}, or, if the file's time stamps are wrong, trust the configured value "
            "explicitly (trust_frame_interval=True)")

    def __reduce__(self):
        return type(self), (self.path, self.configured_ps, self.file_ps, self.stride)


def import_trajectory(
    trajectory_path,
    topology_path,
    selection: str,
    *,
    out,
    molecular: bool = False,
    atoms: str = "all",
    stride: int = 1,
    chunk: int = 1000,
    frame_interval_ps: float | None = None,
    trust_frame_interval: bool = False,
) -> dict:
    """Convert one mdtraj-readable trajectory into a trajectory ``.npz`` (module docstring).

    trajectory_path: the trajectory file; its extension tells mdtraj the format.
    topology_path: topology file with the same atoms in the same order; None only
        for trajectory formats that carry their own topology (pdb, h5, gro, ...).
    selection: mdtraj selection of the target atoms, e.g. "element Li" or "water".
    out: path of the ``.npz`` to write (atomically).
    molecular: group the selected atoms by residue into (n, k) targets; every
        selected residue must contribute the same number k of atoms.
    atoms: mdtraj selection of the atoms to keep at all (default "all"); use it to
        drop atoms without an element (e.g. TIP4P virtual sites: "not element VS").
        `selection` then refers to the kept atoms.
    stride: keep every stride-th frame.
    chunk: frames read and converted at a time; bounds the memory.
    frame_interval_ps: time between imported frames (after `stride`), ps, from
        config. None takes it from the file's times where the format has them.
    trust_frame_interval: keep `frame_interval_ps` even where the file's uniform times
        say otherwise (a warning instead of FrameIntervalMismatch); for files whose
        stored times are known to be wrong.

    Returns a JSON-ready summary: paths, n_frames, n_atoms, n_targets,
    atoms_per_target, elements ({symbol: count}), triclinic (bool), cell_varies
    (bool), frame_interval_ps (the value to use, or None), frame_interval_source
    ("config", "file" or None), file_frame_interval_ps, file_times_uniform and
    warnings (list of str; each is also issued with `warnings.warn`).
    Raises trajectory.TrajectoryError (a ValueError) naming the file and the fix,
    FrameIntervalMismatch (one) for a contradicted interval, and io.DiskFullError when
    the output does not fit; in every case nothing is left at `out`.
    """
    log = logs.get()
    traj_path, out = Path(trajectory_path), Path(out)
    stride, chunk = _positive_int(stride, "stride"), _positive_int(chunk, "chunk")
    if frame_interval_ps is not None and not (
            isinstance(frame_interval_ps, numbers.Real) and not isinstance(frame_interval_ps, bool)
            and np.isfinite(frame_interval_ps) and frame_interval_ps > 0):
        raise ValueError(f"frame_interval_ps must be a positive number of ps or None, got {frame_interval_ps!r}")
    if not traj_path.is_file():
        raise trajectory.TrajectoryError(
            f"{traj_path}: trajectory file not found; check the trajectory path")

    topology, top_name = _load_topology(traj_path, topology_path)
    keep = _select(topology, atoms, top_name, "atoms")
    keep = None if keep.size == topology.n_atoms else keep  # None: all atoms
    sub = topology if keep is None else topology.subset(keep)
    atom_types = _atomic_numbers(sub, top_name)
    target_index = _targets(sub, selection, molecular, top_name)

    summary = {
        "trajectory": str(traj_path),
        "topology": top_name,
        "out": str(out),
        "selection": selection,
        "molecular": bool(molecular),
        "atoms": atoms,
        "stride": stride,
        "n_atoms": int(sub.n_atoms),
        "n_targets": int(target_index.shape[0]),
        "atoms_per_target": int(target_index.shape[1]) if target_index.ndim == 2 else 1,
        "elements": dict(sorted(Counter(a.element.symbol for a in sub.atoms).items())),
    }
    log.info("importing %s with topology %s: %d atoms, %d targets (%s)", traj_path, top_name,
             sub.n_atoms, target_index.shape[0], selection)

    # a killed import leaves its scratch folder; the next import of `out` deletes it
    with io.scratch_dir(out) as tmp:
        raw_coords, raw_cells = tmp / "coords.raw", tmp / "lattices.raw"
        with (io.explain_full_disk(raw_coords, what=f"the frames of {traj_path.name}"),
              open(raw_coords, "wb") as fc, open(raw_cells, "wb") as fl):
            stats = _stream(traj_path, topology, top_name, keep, stride, chunk, fc, fl)
        n_frames, n_atoms = stats["n_frames"], sub.n_atoms
        # The contract's checks on one frame (types, targets, shapes); every frame's
        # coordinates and cell were checked while streaming.
        trajectory.validate(
            trajectory.Trajectory(stats["first_coords"], stats["first_cell"], atom_types, target_index),
            str(traj_path))
        interval = _frame_interval(stats, traj_path, stride, frame_interval_ps, trust_frame_interval)
        # the .npz: the raw bytes plus the small arrays and a few kB of headers
        size = (raw_coords.stat().st_size + raw_cells.stat().st_size + atom_types.nbytes
                + target_index.nbytes + (1 << 16))
        with io.atomic_path(out, nbytes=size, what=f"the imported {traj_path.name}") as tmp_out:
            _write_npz(tmp_out, {"traj_coords": (raw_coords, (n_frames, n_atoms, 3)),
                                 "lattices": (raw_cells, (n_frames, 3, 3))},
                       {"atom_types": atom_types, "target_index": target_index})

    summary.update(n_frames=n_frames, triclinic=stats["triclinic"], cell_varies=stats["cell_varies"])
    summary.update(interval)
    for message in summary["warnings"]:
        log.warning(message)  # into the rule's log file
        warnings.warn(message, TrajectoryImportWarning, stacklevel=2)
    log.info("wrote %s: %d frames x %d atoms, frame interval %s ps (%s)", out, n_frames, n_atoms,
             summary["frame_interval_ps"], summary["frame_interval_source"])
    return summary


# --------------------------------------------------------------------- topology


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _load_topology(traj_path: Path, topology_path):
    import mdtraj

    if topology_path is None:
        if not traj_path.name.lower().endswith(_SELF_DESCRIBING):
            raise trajectory.TrajectoryError(
                f"{traj_path}: a '{traj_path.suffix}' trajectory holds no topology; give "
                f"a topology, {_TOPOLOGY_HINT}, with the same atoms in the same order")
        topology_path = traj_path
    top_path = Path(topology_path)
    if not top_path.is_file():
        raise trajectory.TrajectoryError(
            f"{top_path}: topology file not found; check the topology path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mdtraj chatters about guessed bonds and elements
            topology = mdtraj.load_topology(str(top_path))
    except Exception as err:  # mdtraj raises OSError, ValueError, KeyError... by format
        raise trajectory.TrajectoryError(
            f"{top_path}: mdtraj cannot read this topology ({type(err).__name__}: {err}); "
            f"give {_TOPOLOGY_HINT}") from err
    if topology.n_atoms == 0:
        raise trajectory.TrajectoryError(f"{top_path}: the topology holds no atoms; give {_TOPOLOGY_HINT}")
    return topology, str(top_path)


def _select(topology, expression: str, top_name: str, key: str) -> np.ndarray:
    if not isinstance(expression, str) or not expression.strip():
        raise trajectory.TrajectoryError(
            f"{top_name}: the {key} must be an mdtraj selection string such as 'element Li', "
            f"got {expression!r}")
    try:
        picked = np.asarray(topology.select(expression), dtype=np.int64)
    except Exception as err:  # pyparsing and mdtraj raise several types for bad syntax
        raise trajectory.TrajectoryError(
            f"{top_name}: the {key} '{expression}' is not a valid mdtraj selection "
            f"({_selection_reason(err, expression)}); valid ones read like {_SELECTION_EXAMPLES}"
        ) from None
    if picked.size == 0:
        elements = sorted({a.element.symbol for a in topology.atoms if a.element is not None})
        residues = sorted({r.name for r in topology.residues})
        raise trajectory.TrajectoryError(
            f"{top_name}: the {key} '{expression}' selects no atoms; this topology holds "
            f"elements {elements} and residues {residues[:20]}{' ...' if len(residues) > 20 else ''}; "
            "fix the selection")
    return picked


_SELECTION_EXAMPLES = ("'element Li', 'name O and resname HOH', 'water', 'index 0 to 99' "
                       "(mdtraj's atom selection language)")


def _selection_reason(err: Exception, expression: str) -> str:
    """mdtraj's reason for rejecting a selection, in one short line.

    pyparsing's message may list the whole grammar ("Expected {Group:({'all' | ...") and
    repeats the expression with a caret line; only "found ... (at char n)" is kept of it.
    """
    text = str(err).split("\n")[0]
    text = re.sub(r",?\s*\(line:\d+, col:\d+\).*$", "", text)  # position again, the expression
    text = re.sub(r"^Expected \{.*\}\s*,?\s*(?=found)", "expected a keyword or value, ", text)
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


def _atomic_numbers(topology, top_name: str) -> np.ndarray:
    numbers = np.array([a.element.atomic_number if a.element is not None else 0 for a in topology.atoms],
                       dtype=np.int64)
    unknown = np.flatnonzero(numbers < 1)
    if unknown.size:
        atoms = list(topology.atoms)
        shown = ", ".join(f"{i} ({atoms[i].name} in {atoms[i].residue.name}{atoms[i].residue.resSeq})"
                          for i in unknown[:5])
        raise trajectory.TrajectoryError(
            f"{top_name}: {unknown.size} atom(s) have no known element, e.g. atoms {shown}; "
            "the graph embeds atoms by element: give a topology that records elements (a PDB "
            "with the element column, a psf or prmtop), or leave those atoms out with "
            "the atoms to keep, e.g. 'not element VS' for virtual sites (TIP4P's MW)")
    return numbers


def _targets(topology, selection: str, molecular: bool, top_name: str) -> np.ndarray:
    picked = _select(topology, selection, top_name, "selection")
    if not molecular:
        return picked
    groups: dict[int, list[int]] = {}
    for i in picked:  # ascending atom index, so rows and their atoms keep topology order
        groups.setdefault(topology.atom(int(i)).residue.index, []).append(int(i))
    sizes = Counter(len(g) for g in groups.values())
    if len(sizes) > 1:
        by_size = {}
        for res, members in groups.items():
            by_size.setdefault(len(members), set()).add(topology.residue(res).name)
        detail = "; ".join(f"{sizes[k]} residue(s) with {k} atoms ({', '.join(sorted(by_size[k])[:5])})"
                           for k in sorted(sizes))
        raise trajectory.TrajectoryError(
            f"{top_name}: molecular targets need the same number of selected atoms in every "
            f"residue, but the selection '{selection}' gives {detail}; narrow the selection "
            "(e.g. 'water' or 'resname HOH') or make the targets single atoms (molecular: false)")
    return np.array(list(groups.values()), dtype=np.int64)


# ------------------------------------------------------------------- streaming


def _stream(traj_path, topology, top_name, keep, stride, chunk, f_coords, f_cells) -> dict:
    """Read `traj_path` chunk by chunk, check each chunk and append it, in Å, to the raw files."""
    import mdtraj

    log = logs.get()
    n_frames, first_coords, first_cell = 0, None, None
    t0 = last_report = time.perf_counter()
    triclinic = cell_varies = False
    times = _TimeStats()
    chunks = mdtraj.iterload(str(traj_path), chunk=chunk, top=topology, stride=stride)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "netCDF4 not installed, using scipy"
        while True:
            try:
                piece = next(chunks)
            except StopIteration:
                break
            except Exception as err:
                raise _read_error(err, traj_path, topology, top_name, n_frames) from err
            if piece.n_atoms != topology.n_atoms:  # formats that carry their own topology
                raise _count_error(traj_path, piece.n_atoms, topology.n_atoms, top_name)
            xyz = piece.xyz if keep is None else piece.xyz[:, keep]
            coords = np.asarray(xyz * np.float32(10.0), dtype="<f4")  # nm -> Å
            bad = ~np.isfinite(coords).all(axis=(1, 2))
            if bad.any():
                raise trajectory.TrajectoryError(
                    f"{traj_path}: 'traj_coords' hold NaN or inf in frame {n_frames + int(np.argmax(bad))} "
                    "(after stride); repair or cut those frames before importing")
            cells = _cells(piece, traj_path, n_frames)
            if first_cell is None:
                first_coords, first_cell = coords[:1].copy(), cells[:1].copy()
            off_diagonal = cells - cells * np.eye(3, dtype=cells.dtype)
            triclinic |= bool(np.abs(off_diagonal).max() > 1e-4 * np.abs(cells).max())
            cell_varies |= bool(np.abs(cells - first_cell).max() > 0)
            times.add(piece.time)
            f_coords.write(coords.tobytes())
            f_cells.write(cells.tobytes())
            n_frames += piece.n_frames
            if time.perf_counter() - last_report > 10:
                last_report = time.perf_counter()
                log.info("read %d frames of %s (%.0f frames/s)", n_frames, traj_path.name,
                         n_frames / (last_report - t0))
    if n_frames == 0:
        raise trajectory.TrajectoryError(
            f"{traj_path}: holds no frames (with stride {stride}); check the file is complete")
    return dict(n_frames=n_frames, triclinic=triclinic, cell_varies=cell_varies, times=times,
                first_coords=first_coords, first_cell=first_cell)


def _cells(piece, traj_path, offset: int) -> np.ndarray:
    """(F, 3, 3) float32 lattice vectors (rows) in Å; fail on a missing or degenerate box."""
    vectors = piece.unitcell_vectors
    if vectors is None:
        raise trajectory.TrajectoryError(
            f"{traj_path}: 'lattices': the file has no periodic box, and the graphs are "
            "periodic; write the trajectory with its box (e.g. xtc, trr, dcd, netcdf with the "
            "unit cell) or add the cell to the file first")
    cells = np.asarray(vectors * np.float32(10.0), dtype="<f4")  # nm -> Å
    volumes = np.linalg.det(cells.astype(np.float64))
    bad = ~(np.isfinite(cells).all(axis=(1, 2)) & (volumes > 1e-6))
    if bad.any():
        frame = int(np.argmax(bad))
        raise trajectory.TrajectoryError(
            f"{traj_path}: 'lattices': mdtraj reads no valid box in frame {offset + frame} "
            f"(lengths {np.round(piece.unitcell_lengths[frame] * 10, 3).tolist()} Å, angles "
            f"{np.round(piece.unitcell_angles[frame], 3).tolist()}°, volume {volumes[frame]:.3g} Å³); "
            "a zero, NaN or flat box cannot make periodic graphs: convert the file to a format "
            "that stores the cell mdtraj reads (e.g. xtc with the box), or repair the box")
    return cells


def _read_error(err, traj_path, topology, top_name, done: int):
    text = f"{type(err).__name__}: {err}"
    found = re.search(r"xyz must be shape \(Any, (\d+), 3\)\. You supplied\s*\((\d+), (\d+), 3\)", str(err))
    if found:
        return _count_error(traj_path, int(found.group(3)), topology.n_atoms, top_name)
    if done:
        return trajectory.TrajectoryError(
            f"{traj_path}: mdtraj failed after {done} frames ({text}); the file may be truncated "
            "or corrupt: repair it or cut it to its readable frames")
    return trajectory.TrajectoryError(
        f"{traj_path}: mdtraj cannot read this trajectory ({text}); check the file is complete "
        "and that its extension names its format (xtc, trr, dcd, nc, h5, lammpstrj, gro, ...)")


def _count_error(traj_path, n_file: int, n_top: int, top_name: str):
    return trajectory.TrajectoryError(
        f"{traj_path}: holds {n_file} atoms per frame but the topology {top_name} has {n_top}; "
        "give the topology that was written with this trajectory (same atoms, same order)")


def _write_npz(path, raw: dict, small: dict) -> None:
    """An uncompressed .npz whose large members are copied from raw little-endian float32 files.

    raw: {key: (raw file, shape)}; small: {key: array}. Each large member is its .npy
    header followed by the raw bytes, copied in 1 MiB blocks with plain reads (no
    memory map, whose swept pages would count as resident memory).
    """
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, (raw_path, shape) in raw.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member, open(raw_path, "rb") as src:
                npy_format.write_array_header_1_0(
                    member, {"descr": "<f4", "fortran_order": False, "shape": shape})
                shutil.copyfileobj(src, member, 2**20)
        for key, array in small.items():
            with zf.open(f"{key}.npy", "w", force_zip64=True) as member:
                npy_format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)


# ------------------------------------------------------------------ frame times


class _TimeStats:
    """Running first/last time, step extremes and the largest |time| (ps) of the streamed frames."""

    def __init__(self):
        self.first = self.last = None
        self.n = 0
        self.min_step, self.max_step, self.max_abs = np.inf, -np.inf, 0.0

    def add(self, time) -> None:
        t = np.asarray(time, dtype=np.float64)
        if t.size == 0:
            return
        steps = np.diff(t if self.last is None else np.concatenate([[self.last], t]))
        if steps.size:
            self.min_step = min(self.min_step, float(steps.min()))
            self.max_step = max(self.max_step, float(steps.max()))
        self.first = float(t[0]) if self.first is None else self.first
        self.last = float(t[-1])
        self.n += t.size
        self.max_abs = max(self.max_abs, float(np.abs(t).max()))


def _frame_interval(stats: dict, traj_path: Path, stride: int, configured, trust: bool) -> dict:
    """Decide the frame interval (ps): config first, else the file's times; collect warnings.

    Raises FrameIntervalMismatch where the configured value contradicts the file's
    uniform times, unless `trust`.
    """
    times: _TimeStats = stats["times"]
    notes: list[str] = []
    file_dt, uniform = None, None
    if traj_path.suffix.lower() in TIMED_FORMATS and times.n >= 2:
        mean = (times.last - times.first) / (times.n - 1)
        # xtc/trr store times as float32: allow their rounding at the largest time.
        tol = max(_INTERVAL_RTOL * abs(mean), 4 * float(np.finfo(np.float32).eps) * times.max_abs)
        uniform = bool(mean > 0 and times.max_step - mean <= tol and mean - times.min_step <= tol)
        if uniform:
            file_dt = mean
        else:
            notes.append(
                f"{traj_path}: the frame times are not uniform (steps from {times.min_step:g} to "
                f"{times.max_step:g} ps); were runs concatenated or frames dropped? Time-lagged "
                "pairs assume one fixed interval: fix the file, or import the uniform parts as "
                "separate trajectories")
    if configured is not None:
        source, value = "config", float(configured)
        if file_dt is not None and abs(file_dt - value) > _INTERVAL_RTOL * value:
            if not trust:
                raise FrameIntervalMismatch(traj_path, value, file_dt, stride)
            notes.append(
                f"{traj_path}: frame_interval_ps is {value:g} ps but the file's frames "
                f"(stride {stride}) are {file_dt:g} ps apart; the configured value is used, as "
                "trust_frame_interval asks")
    elif file_dt is not None:
        source, value = "file", file_dt
    else:
        source, value = None, None
        if uniform is None:  # (a non-uniform file has its note already)
            notes.append(
                f"{traj_path}: the '{traj_path.suffix}' file gives no usable frame times; set "
                "frame_interval_ps (ps between imported frames, stride included) in config")
    return dict(frame_interval_ps=value, frame_interval_source=source, file_frame_interval_ps=file_dt,
                file_times_uniform=uniform, warnings=notes)
