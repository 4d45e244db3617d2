"""Every input check feeds the bad input and asserts the message: file, key and fix.

Trajectory files are checked by both readers: `trajectory.load` (whole file) and the
streaming path (`trajectory.check_file`, which the frame store uses).
"""

import zipfile

import numpy as np
import pytest
from synthetic import write_traj

from gdynet.data import splits, store, trajectory


def with_frame(value, frame, key_shape):
    """An array of ones (or 6.5 I cells) with `value` in one frame."""
    base = (np.broadcast_to(6.5 * np.eye(3), key_shape).copy() if key_shape[1:] == (3, 3)
            else np.ones(key_shape))
    base[frame] = value
    return base


def read_load(path):
    trajectory.load(path)


def read_stream(path):
    trajectory.check_file(path, max_chunk_bytes=200)  # a few frames per chunk


READERS = [pytest.param(read_load, id="load"), pytest.param(read_stream, id="stream")]

BAD_FILES = [
    ({"target_index": None}, "target_index", "missing key"),
    ({"lattices": None}, "lattices", "missing key"),
    ({"traj_coords": np.zeros((20, 5))}, "traj_coords", "shape (20, 5)"),
    ({"traj_coords": np.zeros((20, 0, 3))}, "traj_coords", "at least one frame and one atom"),
    ({"traj_coords": np.ones((20, 5, 3), dtype=np.int64)}, "traj_coords", "dtype int64"),
    ({"lattices": np.broadcast_to(6 * np.eye(3, dtype=np.int32), (20, 3, 3))}, "lattices", "dtype int32"),
    ({"lattices": np.broadcast_to(np.eye(3), (19, 3, 3))}, "lattices", "one cell per frame"),
    ({"traj_coords": with_frame(np.nan, 7, (20, 5, 3))}, "traj_coords", "first in frame 7"),
    ({"traj_coords": with_frame(np.inf, 13, (20, 5, 3))}, "traj_coords", "first in frame 13"),
    ({"lattices": with_frame(np.inf, 11, (20, 3, 3))}, "lattices", "first in frame 11"),
    ({"lattices": np.broadcast_to(np.diag([6.5, 6.5, 0.0]), (20, 3, 3))},
     "lattices", "singular cell in frame 0"),
    ({"lattices": with_frame([[6.5, 0, 0], [0, 6.5, 0], [6.5, 6.5, 0]], 9, (20, 3, 3))},
     "lattices", "singular cell in frame 9"),
    ({"lattices": with_frame(np.diag([6.5, 6.5, -6.5]), 4, (20, 3, 3))},
     "lattices", "left-handed cell in frame 4"),
    ({"atom_types": np.array([3, 16, 16])}, "atom_types", "expected (5,)"),
    ({"atom_types": np.array([3.0, 16, 16, 16, 16])}, "atom_types", "dtype float64"),
    ({"atom_types": np.array([3, 16, 0, 16, 16])}, "atom_types", "outside 1..118 (atom 2: 0)"),
    ({"target_index": np.array([0.0])}, "target_index", "dtype float64"),
    ({"target_index": np.array([True])}, "target_index", "dtype bool"),
    ({"target_index": np.zeros((1, 1, 1), dtype=int)}, "target_index", "shape (1, 1, 1)"),
    ({"target_index": np.zeros((0,), dtype=int)}, "target_index", "selects no atom"),
    ({"target_index": np.zeros((2, 0), dtype=int)}, "target_index", "selects no atom"),
    ({"target_index": np.array([5])}, "target_index", "outside 0..4"),
    ({"target_index": np.array([[0, 1], [2, 5]])}, "target_index", "outside 0..4"),
    ({"target_index": np.array([0, 0])}, "target_index", "more than once"),
    ({"target_index": np.array([[0, 1], [1, 2]])}, "target_index", "more than once"),
]


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("overrides, key, words", BAD_FILES)
def test_bad_trajectory_names_file_key_and_problem(tmp_path, read, overrides, key, words):
    path = write_traj(tmp_path / "bad.npz", **overrides)
    with pytest.raises(trajectory.TrajectoryError) as err:
        read(path)
    message = str(err.value)
    assert str(path) in message and f"'{key}'" in message
    assert words in message


