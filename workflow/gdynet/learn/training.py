"""Training and prediction: minimise -VAMP-2 over time-lagged frame pairs (Eq. 5).

The loop does not care which network it trains: a data object turns global
frame numbers into the tensors the model takes (`GraphFrames` for GDyNet,
`FeatureFrames` for the vanilla VAMPnet), and `model(*data.batch(frames))`
returns state probabilities (B, n, k).

Frames are addressed by global index into the (memory-mapped) arrays. A
trajectory piece is a half-open frame range (start, stop); a lagged pair
(t, t + lag) never crosses a range boundary.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import torch

from gdynet import io, logs
from gdynet.learn import simplex
from gdynet.learn.model import MODELS
from gdynet.learn.vamp import CovarianceAccumulator, vamp2_score

VAL_PAIRS_MAX = 20_000  # validation pairs per epoch (fixed, seeded sample)
CHECKPOINT_FORMAT = 1
MODEL_FORMAT = 1


# --------------------------------------------------------------------- data


def _check_frames(frames, n_frames: int) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 1 or not (frames.size == 0 or np.issubdtype(frames.dtype, np.integer)):
        raise ValueError(f"frames must be a 1-D integer array, got shape {frames.shape} dtype {frames.dtype}")
    frames = frames.astype(np.int64, copy=False)
    if frames.size and (frames.min() < 0 or frames.max() >= n_frames):
        raise ValueError(f"frame numbers must lie in [0, {n_frames}), got [{frames.min()}, {frames.max()}]")
    return frames


def _read_rows(array, frames: np.ndarray) -> np.ndarray:
    """array[frames] reading each needed row once, in increasing order (memmap/chunk friendly)."""
    if frames.size and np.all(np.diff(frames) == 1):
        # consecutive frames: one slice, copied (torch warns on read-only memmap views)
        return np.array(array[frames[0] : frames[-1] + 1])
    unique, inverse = np.unique(frames, return_inverse=True)
    return np.asarray(array[unique])[inverse]


class GraphFrames:
    """Per-frame neighbour graphs for GDyNet.

    nbr_idx: (F, N, M) integer neighbour atom indices; nbr_dist: (F, N, M) distances in Å.
    Any array with numpy fancy indexing on the first axis works (ndarray, np.memmap);
    only the rows of a batch are read.
    batch(frames (B,)) -> (nbr_idx (B, N, M) int32, nbr_dist (B, N, M) float32) CPU tensors.
    """

    def __init__(self, nbr_idx, nbr_dist):
        if len(nbr_idx.shape) != 3 or tuple(nbr_idx.shape) != tuple(nbr_dist.shape):
            raise ValueError(
                f"nbr_idx and nbr_dist must both be (F, N, M); got {tuple(nbr_idx.shape)} and {tuple(nbr_dist.shape)}"
            )
        if not np.issubdtype(nbr_idx.dtype, np.integer):
            raise ValueError(f"nbr_idx must hold integers, got dtype {nbr_idx.dtype}")
        self.nbr_idx = nbr_idx
        self.nbr_dist = nbr_dist
        self.n_atoms = nbr_idx.shape[1]

    def __len__(self) -> int:
        return self.nbr_idx.shape[0]

    def batch(self, frames) -> tuple[torch.Tensor, torch.Tensor]:
        frames = _check_frames(frames, len(self))
        idx = _read_rows(self.nbr_idx, frames)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_atoms):
            raise ValueError(
                f"nbr_idx holds atom indices in [{idx.min()}, {idx.max()}], outside 0..{self.n_atoms - 1}: "
                "the graph files are corrupt or were built for another system"
            )
        dist = _read_rows(self.nbr_dist, frames)
        return (
            torch.from_numpy(np.ascontiguousarray(idx, dtype=np.int32)),
            torch.from_numpy(np.ascontiguousarray(dist, dtype=np.float32)),
        )


class FeatureFrames:
    """Flat per-frame feature vectors for the vanilla VAMPnet.

    features: (F, D) array (e.g. flattened coordinates in Å), memmap welcome.
    batch(frames (B,)) -> (features (B, D) float32,) CPU tensor.
    """

    def __init__(self, features):
        if len(features.shape) != 2:
            raise ValueError(f"features must be (F, D), got shape {tuple(features.shape)}; reshape(F, -1) first")
        self.features = features

    def __len__(self) -> int:
        return self.features.shape[0]

    def batch(self, frames) -> tuple[torch.Tensor]:
        frames = _check_frames(frames, len(self))
        rows = _read_rows(self.features, frames)
        return (torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)),)


def feature_mean_std(data: FeatureFrames, ranges, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (D,) of the features over the frames of `ranges` (streamed, float64).

    Use the training ranges, then `VAMPNet(..., mean=mean, std=std)`.
    """
    ranges = _check_ranges(ranges, len(data))
    n, mean, m2 = 0, 0.0, 0.0
    for start, stop in ranges:
        for a in range(start, stop, chunk):
            x = np.asarray(data.features[a : min(stop, a + chunk)], dtype=np.float64)
            # Pairwise merge of (count, mean, sum of squared deviations): no cancellation.
            b, mb = len(x), x.mean(axis=0)
            delta = mb - mean
            m2 = m2 + ((x - mb) ** 2).sum(axis=0) + delta**2 * n * b / (n + b)
            mean = mean + delta * b / (n + b)
            n += b
    if n < 2:
        raise ValueError("need at least 2 frames in the ranges to standardise features")
    return mean, np.sqrt(m2 / (n - 1))


