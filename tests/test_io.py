"""gdynet.io: temporaries that kills leave are removed, a full disk is named as such.

Dead and live writers are real processes (a child that has exited, a child that sleeps);
a full disk is the kernel's /dev/full (every write fails with ENOSPC, no root needed)
or a patched `shutil.disk_usage`.
"""

import errno
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gdynet import io


@pytest.fixture
def dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid():
    """The pid of a running (sleeping) child, ended after the test."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def temp_name_for(target: Path, pid: int) -> str:
    """The name atomic_path gives its temporary, with `pid` in place of this process's."""
    with io.atomic_path(target) as tmp:
        tmp.touch()
        name = tmp.name
    target.unlink()
    return name.replace(f".tmp-{os.getpid()}-", f".tmp-{pid}-")


# ------------------------------------------------------------------ stale temporaries


def test_temporaries_of_dead_writers_are_removed_and_those_of_live_ones_kept(tmp_path, dead_pid, live_pid):
    target = tmp_path / "coords.npy"
    with io.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(f".coords.tmp-{os.getpid()}-")
        assert tmp.suffix == ".npy"
        np.save(tmp, np.zeros(3))
    dead = tmp_path / temp_name_for(target, dead_pid)
    live = tmp_path / temp_name_for(target, live_pid)
    legacy_dead = tmp_path / f".coords.tmp-{dead_pid}.npy"  # the names of earlier versions
    legacy_live = tmp_path / f".coords.tmp-{live_pid}.npy"
    others = [tmp_path / f".coords.tmp-{dead_pid}.npz",  # another target: coords.npz
              tmp_path / f".lattices.tmp-{dead_pid}.npy",  # another target: lattices.npy
              tmp_path / f".nbr_idx.tmp-{dead_pid}.npy"]
    for p in (dead, live, legacy_dead, legacy_live, *others):
        p.write_bytes(b"\0" * 1000)

    with io.atomic_path(target) as tmp:
        np.save(tmp, np.arange(4))
    assert not dead.exists() and not legacy_dead.exists()
    assert live.exists() and legacy_live.exists()
    assert all(p.exists() for p in others)
    np.testing.assert_array_equal(np.load(target), np.arange(4))


def test_temporaries_from_another_host_are_removed_only_when_a_day_old(tmp_path, live_pid):
    target = tmp_path / "nbr_dist.npy"
    recent = tmp_path / f".nbr_dist.tmp-{live_pid}-other-node.cluster.npy"
    old = tmp_path / f".nbr_dist.tmp-{live_pid + 1}-other-node.cluster.npy"
    for p in (recent, old):
        p.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert io.remove_stale_temps(target) == [old]
    assert recent.exists() and not old.exists()


def test_a_killed_writer_leaves_a_temporary_that_the_next_write_removes(tmp_path):
    target = tmp_path / "coords.npy"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, numpy as np\n"
        "from gdynet import io\n"
        f"with io.atomic_path({str(target)!r}) as tmp:\n"
        "    np.save(tmp, np.zeros(1_000_000, dtype=np.float32))\n"
        "    print(tmp, flush=True)\n"
        "    time.sleep(60)\n"
    )], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(io.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])})
    left = Path(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)  # no finally, no cleanup
    child.wait(timeout=10)
    child.stdout.close()
    assert left.is_file() and left.stat().st_size > 4_000_000 and not target.exists()

    io.save_npz(tmp_path / "other.npz", a=np.zeros(1))  # another target: the leftover stays
    assert left.exists()
    with io.atomic_path(target) as tmp:  # the rerun of the killed step
        np.save(tmp, np.ones(2))
    assert not left.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coords.npy", "other.npz"]


def test_scratch_folders_of_dead_writers_are_removed(tmp_path, dead_pid):
    target = tmp_path / "imported.npz"
    with io.scratch_dir(target) as folder:
        assert folder.is_dir() and folder.parent == tmp_path
        (folder / "coords.raw").write_bytes(b"\0" * 100)
        name = folder.name
    assert not folder.exists()
    stale = tmp_path / name.replace(f"-{os.getpid()}-", f"-{dead_pid}-")
    stale.mkdir()
    (stale / "coords.raw").write_bytes(b"\0" * 100)
    with io.scratch_dir(target):
        assert not stale.exists()