@pytest.mark.parametrize("compressed", [False, True])
def test_streaming_finds_nan_in_a_late_chunk_by_its_file_frame(tmp_path, compressed):
    path = write_traj(tmp_path / "late.npz", n_frames=50, compressed=compressed,
                      traj_coords=with_frame(np.nan, 43, (50, 5, 3)))
    info = trajectory.inspect(path)  # headers alone are fine
    assert (info.n_frames, info.n_atoms) == (50, 5)
    with pytest.raises(trajectory.TrajectoryError,
                       match=r"'traj_coords' holds NaN or inf \(first in frame 43\)"):
        trajectory.check_file(path, max_chunk_bytes=1000)  # ~5 frames per chunk


def test_fixed_cell_check_reports_a_bad_frame_inside_a_chunk(tmp_path):
    lat = with_frame(np.diag([6.5, 6.5, -6.5]), 17, (20, 3, 3))
    path = write_traj(tmp_path / "npt.npz", lattices=lat)
    with pytest.raises(trajectory.TrajectoryError, match="left-handed cell in frame 17"):
        trajectory.check_file(path, max_chunk_bytes=10 * 200)


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    path = write_traj(tmp_path / "obj.npz", atom_types=np.array([3, 16, 16, 16, None], dtype=object))
    with pytest.raises(trajectory.TrajectoryError, match=r"obj.npz: 'atom_types' holds Python objects"):
        trajectory.inspect(path)


def test_corrupt_member_fails_the_zip_checksum(tmp_path):
    coords = np.full((20, 5, 3), 1.25)
    path = write_traj(tmp_path / "corrupt.npz", traj_coords=coords)
    raw = bytearray(path.read_bytes())
    at = raw.find(np.float64(1.25).tobytes() * 4)
    assert at > 0
    raw[at + 3] ^= 0x01  # a flipped bit in a float; the value stays finite
    path.write_bytes(bytes(raw))
    with pytest.raises(trajectory.TrajectoryError, match=r"corrupt.npz: 'traj_coords' is corrupt .*checksum"):
        trajectory.check_file(path)


def test_truncated_file_is_unreadable(tmp_path):
    path = write_traj(tmp_path / "cut.npz")
    path.write_bytes(path.read_bytes()[:1000])
    for read in (trajectory.load, trajectory.inspect):
        with pytest.raises(trajectory.TrajectoryError, match=r"cut.npz: not a readable .npz"):
            read(path)


def test_member_shorter_than_its_header_is_reported(tmp_path):
    path = tmp_path / "short.npz"
    write_traj(tmp_path / "ok.npz")
    with zipfile.ZipFile(tmp_path / "ok.npz") as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data[:-120] if name == "traj_coords.npy" else data)  # 1 frame short
    with pytest.raises(trajectory.TrajectoryError, match=r"'traj_coords' ends after 19 of 20 rows"):
        trajectory.check_file(path, max_chunk_bytes=120 * 4)


def test_fortran_order_is_read_when_small_and_refused_when_large(tmp_path):
    coords = np.asfortranarray(np.random.default_rng(1).uniform(0, 6.5, (20, 5, 3)))
    path = write_traj(tmp_path / "fortran.npz", traj_coords=coords)
    streamed = np.concatenate([c for _, c, _ in trajectory.iter_frames(path)])
    np.testing.assert_array_equal(streamed, coords)
    with pytest.raises(trajectory.TrajectoryError,
                       match=r"'traj_coords' is stored in Fortran .*ascontiguousarray"):
        trajectory.check_file(path, max_chunk_bytes=500)


