"""Trajectory validation, the frame and graph stores, and time splits."""

import numpy as np
import pytest
from synthetic import write_traj

from gdynet.data import splits, store, trajectory


def test_valid_trajectory_round_trips(tmp_path):
    traj = trajectory.load(write_traj(tmp_path / "ok.npz"))
    assert traj.n_frames == 20 and traj.n_atoms == 5


@pytest.mark.parametrize("overrides, key, words", [
    ({"lattices": None}, "lattices", "missing key"),
    ({"traj_coords": np.zeros((20, 5))}, "traj_coords", "shape (20, 5)"),
    ({"lattices": np.broadcast_to(np.eye(3), (19, 3, 3))}, "lattices", "one cell per frame"),
    ({"traj_coords": np.where(np.arange(20)[:, None, None] == 7, np.nan, 1.0) * np.ones((20, 5, 3))},
     "traj_coords", "first in frame 7"),
    ({"lattices": np.broadcast_to(np.diag([6.5, 6.5, 0.0]), (20, 3, 3))}, "lattices", "singular"),
    ({"atom_types": np.array([3, 16, 16])}, "atom_types", "expected (5,)"),
    ({"target_index": np.array([5])}, "target_index", "outside 0..4"),
    ({"target_index": np.array([0, 0])}, "target_index", "more than once"),
])
def test_bad_trajectory_names_file_key_and_problem(tmp_path, overrides, key, words):
    path = write_traj(tmp_path / "bad.npz", **overrides)
    with pytest.raises(trajectory.TrajectoryError) as err:
        trajectory.load(path)
    message = str(err.value)
    assert str(path) in message and key in message and words in message