def _check_ranges(ranges, n_frames: int | None = None) -> list[tuple[int, int]]:
    out = []
    for r in ranges:
        try:
            start, stop = (int(x) for x in r)
        except (TypeError, ValueError):
            raise ValueError(f"each frame range must be a (start, stop) pair of integers, got {r!r}") from None
        if not 0 <= start <= stop:
            raise ValueError(f"frame range ({start}, {stop}) must satisfy 0 <= start <= stop (half-open)")
        if n_frames is not None and stop > n_frames:
            raise ValueError(f"frame range ({start}, {stop}) exceeds the {n_frames} frames of the data")
        out.append((start, stop))
    return out


def _range_frames(ranges) -> np.ndarray:
    """Frame numbers (int64) of checked half-open ranges, concatenated in range order."""
    return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in ranges] + [np.zeros(0, np.int64)])


def lagged_pairs(ranges, lag: int) -> np.ndarray:
    """Start frames t (int64, in range order) of all pairs (t, t + lag) inside one half-open range.

    ranges: iterable of (start, stop) global frame intervals; lag in frames (>= 1).
    """
    if int(lag) != lag or lag < 1:
        raise ValueError(f"lag must be a positive whole number of frames, got {lag}")
    lag = int(lag)
    return _range_frames([(a, b - lag) for a, b in _check_ranges(ranges) if b - a > lag])


# --------------------------------------------------------------------- helpers