def test_atom_types_and_targets_must_agree_across_files(tmp_path):
    a = write_traj(tmp_path / "a.npz")
    b = write_traj(tmp_path / "b.npz", atom_types=np.array([3, 16, 16, 16, 8]))
    c = write_traj(tmp_path / "c.npz", target_index=np.array([1]))
    with pytest.raises(trajectory.TrajectoryError) as err:
        trajectory.check_consistent([trajectory.inspect(a), trajectory.inspect(b)])
    assert str(b) in str(err.value) and str(a) in str(err.value)
    assert "'atom_types' differ" in str(err.value) and "first difference at atom 4" in str(err.value)
    with pytest.raises(trajectory.TrajectoryError,
                       match=r"c.npz: 'target_index' differs from that of .*a.npz"):
        store.write_frames([a, c], ["a", "c"], tmp_path / "frames", frame_interval_ps=0.1)


def test_failure_late_in_a_stream_leaves_no_store(tmp_path):
    out = tmp_path / "frames"
    good = write_traj(tmp_path / "good.npz", n_frames=40)
    store.write_frames([good], ["good"], out, frame_interval_ps=0.1)  # an old, complete store
    bad = write_traj(tmp_path / "bad.npz", n_frames=40, traj_coords=with_frame(np.nan, 38, (40, 5, 3)))
    with pytest.raises(trajectory.TrajectoryError, match="bad.npz: 'traj_coords' holds NaN or inf"):
        store.write_frames([good, bad], ["good", "bad"], out, frame_interval_ps=0.1,
                           max_chunk_bytes=500)
    # the old store is no longer marked complete, and no temporary file is left
    assert sorted(p.name for p in out.iterdir()) == ["coords.npy", "lattices.npy"]
    with pytest.raises(FileNotFoundError, match="meta.json is missing"):
        store.open_frames(out)


def test_values_beyond_float32_are_refused(tmp_path):
    coords = with_frame(1e39, 3, (20, 5, 3))
    path = write_traj(tmp_path / "huge.npz", traj_coords=coords)
    with pytest.raises(trajectory.TrajectoryError,
                       match=r"'traj_coords' holds values too large for float32 .*frame 3"):
        store.write_frames([path], ["huge"], tmp_path / "frames", frame_interval_ps=0.1)


@pytest.mark.parametrize("names, words", [(["a"], "2 trajectory files but 1 segment names"),
                                          (["a", "a"], "segment names ['a'] repeat")])
def test_segment_names_must_match_files(tmp_path, names, words):
    paths = [write_traj(tmp_path / "a.npz"), write_traj(tmp_path / "b.npz")]
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        store.write_frames(paths, names, tmp_path / "frames", frame_interval_ps=0.1)


# ------------------------------------------------------------------- graph radius


def simple_cubic(a=3.0, n_frames=3):
    """One atom in a simple cubic cell: its neighbours are its own images, at a (6),
    a sqrt(2) (12) and a sqrt(3) (8)."""
    coords = np.zeros((n_frames, 1, 3))
    return coords, np.broadcast_to(a * np.eye(3), (n_frames, 3, 3)).copy()


def test_graph_radius_accepts_neighbours_within_it():
    coords, lat = simple_cubic()
    assert trajectory.validate_graph_radius(coords, lat, 6, 3.5) == pytest.approx(3.0, abs=1e-5)
    assert trajectory.validate_graph_radius(coords, lat, 18, 4.3) == pytest.approx(3 * 2**0.5, abs=1e-5)


def test_graph_radius_error_names_distance_radius_and_fix():
    coords, lat = simple_cubic()
    with pytest.raises(trajectory.TrajectoryError) as err:
        trajectory.validate_graph_radius(coords, lat, 7, 4.0, name="results/sc/frames")
    message = str(err.value)
    assert message.startswith("results/sc/frames: ")
    assert "fewer than 7 neighbours within the Gaussian expansion radius 4 Å" in message
    assert "lies 4.243 Å away" in message  # 3 sqrt(2), the 7th image
    assert "raise the radius to at least 4.3 Å" in message
    assert "lower the number of neighbours to 6" in message
    assert "systems." not in message and "key" not in message  # the library names no config key


