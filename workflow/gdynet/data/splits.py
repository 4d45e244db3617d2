"""Train / validation / test splits of a system's frames, by time or by trajectory.

The paper trains and validates on one part of the data and tests on another, never
mixing frames of one time window:

* toy: first 100 ns train + validation, second 100 ns test -> `time_fractions`
  (the same fractions cut every segment, here every simulated walker);
* Si-Au: first 12.5 ns train + validation, last 12.5 ns test -> `by_time`;
* PEO/LiTFSI: trajectory a trains (and validates), b-e test -> `by_trajectory`.

`make` picks one of them from a system's ``split`` config. A split is a list of
half-open global frame ranges ``[start, stop)`` (store.Segment frames); time-lagged
pairs are formed inside one range only. Each function refuses an empty split, and
`check_lags` refuses lag times (and CK horizons) that no range of a split can hold,
before any model is trained. Errors name the config key to change; pass `key`, the
config path of the setting (e.g. "systems.siau.split").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

SPLITS = ("train", "val", "test")


def time_fractions(segments: Sequence, train: float, val: float, test: float, *,
                   key: str = "split") -> dict:
    """Cut every segment in time order into train, validation and test pieces.

    segments: objects with ``name``/``start``/``stop`` global frame indices (store.Segment).
    train, val, test: fractions of each segment, summing to 1.
    Returns {"train": [[start, stop], ...], "val": [...], "test": [...]}.
    """
    if abs(train + val + test - 1) > 1e-9 or min(train, val, test) <= 0:
        raise ValueError(f"{key}: split fractions must be positive and sum to 1, got "
                         f"train={train}, val={val}, test={test}")
    out = {name: [] for name in SPLITS}
    for seg in _checked(segments):
        length = seg.stop - seg.start
        cut1 = seg.start + round(train * length)
        cut2 = seg.start + round((train + val) * length)
        for name, (a, b) in zip(SPLITS, ((seg.start, cut1), (cut1, cut2), (cut2, seg.stop))):
            if b <= a:
                raise ValueError(f"segment '{seg.name}' ({length} frames) leaves the "
                                 f"'{name}' split empty; use longer trajectories or other "
                                 f"fractions ({key}.{name})")
            out[name].append([a, b])
    return out


def by_time(segments: Sequence, frame_interval_ps: float, *, train_ns: float, val_ns: float,
            test_ns: float | None = None, key: str = "split") -> dict:
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
    for name, value in (("train_ns", train_ns), ("val_ns", val_ns), ("test_ns", test_ns)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{key}.{name} must be a positive duration in ns, got {value!r}")
    n_train, n_val = (round(t * 1000 / frame_interval_ps) for t in (train_ns, val_ns))
    n_test = None if test_ns is None else round(test_ns * 1000 / frame_interval_ps)
    for name, n, t in (("train_ns", n_train, train_ns), ("val_ns", n_val, val_ns),
                       ("test_ns", n_test, test_ns)):
        if n is not None and n < 1:
            raise ValueError(f"{key}.{name} = {t:g} ns is shorter than one frame "
                             f"({frame_interval_ps:g} ps); the split would be empty")
    out = {name: [] for name in SPLITS}
    for seg in _checked(segments):
        length = seg.stop - seg.start
        need = n_train + n_val + (n_test if n_test is not None else 1)
        if need > length:
            asked = (f"train_ns + val_ns + test_ns = {need} frames" if n_test is not None else
                     f"train_ns + val_ns = {need - 1} frames and at least one test frame")
            raise ValueError(
                f"segment '{seg.name}' has {length} frames ({length * frame_interval_ps / 1000:g} "
                f"ns at {frame_interval_ps:g} ps), fewer than {key}.{asked}; shorten the "
                f"durations in {key} or use longer trajectories")
        test_start = seg.stop - n_test if n_test is not None else seg.start + n_train + n_val
        out["train"].append([seg.start, seg.start + n_train])
        out["val"].append([seg.start + n_train, seg.start + n_train + n_val])
        out["test"].append([test_start, seg.stop])
    return out


def by_trajectory(segments: Sequence, *, train: Sequence[str], test: Sequence[str],
                  val: Sequence[str] | None = None, val_fraction: float | None = None,
                  key: str = "split") -> dict:
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
            raise ValueError(f"{key}.{name} must be a list of trajectory names, got {names!r}")
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(f"{key}.{name} names trajectories {unknown} that the system does "
                             f"not have; its trajectories are {sorted(by_name)}")
        if not names:
            raise ValueError(f"{key}.{name} is empty: the '{name}' split would hold no frames; "
                             f"name at least one of {sorted(by_name)}")
    if (val is None) == (val_fraction is None):
        raise ValueError(f"give either {key}.val (validation trajectories) or "
                         f"{key}.val_fraction (the end of each training trajectory), not "
                         f"{'both' if val is not None else 'neither'}")
    if val is None and not (0 < val_fraction < 1):
        raise ValueError(f"{key}.val_fraction must lie in (0, 1), got {val_fraction!r}")
    seen = {}
    for name, names in lists.items():
        for n in names or ():
            if n in seen:
                raise ValueError(f"trajectory '{n}' is in both {key}.{seen[n]} and {key}.{name}; "
                                 "a trajectory belongs to one split")
            seen[n] = name
    order = list(by_name)  # segment (time) order
    out = {name: [] for name in SPLITS}
    for n in sorted(train, key=order.index):
        seg = by_name[n]
        if val is None:
            cut = seg.stop - round(val_fraction * (seg.stop - seg.start))
            if not seg.start < cut < seg.stop:
                raise ValueError(f"segment '{n}' ({seg.stop - seg.start} frames) leaves the "
                                 f"{'val' if cut >= seg.stop else 'train'} split empty with "
                                 f"{key}.val_fraction = {val_fraction}; change it")
            out["train"].append([seg.start, cut])
            out["val"].append([cut, seg.stop])
        else:
            out["train"].append([seg.start, seg.stop])
    for name in ("val", "test"):
        for n in sorted(lists[name] or (), key=order.index):
            out[name].append([by_name[n].start, by_name[n].stop])
    return out


def make(segments: Sequence, frame_interval_ps: float, config: Mapping, *,
         key: str = "split") -> dict:
    """Splits from a system's ``split`` config (`key` is its path, for messages).

    {mode: fractions, train, val, test}          -> time_fractions (mode may be left out)
    {mode: time, train_ns, val_ns[, test_ns]}    -> by_time
    {mode: trajectory, train, test, val | val_fraction} -> by_trajectory
    """
    config = dict(config)
    mode = config.pop("mode", "fractions")
    functions = {
        "fractions": (lambda **kw: time_fractions(segments, **kw, key=key), {"train", "val", "test"}, set()),
        "time": (lambda **kw: by_time(segments, frame_interval_ps, **kw, key=key),
                 {"train_ns", "val_ns"}, {"test_ns"}),
        "trajectory": (lambda **kw: by_trajectory(segments, **kw, key=key),
                       {"train", "test"}, {"val", "val_fraction"}),
    }
    if mode not in functions:
        raise ValueError(f"{key}.mode must be one of {list(functions)}, got {mode!r}")
    function, required, optional = functions[mode]
    missing = sorted(required - set(config))
    unknown = sorted(set(config) - required - optional)
    if missing or unknown:
        raise ValueError(f"{key} (mode {mode}) " + "; ".join(
            part for part in (f"lacks {missing}" if missing else "",
                              f"has unknown keys {unknown}" if unknown else "") if part)
            + f"; it takes {sorted(required)}" + (f" and optionally {sorted(optional)}" if optional else ""))
    ranges = function(**config)
    check_ranges(ranges, key=key)
    return ranges


def check_ranges(ranges: Mapping, *, key: str = "split") -> None:
    """Every split exists and holds at least one non-empty [start, stop) range."""
    for name in SPLITS:
        r = ranges.get(name)
        if not r:
            raise ValueError(f"the '{name}' split is empty; give it frames ({key})")
        for a, b in r:
            if not (0 <= a < b):
                raise ValueError(f"the '{name}' split holds an empty or invalid range "
                                 f"[{a}, {b}); check {key}")


def check_lag(ranges, lag_frames: int, split: str, what: str = "lag time", *,
              key: str | None = None, frame_interval_ps: float | None = None) -> None:
    """Fail if `lag_frames` is too long for every range of a split (no pair would exist).

    key: the config key that set the lag (e.g. "systems.siau.models.gdynet.lags_ps"),
    named in the message; frame_interval_ps adds the times in ps.
    """
    if not ranges:
        raise ValueError(f"the '{split}' split is empty; no {what} can be applied to it")
    longest = max(b - a for a, b in ranges)
    if lag_frames >= longest:
        ps = (lambda n: f" = {n * frame_interval_ps:g} ps") if frame_interval_ps else (lambda n: "")
        fix = f"shorten {key}" if key else "shorten it"
        raise ValueError(f"{key + ': ' if key else ''}the {what} ({lag_frames} frames"
                         f"{ps(lag_frames)}) is not shorter than the longest '{split}' range "
                         f"({longest} frames{ps(longest)}); {fix} or give the '{split}' split "
                         "longer trajectories")


def check_lags(ranges: Mapping, frame_interval_ps: float, lags_ps: Sequence[float], *,
               ck_steps: int | None = None, key: str = "lags_ps",
               ck_key: str = "ck_steps") -> list[int]:
    """Check a model's lag times against the splits, before anything is trained.

    Every lag must be a whole number of frames and shorter than the longest train
    and validation range (the model is trained and selected on pairs at that lag);
    with ck_steps, the CK horizon lag x ck_steps must be shorter than the longest test
    range for every lag, since any of them may become τ*. key / ck_key are the config
    paths named in errors (e.g. "systems.peo.models.gdynet.lags_ps",
    "systems.peo.koopman.ck_steps"). Returns the lags in frames.
    """
    check_ranges(ranges)
    out = []
    for lag_ps in lags_ps:
        lag = to_frames(lag_ps, frame_interval_ps, key=key)
        for split in ("train", "val"):
            check_lag(ranges[split], lag, split, key=key, frame_interval_ps=frame_interval_ps)
        if ck_steps is not None:
            check_lag(ranges["test"], lag * ck_steps, "test",
                      what=f"CK horizon (lag {lag_ps:g} ps x {ck_key} = {ck_steps})",
                      key=f"{key} or {ck_key}", frame_interval_ps=frame_interval_ps)
        out.append(lag)
    return out


def to_frames(time_ps: float, frame_interval_ps: float, what: str = "lag time", *,
              key: str | None = None) -> int:
    """Convert a time in ps to a whole number of frames, or fail saying why."""
    _check_positive(frame_interval_ps, "frame interval (ps)")
    n = time_ps / frame_interval_ps
    if not math.isfinite(n) or n < 1 or abs(n - round(n)) > 1e-6:
        raise ValueError(f"{key + ': ' if key else ''}the {what} {time_ps:g} ps is not a positive "
                         f"whole multiple of the frame interval {frame_interval_ps:g} ps; choose "
                         "a multiple of it")
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
