"""Known-answer tests for gdynet.data.importer: users' own trajectories through mdtraj.

The inputs are real trajectory files that the MDAnalysisTests package ships (pinned in
requirements.txt; we only read its data folder and never import MDAnalysis):

* coordinates/test.{xtc,trr,dcd}: 5 atoms, 5 frames, a triclinic box that changes every
  frame. Their generating script (coordinates/create_data.py in the package) gives the
  answer: frame i holds positions 2**i * arange(15).reshape(5, 3) Å and the box
  lengths 81.1 + i, 82.2 + i, 83.3 + i Å, angles 75 + 0.1 i, 80 + 0.1 i, 85 + 0.1 i °.
* SiN_tric_namd.{dcd,psf}: 5545 atoms (Si3N4 slab, water, KCl) in a triclinic cell.
* Amber/ace_tip3p.{nc,parm7}: 464 TIP3P waters and one ACE cap in NetCDF, 10 frames.

Other references: mdtraj's own reading of the same file (× 10 for nm -> Å), and a
brute-force periodic neighbour search over explicit image shifts written here.
"""

import importlib.util
import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

import mdtraj
import numpy as np
import pytest
import torch

from gdynet.data import importer, store
from gdynet.data.trajectory import TrajectoryError
from gdynet.graphs.neighbors import periodic_knn
from gdynet.learn import training
from gdynet.learn.model import GDyNet

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning:mdtraj.formats.netcdf"),  # "netCDF4 not installed"
    pytest.mark.filterwarnings("ignore::gdynet.data.importer.TrajectoryImportWarning"),  # asserted where it matters
]


def _data_dir() -> Path:
    # find_spec locates the package without importing it (its __init__ wants MDAnalysis).
    spec = importlib.util.find_spec("MDAnalysisTests")
    if spec is None:
        raise RuntimeError("tests/test_import.py reads real trajectory files from the MDAnalysisTests "
                           "package: pip install -r requirements.txt")
    return Path(spec.submodule_search_locations[0]) / "data"


DATA = _data_dir()
ACE = (DATA / "Amber/ace_tip3p.nc", DATA / "Amber/ace_tip3p.parm7")

# id: trajectory, topology, selection, import options
CASES = {
    "xtc-triclinic": ("coordinates/test.xtc", "coordinates/test.gro", "all", {}),
    "trr-triclinic-stride": ("coordinates/test.trr", "coordinates/test.gro", "index 0 2",
                             {"stride": 2, "chunk": 2}),
    "dcd-pdb-triclinic": ("coordinates/test.dcd", "coordinates/test_topology.pdb", "index 4", {}),
    "dcd-psf-triclinic-slab": ("SiN_tric_namd.dcd", "SiN_tric_namd.psf", "element K", {}),
    "netcdf-prmtop-water": ("Amber/ace_tip3p.nc", "Amber/ace_tip3p.parm7", "element O", {"chunk": 3}),
}


def run_import(tmp_path, traj, top, selection, **kw):
    out = tmp_path / "imported.npz"
    summary = importer.import_trajectory(DATA / traj if traj else None, DATA / top if top else None,
                                         selection, out=out, **kw)
    with np.load(out) as z:
        arrays = {k: z[k] for k in z.files}
    return summary, arrays


def reference(traj, top, stride=1):
    return mdtraj.load(str(DATA / traj), top=str(DATA / top), stride=stride)


def cell_parameters(lattice):
    """Lengths (Å) and angles alpha, beta, gamma (°) of lattice rows a, b, c."""
    a, b, c = lattice
    lengths = np.linalg.norm(lattice, axis=1)

    def angle(u, v):
        return np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))

    return lengths, np.array([angle(b, c), angle(a, c), angle(a, b)])


# -------------------------------------------------------------- formats and units


