"""Training and prediction: minimise -VAMP-2 over time-lagged frame pairs (Eq. 5).

`fit` returns one record of what was learned, a `TrainedModel`: the network, the
simplex corners of its states, the lag, the settings and a fingerprint of the
inputs. Its `predict` gives the final, simplex-mapped state probabilities χ, and it is
saved and loaded whole (`save_model`, `load_model`), so no caller assembles a model
by hand.

The loop does not care which network it trains: a data object turns global frame
numbers into the tensors the model takes (`GraphFrames` for GDyNet, `FeatureFrames`
for the vanilla VAMPnet), and `model(*data.batch(frames))` returns state
probabilities (B, n, k). Frames are addressed by global index into the
(memory-mapped) stores; a trajectory piece is a half-open frame range (start, stop),
and a lagged pair (t, t + lag) never crosses a range boundary.

Memory is bounded by a budget, never by the trajectory length (`gdynet.learn.memory`):
training steps hold as many frame pairs as `batch_pairs` target pairs need, capped by
the budget; validation, calibration and prediction stream chunks that fit it.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gdynet import io, logs
from gdynet.data.splits import frames_of
from gdynet.learn import distributed, memory, simplex
from gdynet.learn.model import MODELS
from gdynet.learn.vamp import CovarianceAccumulator, vamp2_score

CHECKPOINT_FORMAT = 2
MODEL_FORMAT = 2


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

    Either a graph store (`gdynet.data.store.Graphs`, read with plain reads, so memory stays
    the size of a batch), or two arrays nbr_idx (F, N, M) integer neighbour atom indices and
    nbr_dist (F, N, M) distances in Å (ndarray or np.memmap; tests and small systems).
    batch(frames (B,)) -> (nbr_idx (B, N, M) int32, nbr_dist (B, N, M) float32) CPU tensors.
    """

    def __init__(self, graphs, nbr_dist=None):
        if nbr_dist is None:  # a graph store
            self._read = graphs.read
            self._n_frames, self.n_atoms, self.n_neighbors = graphs.n_frames, graphs.n_atoms, graphs.n_neighbors
            return
        nbr_idx = graphs
        if len(nbr_idx.shape) != 3 or tuple(nbr_idx.shape) != tuple(nbr_dist.shape):
            raise ValueError(
                f"nbr_idx and nbr_dist must both be (F, N, M); got {tuple(nbr_idx.shape)} and {tuple(nbr_dist.shape)}"
            )
        if not np.issubdtype(nbr_idx.dtype, np.integer):
            raise ValueError(f"nbr_idx must hold integers, got dtype {nbr_idx.dtype}")
        self._read = lambda frames: (_read_rows(nbr_idx, frames), _read_rows(nbr_dist, frames))
        self._n_frames, self.n_atoms, self.n_neighbors = nbr_idx.shape

    def __len__(self) -> int:
        return self._n_frames

    def batch(self, frames) -> tuple[torch.Tensor, torch.Tensor]:
        frames = _check_frames(frames, len(self))
        idx, dist = self._read(frames)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_atoms):
            raise ValueError(
                f"nbr_idx holds atom indices in [{idx.min()}, {idx.max()}], outside 0..{self.n_atoms - 1}: "
                "the graph files are corrupt or were built for another system"
            )
        return (
            torch.from_numpy(np.ascontiguousarray(idx, dtype=np.int32)),
            torch.from_numpy(np.ascontiguousarray(dist, dtype=np.float32)),
        )


class FeatureFrames:
    """Flat per-frame feature vectors for the vanilla VAMPnet.

    features: (F, D) array (e.g. flattened coordinates in Å), memmap welcome.
    batch(frames (B,)) -> (features (B, D) float32,) CPU tensor.
    """

    n_neighbors = 0

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


def lagged_pairs(ranges, lag: int) -> np.ndarray:
    """Start frames t (int64, in range order) of all pairs (t, t + lag) inside one half-open range.

    ranges: iterable of (start, stop) global frame intervals; lag in frames (>= 1).
    """
    if int(lag) != lag or lag < 1:
        raise ValueError(f"lag must be a positive whole number of frames, got {lag}")
    lag = int(lag)
    return frames_of([(a, b - lag) for a, b in _check_ranges(ranges) if b - a > lag])


