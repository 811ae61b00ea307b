"""The portable stream in TensorFlow (imports TensorFlow, never Keras): bit-identical to the NumPy
reference, and shard-invariant.

* :func:`sample` - the harness API plus ``stream=`` (see :mod:`initspec.backends.portable`);
* :func:`sample_slice` - ``sample(...)[index]`` computing only that slice (element-wise schemes);
* :func:`words` - the raw 32-bit words (as int64).

TF's unsigned multiply support is limited, so words are int64 in ``[0, 2**32)`` and the
32x32 -> 64-bit products use 16-bit limbs (no intermediate above 2**49). Ops run eagerly, one
kernel each (no FMA contraction, no graph rewrites). Structured schemes (orthogonal, sparse, ...)
run the generic ``_core`` sampler over :class:`PortableTf`: the adapter's :class:`TFBackend`
primitives with the Philox stream as RNG.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import tensorflow as tf
from initspec.backends._bench import BenchCase, portable_normal_cases
from initspec.backends.portable._philox import MASK32
from initspec.backends.portable._spec import (
    FloatOps,
    PortableRng,
    Recipe,
    check_index,
    compute,
    element_strides,
    key_table,
    logical_shape,
    normal_rng_params,
    prepare,
    round_key_pairs,
    sample_structured,
    slice_shape,
    to_physical,
    uniform_params,
    words_at,
    words_full,
)
from initspec.distributions import Plan

from ._primitives import DEFAULT_LAYOUT, TFBackend, scalar, tf_dtype

__all__ = [
    "DEFAULT_LAYOUT", "OPS", "PortableTf", "TfOps", "bench_cases", "device_available", "device_of", "sample",
    "sample_host", "sample_slice", "to_numpy", "versions", "words",
]

LIMB = 16
LIMB_MASK = (1 << LIMB) - 1
# frexp of a positive normal float32 by bit casts: keep sign and fraction, exponent of 1/2
FRAC_BITS = 23
FRAC_SIGN_MASK = -0x7F800001  # 0x807FFFFF as int32
HALF_BITS = 0x3F000000
HALF_EXPONENT = 126


def _device(device: Any) -> str:
    """``"cpu"``/``"gpu"`` -> a TF device string, or a clear error."""
    if device == "cpu":
        return "/CPU:0"
    if device == "gpu":
        if not tf.config.list_physical_devices("GPU"):
            raise ValueError(f"TensorFlow sees no GPU. Received: device={device!r}")
        return "/GPU:0"
    raise ValueError(f"Argument `device` must be 'cpu' or 'gpu'. Received: device={device!r}")


def _c(v: Any, like: tf.Tensor) -> Any:
    return tf.constant(v, dtype=like.dtype) if isinstance(v, int) else v


class TfOps(FloatOps):
    """Words as int64 in ``[0, 2**32)``; eager float32 TF ops."""

    def mulhilo(self, a, m):
        if isinstance(a, int):
            p = a * m
            return p >> 32, p & MASK32
        a_lo, a_hi = self.band(a, LIMB_MASK), self.shr(a, LIMB)
        t_lo, t_hi = a_lo * m, a_hi * m  # each < 2**48
        s = t_lo + tf.bitwise.left_shift(self.band(t_hi, LIMB_MASK), _c(LIMB, t_hi))
        return self.shr(t_hi, LIMB) + self.shr(s, 32), self.band(s, MASK32)

    def xor(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return a ^ b
        if isinstance(a, int):
            a, b = b, a
        return tf.bitwise.bitwise_xor(a, _c(b, a))

    def shr(self, a, n):
        return tf.bitwise.right_shift(a, _c(n, a))

    def band(self, a, m):
        return tf.bitwise.bitwise_and(a, _c(m, a))

    def to_f32(self, a):
        return tf.cast(a, tf.float32)

    def frexp(self, x):  # TF has no frexp: bit casts, for positive normal x
        bits = tf.bitcast(x, tf.int32)
        frac = tf.bitwise.bitwise_or(tf.bitwise.bitwise_and(bits, tf.constant(FRAC_SIGN_MASK, tf.int32)),
                                     tf.constant(HALF_BITS, tf.int32))
        return tf.bitcast(frac, tf.float32), self.shr(bits, FRAC_BITS) - HALF_EXPONENT

    def sqrt(self, x):
        return tf.sqrt(x)

    def where(self, c, x, y):
        x, y = (tf.constant(v, tf.float32) if isinstance(v, float) else v for v in (x, y))
        return tf.where(c, x, y)

    def minimum(self, x, y):
        return tf.minimum(x, y)

    def maximum(self, x, y):
        return tf.maximum(x, y)

    def iota(self, n):
        return tf.range(n, dtype=tf.int64)

    def interleave(self, lanes, n):
        return tf.reshape(tf.stack(lanes, axis=-1), [-1])[:n]

    def block_of(self, idx):
        b = self.shr(idx, 2)
        return self.band(b, MASK32), self.shr(b, 32)


OPS = TfOps()


def _keys(table: np.ndarray) -> tf.Tensor:
    return tf.constant(np.asarray(table, dtype=np.int64))


def _index_grid(norm: tuple[tuple[int, int, int], ...], shape: tuple[int, ...],
                order: tuple[int, ...] | None) -> tf.Tensor:
    """int64 element indices (in the stream's logical order) of the slice ``norm`` of ``shape``."""
    idx = tf.zeros(slice_shape(norm), dtype=tf.int64)
    for axis, ((start, stop, step), st) in enumerate(zip(norm, element_strides(shape, order))):
        r = tf.range(start, stop, step, dtype=tf.int64) * st
        idx = idx + tf.reshape(r, [-1 if a == axis else 1 for a in range(len(shape))])
    return idx


class PortableTf(TFBackend):
    """The adapter's :class:`TFBackend` primitives with the portable stream as RNG (structured schemes)."""

    name = "portable-tensorflow"
    # the adapter's fused paths draw from TF's stateless RNG: the generic rules run instead
    def fast_normal(self, rng: PortableRng, plan: Plan) -> Any:
        return NotImplemented

    def fast_truncated_normal(self, rng: PortableRng, plan: Plan) -> Any:
        return NotImplemented

    def split(self, rng: PortableRng, n: int) -> list[PortableRng]:
        return rng.children(n)

    def _draw(self, rng: PortableRng, shape: tuple[int, ...], kind: str, prm: dict[str, float],
              dtype: str) -> tf.Tensor:
        n = math.prod(shape)
        re = compute(OPS, kind, (rng.draw,), round_key_pairs(rng.keys), prm, n=n)[0]
        return tf.cast(tf.reshape(re, shape), tf_dtype(dtype))

    def normal(self, rng: PortableRng, shape: tuple[int, ...], dtype: str) -> tf.Tensor:
        return self._draw(rng, shape, "normal", normal_rng_params(), dtype)

    def uniform(self, rng: PortableRng, shape: tuple[int, ...], dtype: str, low: float,
                high: float) -> tf.Tensor:
        return self._draw(rng, shape, "uniform", uniform_params(low, high), dtype)

    def truncated_normal(self, rng: PortableRng, shape: tuple[int, ...], dtype: str, a: float,
                         b: float) -> tf.Tensor:
        return self._draw(rng, shape, "normal", normal_rng_params(a, b), dtype)

    def to_numpy(self, x: tf.Tensor) -> np.ndarray:
        return to_numpy(x)


def _finish(re: tf.Tensor, im: tf.Tensor | None, plan: Plan, recipe: Recipe,
            shape: tuple[int, ...]) -> tf.Tensor:
    dt = tf_dtype(plan.dtype)
    if im is not None:
        return tf.reshape(tf.cast(tf.complex(re, im), dt), shape)
    out = tf.cast(re, dt)
    if recipe.post_clip is not None:
        lo, hi = (tf.constant(v, dt) for v in recipe.post_clip)
        out = tf.clip_by_value(out, lo, hi)
    return tf.reshape(out, shape)


def _generate(plan: Plan, recipe: Recipe, table: np.ndarray, norm: tuple | None) -> tf.Tensor:
    shape = plan.shape if norm is None else slice_shape(norm)
    if recipe.kind == "constant":
        return tf.fill(shape, scalar(plan.value, plan.dtype))  # keeps the sign of -0.0
    keys = _keys(table)
    if not recipe.elementwise:
        full = sample_structured(PortableTf(), PortableRng(keys), plan, recipe)
        return full if norm is None else full[tuple(slice(*s) for s in norm)]
    kp = round_key_pairs(keys)
    if norm is None:  # generated in logical order, then laid out physically
        re, im = compute(OPS, recipe.kind, recipe.draws, kp, recipe.params, n=plan.size)
        out = _finish(re, im, plan, recipe, logical_shape(plan.shape, recipe.order))
        return out if recipe.order is None else tf.transpose(out, to_physical(recipe.order))
    idx = _index_grid(norm, plan.shape, recipe.order)
    re, im = compute(OPS, recipe.kind, recipe.draws, kp, recipe.params, idx=idx)
    return _finish(re, im, plan, recipe, shape)


def _host_tensor(plan: Plan, recipe: Recipe, table: np.ndarray) -> tf.Tensor | None:
    """The whole tensor as a CPU tf.Tensor from the compiled kernel of
    :mod:`initspec.backends.portable` (no eager op per transform step): written into a 64-byte
    aligned host array (:func:`~initspec.backends.portable.host_array`) that TF adopts through
    DLPack without a copy (TF requires that alignment of the memory it shares). None where the
    kernel does not apply (:func:`~initspec.backends.portable.host_fillable`)."""
    from .. import portable as reference

    values = reference.host_array(plan, recipe, table)
    if values is None:
        return None
    with tf.device("/CPU:0"):
        return tf.experimental.dlpack.from_dlpack(values.__dlpack__())


def sample_host(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
                stream: str = "", **params: Any) -> tf.Tensor | None:
    """:func:`sample` on the CPU through the compiled kernel, no copy (the Keras TF backend's portable
    path: ``variable.assign`` then moves it to the variable's device), or None where the kernel does
    not apply (then the caller uses the NumPy reference)."""
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    return _host_tensor(plan, recipe, table)


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           stream: str = "", device: Any = "cpu", **params: Any) -> tf.Tensor:
    """Portable values of ``scheme`` as a tf.Tensor on ``device`` ("cpu" or "gpu");
    ``layout=None`` is ``"keras"``. Equal, bit for bit, to the NumPy reference. On the CPU the
    compiled kernel computes real float32 element-wise schemes (:func:`_host_tensor`); the TF ops
    compute the rest (and everything on a GPU, or with ``INITSPEC_PORTABLE_KERNEL=numpy``)."""
    dev = _device(device)
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    if dev == "/CPU:0":
        host = _host_tensor(plan, recipe, table)
        if host is not None:
            return host
    with tf.device(dev):
        return _generate(plan, recipe, table, None)


