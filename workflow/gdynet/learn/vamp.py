"""The VAMP-2 score (Eq. 5): the training objective and the validation metric.

For instantaneous features x_t and time-lagged features y_t = x_{t+τ}, both (T, k),

    C00 = cov(x, x),  C01 = cov(x, y),  C11 = cov(y, y)      (mean-free, 1/(T-1))
    K̃   = C00^{-1/2} C01 C11^{-1/2}
    VAMP-2 = 1 + ||K̃||_F^2

The +1 is the constant singular function that the mean removal takes out; it
makes the score comparable with deeptime's (``deeptime.decomposition.deep.vamp_score``),
the reference implementation the tests compare against.

Softmax features sum to one, so their mean-free covariances are singular. The
inverse square roots therefore keep only eigenvalues above `epsilon` (deeptime's
``mode='trunc'``): the dropped direction is the constant function, which the +1
already counts. `epsilon` is absolute, on the scale of the covariances
(probabilities in [0, 1]: variances up to 0.25).

One torch implementation serves training (`vamp2_score`, differentiable), numpy
callers (`vamp2_score_np`, `lagged_score_np`) and data streamed in batches
(`CovarianceAccumulator` + `vamp2_from_covariances`).
"""

from __future__ import annotations

import numpy as np
import torch


def covariances(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean-free covariances C00, C01, C11 (k, k) of x, y (T, k), normalised by 1/(T-1)."""
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(
            f"VAMP-2 needs 2-D features (T, k); got shapes {tuple(x.shape)} and {tuple(y.shape)}. "
            "Flatten (T, n, k) state probabilities to (T*n, k) first."
        )
    if x.shape != y.shape:
        raise ValueError(
            f"instantaneous and time-lagged features differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}"
        )
    if x.shape[0] < 2:
        raise ValueError(f"VAMP-2 needs at least 2 frame pairs, got {x.shape[0]}")
    x = x - x.mean(dim=0, keepdim=True)
    y = y - y.mean(dim=0, keepdim=True)
    norm = 1.0 / (x.shape[0] - 1)
    return norm * x.T @ x, norm * x.T @ y, norm * y.T @ y


def _inv_sqrt(c: torch.Tensor, epsilon: float) -> torch.Tensor:
    """C^{-1/2} on the eigenspace with eigenvalues > epsilon (truncated pseudo-inverse)."""
    # Symmetrise: roundoff asymmetry would otherwise leak into eigh's gradient.
    eigval, eigvec = torch.linalg.eigh(0.5 * (c + c.T))
    keep = eigval > epsilon
    eigval, eigvec = eigval[keep], eigvec[:, keep]
    return (eigvec * eigval.rsqrt()) @ eigvec.T


def _score(c00, c01, c11, epsilon: float) -> torch.Tensor:
    k = _inv_sqrt(c00, epsilon) @ c01 @ _inv_sqrt(c11, epsilon)
    return 1.0 + (k * k).sum()


def vamp2_score(x, y, epsilon: float = 1e-6, reduce=None) -> torch.Tensor:
    """Differentiable VAMP-2 score of features x, y (T, k) at one lag time.

    x: features of frames t, y: features of frames t + τ (row i of y follows row i of x).
    Returns a 0-d float64 tensor, 1 <= score <= 1 + rank. numpy arrays are accepted.

    The covariances are formed in float64 whatever the input dtype (they are only
    (k, k); float32 eigh of a matrix with a zero eigenvalue is noisy enough to
    disturb the gradient). The gradient flows back in the input dtype.

    reduce: for a batch spread over several processes, a differentiable sum over them
    (`gdynet.learn.distributed.sum_over_ranks`): the count and the first and second
    moments of x and y are summed before the covariances are formed, so every process
    gets the score of the whole batch (see gdynet.learn.distributed).
    """
    x, y = torch.as_tensor(x).double(), torch.as_tensor(y).double()
    if reduce is None:
        return _score(*covariances(x, y), epsilon)
    return _score(*_pooled_covariances(x, y, reduce), epsilon)


def _pooled_covariances(x, y, reduce):
    """Mean-free covariances of the pairs of every process, from summed raw moments."""
    k = x.shape[1]
    moments = torch.cat([x.new_tensor([x.shape[0]]), x.sum(0), y.sum(0),
                         (x.T @ x).flatten(), (x.T @ y).flatten(), (y.T @ y).flatten()])
    moments = reduce(moments)
    n, sx, sy = moments[0], moments[1:1 + k], moments[1 + k:1 + 2 * k]
    sxx, sxy, syy = (moments[1 + 2 * k + i * k * k:1 + 2 * k + (i + 1) * k * k].view(k, k) for i in range(3))
    if n < 2:
        raise ValueError(f"VAMP-2 needs at least 2 frame pairs, got {int(n)}")
    norm = 1.0 / (n - 1)
    return (norm * (sxx - torch.outer(sx, sx) / n), norm * (sxy - torch.outer(sx, sy) / n),
            norm * (syy - torch.outer(sy, sy) / n))


def vamp2_score_np(x, y, epsilon: float = 1e-6) -> float:
    """VAMP-2 score of features x, y (T, k) as a float (float64; same definition as `vamp2_score`)."""
    with torch.no_grad():
        return float(vamp2_score(np.asarray(x), np.asarray(y), epsilon))


def vamp2_from_covariances(c00, c01, c11, epsilon: float = 1e-6) -> float:
    """VAMP-2 score from mean-free covariances C00, C01, C11 (k, k) (arrays, float64)."""
    c00, c01, c11 = (torch.as_tensor(np.asarray(c, dtype=np.float64)) for c in (c00, c01, c11))
    if not (c00.shape == c01.shape == c11.shape and c00.ndim == 2 and c00.shape[0] == c00.shape[1]):
        raise ValueError(
            f"covariances must be square and equal in shape, got {tuple(c00.shape)}, {tuple(c01.shape)}, "
            f"{tuple(c11.shape)}"
        )
    return float(_score(c00, c01, c11, epsilon))


def lagged_score_np(chi: np.ndarray, lag: int, epsilon: float = 1e-6) -> float:
    """VAMP-2 of state probabilities chi (T, n, k) of one trajectory at lag `lag` frames.

    All targets' pairs (t, t + lag) are pooled into one score, as in Eq. 5.
    """
    chi = np.asarray(chi)
    if chi.ndim == 2:
        chi = chi[:, None, :]
    if chi.ndim != 3:
        raise ValueError(f"chi must be (T, n, k) or (T, k), got shape {chi.shape}")
    if not 0 < lag < chi.shape[0]:
        raise ValueError(f"lag must be between 1 and T-1 = {chi.shape[0] - 1} frames, got {lag}")
    k = chi.shape[-1]
    return vamp2_score_np(chi[:-lag].reshape(-1, k), chi[lag:].reshape(-1, k), epsilon)


class CovarianceAccumulator:
    """Streams (x, y) batches into the mean-free covariances C00, C01, C11.

    Batches are merged with the pairwise (Chan et al.) update of means and
    co-moments in float64, so the result equals `covariances` on the
    concatenated data up to roundoff, without the cancellation of raw sums.
    Accepts torch tensors (any device; stays there) or numpy arrays.
    """

    def __init__(self) -> None:
        self.n = 0
        self._mean_x = self._mean_y = None
        self._m_xx = self._m_xy = self._m_yy = None

    def add(self, x, y) -> None:
        """Add a batch of pairs: x, y (b, k)."""
        x = torch.as_tensor(x).detach().double()
        y = torch.as_tensor(y).detach().double()
        if x.ndim != 2 or x.shape != y.shape:
            raise ValueError(f"need two (b, k) arrays of equal shape, got {tuple(x.shape)} and {tuple(y.shape)}")
        b = x.shape[0]
        if b == 0:
            return
        mx, my = x.mean(0), y.mean(0)
        dx, dy = x - mx, y - my
        bxx, bxy, byy = dx.T @ dx, dx.T @ dy, dy.T @ dy
        if self.n == 0:
            self._mean_x, self._mean_y = mx, my
            self._m_xx, self._m_xy, self._m_yy = bxx, bxy, byy
            self.n = b
            return
        if mx.shape != self._mean_x.shape:
            raise ValueError(f"feature dimension changed from {self._mean_x.shape[0]} to {mx.shape[0]}")
        n = self.n + b
        ex, ey = mx - self._mean_x, my - self._mean_y
        w = self.n * b / n
        self._m_xx = self._m_xx + bxx + w * torch.outer(ex, ex)
        self._m_xy = self._m_xy + bxy + w * torch.outer(ex, ey)
        self._m_yy = self._m_yy + byy + w * torch.outer(ey, ey)
        self._mean_x = self._mean_x + ex * (b / n)
        self._mean_y = self._mean_y + ey * (b / n)
        self.n = n

    def summed_over(self, reduce) -> "CovarianceAccumulator":
        """The accumulator of every process's pairs: raw moments summed with `reduce`."""
        if self.n == 0:
            raise ValueError("cannot pool an empty accumulator")
        k = self._mean_x.shape[0]
        n = self._mean_x.new_tensor([float(self.n)])
        sx, sy = self._mean_x * self.n, self._mean_y * self.n
        raw = [self._m_xx + torch.outer(sx, sx) / self.n, self._m_xy + torch.outer(sx, sy) / self.n,
               self._m_yy + torch.outer(sy, sy) / self.n]
        moments = reduce(torch.cat([n, sx, sy] + [m.flatten() for m in raw]))
        out = CovarianceAccumulator()
        out.n = int(round(float(moments[0])))
        sx, sy = moments[1:1 + k], moments[1 + k:1 + 2 * k]
        out._mean_x, out._mean_y = sx / out.n, sy / out.n
        sxx, sxy, syy = (moments[1 + 2 * k + i * k * k:1 + 2 * k + (i + 1) * k * k].view(k, k) for i in range(3))
        out._m_xx = sxx - torch.outer(sx, sx) / out.n
        out._m_xy = sxy - torch.outer(sx, sy) / out.n
        out._m_yy = syy - torch.outer(sy, sy) / out.n
        return out

    def covariances(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """C00, C01, C11 (k, k) float64 numpy, normalised by 1/(n-1)."""
        if self.n < 2:
            raise ValueError(f"need at least 2 pairs for covariances, have {self.n}")
        norm = 1.0 / (self.n - 1)
        return tuple(norm * m.cpu().numpy() for m in (self._m_xx, self._m_xy, self._m_yy))

    def score(self, epsilon: float = 1e-6) -> float:
        """VAMP-2 score of all pairs added so far."""
        return vamp2_from_covariances(*self.covariances(), epsilon=epsilon)
