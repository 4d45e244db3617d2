"""Memory is bounded by a budget, never by the trajectory length (issue: paper scale).

- The memory model of gdynet.learn.memory bounds the peak resident memory of real training
  steps and inference chunks, within a factor 2 (so batches sized by it fit, and are not
  needlessly small).
- Prediction over 1,000 test frames of a 2,000-atom system needs the same peak memory as over
  250 (within 15 %): it streams chunks from the graph store, read with plain reads.
Each measurement runs in a child process of its own and reads its peak resident memory there
(VmHWM: unlike ru_maxrss, which a forked child inherits from a large pytest parent, it
starts afresh at exec).
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gdynet.data import store

pytestmark = pytest.mark.slow

PEAK = textwrap.dedent("""
    def peak_bytes():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) * 1024
""")

STEP = PEAK + textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    from gdynet.learn import memory
    from gdynet.learn.model import GDyNet
    from gdynet.learn.vamp import vamp2_score
    torch.set_num_threads(1)
    mode, n_atoms, m, fea, frames = sys.argv[1], *map(int, sys.argv[2:])
    rng = np.random.default_rng(0)
    idx = torch.from_numpy(rng.integers(0, n_atoms, size=(frames, n_atoms, m)).astype(np.int32))
    dist = torch.from_numpy(rng.uniform(1, 6, size=(frames, n_atoms, m)).astype(np.float32))
    net = GDyNet([3] * 20 + [16] * (n_atoms - 20), np.arange(20), n_states=4, atom_fea_len=fea, n_conv=3)
    with torch.no_grad():
        net.eval(); net(idx[:1], dist[:1]); net.train()  # allocator and kernels initialised
    base = peak_bytes()
    if mode == "train":
        out = net(idx, dist)
        (-vamp2_score(out[:frames // 2].reshape(-1, 4), out[frames // 2:].reshape(-1, 4))).backward()
    else:
        with torch.no_grad():
            net.eval(); net(idx, dist)
    peak = peak_bytes()
    print(json.dumps({"measured": peak - base,
                      "estimate": memory.bytes_per_frame(net, m, train=mode == "train") * frames}))
""")


def child(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode, n_atoms, fea, frames", [
    ("train", 2000, 16, 4), ("train", 2000, 64, 4), ("infer", 2000, 16, 26), ("infer", 1000, 64, 40)])
def test_memory_model_bounds_the_measured_peak(mode, n_atoms, fea, frames):
    got = child(STEP, mode, n_atoms, 20, fea, frames)
    assert got["measured"] <= got["estimate"] <= 2 * got["measured"], got


PREDICT = PEAK + textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    from gdynet.data import store
    from gdynet.learn import training
    from gdynet.learn.model import GDyNet
    torch.set_num_threads(1)
    graphs_dir, n = sys.argv[1], int(sys.argv[2])
    data = training.GraphFrames(store.open_graphs(graphs_dir))
    torch.manual_seed(0)
    net = GDyNet([3] * 40 + [16] * (data.n_atoms - 40), np.arange(40), n_states=4, atom_fea_len=16, n_conv=3)
    chi = training.predict_frames(net, data, np.arange(n), budget_bytes=2**30)
    print(json.dumps({"peak": peak_bytes(), "shape": chi.shape}))
""")


@pytest.fixture(scope="module")
def liquid_graphs(tmp_path_factory):
    """A 2,000-atom periodic random liquid, 1,000 frames, through the real frame and graph stores."""
    tmp = tmp_path_factory.mktemp("liquid")
    rng = np.random.default_rng(1)
    n_frames, n_atoms, box = 1000, 2000, 34.0  # 0.051 atoms per Å^3
    x0 = rng.uniform(0, box, (n_atoms, 3))
    coords = (x0 + np.cumsum(rng.normal(0, 0.05, (n_frames, n_atoms, 3)), axis=0)).astype(np.float32)
    np.savez(tmp / "liquid.npz", traj_coords=coords, lattices=np.broadcast_to(box * np.eye(3), (n_frames, 3, 3)),
             atom_types=np.array([3] * 40 + [16] * (n_atoms - 40)), target_index=np.arange(40))
    del coords
    store.write_frames([tmp / "liquid.npz"], ["liquid"], tmp / "frames", frame_interval_ps=1.0)
    store.write_graphs(store.open_frames(tmp / "frames"), tmp / "graphs", 20, threads=2)
    return tmp / "graphs"


def test_predict_memory_is_flat_in_the_number_of_test_frames(liquid_graphs):
    short = child(PREDICT, liquid_graphs, 250)
    long = child(PREDICT, liquid_graphs, 1000)
    assert long["shape"] == [1000, 40, 4]
    assert abs(long["peak"] - short["peak"]) <= 0.15 * short["peak"], (short, long)