def sample_slice(scheme: str, shape: Any, *, index: Any, layout: Any = None, dtype: Any = "float32",
                 seed: Any = 0, stream: str = "", device: Any = "cpu", **params: Any) -> tf.Tensor:
    """``sample(...)[index]``; only the slice is computed for element-wise schemes."""
    dev = _device(device)
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    with tf.device(dev):
        return _generate(plan, recipe, table, check_index(index, plan.shape))


def words(seed: Any = 0, stream: str = "", n: int | None = None, *, index: Any = None, draw: int = 0,
          device: Any = "cpu") -> tf.Tensor:
    """Raw words (int64 in ``[0, 2**32)``) ``0 .. n-1`` or at element indices ``index``."""
    with tf.device(_device(device)):
        kp = round_key_pairs(_keys(key_table(seed, stream)))
        if index is not None:
            return words_at(OPS, kp, draw, tf.constant(np.asarray(index, dtype=np.int64)))
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise TypeError(f"Argument `n` must be a non-negative int. Received: n={n!r}")
        return words_full(OPS, kp, draw, n)


def to_numpy(x: Any) -> np.ndarray:
    if x.dtype == tf.bfloat16:
        x = tf.cast(x, tf.float32)
    return x.numpy()


def device_available(device: str) -> tuple[bool, str]:
    if device == "cpu":
        return True, ""
    if device == "gpu":
        return (True, "") if tf.config.list_physical_devices("GPU") else (False, "TensorFlow sees no GPU")
    return False, f"unknown device {device!r}"


def device_of(x: Any) -> str:
    return "gpu" if "GPU" in x.device.upper() else "cpu"


def versions() -> dict[str, str]:
    return {"tensorflow": tf.__version__}


def bench_cases(device: str | None = None) -> list[BenchCase]:
    """Portable normal vs ``tf.random.normal`` (:func:`initspec.backends._bench.portable_normal_cases`).
    On the CPU :func:`sample` runs the compiled kernel into an array TF adopts; on a GPU it runs
    TF's ops one by one, and the case says how that compares."""

    def make(where: str, shape: tuple[int, ...]) -> Any:
        dev = _device(where)

        def native() -> tf.Tensor:
            with tf.device(dev):
                return tf.random.normal(shape)

        return (lambda: sample("normal", shape, seed=0, stream="bench", device=where)), native, \
            (lambda r: (r[:1, :1].numpy(), r)[1])  # a value read waits for the whole tensor

    return portable_normal_cases("tensorflow", "tf.random.normal", device, device_available, make)