# ------------------------------------------------------------------ full disk


@pytest.fixture
def disk_with_free(monkeypatch):
    """Make shutil.disk_usage report `free` bytes free (other fields as measured)."""
    real = io.shutil.disk_usage

    def set_free(free):
        monkeypatch.setattr(io.shutil, "disk_usage", lambda p: real(p)._replace(free=free))

    return set_free


def test_require_free_space_names_path_needed_free_and_fix(tmp_path, disk_with_free):
    disk_with_free(1_500_000)
    target = tmp_path / "frames" / "coords.npy"  # its folder does not exist yet
    io.require_free_space(target, 1_500_000, "the coordinates")  # just fits
    with pytest.raises(io.DiskFullError) as err:
        io.require_free_space(target, 2_000_000_000, "the coordinates")
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    assert (err.value.needed, err.value.free) == (2_000_000_000, 1_500_000)
    assert str(err.value) == (
        f"{target}: not enough free disk space to write the coordinates: it needs 2 GB "
        f"(2,000,000,000 bytes), but only 1.5 MB (1,500,000 bytes) are free on the disk of "
        f"{tmp_path}; free at least 2 GB (1,998,500,000 bytes) there (delete files you no "
        "longer need), or write to a larger disk")
    assert pickle.loads(pickle.dumps(err.value)).args == err.value.args


def test_atomic_path_with_a_size_checks_before_writing(tmp_path, disk_with_free):
    disk_with_free(10)
    entered = False
    with pytest.raises(io.DiskFullError, match="it needs 1 kB"):
        with io.atomic_path(tmp_path / "x.npy", nbytes=1000):
            entered = True
    assert not entered and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("raised", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598"),
])
def test_a_full_disk_inside_atomic_path_is_a_disk_full_error(tmp_path, raised):
    target = tmp_path / "model.pt"
    with pytest.raises(io.DiskFullError) as err:
        with io.atomic_path(target, nbytes=2_000, what="the model") as tmp:
            tmp.write_bytes(b"\0" * 700)
            raise raised
    msg = str(err.value)
    assert msg.startswith(f"{target}: the disk is full (or the disk quota is exceeded): writing "
                          "the model failed after 700 bytes (")
    assert str(raised) in msg and "it needs 2 kB (2,000 bytes)" in msg
    assert err.value.__cause__ is raised
    assert list(tmp_path.iterdir()) == []  # neither the target nor the temporary


@pytest.mark.parametrize("raised", [OSError(errno.EACCES, "Permission denied"), RuntimeError("other")])
def test_other_errors_pass_unchanged(tmp_path, raised):
    with pytest.raises(type(raised)) as err:
        with io.atomic_path(tmp_path / "x.npy"):
            raise raised
    assert err.value is raised


@pytest.mark.parametrize("name, write", [
    pytest.param("x.npy", lambda p: np.save(p, np.zeros(100_000)), id="numpy"),
    pytest.param("x.pt", lambda p: torch.save({"w": torch.zeros(100_000)}, p), id="torch-large"),
    pytest.param("x.pt", lambda p: torch.save({"epoch": 1}, p), id="torch-small"),
])
def test_real_writes_to_a_full_disk_are_named(tmp_path, name, write):
    """The temporary points at /dev/full, where the kernel fails every write with ENOSPC;
    numpy and torch then fail as on a full disk (torch: 'unexpected pos' or 'iostream error')."""
    target = tmp_path / name
    with pytest.raises(io.DiskFullError) as err:
        with io.atomic_path(target) as tmp:
            os.symlink("/dev/full", tmp)
            write(tmp)
    assert str(err.value).startswith(f"{target}: the disk is full")
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_is_whole_or_absent(tmp_path):
    out = tmp_path / "simulated"
    with pytest.raises(RuntimeError):
        with io.atomic_dir(out) as tmp:
            (tmp / "walker-000.npz").write_bytes(b"x")
            raise RuntimeError("killed")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with io.atomic_dir(out) as tmp:
        (tmp / "walker-000.npz").write_bytes(b"x")
        assert not out.exists()  # only complete folders appear
    assert [p.name for p in out.iterdir()] == ["walker-000.npz"]
    assert [p.name for p in tmp_path.iterdir()] == ["simulated"]
