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
    idx, dist = store.open_graphs(tmp_path / "graphs").read(np.arange(7))
    from gdynet.graphs import neighbors
    want_idx, want_dist = neighbors.periodic_knn(
        np.asarray(frames.coords, dtype=np.float64), np.asarray(frames.lattices, dtype=np.float64), 12)
    np.testing.assert_allclose(dist, want_dist, atol=store.DISTANCE_SCALE_A / 2)
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
    everything = np.arange(9)
    for a, b in zip(store.open_graphs(tmp_path / "g1").read(everything),
                    store.open_graphs(tmp_path / "g2").read(everything)):
        np.testing.assert_array_equal(a, b)


def test_incomplete_frame_store_is_refused(tmp_path):
    path = write_traj(tmp_path / "t.npz", n_frames=9)
    out = tmp_path / "frames"
    store.write_frames([path], ["t"], out, frame_interval_ps=0.1)
    meta = (out / "meta.json").read_text().replace('"stop": 9', '"stop": 10')
    (out / "meta.json").write_text(meta)
    with pytest.raises(ValueError, match=r"do not match meta.json \(10 frames, 5 atoms\); run the prepare_frames"):
        store.open_frames(out)


# ------------------------------------------------------ the compact graph store


def liquid_frame_store(tmp_path, n_side=6, spacing=2.3, n_frames=40, seed=0):
    """A frame store of a jittered cubic lattice (a dense liquid-like box), N = n_side^3."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(n_side)] * 3, indexing="ij"), -1).reshape(-1, 3) + 0.5
    coords = (grid + rng.normal(scale=0.3, size=(n_frames,) + grid.shape)) * spacing
    lattices = np.broadcast_to(n_side * spacing * np.eye(3), (n_frames, 3, 3))
    path = write_traj(tmp_path / "liquid.npz", traj_coords=coords, lattices=lattices,
                      atom_types=np.full(len(grid), 18), target_index=np.arange(3))
    store.write_frames([path], ["liquid"], tmp_path / "frames", frame_interval_ps=1.0)
    return store.open_frames(tmp_path / "frames")


def test_graph_store_round_trip_equals_the_neighbour_search(tmp_path, caplog):
    from gdynet.graphs import neighbors

    frames = liquid_frame_store(tmp_path)
    n_frames, n_atoms = frames.coords.shape[:2]
    # ~20 frames per chunk (85 kB each), rounded down to 16, a whole number of search blocks
    with caplog.at_level("INFO", logger="gdynet"):
        store.write_graphs(frames, tmp_path / "graphs", n_neighbors=20, max_chunk_bytes=20 * 85_000,
                           threads=2)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "featurized 16 / 40 frames", "featurized 32 / 40 frames", "featurized 40 / 40 frames"]
    graphs = store.open_graphs(tmp_path / "graphs")
    assert (graphs.n_frames, graphs.n_atoms, graphs.n_neighbors) == (n_frames, n_atoms, 20)
    want_idx, want_dist = neighbors.periodic_knn(
        np.asarray(frames.coords, np.float64), np.asarray(frames.lattices, np.float64), 20)
    order = np.array([33, 2, 17, 2, 0, 39, 16])  # any order, repeats allowed
    idx, dist = graphs.read(order)
    assert idx.dtype == np.int32 and dist.dtype == np.float32 and idx.shape == (7, n_atoms, 20)
    np.testing.assert_array_equal(idx, want_idx[order])
    assert np.abs(dist - want_dist[order]).max() <= store.DISTANCE_SCALE_A / 2
    assert (np.diff(dist, axis=-1) >= 0).all()
    # 2-byte indices and 2-byte distances: 4 M bytes per atom and frame on disk
    assert graphs.nbr_idx.dtype == np.uint16 and graphs.nbr_dist.dtype == np.uint16
    assert graphs.bytes_per_atom_frame == 4 * 20 == store.graph_bytes_per_atom_frame(n_atoms, 20)
    on_disk = sum((tmp_path / "graphs" / f).stat().st_size for f in ("nbr_idx.npy", "nbr_dist.npy"))
    assert on_disk - 2 * 128 == n_frames * n_atoms * 4 * 20  # .npy headers are 128 bytes
    assert store.graph_bytes_per_atom_frame(70_000, 20) == 6 * 20  # int32 indices beyond 2^16 atoms


def test_stored_distances_change_the_gaussian_features_by_under_1e3():
    from gdynet.graphs.neighbors import gaussian_expand

    scale = store.DISTANCE_SCALE_A
    # the worst rounding of every code over the whole range: just below half a step up
    d = ((np.arange(65535) + 0.4999) * scale).astype(np.float32)
    d = np.concatenate([d, np.linspace(0.0, store.MAX_DISTANCE_A, 20_001, dtype=np.float32)])
    back = store.decode_distances(store.encode_distances(d))
    assert np.abs(back - d).max() <= scale / 2 * (1 + 1e-3)
    change = np.abs(gaussian_expand(back, radius_A=16.0) - gaussian_expand(d, radius_A=16.0)).max()
    # the bound: the steepest slope of exp(-x^2 / sigma^2) is sqrt(2) / sigma e^-1/2 per Å
    bound = np.sqrt(2) / 0.2 * np.exp(-0.5) * scale / 2
    assert change <= bound * 1.01 and bound < 1e-3
    # float16 (the first idea) is not good enough at these distances
    d7 = np.linspace(6.0, 8.0, 2001, dtype=np.float32)
    half = d7.astype(np.float16).astype(np.float32)
    assert np.abs(gaussian_expand(half, radius_A=16.0) - gaussian_expand(d7, radius_A=16.0)).max() > 5e-3


def test_incomplete_or_old_graph_store_is_refused(tmp_path, monkeypatch):
    frames = liquid_frame_store(tmp_path, n_frames=4)
    out = tmp_path / "graphs"
    store.write_graphs(frames, out, n_neighbors=6)
    (out / "meta.json").unlink()
    with pytest.raises(FileNotFoundError, match="meta.json is missing: the graph store .* is incomplete"):
        store.open_graphs(out)
    # a search that fails half way leaves no store behind, not even the old one's meta.json
    store.write_graphs(frames, out, n_neighbors=6)
    from gdynet.graphs import neighbors
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return neighbors.periodic_knn(*args, **kwargs)

    monkeypatch.setattr(store.neighbors, "periodic_knn", failing)
    with pytest.raises(RuntimeError, match="killed"):
        store.write_graphs(frames, out, n_neighbors=6, max_chunk_bytes=1)
    assert not (out / "meta.json").exists()
    with pytest.raises(FileNotFoundError):
        store.open_graphs(out)


def test_graph_store_with_more_than_65536_atoms_keeps_int32_indices(tmp_path):
    from gdynet.graphs import neighbors

    frames = liquid_frame_store(tmp_path, n_side=41, n_frames=1)  # 68 921 atoms
    store.write_graphs(frames, tmp_path / "graphs", n_neighbors=2)
    graphs = store.open_graphs(tmp_path / "graphs")
    assert graphs.nbr_idx.dtype == np.int32 and graphs.bytes_per_atom_frame == 2 * 6
    idx, dist = graphs.read(np.array([0]))
    want_idx, want_dist = neighbors.periodic_knn(np.asarray(frames.coords, np.float64),
                                                 np.asarray(frames.lattices, np.float64), 2)
    np.testing.assert_array_equal(idx, want_idx)
    assert np.abs(dist - want_dist).max() <= store.DISTANCE_SCALE_A / 2
    assert idx.max() > 65535


def test_distances_beyond_the_store_range_are_refused(tmp_path):
    a = 17.0  # one atom in a 17 Å simple cubic cell: 6 images at 17 Å > 16 Å
    path = write_traj(tmp_path / "sc.npz", traj_coords=np.zeros((2, 1, 3)),
                      lattices=np.broadcast_to(a * np.eye(3), (2, 3, 3)),
                      atom_types=np.array([2]), target_index=np.array([0]))
    store.write_frames([path], ["sc"], tmp_path / "frames", frame_interval_ps=1.0)
    with pytest.raises(ValueError, match=r"6-th neighbour of atom 0 in frame 0 lies 17.00 Å away, "
                                         r"beyond the 16.0 Å .* use fewer neighbours"):
        store.write_graphs(store.open_frames(tmp_path / "frames"), tmp_path / "graphs", n_neighbors=6)
    with pytest.raises(ValueError, match="must lie in"):
        store.encode_distances([1.0, -0.5])


@pytest.mark.parametrize("frames, words", [
    (np.zeros((2, 2), dtype=int), "1-D integer array"),
    (np.array([0.0, 1.0]), "1-D integer array"),
    (np.array([0, 4]), r"must lie in \[0, 4\)"),
    (np.array([-1]), r"must lie in \[0, 4\)"),
])
def test_bad_frame_numbers_are_refused(tmp_path, frames, words):
    store.write_graphs(liquid_frame_store(tmp_path, n_frames=4), tmp_path / "graphs", n_neighbors=6)
    with pytest.raises(ValueError, match=words):
        store.open_graphs(tmp_path / "graphs").read(frames)


def test_frame_store_carries_the_targets_it_is_given(tmp_path):
    # two files whose own targets differ: an analysis chose the targets instead
    a = write_traj(tmp_path / "a.npz", target_index=np.array([0]))
    b = write_traj(tmp_path / "b.npz", target_index=np.array([1]))
    with pytest.raises(trajectory.TrajectoryError, match="target_index' differs"):
        store.write_frames([a, b], ["a", "b"], tmp_path / "plain", frame_interval_ps=0.1)
    store.write_frames([a, b], ["a", "b"], tmp_path / "frames", frame_interval_ps=0.1,
                       target_index=np.array([2, 4]))
    assert store.open_frames(tmp_path / "frames").target_index.tolist() == [2, 4]
    with pytest.raises(trajectory.TrajectoryError, match=r"with the given targets.*outside 0\.\.4"):
        store.write_frames([a], ["a"], tmp_path / "bad", frame_interval_ps=0.1,
                           target_index=np.array([5]))