@pytest.mark.parametrize("case", list(CASES))
def test_import_matches_mdtraj_in_angstrom(tmp_path, case):
    traj, top, selection, kw = CASES[case]
    summary, z = run_import(tmp_path, traj, top, selection, **kw)
    ref = reference(traj, top, stride=kw.get("stride", 1))

    assert set(z) == {"traj_coords", "lattices", "atom_types", "target_index"}
    assert z["traj_coords"].shape == (ref.n_frames, ref.n_atoms, 3) and z["traj_coords"].dtype == np.float32
    assert z["lattices"].shape == (ref.n_frames, 3, 3)
    np.testing.assert_allclose(z["traj_coords"], ref.xyz * 10, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(z["lattices"], ref.unitcell_vectors * 10, rtol=1e-6, atol=1e-5)
    types = [a.element.atomic_number for a in ref.topology.atoms]
    np.testing.assert_array_equal(z["atom_types"], types)
    np.testing.assert_array_equal(z["target_index"], ref.topology.select(selection))
    assert summary["n_frames"] == ref.n_frames and summary["n_targets"] == len(z["target_index"])
    assert summary["triclinic"] == (case != "netcdf-prmtop-water")


@pytest.mark.parametrize("traj", ["coordinates/test.xtc", "coordinates/test.trr", "coordinates/test.dcd"])
def test_positions_and_triclinic_box_match_the_generating_script(tmp_path, traj):
    _, z = run_import(tmp_path, traj, "coordinates/test_topology.pdb", "all")
    atol = 0.011 if traj.endswith(".xtc") else 1e-3  # xtc keeps 0.001 nm
    for i in range(5):
        np.testing.assert_allclose(z["traj_coords"][i], 2**i * np.arange(15.0).reshape(5, 3), atol=atol * 2**i)
        lengths, angles = cell_parameters(z["lattices"][i].astype(np.float64))
        np.testing.assert_allclose(lengths, [81.1 + i, 82.2 + i, 83.3 + i], atol=2e-3)
        np.testing.assert_allclose(angles, [75 + 0.1 * i, 80 + 0.1 * i, 85 + 0.1 * i], atol=2e-3)


def test_stride_and_chunk_do_not_change_the_frames(tmp_path):
    _, whole = run_import(tmp_path, *ACE, "water", molecular=True, chunk=1000)
    _, pieces = run_import(tmp_path, *ACE, "water", molecular=True, chunk=3, stride=3)
    np.testing.assert_array_equal(pieces["traj_coords"], whole["traj_coords"][::3])
    np.testing.assert_array_equal(pieces["lattices"], whole["lattices"][::3])


# ------------------------------------------------------------- graphs of the import


def brute_knn(coords, lattice, m, centers):
    """Reference neighbours of `centers`: every image shift in [-K, K]^3, sorted by distance.

    Pair separations are first wrapped to fractional [-1/2, 1/2), so the shifts cover
    every image closer than (K - 1/2) * (smallest perpendicular cell width); K grows
    until the m-th distance lies inside that sphere.
    """
    coords, lattice = coords.astype(np.float64), lattice.astype(np.float64)
    inv = np.linalg.inv(lattice)
    volume = abs(np.linalg.det(lattice))
    width = min(volume / np.linalg.norm(np.cross(lattice[k - 2], lattice[k - 1])) for k in range(3))
    for k_img in range(1, 6):
        shifts = np.array(list(itertools.product(range(-k_img, k_img + 1), repeat=3)), dtype=np.float64)
        zero = int(np.flatnonzero((shifts == 0).all(axis=1))[0])
        js, ds = [], []
        for c in centers:
            frac = (coords - coords[c]) @ inv
            frac -= np.round(frac)
            disp = (frac[:, None, :] + shifts[None]) @ lattice  # (N, S, 3)
            d = np.linalg.norm(disp, axis=-1)
            d[c, zero] = np.inf
            order = np.argsort(d.ravel(), kind="stable")[:m]
            js.append(order // len(shifts))
            ds.append(d.ravel()[order])
        j, d = np.array(js), np.array(ds)
        if d[:, -1].max() < (k_img - 0.5) * width:
            return j, d
    raise AssertionError("brute force did not reach the m-th neighbour")


@pytest.mark.parametrize("case", list(CASES))
def test_graph_of_imported_frames_matches_brute_force(tmp_path, case):
    traj, top, selection, kw = CASES[case]
    _, z = run_import(tmp_path, traj, top, selection, **kw)
    m = 6
    n_atoms = z["traj_coords"].shape[1]
    rng = np.random.default_rng(0)
    # a few centres in a big system: the targets and some random atoms
    centers = np.arange(n_atoms) if n_atoms <= 20 else np.unique(np.concatenate(
        [z["target_index"].ravel()[:6], rng.choice(n_atoms, 10, replace=False)]))
    frames = np.arange(min(3, len(z["traj_coords"])))
    idx, dist = periodic_knn(z["traj_coords"][frames].astype(np.float64),
                             z["lattices"][frames].astype(np.float64), m)
    tol = 2e-4  # Å; coordinates are float32 of up to ~600 Å
    for f in frames:
        ref_j, ref_d = brute_knn(z["traj_coords"][f], z["lattices"][f], m, centers)
        np.testing.assert_allclose(dist[f, centers], ref_d, atol=tol, rtol=0)
        for row, c in enumerate(centers):
            # neighbour multisets agree away from ties at the m-th place
            inner = ref_d[row] < ref_d[row, -1] - 10 * tol
            got = idx[f, c][dist[f, c] < ref_d[row, -1] - 10 * tol]
            assert Counter(got.tolist()) == Counter(ref_j[row][inner].tolist())


# ------------------------------------------------------- molecular targets, training


def test_water_box_with_molecular_targets_trains_one_epoch(tmp_path):
    summary, z = run_import(tmp_path, *ACE, "water", molecular=True)
    top = mdtraj.load_topology(str(ACE[1]))
    waters = [[a.index for a in r.atoms] for r in top.residues if r.name == "HOH"]
    assert z["target_index"].shape == (464, 3) and summary["atoms_per_target"] == 3
    np.testing.assert_array_equal(z["target_index"], waters)
    np.testing.assert_array_equal(z["atom_types"][z["target_index"]], np.tile([8, 1, 1], (464, 1)))
    assert summary["frame_interval_ps"] == pytest.approx(1.0) and summary["frame_interval_source"] == "file"

    store.write_frames([tmp_path / "imported.npz"], ["ace"], tmp_path / "frames", summary["frame_interval_ps"])
    frames = store.open_frames(tmp_path / "frames")
    store.write_graphs(frames, tmp_path / "graphs", n_neighbors=6)
    graphs = store.open_graphs(tmp_path / "graphs")
    data = training.GraphFrames(graphs)
    torch.manual_seed(0)
    model = GDyNet(frames.atom_types, frames.target_index, n_states=2, atom_fea_len=8, n_conv=1, radius_A=3.0)
    settings = training.TrainSettings(epochs=1, steps_per_epoch=2, batch_pairs=4 * 464,
                                      learning_rate=1e-3, seed=0)
    trained = training.fit(model, data, train_ranges=[(0, 7)], val_ranges=[(7, 10)], lag=1,
                           frame_interval_ps=1.0, settings=settings, checkpoint=tmp_path / "ckpt.pt",
                           device="cpu")
    metrics = trained.metrics
    assert len(metrics) == 1 and trained.frame_pairs == 4
    # VAMP-2 of k = 2 softmax outputs lies in [1, 2] (the constant singular function gives 1)
    assert 1.0 - 1e-4 <= metrics["val_vamp2"].iloc[0] <= 2.0 + 1e-4

    # one output per water, and each is the head applied to the mean of its 3 atoms (Eq. 10)
    model.eval()
    with torch.no_grad():
        nbr_idx, nbr_dist = data.batch(np.arange(2))
        chi = model(nbr_idx, nbr_dist)
        v = model.embed(nbr_idx, nbr_dist).numpy()
        pooled = np.stack([v[:, w].mean(axis=1) for w in waters], axis=1)
        expected = model.head(torch.from_numpy(pooled))
    assert chi.shape == (2, 464, 2)
    np.testing.assert_allclose(chi.numpy(), expected.numpy(), atol=1e-6)


# -------------------------------------------------------------- memory and times


def test_memory_stays_bounded_by_the_chunk(tmp_path):
    """A 4000-frame import (67 MB of coordinates) allocates well under that at once."""
    import tracemalloc

    src = mdtraj.load(str(ACE[0]), top=str(ACE[1]))
    big = tmp_path / "big.xtc"
    n = 4000
    with mdtraj.formats.XTCTrajectoryFile(str(big), "w") as f:
        for start in range(0, n, 500):  # the 10 real frames, repeated
            pick = np.arange(start, start + 500) % 10
            f.write(src.xyz[pick], time=np.arange(start, start + 500, dtype=np.float32),
                    box=src.unitcell_vectors[pick])
    coords_bytes = n * src.n_atoms * 3 * 4
    tracemalloc.start()
    try:
        summary = importer.import_trajectory(big, ACE[1], "water", molecular=True, chunk=50,
                                             out=tmp_path / "big.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary["n_frames"] == n
    assert peak < 0.15 * coords_bytes, f"peak {peak / 1e6:.1f} MB for {coords_bytes / 1e6:.1f} MB of coordinates"
    with np.load(tmp_path / "big.npz") as z:
        coords = z["traj_coords"]
        for f in (0, 1234, n - 1):
            np.testing.assert_allclose(coords[f], src.xyz[f % 10] * 10, atol=0.011)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_frame_interval_from_file_config_and_warnings(tmp_path):
    s, _ = run_import(tmp_path, "coordinates/test.xtc", "coordinates/test.gro", "all", stride=2)
    assert (s["frame_interval_ps"], s["frame_interval_source"], s["file_times_uniform"]) == (2.0, "file", True)

    # a configured value that agrees with the file's times (1 ps x stride 2)
    s, _ = run_import(tmp_path, "coordinates/test.xtc", "coordinates/test.gro", "all", stride=2,
                      frame_interval_ps=2.0)
    assert (s["frame_interval_ps"], s["frame_interval_source"], s["warnings"]) == (2.0, "config", [])

    # one that contradicts them, kept only when trusted explicitly
    with pytest.warns(importer.TrajectoryImportWarning, match="is 0.5 ps but the file's frames"):
        s, _ = run_import(tmp_path, "coordinates/test.xtc", "coordinates/test.gro", "all",
                          frame_interval_ps=0.5, trust_frame_interval=True)
    assert (s["frame_interval_ps"], s["frame_interval_source"], s["file_frame_interval_ps"]) == (0.5, "config", 1.0)

    # dcd: mdtraj numbers the frames, it reads no times
    with pytest.warns(importer.TrajectoryImportWarning, match="gives no usable frame times"):
        s, _ = run_import(tmp_path, "coordinates/test.dcd", "coordinates/test_topology.pdb", "all")
    assert s["frame_interval_ps"] is None and s["frame_interval_source"] is None

    # the real frames written again with a gap in time
    src = mdtraj.load(str(DATA / "coordinates/test.xtc"), top=str(DATA / "coordinates/test.gro"))
    gap = tmp_path / "gap.xtc"
    with mdtraj.formats.XTCTrajectoryFile(str(gap), "w") as f:
        f.write(src.xyz, time=np.array([0, 1, 2, 5, 6], dtype=np.float32), box=src.unitcell_vectors)
    with pytest.warns(importer.TrajectoryImportWarning, match="not uniform.*from 1 to 3 ps"):
        s = importer.import_trajectory(gap, DATA / "coordinates/test.gro", "all", out=tmp_path / "gap.npz")
    assert s["file_times_uniform"] is False and s["frame_interval_ps"] is None


def test_leftovers_of_a_killed_import_are_removed_by_the_next(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # its pid now belongs to no running process
    stale = [tmp_path / f".imported.scratch-{child.pid}", tmp_path / f".imported.tmp-{child.pid}.npz"]
    stale[0].mkdir()
    (stale[0] / "coords.raw").write_bytes(b"\0" * 1000)
    stale[1].write_bytes(b"\0" * 1000)
    run_import(tmp_path, "coordinates/test.xtc", "coordinates/test.gro", "all")
    assert [p.name for p in tmp_path.iterdir()] == ["imported.npz"]


# ------------------------------------------------------------------- error paths


def assert_fails(tmp_path, words, traj, top, selection="all", **kw):
    out = tmp_path / "out" / "imported.npz"
    with pytest.raises(TrajectoryError) as err:
        importer.import_trajectory(DATA / traj if traj else None, DATA / top if top else None,
                                   selection, out=out, **kw)
    message = str(err.value)
    for w in words:
        assert w in message, message
    # nothing half-written: neither the output nor temporary files
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
    return message


def test_empty_selection(tmp_path):
    assert_fails(tmp_path, ["ace_tip3p.parm7", "'element Li' selects no atoms", "['C', 'H', 'O']",
                            "fix the selection"], *ACE, selection="element Li")


def test_frame_interval_contradicted_by_the_file_is_an_error(tmp_path):
    # the generating script of test.xtc stores times 0, 1, 2, 3, 4 ps; config says 0.1 ps
    message = assert_fails(tmp_path, [], "coordinates/test.xtc", "coordinates/test.gro",
                           frame_interval_ps=0.1)
    assert message == (
        f"{DATA / 'coordinates/test.xtc'}: frame_interval_ps is 0.1 ps, but the file's own time "
        "stamps put its frames (stride 1) 1 ps apart, so every timescale would be 0.1 times off. "
        "Either correct frame_interval_ps to 1, or, if the file's time stamps are wrong, trust "
        "the configured value explicitly (trust_frame_interval=True)")
    with pytest.raises(importer.FrameIntervalMismatch) as err:  # with stride: 3 ps apart
        importer.import_trajectory(DATA / "coordinates/test.trr", DATA / "coordinates/test.gro", "all",
                                   out=tmp_path / "x.npz", stride=3, frame_interval_ps=1.0)
    assert (err.value.configured_ps, err.value.file_ps, err.value.stride) == (1.0, 3.0, 3)
    assert isinstance(err.value, ValueError) and not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("selection, reason", [
    ("elemnt Li", "Expected end of text, found 'Li' (at char 7)"),
    ("element Li and", "expected a keyword or value, found end of text (at char 14)"),  # was a grammar dump
    ("resname HOH and (name O",
     "Unbalanced parentheses or expression syntax error, found end of text (at char 23)"),
])
def test_invalid_selection_syntax_gets_a_short_message(tmp_path, selection, reason):
    words = [f"'{selection}' is not a valid mdtraj selection ({reason}", "'element Li'", "'water'"]
    message = assert_fails(tmp_path, words, *ACE, selection=selection)
    assert message.startswith(f"{ACE[1]}: ")
    assert len(message) - len(str(ACE[1])) < 300, message  # no grammar, whatever the path's length
    assert "\n" not in message and "{" not in message


def test_file_without_box(tmp_path):
    pdb = "water_methane_acetic-acid_ammonia.pdb"  # a real PDB without CRYST1
    assert_fails(tmp_path, [pdb, "'lattices'", "no periodic box", "write the trajectory with its box"], pdb, pdb)


def test_file_whose_box_mdtraj_cannot_read(tmp_path):
    # CHARMM DCD that stores angle cosines: mdtraj reads a NaN cell
    assert_fails(tmp_path, ["tip125_tric_C36.dcd", "no valid box in frame 0", "convert the file"],
                 "tip125_tric_C36.dcd", "tip125_tric_C36.psf")


@pytest.mark.parametrize("traj", ["coordinates/test.xtc", "coordinates/test.gro"])
def test_topology_and_trajectory_atom_counts_differ(tmp_path, traj):
    # the .gro carries its own 5-atom topology, the .xtc is read with the psf's 15
    assert_fails(tmp_path, [traj.split("/")[-1], "holds 5 atoms per frame", "watdyn.psf has 15",
                            "give the topology that was written with this trajectory"], traj, "watdyn.psf")


def test_molecular_targets_of_different_sizes(tmp_path):
    assert_fails(tmp_path, ["molecular targets need the same number", "464 residue(s) with 3 atoms (HOH)",
                            "1 residue(s) with 6 atoms (ACE)", "narrow the selection"],
                 *ACE, selection="all", molecular=True)


def test_atoms_without_element_and_the_atoms_option(tmp_path):
    # TIP4P: the massless site MW has no element
    water_o = "resname HOH and element O"
    assert_fails(tmp_path, ["cobrotoxin.pdb", "4612 atom(s) have no known element", "MW in HOH",
                            "'not element VS'"], "cobrotoxin.xtc", "cobrotoxin.pdb", water_o)
    summary, z = run_import(tmp_path, "cobrotoxin.xtc", "cobrotoxin.pdb", water_o, atoms="not element VS")
    top = mdtraj.load_topology(str(DATA / "cobrotoxin.pdb"))
    keep = top.select("not element VS")
    ref = mdtraj.load(str(DATA / "cobrotoxin.xtc"), top=top, atom_indices=keep)
    assert z["traj_coords"].shape == (3, 19385 - 4612, 3)
    np.testing.assert_allclose(z["traj_coords"], ref.xyz * 10, rtol=1e-6, atol=1e-5)
    # target indices refer to the kept atoms
    atoms = list(ref.topology.atoms)
    assert {(atoms[i].residue.name, atoms[i].element.symbol) for i in z["target_index"]} == {("HOH", "O")}
    assert len(z["target_index"]) == len(top.select(water_o)) == summary["n_targets"] == 4612


def test_unreadable_truncated_and_missing_files(tmp_path):
    # a real .xyz whose layout mdtraj's reader rejects
    assert_fails(tmp_path, ["test.xyz", "mdtraj cannot read this trajectory"],
                 "coordinates/test.xyz", "coordinates/test_topology.pdb")
    assert_fails(tmp_path, ["test.dcd", "mdtraj cannot read this topology"],
                 "coordinates/test.xtc", "coordinates/test.dcd")
    assert_fails(tmp_path, ["no-such.xtc", "trajectory file not found"], "no-such.xtc", "coordinates/test.gro")
    assert_fails(tmp_path, ["no-such.pdb", "topology file not found"], "coordinates/test.xtc", "no-such.pdb")
    assert_fails(tmp_path, ["a '.xtc' trajectory holds no topology"], "coordinates/test.xtc", None)
    # the first 2000 of 4000 frames of a real-frame xtc, then the file breaks off
    src = mdtraj.load(str(ACE[0]), top=str(ACE[1]))
    whole = tmp_path / "whole.xtc"
    with mdtraj.formats.XTCTrajectoryFile(str(whole), "w") as f:
        f.write(np.tile(src.xyz, (400, 1, 1)), box=np.tile(src.unitcell_vectors, (400, 1, 1)))
    cut = tmp_path / "cut.xtc"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2 + 17])
    assert_fails(tmp_path, ["cut.xtc", "mdtraj failed after", "truncated or corrupt"], cut, ACE[1], chunk=500)


def test_bad_options(tmp_path):
    for kw, words in [({"stride": 0}, "stride must be a positive integer"),
                      ({"chunk": 1.5}, "chunk must be a positive integer"),
                      ({"frame_interval_ps": -1.0}, "frame_interval_ps must be a positive number")]:
        with pytest.raises(ValueError, match=words):
            importer.import_trajectory(*ACE, "water", out=tmp_path / "x.npz", **kw)
