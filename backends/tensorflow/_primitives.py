"""The TensorFlow primitives: :class:`~initspec.backends._core.Primitives` on TF ops, shared by the
native adapter (stateless seed pairs, :mod:`.functions`) and the portable stream (:mod:`.portable`,
which swaps in the Philox RNG). Imports TensorFlow only, never Keras.

Exactness notes (see the package docstring): uniforms never reach ``high``
(``tensorflow/core/lib/random/random_distributions_utils.h::Uint32ToFloat`` draws ``u <= 1 - 2**-23``;
the extreme value of ``u * (high - low) + low`` is checked exactly); the +-2 sigma truncated normal is
TF's rejection sampler (``random_distributions.h::TruncatedNormalDistribution``), other truncations
the inverse CDF (``tf.math.ndtri``) in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from initspec.backends._core import Primitives, compute_dtype
from initspec.constants import VARIANCE_SCALING_TRUNCATION
from initspec.distributions import Plan
from initspec.dtypes import inner_bounds, next_below

from . import _graphs, _host_qr

__all__ = ["BACKEND", "DEFAULT_LAYOUT", "TFBackend", "tf_dtype"]

#: The framework's own layout: Dense ``(in, out)``, Conv ``(*k, in/groups, out)``.
DEFAULT_LAYOUT = "keras"
#: Largest uniform draw of TF's float kernels: 23 (float32) / 52 (float64) random mantissa bits in
#: [1, 2) minus 1 (random_distributions_utils.h::Uint32ToFloat, random_distributions.h::Uint64ToDouble).
_UNIFORM_MAX: dict[str, np.floating[Any]] = {"float32": np.float32(1.0 - 2.0**-23), "float64": np.float64(1.0 - 2.0**-52)}
_NP_REAL: dict[str, type[np.floating[Any]]] = {"float32": np.float32, "float64": np.float64}
#: |a + 2|, |b - 2| below this (float64 rounding of the spec's own (low - mean) / std) count as the
#: standard +-2 sigma truncation that TF's stateless_truncated_normal samples.
_STANDARD_TRUNCATION_SLACK = 8 * 2.0**-52 * VARIANCE_SCALING_TRUNCATION


# --------------------------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------------------------
def tf_dtype(dtype: str) -> tf.DType:
    """The ``tf.DType`` of a spec dtype name."""
    return tf.as_dtype(dtype)


def _largest_at_most(x: float, dtype: str) -> float:
    """Largest value representable in ``dtype`` that is <= ``x``."""
    if x == 0:
        return 0.0
    below = next_below(x, dtype)
    return x if -next_below(-below, dtype) == x else below


def _closed_inner(lo: float, hi: float, dtype: str) -> tuple[float, float]:
    """Largest ``[lo', hi'] subset of [lo, hi]`` whose ends are representable in ``dtype``
    (clamping to these never moves a value outside ``[lo, hi]`` through rounding)."""
    return -_largest_at_most(-lo, dtype), _largest_at_most(hi, dtype)


def _is_standard_truncation(a: float, b: float) -> bool:
    """Whether (a, b) is the +-2 sigma interval of ``tf.random.stateless_truncated_normal``."""
    k = VARIANCE_SCALING_TRUNCATION
    return abs(a + k) <= _STANDARD_TRUNCATION_SLACK and abs(b - k) <= _STANDARD_TRUNCATION_SLACK


def _affine_extremes(zmax: float, scale: float, shift: float, dtype: str) -> tuple[float, float]:
    """Exact ``(fl(fl(-zmax * scale) + shift), fl(fl(zmax * scale) + shift))`` in ``dtype``: the
    extreme outputs of TF's ``rnd * scale + shift`` (two separate kernels, IEEE rounding, monotone)
    for draws ``|rnd| <= zmax``."""
    t = _NP_REAL[dtype]
    z, s, m = t(zmax), t(scale), t(shift)
    return float(t(-z * s) + m), float(t(z * s) + m)


# --------------------------------------------------------------------------------------------
# the primitives
# --------------------------------------------------------------------------------------------
def scalar(value: Any, dtype: str) -> tf.Tensor:
    """A scalar constant of ``dtype``. Through NumPy: eager ``tf.constant`` caches Python scalars
    by ``==``, so ``tf.constant(-0.0)`` after ``tf.constant(0.0)`` would return +0.0."""
    t = tf_dtype(dtype)
    return tf.constant(np.asarray(value, dtype=t.as_numpy_dtype), dtype=t)


class TFBackend(Primitives):
    """:class:`~initspec.backends._core.Primitives` on TensorFlow ops. ``rng`` is a stateless seed
    pair (int tensor of shape [2]); ``split`` derives new pairs with ``stateless_split``."""

    name = "tensorflow"
    capabilities = frozenset({"complex", "float16", "bfloat16", "float64", "cpu", "gpu"})

    # RNG ------------------------------------------------------------------------------------
    def split(self, rng: tf.Tensor, n: int) -> list[tf.Tensor]:
        return tf.unstack(tf.random.experimental.stateless_split(rng, num=n))

    def normal(self, rng: tf.Tensor, shape: tuple[int, ...], dtype: str) -> tf.Tensor:
        return tf.random.stateless_normal(shape, seed=rng, dtype=tf_dtype(dtype))

    def uniform(self, rng: tf.Tensor, shape: tuple[int, ...], dtype: str, low: float,
                high: float) -> tf.Tensor:
        """U[low, high) in ``dtype`` (float32/float64): ``minval`` is the smallest representable
        value >= low; values are clamped below ``high`` only if rounding can reach it."""
        lo, _ = _closed_inner(low, high, dtype)
        t = _NP_REAL[dtype]
        lo_t, hi_t = t(lo), t(high)
        top = float(t(_UNIFORM_MAX[dtype] * t(hi_t - lo_t)) + lo_t)
        _, hi_in = inner_bounds(low, high, dtype)
        # in a graph (the same values; 1x the output instead of 3x, see _graphs)
        return _graphs.uniform(tuple(shape), rng, lo, high, tf_dtype(dtype), hi_in if top > hi_in else None)

    def truncated_normal(self, rng: tf.Tensor, shape: tuple[int, ...], dtype: str, a: float,
                         b: float) -> tf.Tensor:
        """Standard normal truncated to (a, b), exactly: TF's rejection sampler for +-2, otherwise
        the inverse CDF in float64 on the side of 0 where the interval's tail mass is accurate."""
        if _is_standard_truncation(a, b):
            return tf.random.stateless_truncated_normal(shape, seed=rng, dtype=tf_dtype(dtype))
        flip = a > 0  # both bounds in the upper tail: sample -x on (-b, -a), where ndtr is accurate
        lo, hi = (-b, -a) if flip else (a, b)
        from scipy.special import ndtr

        u = tf.random.stateless_uniform(shape, seed=rng, minval=float(ndtr(lo)), maxval=float(ndtr(hi)),
                                        dtype=tf.float64)
        x = tf.clip_by_value(tf.math.ndtri(u), lo, hi)
        return tf.cast(-x if flip else x, tf_dtype(dtype))

    # fused fast paths (see _core.sample) ---------------------------------------------------------
    def fast_orthogonal(self, rng: tf.Tensor, plan: Plan) -> Any:
        """On the CPU: the QR in LAPACK in place on the host, 2x the output instead of
        ``tf.linalg.qr``'s 5x (:mod:`._host_qr`); elsewhere the generic path."""
        cdt = compute_dtype(plan.dtype)
        if not _host_qr.applies(rng, plan, cdt):
            return NotImplemented
        return _host_qr.orthogonal(rng, plan, cdt)

    def fast_normal(self, rng: tf.Tensor, plan: Plan) -> Any:
        """Real normal in one TF op (``rnd * std + mean``, as Keras' own)."""
        if plan.complex_rule is not None:
            return NotImplemented
        x = _graphs.normal(plan.shape, rng, plan.mean, plan.std, tf_dtype(compute_dtype(plan.dtype)))
        return self.cast(x, plan.dtype)

    def fast_truncated_normal(self, rng: tf.Tensor, plan: Plan) -> Any:
        """The +-2 sigma truncated normal in one TF op; the clamp into the open bounds is applied
        only when rounding of ``rnd * std + mean`` can reach a bound (always for float16/bfloat16)."""
        if plan.complex_rule is not None:
            return NotImplemented
        a, b = (plan.low - plan.mean) / plan.std, (plan.high - plan.mean) / plan.std
        if not _is_standard_truncation(a, b):
            return NotImplemented
        cdt = compute_dtype(plan.dtype)
        lo, hi = inner_bounds(plan.low, plan.high, plan.dtype)
        if cdt != plan.dtype:
            x = _graphs.truncated_normal(plan.shape, rng, plan.mean, plan.std, tf_dtype(cdt))
            return self.clip(self.cast(x, plan.dtype), lo, hi)
        zmax = float(np.nextafter(_NP_REAL[cdt](VARIANCE_SCALING_TRUNCATION), _NP_REAL[cdt](0)))
        e_lo, e_hi = _affine_extremes(zmax, plan.std, plan.mean, cdt)
        # the clamp (self.clip's inward-rounded bounds) in the same graph: 1x the output, not 3x
        clip = None if lo <= e_lo and e_hi <= hi else _closed_inner(lo, hi, cdt)
        return _graphs.truncated_normal(plan.shape, rng, plan.mean, plan.std, tf_dtype(cdt), clip)

    # construction / elementwise ------------------------------------------------------------------
    def full(self, shape: tuple[int, ...], dtype: str, value: Any) -> tf.Tensor:
        return tf.fill(shape, scalar(value, dtype))

    def eye(self, rows: int, cols: int, dtype: str) -> tf.Tensor:
        return tf.eye(rows, cols, dtype=tf_dtype(dtype))

    def cast(self, x: tf.Tensor, dtype: str) -> tf.Tensor:
        t = tf_dtype(dtype)
        return x if x.dtype == t else tf.cast(x, t)

    def clip(self, x: tf.Tensor, lo: float, hi: float) -> tf.Tensor:
        """Clamp into ``[lo, hi]``; bounds are first rounded inward to ``x.dtype``."""
        lo_r, hi_r = _closed_inner(lo, hi, x.dtype.name)
        return tf.clip_by_value(x, tf.constant(lo_r, x.dtype), tf.constant(hi_r, x.dtype))

    def where(self, cond: tf.Tensor, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return tf.where(cond, x, y)

    def sqrt(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.sqrt(x)

    def log1p(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.log1p(x)

    def cos(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.cos(x)

    def sin(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.sin(x)

    def sign(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.sign(x)

    def complex(self, re: tf.Tensor, im: tf.Tensor, dtype: str) -> tf.Tensor:
        return self.cast(tf.complex(re, im), dtype)

    # shape / linear algebra -----------------------------------------------------------------------
    def reshape(self, x: tf.Tensor, shape: tuple[int, ...]) -> tf.Tensor:
        return tf.reshape(x, shape)

    def transpose(self, x: tf.Tensor, perm: tuple[int, ...]) -> tf.Tensor:
        return x if tuple(perm) == tuple(range(len(perm))) else tf.transpose(x, perm)

    def pad(self, x: tf.Tensor, pads: list[tuple[int, int]]) -> tf.Tensor:
        return tf.pad(x, pads)

    def qr(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.linalg.qr(x, full_matrices=False)

    def diagonal(self, x: tf.Tensor) -> tf.Tensor:
        return tf.linalg.diag_part(x)

    def argsort(self, x: tf.Tensor, axis: int) -> tf.Tensor:
        return tf.argsort(x, axis=axis, stable=True)

    def scatter(self, shape: tuple[int, ...], dtype: str, index: np.ndarray, value: float) -> tf.Tensor:
        updates = tf.fill([index.shape[0]], tf.constant(value, dtype=tf_dtype(dtype)))
        return tf.scatter_nd(tf.constant(index, tf.int64), updates, shape)

    def to_numpy(self, x: tf.Tensor) -> np.ndarray:
        return x.numpy()


#: The native adapter's primitives (RNG: stateless seed pairs).
BACKEND = TFBackend()