def test_write_graphs_checks_the_radius_before_writing(tmp_path):
    coords, lat = simple_cubic(n_frames=4)
    path = write_traj(tmp_path / "sc.npz", traj_coords=coords, lattices=lat,
                      atom_types=np.array([14]), target_index=np.array([0]))
    store.write_frames([path], ["sc"], tmp_path / "frames", frame_interval_ps=1.0)
    frames = store.open_frames(tmp_path / "frames")
    with pytest.raises(trajectory.TrajectoryError,
                       match=r"frames: fewer than 19 neighbours .*5.196 Å"):
        store.write_graphs(frames, tmp_path / "graphs", 19, radius_A=5.0)
    assert not (tmp_path / "graphs").exists()
    store.write_graphs(frames, tmp_path / "graphs", 18, radius_A=5.0)
    _, dist = store.open_graphs(tmp_path / "graphs").read(np.arange(4))
    assert dist.shape == (4, 1, 18) and dist.max() == pytest.approx(3 * 2**0.5, abs=store.DISTANCE_SCALE_A / 2)


# --------------------------------------------------------------------------- splits


def segs(*lengths, names="abcdefgh"):
    out, start = [], 0
    for name, n in zip(names, lengths):
        out.append(store.Segment(name, start, start + n))
        start += n
    return out


def test_empty_splits_are_refused():
    with pytest.raises(ValueError, match=r"trajectory 'a' \(3 frames\) leaves the 'val' split empty with the fraction val = 0.1"):
        splits.time_fractions(segs(3), train=0.6, val=0.1, test=0.3)
    with pytest.raises(ValueError, match=r"the 'test' split is empty; give it frames"):
        splits.check_ranges({"train": [[0, 5]], "val": [[5, 6]], "test": []})
    with pytest.raises(ValueError, match=r"'val' split holds an empty or invalid range \[5, 5\)"):
        splits.check_ranges({"train": [[0, 5]], "val": [[5, 5]], "test": [[6, 9]]})
    with pytest.raises(ValueError, match=r"^test is empty"):
        splits.by_trajectory(segs(10, 10), train=["a"], test=[], val_fraction=0.2)
    with pytest.raises(ValueError, match=r"^val_ns = 0.01 ns is shorter than one frame \(20 ps\)"):
        splits.by_time(segs(100), 20.0, train_ns=1, val_ns=0.01)
    with pytest.raises(ValueError, match="the 'train' split is empty; no lag time"):
        splits.check_lag([], 3, "train", 1.0)


def test_by_time_cuts_first_and_last_durations():
    # Si-Au: 25 ns at 20 ps = frames 0..1250; first 12.5 ns train + val, last 12.5 ns test
    r = splits.by_time(segs(1251), 20.0, train_ns=10, val_ns=2.5, test_ns=12.5)
    assert r == {"train": [[0, 500]], "val": [[500, 625]], "test": [[626, 1251]]}
    r = splits.by_time(segs(100, 60), 1000.0, train_ns=20, val_ns=10)  # test: the rest
    assert r == {"train": [[0, 20], [100, 120]], "val": [[20, 30], [120, 130]],
                 "test": [[30, 100], [130, 160]]}


def test_by_time_refuses_a_segment_too_short():
    with pytest.raises(ValueError) as err:
        splits.by_time(segs(1000), 20.0, train_ns=10, val_ns=2.5, test_ns=12.5)
    message = str(err.value)
    assert "trajectory 'a' has 1000 frames (20 ns at 20 ps)" in message
    assert "fewer than the 1250 frames of train_ns + val_ns + test_ns" in message


