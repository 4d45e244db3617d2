"""Train / validation / test splits of a system's frames, by time or by trajectory.

The paper trains and validates on one part of the data and tests on another, never
mixing frames of one time window:

* toy: first 100 ns train + validation, second 100 ns test -> `time_fractions`
  (the same fractions cut every segment, here every simulated walker);
* Si-Au: first 12.5 ns train + validation, last 12.5 ns test -> `by_time`;
* PEO/LiTFSI: trajectory a trains (and validates), b-e test -> `by_trajectory`.

`make` picks one of them from a split specification (a mode and that function's
arguments). A split is a list of half-open global frame ranges ``[start, stop)``
(store.Segment frames); time-lagged pairs are formed inside one range only. Each
function refuses an empty split, and `check_lag` refuses a lag time that no range of a
split can hold. Errors speak of values and of the argument names used here (train_ns,
val_fraction, ...); the workflow adds where in the config they came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def time_fractions(segments: Sequence, train: float, val: float, test: float) -> dict:
    """Cut every segment in time order into train, validation and test pieces.

    segments: objects with ``name``/``start``/``stop`` global frame indices (store.Segment).
    train, val, test: fractions of each segment, summing to 1.
    Returns {"train": [[start, stop], ...], "val": [...], "test": [...]}.
    """
    if abs(train + val + test - 1) > 1e-9 or min(train, val, test) <= 0:
        raise ValueError(f"the split fractions must be positive and sum to 1, got train={train}, "
                         f"val={val}, test={test}")
    fractions = {"train": train, "val": val, "test": test}
    out = {name: [] for name in SPLITS}
    for seg in _checked(segments):
        length = seg.stop - seg.start
        cut1 = seg.start + round(train * length)
        cut2 = seg.start + round((train + val) * length)
        for name, (a, b) in zip(SPLITS, ((seg.start, cut1), (cut1, cut2), (cut2, seg.stop))):
            if b <= a:
                raise ValueError(f"trajectory '{seg.name}' ({length} frames) leaves the '{name}' "
                                 f"split empty with the fraction {name} = {fractions[name]}; use "
                                 "longer trajectories or a larger fraction")
            out[name].append([a, b])
    return out


def by_time(segments: Sequence, frame_interval_ps: float, *, train_ns: float, val_ns: float,
            test_ns: float | None = None) -> dict:
    """Cut every segment by durations: the first train_ns, the next val_ns, the last test_ns.

    The Si-Au interface (25 ns): "train and validate using the first 12.5 ns, ... the
    last 12.5 ns" for testing, i.e. train_ns + val_ns = 12.5 and test_ns = 12.5; the
    paper does not say how the first half is divided, so val_ns is a free choice
    (validation is the end of the first half, so it never touches the training frames
    inside a lag window more than at one boundary).
    Train and validation are measured from each segment's start, test back from its
    end, so a trajectory of 25 ns + one frame (frames 0..1250 at 20 ps) gives test =
    exactly the last 12.5 ns; frames between validation and test stay unused.
    test_ns=None takes everything after validation.
    Durations are rounded to whole frames. Returns {"train": [[start, stop]], ...}.
    """
    _check_positive(frame_interval_ps, "frame interval (ps)")
    durations = {"train_ns": train_ns, "val_ns": val_ns, "test_ns": test_ns}
    frames = {}
    for name, value in durations.items():
        if value is None:
            frames[name] = None
            continue
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive duration in ns, got {value!r}")
        frames[name] = round(value * 1000 / frame_interval_ps)
        if frames[name] < 1:
            raise ValueError(f"{name} = {value:g} ns is shorter than one frame "
                             f"({frame_interval_ps:g} ps); the split would be empty")
    n_train, n_val, n_test = frames["train_ns"], frames["val_ns"], frames["test_ns"]
    out = {name: [] for name in SPLITS}
    for seg in _checked(segments):
        length = seg.stop - seg.start
        need = n_train + n_val + (n_test if n_test is not None else 1)
        if need > length:
            asked = ("train_ns + val_ns + test_ns" if n_test is not None else
                     "train_ns + val_ns and at least one test frame")
            raise ValueError(
                f"trajectory '{seg.name}' has {length} frames ({length * frame_interval_ps / 1000:g} "
                f"ns at {frame_interval_ps:g} ps), fewer than the {need} frames of {asked}; "
                "shorten the durations or use longer trajectories")
        test_start = seg.stop - n_test if n_test is not None else seg.start + n_train + n_val
        out["train"].append([seg.start, seg.start + n_train])
        out["val"].append([seg.start + n_train, seg.start + n_train + n_val])
        out["test"].append([test_start, seg.stop])
    return out


def by_trajectory(segments: Sequence, *, train: Sequence[str], test: Sequence[str],
                  val: Sequence[str] | None = None, val_fraction: float | None = None) -> dict:
    """Assign whole segments (trajectories, by name) to the splits.

    train, test: segment names (the trajectory files' stems in the frame store).
    val: names of validation trajectories; or leave it out and give val_fraction: the
    last `val_fraction` of each training trajectory validates, the rest trains. PEO in
    the paper: "We train a four-state GDyNet with one of the trajectories, and use the
    model to identify the dynamics of Li-ions in the remaining four"; the validation
    frames must come from that one trajectory, and its end (a time block, as for the
    other systems) is the choice that keeps them apart from the training frames.
    A segment in no list is left out (the error lists the names there are).
    """
    by_name = {seg.name: seg for seg in _checked(segments)}
    lists = {"train": train, "val": val, "test": test}
    for name, names in lists.items():
        if names is None:
            continue
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ValueError(f"{name} must be a list of trajectory names, got {names!r}")
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"{name} names trajectories {unknown} that the system does not "
                             f"have; its trajectories are {sorted(by_name)}")
        if not names:
            raise ValueError(f"{name} is empty: the '{name}' split would hold no frames; name at "
                             f"least one of {sorted(by_name)}")
    if (val is None) == (val_fraction is None):
        raise ValueError("give either val (validation trajectories) or val_fraction (the end of "
                         f"each training trajectory), not {'both' if val is not None else 'neither'}")
    if val is None and not (0 < val_fraction < 1):
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction!r}")
    seen = {}
    for name, names in lists.items():
        for n in names or ():
            if n in seen:
                raise ValueError(f"trajectory '{n}' is in both {seen[n]} and {name}; a trajectory "
                                 "belongs to one split")
            seen[n] = name
    order = list(by_name)  # segment (time) order
    out = {name: [] for name in SPLITS}
    for n in sorted(train, key=order.index):
        seg = by_name[n]
        if val is None:
            cut = seg.stop - round(val_fraction * (seg.stop - seg.start))
            if not seg.start < cut < seg.stop:
                raise ValueError(f"trajectory '{n}' ({seg.stop - seg.start} frames) leaves the "
                                 f"{'val' if cut >= seg.stop else 'train'} split empty with "
                                 f"val_fraction = {val_fraction}")
            out["train"].append([seg.start, cut])
            out["val"].append([cut, seg.stop])
        else:
            out["train"].append([seg.start, seg.stop])
    for name in ("val", "test"):
        for n in sorted(lists[name] or (), key=order.index):
            out[name].append([by_name[n].start, by_name[n].stop])
    return out


_MODES = {
    "fractions": (time_fractions, {"train", "val", "test"}, set()),
    "time": (by_time, {"train_ns", "val_ns"}, {"test_ns"}),
    "trajectory": (by_trajectory, {"train", "test"}, {"val", "val_fraction"}),
}


def make(segments: Sequence, frame_interval_ps: float, spec: Mapping) -> dict:
    """Splits from a specification: a `mode` and the arguments of its function.

    {mode: fractions, train, val, test}                 -> time_fractions (mode may be left out)
    {mode: time, train_ns, val_ns[, test_ns]}           -> by_time
    {mode: trajectory, train, test, val | val_fraction} -> by_trajectory
    """
    spec = dict(spec)
    mode = spec.pop("mode", "fractions")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {list(_MODES)}, got {mode!r}")
    function, required, optional = _MODES[mode]
    missing, unknown = sorted(required - set(spec)), sorted(set(spec) - required - optional)
    if missing or unknown:
        problems = [f"lacks {missing}" if missing else "", f"has unknown keys {unknown}" if unknown else ""]
        raise ValueError(f"the '{mode}' split {'; '.join(p for p in problems if p)}; it takes "
                         f"{sorted(required)}" + (f" and optionally {sorted(optional)}" if optional else ""))
    ranges = (function(segments, frame_interval_ps, **spec) if mode == "time"
              else function(segments, **spec))
    check_ranges(ranges)
    return ranges


def check_ranges(ranges: Mapping) -> None:
    """Every split exists and holds at least one non-empty [start, stop) range."""
    for name in SPLITS:
        r = ranges.get(name)
        if not r:
            raise ValueError(f"the '{name}' split is empty; give it frames")
        for a, b in r:
            if not (0 <= a < b):
                raise ValueError(f"the '{name}' split holds an empty or invalid range [{a}, {b})")


def check_lag(ranges, lag_frames: int, split: str, frame_interval_ps: float,
              what: str = "lag time") -> None:
    """Fail if `lag_frames` is too long for every range of a split (no pair would exist)."""
    if not ranges:
        raise ValueError(f"the '{split}' split is empty; no {what} can be applied to it")
    longest = max(b - a for a, b in ranges)
    if lag_frames >= longest:
        raise ValueError(f"the {what} of {lag_frames} frames ({lag_frames * frame_interval_ps:g} "
                         f"ps) is not shorter than the longest '{split}' range ({longest} frames, "
                         f"{longest * frame_interval_ps:g} ps); choose a shorter one or give the "
                         f"'{split}' split longer trajectories")


def to_frames(time_ps: float, frame_interval_ps: float, what: str = "lag time") -> int:
    """Convert a time in ps to a whole number of frames, or fail saying why."""
    _check_positive(frame_interval_ps, "frame interval (ps)")
    n = time_ps / frame_interval_ps
    if not math.isfinite(n) or n < 1 or abs(n - round(n)) > 1e-6:
        raise ValueError(f"the {what} {time_ps:g} ps is not a positive whole multiple of the frame "
                         f"interval {frame_interval_ps:g} ps; choose a multiple of it")
    return int(round(n))


def pieces(values, ranges) -> list:
    """Cut `values`, the rows of `ranges` concatenated in order, back into one piece per range."""
    out, start = [], 0
    for a, b in ranges:
        out.append(values[start:start + (b - a)])
        start += b - a
    if start != len(values):
        raise ValueError(f"{len(values)} rows do not match the ranges' {start} frames")
    return out


def frames_of(ranges) -> np.ndarray:
    """Global frame numbers (int64) of half-open ranges, concatenated in range order."""
    return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in ranges] + [np.zeros(0, np.int64)])


def _check_positive(value, what):
    try:
        ok = math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"the {what} must be a positive number, got {value!r}")


def _checked(segments):
    segments = list(segments)
    if not segments:
        raise ValueError("no segments: the frame store holds no trajectory")
    return segments
