"""File writes that a kill or a full disk cannot turn into a wrong result.

- `atomic_path` writes to a hidden temporary beside the target and renames it onto the
  target only on success, so a killed step never leaves a file that looks complete.
  The temporary that a kill leaves is removed by the next write of the same target.
- A full disk is named as such: `require_free_space` checks before a large write, and
  `explain_full_disk` (active inside `atomic_path`) turns ENOSPC, an exceeded quota and
  torch.save's "unexpected pos" into a `DiskFullError` naming the path and the bytes.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path

import numpy as np

from gdynet import logs

# Temporaries are named ".{stem}.{kind}-{pid}-{host}{suffix}" beside their target. The
# host tells whether the pid can be checked here: on a file system shared by the nodes
# of a cluster, a pid from another node means nothing on this one.
_HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "localhost"
# A temporary from another host is stale once it is this old (s): its writer cannot be
# asked, and no step writes one file for a day without touching it.
FOREIGN_TEMP_AGE_S = 24 * 3600.0
# torch.save reports a failed write (a full disk, an exceeded quota) only in these words.
_TORCH_WRITE_FAILED = ("unexpected pos", "basic_ios::clear", "No space left", "Disk quota")


class DiskFullError(OSError):
    """A write does not fit on its disk; the message names the path, the bytes needed and
    free, and the fix. Attributes: path, needed and free (bytes; None where not known)."""

    def __init__(self, message: str, path, needed: int | None = None, free: int | None = None):
        super().__init__(errno.ENOSPC, message, str(path))
        self.message, self.path, self.needed, self.free = message, str(path), needed, free

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # picklable, e.g. across multiprocessing
        return type(self), (self.message, self.path, self.needed, self.free)


def human_bytes(n: int) -> str:
    """'1.23 GB (1,234,567,890 bytes)': decimal units, as df -H and file managers show them."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit} ({n:,} bytes)"
    return f"{n:,} bytes"


def _existing_dir(path: Path) -> Path:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free  # statvfs f_bavail: free to this user, not root


def require_free_space(path: str | os.PathLike, nbytes: int, what: str = "") -> None:
    """Raise DiskFullError unless the disk that will hold `path` has `nbytes` free.

    path: the file about to be written (it and its folder need not exist yet).
    nbytes: bytes the write will take. what: what is written, for the message
    (e.g. "the coordinates of 20,000 frames"); default: "it".
    Free means free to this user (a disk's reserve for root does not count).
    """
    path = Path(path)
    folder = _existing_dir(path)
    free = _free_bytes(folder)
    if nbytes > free:
        raise DiskFullError(
            f"{path}: not enough free disk space to write {what or 'it'}: it needs "
            f"{human_bytes(nbytes)}, but only {human_bytes(free)} are free on the disk of "
            f"{folder}; free at least {human_bytes(nbytes - free)} there (delete files you no "
            "longer need), or write to a larger disk", path, nbytes, free)


def _is_disk_full(err: BaseException) -> bool:
    while err is not None:  # the error, or what it was raised from
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(err, RuntimeError) and any(s in str(err) for s in _TORCH_WRITE_FAILED):
            return True
        err = err.__cause__ or err.__context__
    return False


@contextlib.contextmanager
def explain_full_disk(path: str | os.PathLike, nbytes: int | None = None, what: str = "",
                      partial: str | os.PathLike | None = None):
    """Raise a full disk inside the block as DiskFullError naming `path`.

    Translated: OSError with errno ENOSPC or EDQUOT (numpy, plain writes), and the
    RuntimeError of torch.save ("[enforce fail at inline_container.cc] unexpected pos",
    "basic_ios::clear: iostream error"). nbytes: the size of the whole write, where
    known; partial: the file being written, whose size says how far the write got.
    Other errors pass unchanged.
    """
    path = Path(path)
    try:
        yield
    except DiskFullError:
        raise
    except (OSError, RuntimeError) as err:
        if not _is_disk_full(err):
            raise
        folder = _existing_dir(path)
        free = _free_bytes(folder)
        written = ""
        if partial is not None and os.path.isfile(partial):
            written = f" after {human_bytes(os.path.getsize(partial))}"
        needs = f"; it needs {human_bytes(nbytes)}" if nbytes is not None else ""
        raise DiskFullError(
            f"{path}: the disk is full (or the disk quota is exceeded): writing {what or 'it'} "
            f"failed{written} ({type(err).__name__}: {err}){needs}, and {human_bytes(free)} "
            f"are free now on the disk of {folder}; free space there (delete files you no "
            "longer need), or write to a larger disk", path, nbytes, free) from err