def resolve_device(device="auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else goes to torch.device."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to_device(tensors, device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(t.to(device, non_blocking=True) for t in tensors)


def _model_kind(model: torch.nn.Module) -> str:
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"unsupported model type {type(model).__name__}; expected one of {sorted(MODELS)}")


def _plain(obj):
    """A copy of `obj` made of JSON types only (numpy scalars/arrays converted)."""
    return json.loads(json.dumps(obj, default=lambda x: x.tolist() if hasattr(x, "tolist") else str(x)))


def _fingerprint(model, data, **hyper) -> str:
    """Hash of everything that defines a run except its length (epochs) and device."""
    spec = dict(
        model=_model_kind(model),
        init=model.init_kwargs,
        shapes={k: list(v.shape) for k, v in model.state_dict().items()},
        n_frames=len(data),
        data=type(data).__name__,
        **hyper,
    )
    return hashlib.sha256(json.dumps(_plain(spec), sort_keys=True).encode()).hexdigest()[:16]


def _cpu_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _rng_state(rng: np.random.Generator) -> dict:
    state = {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(rng: np.random.Generator, state: dict) -> None:
    rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def _load_checkpoint(path, fingerprint: str, log):
    """The checkpoint dict when `path` holds a loadable checkpoint of this run, else None."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception as err:  # a truncated or foreign file: start over, but say so
        log.warning("checkpoint %s is unreadable (%s); starting over", path, err)
        return None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        log.warning("checkpoint %s has an unknown format; starting over", path)
        return None
    if ckpt.get("fingerprint") != fingerprint:
        log.info("checkpoint %s has fingerprint %s but this run is %s (different hyperparameters); starting over",
                 path, ckpt.get("fingerprint"), fingerprint)
        return None
    return ckpt


@torch.no_grad()
def evaluate(model, data, starts: np.ndarray, lag: int, *, batch_size: int, device, epsilon: float = 1e-6) -> float:
    """VAMP-2 of the model over the pairs (t, t + lag) for t in `starts`, in eval mode.

    Covariances are accumulated batch by batch (float64), so any number of pairs fits.
    """
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    acc = CovarianceAccumulator()
    try:
        for a in range(0, len(starts), batch_size):
            s = starts[a : a + batch_size]
            out = model(*_to_device(data.batch(np.concatenate([s, s + lag])), device))
            k = out.shape[-1]
            acc.add(out[: len(s)].reshape(-1, k), out[len(s) :].reshape(-1, k))
    finally:
        model.train(was_training)
    return acc.score(epsilon)


# --------------------------------------------------------------------- fit


def fit(
    model: torch.nn.Module,
    data,
    *,
    train_ranges,
    val_ranges,
    lag: int,
    epochs: int,
    steps_per_epoch: int,
    batch_size: int,
    lr: float,
    seed: int,
    checkpoint,
    device="auto",
    epsilon: float = 1e-6,
    log=None,
) -> pd.DataFrame:
    """Train `model` by maximising the VAMP-2 score of lagged frame pairs (Eq. 5); Adam.

    data: GraphFrames / FeatureFrames (anything with __len__ and batch(frames)).
    train_ranges, val_ranges: half-open (start, stop) frame ranges; pairs never cross them.
    lag: τ in frames. Each of `steps_per_epoch` steps draws `batch_size` random pairs
        (with replacement) from the training ranges, runs the model on both frames of
        every pair (one forward pass of 2·batch_size frames), flattens (B, n, k) ->
        (B·n, k) and takes one Adam step on -VAMP-2: one score over all targets and
        pairs of the batch.
    After every epoch: validation VAMP-2 (eval mode) on a fixed seeded sample of at
        most VAL_PAIRS_MAX validation pairs, a log line, and a checkpoint written
        atomically to `checkpoint` (model, optimizer, RNG states, metrics, best weights
        and a fingerprint of the hyperparameters).
    Resuming: if `checkpoint` exists and its fingerprint matches (same model
        constructor arguments, data length, ranges, lag, steps, batch, lr, seed, epsilon;
        `epochs` and `device` may differ), training continues after its last epoch;
        otherwise the mismatch is logged and training starts over.
    Reproducibility: batches come from a numpy Generator seeded with `seed`; torch is
        seeded too. Initial weights are the caller's: seed the model's construction
        (torch.manual_seed(seed) before building it) for a reproducible run.

    The model is moved to the device and left holding the best-on-validation weights.
    Returns one row per epoch: epoch (1-based), train_vamp2 (mean over the epoch's
    steps), val_vamp2, seconds (wall time of the epoch).
    """
    log = log or logs.get()
    for name, value in dict(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size).items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if batch_size < 2:
        raise ValueError("batch_size must be >= 2 pairs (a covariance needs two samples)")
    train_ranges = _check_ranges(train_ranges, len(data))
    val_ranges = _check_ranges(val_ranges, len(data))
    train_starts = lagged_pairs(train_ranges, lag)
    val_starts = lagged_pairs(val_ranges, lag)
    if train_starts.size == 0:
        raise ValueError(f"no training pairs: every training range is shorter than lag + 1 = {lag + 1} frames")
    if val_starts.size < 2:
        raise ValueError(
            f"need >= 2 validation pairs, found {val_starts.size}: validation ranges too short for lag {lag}"
        )

    device = resolve_device(device)
    fingerprint = _fingerprint(
        model,
        data,
        train_ranges=train_ranges,
        val_ranges=val_ranges,
        lag=int(lag),
        steps_per_epoch=int(steps_per_epoch),
        batch_size=int(batch_size),
        lr=float(lr),
        seed=int(seed),
        epsilon=float(epsilon),
        val_pairs_max=VAL_PAIRS_MAX,
    )

    # Fixed validation sample, independent of the training draws.
    val_rng = np.random.default_rng([int(seed), 1])
    if val_starts.size > VAL_PAIRS_MAX:
        val_starts = np.sort(val_rng.choice(val_starts, VAL_PAIRS_MAX, replace=False))

    torch.manual_seed(int(seed))
    rng = np.random.default_rng(int(seed))
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rows: list[dict] = []
    best_score, best_state = -np.inf, _cpu_state(model)

    ckpt = _load_checkpoint(checkpoint, fingerprint, log)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        _set_rng_state(rng, ckpt["rng"])
        rows = list(ckpt["metrics"])
        best_score, best_state = ckpt["best_score"], ckpt["best_state"]
        log.info("resuming from %s after epoch %d (best val VAMP-2 %.4f)", checkpoint, len(rows), best_score)
        if len(rows) >= epochs:
            log.info("checkpoint already holds %d epochs (asked for %d); nothing to train", len(rows), epochs)

    log.info("training %s on %s: %d training pairs, %d validation pairs, lag %d frames, "
             "%d epochs x %d steps x %d pairs", _model_kind(model), device, train_starts.size, val_starts.size,
             lag, epochs, steps_per_epoch, batch_size)

    def draw() -> np.ndarray:
        s = train_starts[rng.integers(0, train_starts.size, batch_size)]
        return np.concatenate([s, s + lag])

    # One reader thread prepares the next batch while the current step computes.
    with ThreadPoolExecutor(max_workers=1) as reader:
        for epoch in range(len(rows) + 1, epochs + 1):
            t0 = time.perf_counter()
            model.train()
            score_sum, n_ok = 0.0, 0
            pending = reader.submit(data.batch, draw())
            for step in range(steps_per_epoch):
                inputs = pending.result()
                if step + 1 < steps_per_epoch:
                    pending = reader.submit(data.batch, draw())
                out = model(*_to_device(inputs, device))
                k = out.shape[-1]
                score = vamp2_score(out[:batch_size].reshape(-1, k), out[batch_size:].reshape(-1, k), epsilon)
                optimizer.zero_grad(set_to_none=True)
                (-score).backward()
                # A batch with (near-)degenerate covariance eigenvalues can give an infinite
                # eigh gradient; one such step would poison Adam's moments, so skip it.
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
                if torch.isfinite(score) and torch.isfinite(grad_norm):
                    optimizer.step()
                    score_sum += float(score.detach())
                    n_ok += 1
            if n_ok < steps_per_epoch:
                log.warning("epoch %d: skipped %d of %d steps with a non-finite score or gradient",
                            epoch, steps_per_epoch - n_ok, steps_per_epoch)
            if n_ok == 0:
                raise RuntimeError(
                    f"every training step of epoch {epoch} gave a non-finite VAMP-2 score or gradient: "
                    f"lower lr (now {lr}), raise epsilon (now {epsilon}) or check the input data for NaN/inf"
                )
            train_score = score_sum / n_ok
            val_score = evaluate(model, data, val_starts, lag, batch_size=batch_size, device=device, epsilon=epsilon)
            if val_score > best_score:
                best_score, best_state = val_score, _cpu_state(model)
            seconds = time.perf_counter() - t0
            rows.append(dict(epoch=epoch, train_vamp2=train_score, val_vamp2=val_score, seconds=seconds))
            with io.atomic_path(checkpoint) as tmp:
                torch.save(
                    dict(
                        format=CHECKPOINT_FORMAT,
                        fingerprint=fingerprint,
                        model=_cpu_state(model),
                        optimizer=optimizer.state_dict(),
                        rng=_rng_state(rng),
                        metrics=rows,
                        best_score=best_score,
                        best_state=best_state,
                    ),
                    tmp,
                )
            log.info("epoch %d/%d  train VAMP-2 %.4f  val VAMP-2 %.4f  (best %.4f)  %.1f s",
                     epoch, epochs, train_score, val_score, best_score, seconds)

    model.load_state_dict(best_state)
    return pd.DataFrame(rows, columns=["epoch", "train_vamp2", "val_vamp2", "seconds"])


# --------------------------------------------------------------------- predict


def predict(model, data, ranges, *, batch_size: int = 4096, device="auto", out=None, log=None) -> np.ndarray:
    """State probabilities of every frame of `ranges`, concatenated in range order.

    Returns (sum of range lengths, n, k) float32. `out` may be a preallocated array
    (e.g. a np.memmap) of that shape to fill instead.
    """
    frames = _range_frames(_check_ranges(ranges, len(data)))
    return predict_frames(model, data, frames, batch_size=batch_size, device=device, out=out, log=log)


@torch.no_grad()
def predict_frames(model, data, frames, *, batch_size: int = 4096, device="auto", out=None,
                   log=None) -> np.ndarray:
    """State probabilities (len(frames), n, k) float32 of the given frame indices, in order.

    The model runs in eval mode on `device` (moved there), `batch_size` frames at a time.
    """
    log = log or logs.get()
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    frames = _check_frames(frames, len(data))
    total = len(frames)
    if total == 0:
        raise ValueError("no frames to predict")
    device = resolve_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    next_report, t0 = 0.1, time.perf_counter()
    try:
        for done in range(0, total, batch_size):
            chunk = model(*_to_device(data.batch(frames[done:done + batch_size]), device))
            chunk = chunk.float().cpu().numpy()
            if out is None:
                out = np.empty((total,) + chunk.shape[1:], dtype=np.float32)
                log.info("predicting %d frames on %s", total, device)
            elif out.shape != (total,) + chunk.shape[1:]:
                raise ValueError(f"out has shape {out.shape}, need {(total,) + chunk.shape[1:]}")
            out[done:done + len(chunk)] = chunk
            finished = done + len(chunk)
            if finished >= next_report * total and total > 10 * batch_size:
                rate = finished / (time.perf_counter() - t0)
                log.info("predicted %d/%d frames (%.0f%%, %.0f frames/s)", finished, total,
                         100 * finished / total, rate)
                next_report = np.floor(10 * finished / total) / 10 + 0.1
    finally:
        model.train(was_training)
    return out


def state_corners(model, data, ranges, *, max_frames: int = 50_000, seed: int = 0,
                  device="auto", log=None) -> np.ndarray:
    """The simplex corners (k, k) of the model's states on a sample of `ranges` frames.

    VAMP-2 leaves the scale of the soft states free (see gdynet.learn.simplex); predictions
    mapped with these corners are crisp, with state 0 the most populated.
    """
    log = log or logs.get()
    frames = _range_frames(_check_ranges(ranges, len(data)))
    sample = np.sort(np.random.default_rng(seed).choice(
        frames, size=min(max_frames, frames.size), replace=False))
    chi = predict_frames(model, data, sample, device=device, log=log)
    corners = simplex.corners(chi.reshape(-1, chi.shape[-1]))
    log.info("state corners on the simplex (rows: learned states):\n%s", np.round(corners, 3))
    return corners


# --------------------------------------------------------------------- model files


def save_model(path, model: torch.nn.Module, meta: dict | None = None) -> None:
    """Write the model (class, constructor arguments, weights) and `meta` atomically with torch.save.

    meta: JSON-like facts to keep with the model (lag, frame interval, metrics...);
    numpy values are converted to plain Python.
    """
    payload = dict(
        format=MODEL_FORMAT,
        kind=_model_kind(model),
        init=_plain(model.init_kwargs),
        state_dict=_cpu_state(model),
        meta=_plain(meta or {}),
    )
    with io.atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path, device="cpu") -> torch.nn.Module:
    """Rebuild a model written by `save_model`, in eval mode on `device`; its meta dict is `model.meta`."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT or payload.get("kind") not in MODELS:
        raise ValueError(f"{path} is not a model file written by gdynet.learn.training.save_model")
    model = MODELS[payload["kind"]](**payload["init"])
    model.load_state_dict(payload["state_dict"])
    model.to(resolve_device(device)).eval()
    model.meta = payload["meta"]
    return model


__all__ = [
    "GraphFrames",
    "FeatureFrames",
    "feature_mean_std",
    "lagged_pairs",
    "resolve_device",
    "evaluate",
    "fit",
    "predict",
    "predict_frames",
    "state_corners",
    "save_model",
    "load_model",
]