def input_fingerprint(*paths) -> str:
    """A cheap fingerprint of input files: size, mtime and sampled bytes of each.

    Reads at most 3 × 64 KiB per file (start, middle, end), so it costs nothing next
    to training, yet any rewrite of a store (new data of the same shape, other graph
    settings) changes it: a rewritten file has a new mtime.
    """
    h = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        stat = Path(path).stat()
        h.update(f"{Path(path).name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        with open(path, "rb") as f:
            for offset in (0, stat.st_size // 2, max(stat.st_size - 65536, 0)):
                f.seek(offset)
                h.update(f.read(65536))
    return h.hexdigest()[:16]


# --------------------------------------------------------------------- settings


@dataclass(frozen=True)
class TrainSettings:
    """What defines a training run besides the network and the data.

    epochs, steps_per_epoch: the length of the run; batch_pairs: time-lagged target pairs
    per step (capped by the memory budget; see `gdynet.learn.memory`); learning_rate:
    Adam's; seed: batches and initial weights; memory_budget_gb: working memory of a
    step or an inference chunk, GiB; val_pairs: target pairs of the fixed validation
    sample; precision: "float32" or "bf16" (autocast of the network on CUDA; the VAMP-2
    covariances and their eigenproblem stay in float64); epsilon: VAMP-2's eigenvalue
    cut-off.
    """

    epochs: int
    steps_per_epoch: int
    batch_pairs: int
    learning_rate: float
    seed: int
    memory_budget_gb: float = 4.0
    val_pairs: int = 20_000
    precision: str = "float32"
    epsilon: float = 1e-6

    def __post_init__(self):
        for name in ("epochs", "steps_per_epoch", "batch_pairs", "val_pairs"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if self.batch_pairs < 2:
            raise ValueError("batch_pairs must be >= 2 (a covariance needs two samples)")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not self.memory_budget_gb > 0:
            raise ValueError(f"memory_budget_gb must be positive, got {self.memory_budget_gb}")
        if self.precision not in ("float32", "bf16"):
            raise ValueError(f"precision must be 'float32' or 'bf16', got {self.precision!r}")

    @property
    def budget_bytes(self) -> float:
        return self.memory_budget_gb * 2**30


# --------------------------------------------------------------------- the record


@dataclass
class TrainedModel:
    """What `fit` learned, saved and loaded whole.

    net: the network (best on validation VAMP-2), in eval mode.
    corners: (k, k) simplex corners of its states (`gdynet.learn.simplex`): `predict`
        maps the raw softmax through them, so state 0 is the most populated.
    lag_frames, frame_interval_ps: the lag τ it was trained at (τ = lag_frames × interval).
    settings: the TrainSettings; fingerprint: the run's identity (network, inputs,
        ranges, settings); metrics: one row per epoch (epoch, train_vamp2, val_vamp2,
        seconds); frame_pairs: the frame pairs of every training step (after the cap).
    """

    net: torch.nn.Module
    corners: np.ndarray
    lag_frames: int
    frame_interval_ps: float
    settings: TrainSettings
    fingerprint: str
    metrics: pd.DataFrame
    frame_pairs: int
    meta: dict = field(default_factory=dict)

    @property
    def lag_ps(self) -> float:
        return self.lag_frames * self.frame_interval_ps

    @property
    def n_states(self) -> int:
        return int(self.corners.shape[0])

    def predict(self, data, frames, *, device="auto", log=None) -> np.ndarray:
        """State probabilities χ (len(frames), n, k) float32 of the given frames, on the simplex."""
        raw = predict_frames(self.net, data, frames, budget_bytes=self.settings.budget_bytes,
                             device=device, log=log)
        return simplex.to_simplex(raw, self.corners)


# --------------------------------------------------------------------- helpers


def resolve_device(device="auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else goes to torch.device."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to_device(tensors, device: torch.device) -> tuple[torch.Tensor, ...]:
    if device.type == "cuda":  # page-locked host memory makes the copy asynchronous
        return tuple(t.pin_memory().to(device, non_blocking=True) for t in tensors)
    return tuple(t.to(device) for t in tensors)


def _autocast(device: torch.device, precision: str):
    enabled = precision == "bf16" and device.type == "cuda"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def _model_kind(model: torch.nn.Module) -> str:
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ValueError(f"unsupported model type {type(model).__name__}; expected one of {sorted(MODELS)}")


def _plain(obj):
    """A copy of `obj` made of JSON types only (numpy scalars/arrays converted)."""
    return json.loads(json.dumps(obj, default=lambda x: x.tolist() if hasattr(x, "tolist") else str(x)))


def _digest(spec: dict) -> str:
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


def _load_checkpoint(path, fingerprint: str, epochs: int, log):
    """The checkpoint dict when `path` holds a resumable checkpoint of this run, else None.

    Resumable: same fingerprint (network, inputs, ranges, settings but the length) and
    no more epochs than asked. Anything else starts over, and says why.
    """
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
        log.info("checkpoint %s belongs to another run (fingerprint %s, this run %s: other inputs, "
                 "graphs or settings); starting over", path, ckpt.get("fingerprint"), fingerprint)
        return None
    if len(ckpt["metrics"]) > epochs:
        log.info("checkpoint %s holds %d epochs, more than the %d asked for; starting over",
                 path, len(ckpt["metrics"]), epochs)
        return None
    return ckpt


# --------------------------------------------------------------------- evaluation


@torch.no_grad()
def _covariances(model, data, starts: np.ndarray, lag: int, *, chunk_frames: int, device,
                 precision: str = "float32") -> CovarianceAccumulator:
    """Mean-free covariances of the model's states over the pairs (t, t + lag), t in `starts`.

    Streams chunks of at most `chunk_frames` frames (both ends of each pair); eval mode.
    In a process group every rank takes its share of `starts` and the sums are pooled.
    """
    rank, size = distributed.rank_and_size()
    mine = distributed.shard(starts, rank, size)
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    acc = CovarianceAccumulator()
    per_chunk = max(1, chunk_frames // 2)
    try:
        for a in range(0, len(mine), per_chunk):
            s = mine[a : a + per_chunk]
            with _autocast(device, precision):
                out = model(*_to_device(data.batch(np.concatenate([s, s + lag])), device))
            k = out.shape[-1]
            acc.add(out[: len(s)].reshape(-1, k), out[len(s) :].reshape(-1, k))
    finally:
        model.train(was_training)
    return acc.summed_over(distributed.sum_over_ranks) if size > 1 else acc


def evaluate(model, data, starts: np.ndarray, lag: int, *, chunk_frames: int, device,
             epsilon: float = 1e-6, precision: str = "float32") -> float:
    """VAMP-2 of the model over the pairs (t, t + lag), t in `starts`, streamed (eval mode)."""
    return _covariances(model, data, starts, lag, chunk_frames=chunk_frames, device=device,
                        precision=precision).score(epsilon)


# --------------------------------------------------------------------- fit


def fit(
    model: torch.nn.Module,
    data,
    *,
    train_ranges,
    val_ranges,
    lag: int,
    frame_interval_ps: float,
    settings: TrainSettings,
    checkpoint,
    inputs: str = "",
    device="auto",
    log=None,
) -> TrainedModel:
    """Train `model` by maximising the VAMP-2 score of lagged frame pairs (Eq. 5); Adam.

    data: GraphFrames / FeatureFrames (anything with __len__, n_neighbors and batch(frames)).
    train_ranges, val_ranges: half-open (start, stop) frame ranges; pairs never cross them.
    lag: τ in frames; frame_interval_ps: ps per frame (recorded with the model).
    settings: epochs, steps, batch, learning rate, seed, memory budget (TrainSettings).
    Each step draws frame pairs (with replacement) from the training ranges, as many as
        `settings.batch_pairs` target pairs need but no more than the memory budget
        holds (`gdynet.learn.memory.plan_batches`, logged), runs the model on both
        frames of every pair, flattens (B, n, k) -> (B·n, k) and takes one Adam step on
        -VAMP-2: one score over all targets and pairs of the batch.
    After every epoch: validation VAMP-2 (eval mode, streamed) on a fixed seeded sample
        of at most `settings.val_pairs` target pairs, a log line, and a checkpoint
        written atomically to `checkpoint` (model, optimizer, RNG states, metrics, best
        weights and the run's fingerprint).
    Resuming: a checkpoint with the same fingerprint (network, `inputs` — a fingerprint
        of the input files, see `input_fingerprint` —, ranges, lag and settings but
        `epochs`) and at most `epochs` epochs is continued after its last epoch, with
        the RNG states it saved, so a killed and resumed run gives the same model as an
        uninterrupted one. Anything else starts over; the log says why. The caller
        removes the checkpoint once the model is saved, so that a forced rerun starts
        afresh.
    Initial weights are the caller's: seed the model's construction (torch.manual_seed)
        for a reproducible run.
    Finally the states are calibrated (simplex corners on a sample of training frames).
    """
    log = log or logs.get()
    train_ranges = _check_ranges(train_ranges, len(data))
    val_ranges = _check_ranges(val_ranges, len(data))
    train_starts = lagged_pairs(train_ranges, lag)
    val_starts = lagged_pairs(val_ranges, lag)
    if train_starts.size == 0:
        raise ValueError(f"no training pairs: every training range is shorter than lag + 1 = {lag + 1} frames")
    n_targets = _n_targets(model)
    if val_starts.size * n_targets < 2:
        raise ValueError(f"need >= 2 validation target pairs, found {val_starts.size * n_targets}: "
                         f"validation ranges too short for lag {lag}")

    device = resolve_device(device)
    rank, size = distributed.rank_and_size()
    plan = memory.plan_batches(model, data.n_neighbors, n_targets, settings.batch_pairs,
                               settings.budget_bytes * size)  # the budget is per process
    pairs = plan.frame_pairs
    run = {k: v for k, v in asdict(settings).items() if k != "epochs"}
    fingerprint = _digest(dict(model=_model_kind(model), init=model.init_kwargs,
                               shapes={k: list(v.shape) for k, v in model.state_dict().items()},
                               inputs=inputs, n_frames=len(data), data=type(data).__name__,
                               train_ranges=train_ranges, val_ranges=val_ranges, lag=int(lag),
                               settings=run))

    # Fixed validation sample, independent of the training draws.
    val_rng = np.random.default_rng([int(settings.seed), 1])
    n_val = min(val_starts.size, -(-settings.val_pairs // n_targets))
    if n_val < val_starts.size:
        val_starts = np.sort(val_rng.choice(val_starts, n_val, replace=False))

    torch.manual_seed(int(settings.seed))
    rng = np.random.default_rng(int(settings.seed))  # the same stream on every rank
    model.to(device)
    net = model
    if size > 1:  # every rank keeps its share of each global batch (gdynet.learn.distributed)
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if val_starts.size < size:
            raise ValueError(f"{val_starts.size} validation frame pairs cannot be shared by {size} processes")
    reduce = distributed.sum_over_ranks if size > 1 else None
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    rows: list[dict] = []
    best_score, best_state = -np.inf, _cpu_state(model)

    ckpt = _load_checkpoint(checkpoint, fingerprint, settings.epochs, log)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        _set_rng_state(rng, ckpt["rng"])
        rows = list(ckpt["metrics"])
        best_score, best_state = ckpt["best_score"], ckpt["best_state"]
        log.info("resuming from %s after epoch %d (best val VAMP-2 %.4f)", checkpoint, len(rows), best_score)

    log.info("training %s on %s%s: %d training and %d validation frame pairs (x %d targets), lag %d "
             "frames, %d epochs x %d steps x %d frame pairs (%d target pairs; %.2f GiB per step%s)",
             _model_kind(model), device, f" in {size} processes (DDP)" if size > 1 else "",
             train_starts.size, val_starts.size, n_targets, lag,
             settings.epochs, settings.steps_per_epoch, pairs, plan.target_pairs,
             plan.step_bytes / 2**30,
             f", capped by the {settings.memory_budget_gb:g} GiB budget from "
             f"{settings.batch_pairs} target pairs" if plan.capped else "")

    def draw() -> np.ndarray:
        s = distributed.shard(train_starts[rng.integers(0, train_starts.size, pairs)], rank, size)
        return np.concatenate([s, s + lag])

    # One reader thread prepares the next batch while the current step computes.
    with ThreadPoolExecutor(max_workers=1) as reader:
        for epoch in range(len(rows) + 1, settings.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            score_sum, n_ok = 0.0, 0
            pending = reader.submit(data.batch, draw())
            for step in range(settings.steps_per_epoch):
                inputs_now = pending.result()
                if step + 1 < settings.steps_per_epoch:
                    pending = reader.submit(data.batch, draw())
                with _autocast(device, settings.precision):
                    out = net(*_to_device(inputs_now, device))
                k, half = out.shape[-1], out.shape[0] // 2
                score = vamp2_score(out[:half].reshape(-1, k), out[half:].reshape(-1, k), settings.epsilon,
                                    reduce=reduce)
                optimizer.zero_grad(set_to_none=True)
                (-score).backward()
                # A batch with (near-)degenerate covariance eigenvalues can give an infinite
                # eigh gradient; one such step would poison Adam's moments, so skip it.
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), float("inf"))
                if torch.isfinite(score) and torch.isfinite(grad_norm):
                    optimizer.step()
                    score_sum += float(score.detach())
                    n_ok += 1
            if n_ok < settings.steps_per_epoch:
                log.warning("epoch %d: skipped %d of %d steps with a non-finite score or gradient",
                            epoch, settings.steps_per_epoch - n_ok, settings.steps_per_epoch)
            if n_ok == 0:
                raise RuntimeError(
                    f"every training step of epoch {epoch} gave a non-finite VAMP-2 score or gradient: "
                    f"lower the learning rate (now {settings.learning_rate}) or check the input data "
                    "for NaN/inf")
            train_score = score_sum / n_ok
            val_score = evaluate(model, data, val_starts, lag, chunk_frames=plan.chunk_frames,
                                 device=device, epsilon=settings.epsilon, precision=settings.precision)
            if val_score > best_score:
                best_score, best_state = val_score, _cpu_state(model)
            seconds = time.perf_counter() - t0
            rows.append(dict(epoch=epoch, train_vamp2=train_score, val_vamp2=val_score, seconds=seconds))
            if rank == 0:
                with io.atomic_path(checkpoint) as tmp:
                    torch.save(dict(format=CHECKPOINT_FORMAT, fingerprint=fingerprint,
                                    model=_cpu_state(model), optimizer=optimizer.state_dict(),
                                    rng=_rng_state(rng), metrics=rows, best_score=best_score,
                                    best_state=best_state), tmp)
            log.info("epoch %d/%d  train VAMP-2 %.4f  val VAMP-2 %.4f  (best %.4f)  %.1f s",
                     epoch, settings.epochs, train_score, val_score, best_score, seconds)

    model.load_state_dict(best_state)
    model.eval()
    corners = state_corners(model, data, train_ranges, seed=settings.seed,
                            budget_bytes=settings.budget_bytes, device=device, log=log)
    metrics = pd.DataFrame(rows, columns=["epoch", "train_vamp2", "val_vamp2", "seconds"])
    return TrainedModel(net=model, corners=corners, lag_frames=int(lag),
                        frame_interval_ps=float(frame_interval_ps), settings=settings,
                        fingerprint=fingerprint, metrics=metrics, frame_pairs=pairs)


def _n_targets(model) -> int:
    return int(model.target_index.shape[0]) if hasattr(model, "target_index") else 1


# --------------------------------------------------------------------- predict


@torch.no_grad()
def predict_frames(model, data, frames, *, budget_bytes: float = 4 * 2**30, device="auto",
                   out=None, log=None, precision: str = "float32") -> np.ndarray:
    """Raw state probabilities (len(frames), n, k) float32 of the given frames, in order.

    The model runs in eval mode on `device` (moved there), in chunks of as many frames
    as fit `budget_bytes` (`gdynet.learn.memory.chunk_frames`), so memory stays flat in
    the number of frames. `out` may be a preallocated array (e.g. a np.memmap) to fill.
    """
    log = log or logs.get()
    frames = _check_frames(frames, len(data))
    total = len(frames)
    if total == 0:
        raise ValueError("no frames to predict")
    chunk = memory.chunk_frames(model, data.n_neighbors, budget_bytes)
    device = resolve_device(device)
    model.to(device)
    was_training = model.training
    model.eval()
    next_report, t0 = 0.1, time.perf_counter()
    try:
        for done in range(0, total, chunk):
            with _autocast(device, precision):
                part = model(*_to_device(data.batch(frames[done:done + chunk]), device))
            part = part.float().cpu().numpy()
            if out is None:
                out = np.empty((total,) + part.shape[1:], dtype=np.float32)
                log.info("predicting %d frames on %s, %d frames at a time", total, device, chunk)
            elif out.shape != (total,) + part.shape[1:]:
                raise ValueError(f"out has shape {out.shape}, need {(total,) + part.shape[1:]}")
            out[done:done + len(part)] = part
            finished = done + len(part)
            if finished >= next_report * total and total > 10 * chunk:
                rate = finished / (time.perf_counter() - t0)
                log.info("predicted %d/%d frames (%.0f%%, %.0f frames/s)", finished, total,
                         100 * finished / total, rate)
                next_report = np.floor(10 * finished / total) / 10 + 0.1
    finally:
        model.train(was_training)
    return out


def predict(trained: TrainedModel, data, ranges, *, device="auto", log=None) -> np.ndarray:
    """χ on the simplex of every frame of `ranges`, concatenated in range order: (F, n, k)."""
    return trained.predict(data, frames_of(_check_ranges(ranges, len(data))), device=device, log=log)


def state_corners(model, data, ranges, *, max_rows: int = 50_000, seed: int = 0,
                  budget_bytes: float = 4 * 2**30, device="auto", log=None) -> np.ndarray:
    """The simplex corners (k, k) of the model's states on a sample of `ranges` frames.

    The sample holds about `max_rows` (frame, target) rows, streamed. VAMP-2 leaves the
    scale of the soft states free (see gdynet.learn.simplex); predictions mapped with
    these corners are crisp, with state 0 the most populated.
    """
    log = log or logs.get()
    frames = frames_of(_check_ranges(ranges, len(data)))
    n_frames = min(frames.size, max(1, -(-max_rows // _n_targets(model))))
    sample = np.sort(np.random.default_rng(seed).choice(frames, size=n_frames, replace=False))
    chi = predict_frames(model, data, sample, budget_bytes=budget_bytes, device=device, log=log)
    corners = simplex.corners(chi.reshape(-1, chi.shape[-1]))
    log.info("state corners on the simplex (rows: learned states):\n%s", np.round(corners, 3))
    return corners


# --------------------------------------------------------------------- model files


def save_model(path, trained: TrainedModel) -> None:
    """Write a TrainedModel atomically (torch.save of plain types and the weights)."""
    payload = dict(
        format=MODEL_FORMAT,
        kind=_model_kind(trained.net),
        init=_plain(trained.net.init_kwargs),
        state_dict=_cpu_state(trained.net),
        corners=np.asarray(trained.corners, dtype=np.float64).tolist(),
        lag_frames=int(trained.lag_frames),
        frame_interval_ps=float(trained.frame_interval_ps),
        settings=asdict(trained.settings),
        fingerprint=trained.fingerprint,
        metrics=trained.metrics.to_dict(orient="list"),
        frame_pairs=int(trained.frame_pairs),
        meta=_plain(trained.meta),
    )
    with io.atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model(path, device="cpu") -> TrainedModel:
    """Read a TrainedModel written by `save_model`; the network in eval mode on `device`."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT or payload.get("kind") not in MODELS:
        raise ValueError(f"{path} is not a model file of this version of gdynet "
                         "(gdynet.learn.training.save_model); train it again")
    net = MODELS[payload["kind"]](**payload["init"])
    net.load_state_dict(payload["state_dict"])
    net.to(resolve_device(device)).eval()
    return TrainedModel(net=net, corners=np.asarray(payload["corners"]),
                        lag_frames=payload["lag_frames"], frame_interval_ps=payload["frame_interval_ps"],
                        settings=TrainSettings(**payload["settings"]), fingerprint=payload["fingerprint"],
                        metrics=pd.DataFrame(payload["metrics"]), frame_pairs=payload["frame_pairs"],
                        meta=payload["meta"])
