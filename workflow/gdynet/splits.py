"""Train / validation / test splits of a system's frames, by time.

The paper trains and validates on the early part of a trajectory and tests on the late
part (toy: first and second 100 ns halves). A split is a list of half-open global frame
ranges ``[start, stop)``; time-lagged pairs are formed inside one range only.
"""

from __future__ import annotations

from collections.abc import Sequence

SPLITS = ("train", "val", "test")


def time_fractions(segments: Sequence, train: float, val: float, test: float) -> dict:
    """Cut every segment in time order into train, validation and test pieces.

    segments: objects with ``start``/``stop`` global frame indices (store.Segment).
    train, val, test: fractions of each segment, summing to 1.
    Returns {"train": [[start, stop], ...], "val": [...], "test": [...]}.
    """
    if abs(train + val + test - 1) > 1e-9 or min(train, val, test) <= 0:
        raise ValueError(f"split fractions must be positive and sum to 1, got "
                         f"train={train}, val={val}, test={test}")
    out = {name: [] for name in SPLITS}
    for seg in segments:
        length = seg.stop - seg.start
        cut1 = seg.start + round(train * length)
        cut2 = seg.start + round((train + val) * length)
        for name, (a, b) in zip(SPLITS, ((seg.start, cut1), (cut1, cut2), (cut2, seg.stop))):
            if b <= a:
                raise ValueError(f"segment '{seg.name}' ({length} frames) leaves the "
                                 f"'{name}' split empty; use longer trajectories or other "
                                 "fractions")
            out[name].append([a, b])
    return out


def check_lag(ranges, lag_frames: int, split: str, what: str = "lag time") -> None:
    """Fail if `lag_frames` is too long for every range of a split (no pair would exist)."""
    longest = max(b - a for a, b in ranges)
    if lag_frames >= longest:
        raise ValueError(f"the {what} ({lag_frames} frames) is not shorter than the longest "
                         f"'{split}' range ({longest} frames); shorten it or use longer "
                         "trajectories")


def to_frames(time_ps: float, frame_interval_ps: float, what: str = "lag time") -> int:
    """Convert a time in ps to a whole number of frames, or fail saying why."""
    n = time_ps / frame_interval_ps
    if n < 1 or abs(n - round(n)) > 1e-6:
        raise ValueError(f"the {what} {time_ps:g} ps is not a positive whole multiple of the "
                         f"frame interval {frame_interval_ps:g} ps; choose a multiple of it")
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
