"""Large inputs in bounded memory: a trajectory far larger than a memory cap goes
through the frame store and the graph store.

The synthetic trajectory (360 MB of float64 in an .npz, written chunk by chunk) is
imported and featurized in a child process, whose peak resident memory (ru_maxrss) is
compared with that of a child that only imports the same modules (VmHWM: ru_maxrss
would inherit the parent's peak across fork). The store uses
plain reads and writes rather than memory maps for these sweeps, so ru_maxrss counts
every byte the step held. A control child that loads the whole file shows that the
measurement sees a whole-trajectory load.
"""

import json
import shutil
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from gdynet.data import store

N_ATOMS = 2
N_FRAMES = 3_000_000  # float64: 48 B of coordinates + 72 B of cell per frame = 360 MB
WRITE_CHUNK = 250_000
CELL_A = 5.0
MiB = 2**20
CHUNK_BYTES = 8 * MiB  # chunk size given to the store
CAP_BYTES = 64 * MiB  # allowed peak above the import baseline: < 1/5 of the file

CHILD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from gdynet.data import store, trajectory
    from gdynet.graphs import neighbors
    mode, npz, out = sys.argv[1], sys.argv[2], sys.argv[3]
    chunk = int(sys.argv[4])
    if mode == "work":
        store.write_frames([npz], ["big"], out + "/frames", 0.1, max_chunk_bytes=chunk)
        frames = store.open_frames(out + "/frames")
        store.write_graphs(frames, out + "/graphs", 1, max_chunk_bytes=chunk, radius_A=7.0)
    elif mode == "load":
        trajectory.load(npz)
    try:  # peak RSS of this process image; ru_maxrss can carry the parent's from fork
        peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status")
                    if line.startswith("VmHWM:"))
    except OSError:  # not Linux: ru_maxrss, in bytes on macOS
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"maxrss": peak}))
""")


def coords_chunk(i, n):
    return np.random.default_rng(i).uniform(0, CELL_A, (n, N_ATOMS, 3))


def write_big_npz(path):
    """An uncompressed .npz in the trajectory contract, written without holding it."""
    header = lambda shape: {"descr": "<f8", "fortran_order": False, "shape": shape}  # noqa: E731
    starts = range(0, N_FRAMES, WRITE_CHUNK)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("traj_coords.npy", "w", force_zip64=True) as f:
            npy_format.write_array_header_1_0(f, header((N_FRAMES, N_ATOMS, 3)))
            for i, start in enumerate(starts):
                f.write(coords_chunk(i, min(WRITE_CHUNK, N_FRAMES - start)).tobytes())
        with zf.open("lattices.npy", "w", force_zip64=True) as f:
            npy_format.write_array_header_1_0(f, header((N_FRAMES, 3, 3)))
            cells = np.broadcast_to(CELL_A * np.eye(3), (WRITE_CHUNK, 3, 3)).tobytes()
            for start in starts:
                f.write(cells[: min(WRITE_CHUNK, N_FRAMES - start) * 72])
        for key, value in (("atom_types", np.array([3, 16])), ("target_index", np.array([0]))):
            with zf.open(f"{key}.npy", "w") as f:
                npy_format.write_array(f, value)


def nearest_by_brute_force(xyz):
    """Nearest neighbour (index, distance) of each atom in the cubic cell, images included."""
    shifts = CELL_A * np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    out_idx, out_dist = [], []
    for i in range(len(xyz)):
        d = np.linalg.norm(xyz[None, :, None] + shifts[None, None] - xyz[i], axis=-1)[0]  # (N, 27)
        d[i, np.all(shifts == 0, axis=1)] = np.inf  # not the atom itself
        j, _ = np.unravel_index(np.argmin(d), d.shape)
        out_idx.append(j)
        out_dist.append(d.min())
    return np.array(out_idx), np.array(out_dist)


def peak_rss(mode, npz, out):
    result = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(npz), str(out), str(CHUNK_BYTES)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["maxrss"]


def test_large_trajectory_is_stored_and_featurized_in_bounded_memory(tmp_path):
    work = tmp_path / "large"
    work.mkdir()
    try:
        npz = work / "big.npz"
        write_big_npz(npz)
        size = npz.stat().st_size
        assert size > 5 * CAP_BYTES

        baseline = peak_rss("baseline", npz, work)
        used = peak_rss("work", npz, work) - baseline
        whole = peak_rss("load", npz, work) - baseline
        print(f"file {size / MiB:.0f} MiB; peak above baseline: store + graphs "
              f"{used / MiB:.0f} MiB, whole-file load {whole / MiB:.0f} MiB")
        assert whole > 0.9 * size  # the measurement sees a whole-file load ...
        assert used < CAP_BYTES  # ... and the streaming steps stay far below it

        # the stores hold the right numbers: frames at a chunk seam and at the end
        frames = store.open_frames(work / "frames")
        assert frames.coords.shape == (N_FRAMES, N_ATOMS, 3)
        for i in (1, N_FRAMES // WRITE_CHUNK - 1):
            want = coords_chunk(i, WRITE_CHUNK).astype(np.float32)
            np.testing.assert_array_equal(frames.coords[i * WRITE_CHUNK:(i + 1) * WRITE_CHUNK], want)
        assert (frames.lattices[-5:] == np.float32(CELL_A) * np.eye(3)).all()
        graphs = store.open_graphs(work / "graphs")
        assert (graphs.n_frames, graphs.n_atoms, graphs.n_neighbors) == (N_FRAMES, N_ATOMS, 1)
        for f in (0, 1_234_567, N_FRAMES - 1):  # brute force over the 27 nearest cells
            want_idx, want_dist = nearest_by_brute_force(np.asarray(frames.coords[f], np.float64))
            idx, dist = graphs.read(np.array([f]))
            np.testing.assert_array_equal(idx[0, :, 0], want_idx)
            # the store keeps distances to half its step (rtol 1e-6 of float32 before)
            np.testing.assert_allclose(dist[0, :, 0], want_dist, rtol=1e-6, atol=store.DISTANCE_SCALE_A / 2)
    finally:
        shutil.rmtree(work)  # ~0.6 GB: do not leave it to pytest's kept tmp dirs