# ------------------------------------------------------------------ temporaries


def _temp_sibling(path: Path, kind: str, suffix: str) -> Path:
    return path.with_name(f".{path.stem}.{kind}-{os.getpid()}-{_HOST}{suffix}")


def _pid_running(pid: int) -> bool:
    if os.name != "posix":
        return True  # no safe probe (os.kill(pid, 0) would signal on Windows): keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def remove_stale_temps(path: str | os.PathLike, kind: str = "tmp", suffix: str | None = None) -> list[Path]:
    """Delete the temporaries of `path` that a killed writer left; return them.

    A temporary ``.{stem}.{kind}-{pid}-{host}{suffix}`` beside `path` (suffix: that of
    `path` unless given) is stale when its writer is gone: on this host, when no process
    `pid` runs (a live one, this process included, is never touched); from another host,
    when it is older than FOREIGN_TEMP_AGE_S. Names without a host (older versions) count
    as this host's. Files and folders alike.
    """
    path = Path(path)
    suffix = path.suffix if suffix is None else suffix
    pattern = re.compile(rf"\.{re.escape(path.stem)}\.{re.escape(kind)}-(\d+)(?:-(.+?))?{re.escape(suffix)}")
    try:
        siblings = list(path.parent.iterdir())
    except FileNotFoundError:
        return []
    removed = []
    for p in siblings:
        m = pattern.fullmatch(p.name)
        if not m:
            continue
        pid, host = int(m.group(1)), m.group(2)
        try:
            if host in (None, _HOST):
                stale = pid != os.getpid() and not _pid_running(pid)
                why = f"left by process {pid}, which no longer runs"
            else:
                stale = time.time() - p.lstat().st_mtime > FOREIGN_TEMP_AGE_S
                why = f"left by process {pid} on {host} more than {FOREIGN_TEMP_AGE_S / 3600:g} h ago"
            if not stale:
                continue
            size = p.lstat().st_size
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except FileNotFoundError:  # another job cleaned it first
            continue
        removed.append(p)
        logs.get().info("removed %s (%s), %s", p, human_bytes(size), why)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, nbytes: int | None = None, what: str = ""):
    """Yield a temporary path next to `path`; rename it onto `path` on success.

    The temporary, ``.{stem}.tmp-{pid}-{host}{suffix}``, keeps the suffix, so libraries
    that infer the format from it (numpy, matplotlib, torch) behave as with the final
    name. It is removed if the block fails; temporaries of `path` that killed writers
    left are removed on entry (see `remove_stale_temps`).

    nbytes: the size of the file, where known: checked against the free disk space on
    entry (DiskFullError before anything is written). what: what is written, for messages.
    A full disk inside the block raises DiskFullError naming `path` (`explain_full_disk`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    if nbytes is not None:
        require_free_space(path, nbytes, what)
    tmp = _temp_sibling(path, "tmp", path.suffix)
    try:
        with explain_full_disk(path, nbytes, what, partial=tmp):
            yield tmp
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_dir(path: str | os.PathLike):
    """Yield a new empty folder beside `path` for the intermediate files of writing it.

    Named ``.{stem}.scratch-{pid}-{host}`` and deleted with its contents when the block
    ends; folders that killed writers of `path` left are deleted on entry.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path, kind="scratch", suffix="")
    folder = _temp_sibling(path, "scratch", "")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def save_npz(path, **arrays) -> None:
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def save_json(path, obj) -> None:
    """Write `obj` as standard JSON; numpy values become numbers, inf and NaN become null."""
    text = json.dumps(_to_builtin(obj), indent=2, allow_nan=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def load_json(path):
    return json.loads(Path(path).read_text())


def _to_builtin(x):
    if isinstance(x, dict):
        return {str(k): _to_builtin(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_to_builtin(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, complex):
        raise TypeError("cannot write a complex number to JSON; take its real part first")
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield an empty temporary folder; it becomes `path` (renamed) when the block succeeds.

    A folder output is then whole or absent, never partly written; folders that killed
    writers left are removed on entry (`scratch_dir`).
    """
    path = Path(path)
    with scratch_dir(path) as tmp:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
