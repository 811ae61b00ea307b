"""Measurements on NumPy copies of a backend's activations, gradients and weights.

Every statistic is computed here, once, with NumPy, so all backends are measured by the same
code. Non-finite values are measured, not errors: statistics of an overflowed layer are inf/NaN
(written as null in the JSON), and the layer index where that first happens is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: A unit is "saturated" when its activation's derivative is below this fraction of the
#: derivative's maximum (tanh: 1 - h^2 < 0.1, i.e. |h| > 0.949; sigmoid: h(1 - h) < 0.025).
SATURATION_DERIVATIVE_FRACTION = 0.1
#: Maximum derivative of each saturating activation (tanh'(0) = 1, sigmoid'(0) = 1/4).
MAX_DERIVATIVE = {"tanh": 1.0, "sigmoid": 0.25}
#: Two units are the same unit when their incoming weight vectors differ by at most this
#: fraction of the layer's largest |weight| (max-norm): 1000 float32 ulps, far below the
#: O(1) relative difference of independent random rows, far above float32 rounding.
DISTINCT_RTOL = 1000 * float(np.finfo(np.float32).eps)
#: Singular values below s_max * max(shape) * eps(float32) count as zero (numpy's matrix_rank
#: rule, with the precision the activations were computed in).
RANK_EPS = float(np.finfo(np.float32).eps)


def saturation_fraction(h: np.ndarray, activation: str) -> float | None:
    """Fraction of saturated units in ``h`` (see :data:`SATURATION_DERIVATIVE_FRACTION`);
    ``None`` for activations that do not saturate (relu, linear)."""
    if activation not in MAX_DERIVATIVE:
        return None
    h = np.asarray(h, dtype=np.float64)
    deriv = 1.0 - h * h if activation == "tanh" else h * (1.0 - h)
    with np.errstate(invalid="ignore"):
        sat = deriv < SATURATION_DERIVATIVE_FRACTION * MAX_DERIVATIVE[activation]
    return float(np.mean(sat)) if h.size else math.nan


def layer_stats(hidden: Sequence[np.ndarray], grads: Sequence[np.ndarray], activation: str) -> dict:
    """Per-layer activation std and RMS, saturated fraction and gradient Frobenius norm.

    ``hidden[l]`` is layer l's post-activation output (batch, units); ``grads[l]`` the gradient
    of the loss with respect to layer l's kernel.
    """
    with np.errstate(all="ignore"):
        h64 = [np.asarray(h, dtype=np.float64) for h in hidden]
        act_std = [float(np.std(h)) for h in h64]
        act_rms = [float(np.sqrt(np.mean(h * h))) for h in h64]
        grad_norm = [float(np.linalg.norm(np.asarray(g, dtype=np.float64))) for g in grads]
    sat = [saturation_fraction(h, activation) for h in hidden]
    bad = [i + 1 for i, h in enumerate(h64) if not np.all(np.isfinite(h))]
    return {
        "act_std": act_std,
        "act_rms": act_rms,
        "saturation": None if sat and sat[0] is None else sat,
        "grad_norm": grad_norm,
        "nonfinite_layer": bad[0] if bad else None,
    }


def distinct_count(vectors: np.ndarray, rtol: float = DISTINCT_RTOL) -> int:
    """Number of distinct columns of ``vectors`` (features x units): units i, j are the same
    when ``max |v_i - v_j| <= rtol * max |v|`` (finite entries); classes are the connected
    components of that relation. A column with a non-finite entry is never "the same" as any
    other (NaN compares false), so it counts as its own unit."""
    v = np.asarray(vectors, dtype=np.float64)
    n = v.shape[1]
    if n == 0:
        return 0
    finite = np.isfinite(v)
    scale = float(np.max(np.abs(v[finite]))) if finite.any() else 0.0
    tol = rtol * scale
    same = np.zeros((n, n), dtype=bool)
    with np.errstate(invalid="ignore"):
        for i in range(n):  # one column at a time: memory features x units
            same[i] = np.max(np.abs(v - v[:, i : i + 1]), axis=0) <= tol
    return _components(same & same.T)


def _components(same: np.ndarray) -> int:
    """Connected components of a symmetric boolean adjacency matrix (union-find)."""
    n = same.shape[0]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(same, 1))):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[ri] = rj
    return len({find(i) for i in range(n)})


def activation_rank(h: np.ndarray) -> int | None:
    """Numerical rank of an activation matrix (samples x units); ``None`` if non-finite."""
    h = np.asarray(h, dtype=np.float64)
    if not np.all(np.isfinite(h)):
        return None
    if h.size == 0:
        return 0
    s = np.linalg.svd(h, compute_uv=False)
    if s[0] == 0.0:
        return 0
    return int(np.sum(s > s[0] * max(h.shape) * RANK_EPS))
