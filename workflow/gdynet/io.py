"""Atomic file writes: a killed step never leaves a file that looks complete."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path next to `path`; rename it onto `path` on success.

    The temporary name keeps the suffix, so libraries that infer the format from
    it (numpy, matplotlib, torch) behave as with the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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


def at_tau_star(tau_star_json, lags_ps, files) -> tuple[float, str]:
    """(τ* in ps, the file of the model trained at τ*) from a select_tau result.

    files: one per trained lag, in the order of `lags_ps`.
    """
    tau_star = float(load_json(tau_star_json)["tau_star_ps"])
    lags = [float(t) for t in lags_ps]
    if tau_star not in lags:
        raise ValueError(f"{tau_star_json}: τ* = {tau_star:g} ps is not one of the trained lags "
                         f"{lags}; set koopman.tau_star_ps to one of them")
    return tau_star, files[lags.index(tau_star)]