def test_by_trajectory_assigns_whole_trajectories():
    five = segs(100, 100, 100, 100, 100)
    r = splits.by_trajectory(five, train=["a"], test=["e", "b", "c", "d"], val_fraction=0.2)
    assert r == {"train": [[0, 80]], "val": [[80, 100]],
                 "test": [[100, 200], [200, 300], [300, 400], [400, 500]]}
    r = splits.by_trajectory(five, train=["a", "c"], val=["b"], test=["d"])
    assert r == {"train": [[0, 100], [200, 300]], "val": [[100, 200]], "test": [[300, 400]]}


@pytest.mark.parametrize("kwargs, words", [
    (dict(train=["a"], test=["x"], val_fraction=0.1), "test names trajectories ['x']"),
    (dict(train=["a"], test=["a", "b"], val_fraction=0.1), "trajectory 'a' is in both train and test"),
    (dict(train=["a"], test=["b"]), "give either val (validation trajectories) or val_fraction"),
    (dict(train=["a"], test=["b"], val=["c"], val_fraction=0.1), "not both"),
    (dict(train=["a"], test=["b"], val_fraction=1.5), "val_fraction must lie in (0, 1)"),
    (dict(train="a", test=["b"], val_fraction=0.1), "train must be a list"),
])
def test_by_trajectory_errors_say_what_is_wrong(kwargs, words):
    with pytest.raises(ValueError) as err:
        splits.by_trajectory(segs(10, 10, 10), **kwargs)
    assert words in str(err.value)
    if "names trajectories" in words:
        assert "its trajectories are ['a', 'b', 'c']" in str(err.value)


def test_make_dispatches_on_mode_and_checks_keys():
    s = segs(1251)
    assert splits.make(s, 20.0, {"train": 0.4, "val": 0.1, "test": 0.5}) == splits.time_fractions(
        s, 0.4, 0.1, 0.5)
    by_time = {"mode": "time", "train_ns": 10, "val_ns": 2.5, "test_ns": 12.5}
    assert splits.make(s, 20.0, by_time)["test"] == [[626, 1251]]
    assert splits.make(segs(5, 5), 1.0, {"mode": "trajectory", "train": ["a"], "test": ["b"],
                                         "val_fraction": 0.4}) == {
        "train": [[0, 3]], "val": [[3, 5]], "test": [[5, 10]]}
    with pytest.raises(ValueError, match=r"the 'time' split lacks \['val_ns'\]; it takes"):
        splits.make(s, 20.0, {"mode": "time", "train_ns": 10})
    with pytest.raises(ValueError, match=r"has unknown keys \['test_fraction'\]"):
        splits.make(s, 20.0, {"train": 0.4, "val": 0.1, "test_fraction": 0.5})
    with pytest.raises(ValueError, match=r"mode must be one of"):
        splits.make(s, 20.0, {"mode": "random"})


def test_lag_longer_than_a_split_gives_frames_and_ps():
    ranges = {"train": [[0, 400]], "val": [[400, 500]], "test": [[500, 1000]]}
    splits.check_lag(ranges["val"], 98, "val", 20.0)  # 1960 ps fits the 2000 ps range
    with pytest.raises(ValueError) as err:
        splits.check_lag(ranges["val"], 150, "val", 20.0)
    # 3 ns = 150 frames >= the 100-frame validation range
    assert ("the lag time of 150 frames (3000 ps) is not shorter than the longest 'val' range "
            "(100 frames, 2000 ps)") in str(err.value)
    with pytest.raises(ValueError, match=r"^the CK horizon of 500 frames \(10000 ps\)"):
        splits.check_lag(ranges["test"], 500, "test", 20.0, "CK horizon")


def test_lag_not_a_whole_number_of_frames():
    with pytest.raises(ValueError, match=r"^the lag time 50 ps is not a positive whole multiple of the "
                                         r"frame interval 20 ps"):
        splits.to_frames(50, 20.0)