def test_unreadable_file_is_reported(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(trajectory.TrajectoryError, match="not a readable"):
        trajectory.load(path)


def test_frame_store_concatenates_segments(tmp_path):
    paths = [write_traj(tmp_path / f"t{i}.npz", n_frames=10 + i) for i in range(3)]
    store.write_frames(paths, ["a", "b", "c"], tmp_path / "frames", frame_interval_ps=0.1)
    frames = store.open_frames(tmp_path / "frames")
    assert frames.coords.shape == (33, 5, 3)
    assert isinstance(frames.coords, np.memmap)
    assert [(s.name, s.start, s.stop) for s in frames.segments] == [
        ("a", 0, 10), ("b", 10, 21), ("c", 21, 33)]
    np.testing.assert_allclose(frames.coords[10:21], np.load(paths[1])["traj_coords"], rtol=1e-6)


def test_failed_frame_store_leaves_no_output(tmp_path):
    good = write_traj(tmp_path / "good.npz")
    bad = write_traj(tmp_path / "bad.npz", atom_types=np.array([3, 16, 16, 16, 8]))
    out = tmp_path / "frames"
    with pytest.raises(trajectory.TrajectoryError, match="atom_types' differ"):
        store.write_frames([good, bad], ["good", "bad"], out, frame_interval_ps=0.1)
    assert not out.exists() or not any(out.iterdir())


def test_graph_store_matches_direct_neighbour_search(tmp_path):
    path = write_traj(tmp_path / "t.npz", n_frames=7)
    store.write_frames([path], ["t"], tmp_path / "frames", frame_interval_ps=0.1)
    frames = store.open_frames(tmp_path / "frames")
    store.write_graphs(frames, tmp_path / "graphs", n_neighbors=12, max_chunk_bytes=1)  # 1-frame chunks
    idx, dist = store.open_graphs(tmp_path / "graphs")
    from gdynet.graphs import neighbors
    want_idx, want_dist = neighbors.periodic_knn(
        np.asarray(frames.coords, dtype=np.float64), np.asarray(frames.lattices, dtype=np.float64), 12)
    np.testing.assert_allclose(dist, want_dist, atol=1e-5)
    assert idx.shape == (7, 5, 12) and idx.dtype == np.int32


def test_time_fractions_cut_each_segment_in_order():
    segs = [store.Segment("a", 0, 100), store.Segment("b", 100, 300)]
    r = splits.time_fractions(segs, train=0.4, val=0.1, test=0.5)
    assert r == {"train": [[0, 40], [100, 180]], "val": [[40, 50], [180, 200]],
                 "test": [[50, 100], [200, 300]]}


def test_empty_split_and_long_lag_are_refused():
    with pytest.raises(ValueError, match="leaves the 'val' split empty"):
        splits.time_fractions([store.Segment("short", 0, 3)], train=0.6, val=0.1, test=0.3)
    with pytest.raises(ValueError, match="not shorter than the longest 'test' range"):
        splits.check_lag([[0, 50], [50, 80]], 50, "test", 1.0)


def test_lag_must_be_whole_number_of_frames():
    assert splits.to_frames(10, 0.1) == 100
    with pytest.raises(ValueError, match="whole multiple"):
        splits.to_frames(0.25, 0.1)


def test_pieces_inverts_concatenation():
    ranges = [[0, 3], [10, 12]]
    values = np.arange(5)
    assert [p.tolist() for p in splits.pieces(values, ranges)] == [[0, 1, 2], [3, 4]]
    with pytest.raises(ValueError, match="do not match"):
        splits.pieces(np.arange(6), ranges)


@pytest.mark.parametrize("compressed", [False, True])
def test_streamed_frames_equal_the_whole_file(tmp_path, compressed):
    rng = np.random.default_rng(3)
    coords = rng.uniform(-3, 9, (37, 6, 3))
    lattices = np.array([np.diag([6.5, 6.6, 6.7]) + rng.normal(0, 0.1, (3, 3)) for _ in range(37)])
    target = np.array([[0, 1, 2], [3, 4, 5]])  # two molecular targets of 3 atoms
    path = tmp_path / "t.npz"
    (np.savez_compressed if compressed else np.savez)(
        path, traj_coords=coords, lattices=lattices, atom_types=np.array([8, 1, 1, 8, 1, 1]),
        target_index=target)
    starts = [start for start, _, _ in trajectory.iter_frames(path, max_chunk_bytes=1000)]
    assert starts == list(range(0, 37, 1000 // (6 * 3 * 8 + 72)))  # 4 frames per chunk
    store.write_frames([path], ["t"], tmp_path / "frames", frame_interval_ps=0.5, max_chunk_bytes=1000)
    frames = store.open_frames(tmp_path / "frames")
    with np.load(path) as whole:  # numpy's own reader is the reference
        np.testing.assert_array_equal(frames.coords, whole["traj_coords"].astype(np.float32))
        np.testing.assert_array_equal(frames.lattices, whole["lattices"].astype(np.float32))
    assert frames.target_index.tolist() == target.tolist() and frames.frame_interval_ps == 0.5
    assert frames.coords.dtype == np.float32 and frames.directory == tmp_path / "frames"


def test_graphs_of_in_memory_frames_equal_those_of_the_store(tmp_path):
    path = write_traj(tmp_path / "t.npz", n_frames=9)
    store.write_frames([path], ["t"], tmp_path / "frames", frame_interval_ps=0.1)
    on_disk = store.open_frames(tmp_path / "frames")
    in_memory = store.Frames(np.array(on_disk.coords), np.array(on_disk.lattices), on_disk.atom_types,
                             on_disk.target_index, on_disk.segments, on_disk.frame_interval_ps)
    store.write_graphs(on_disk, tmp_path / "g1", n_neighbors=12, max_chunk_bytes=3000)
    store.write_graphs(in_memory, tmp_path / "g2", n_neighbors=12, max_chunk_bytes=3000)
    for a, b in zip(store.open_graphs(tmp_path / "g1"), store.open_graphs(tmp_path / "g2")):
        np.testing.assert_array_equal(a, b)


def test_incomplete_frame_store_is_refused(tmp_path):
    path = write_traj(tmp_path / "t.npz", n_frames=9)
    out = tmp_path / "frames"
    store.write_frames([path], ["t"], out, frame_interval_ps=0.1)
    meta = (out / "meta.json").read_text().replace('"stop": 9', '"stop": 10')
    (out / "meta.json").write_text(meta)
    with pytest.raises(ValueError, match=r"do not match meta.json \(10 frames, 5 atoms\); run the prepare_frames"):
        store.open_frames(out)
