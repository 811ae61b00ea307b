"""The portable stream's element-wise kernel in JAX: the Philox words and the spec's float32
arithmetic (:class:`initspec.backends.portable._spec.FloatOps`) traced into one jitted XLA program.

Words are uint32 (wrap-around arithmetic is defined in XLA); the high half of the 32x32-bit
Philox products comes from 16-bit limbs, so ``jax_enable_x64`` is not needed (it is switched on
locally, on GPUs only, for the float64 division and sqrt; see :class:`JaxOps`). Every element is
generated from its own global index (one Philox block per element, the lane picked by ``index mod
4``): XLA CPU recomputes a multi-output fusion once per output, which made the 4-lanes-per-block
layout ~50x slower there. The FMA fence (:class:`JaxOps`, :func:`_unfoldable_zero`) keeps XLA
from contracting ``a * b + c``, so the values equal the NumPy reference bit for bit.

References: Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC 2011) for Philox;
Figueroa, "When is double rounding innocuous?" (SIGNUM 1995) for the wide division and sqrt.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from initspec.distributions import Plan
from jax import lax

from ..portable._philox import MASK32
from ..portable._spec import (
    FloatOps,
    Recipe,
    compute,
    element_strides,
    logical_shape,
    round_key_pairs,
    slice_shape,
    to_physical,
)
from . import _host

__all__ = ["OPS", "JaxOps"]

LIMB = 16
LIMB_MASK = (1 << LIMB) - 1
# frexp of a positive normal float32 by bit casts: keep sign and fraction, exponent of 1/2
FRAC_BITS = 23
FRAC_SIGN_MASK = -0x7F800001  # 0x807FFFFF as int32
HALF_BITS = 0x3F000000
HALF_EXPONENT = 126


class JaxOps(FloatOps):
    """uint32 words; float32 arithmetic traced into one XLA computation.

    XLA contracts ``a * b + c`` into an FMA (on CPU and GPU; no flag turns that off), which
    rounds once instead of twice. :meth:`rnd` therefore passes each product that feeds a sum
    through ``bitcast(bitcast(x) ^ fence)`` with ``fence`` a runtime int32 zero (a jit argument,
    so XLA cannot fold it): the value is unchanged, but the add no longer sees a multiply.

    XLA's float32 division and square root on GPU are not correctly rounded (measured: up to 6
    ulp on the normals), so with ``wide=True`` (every non-CPU platform) they run in float64 and
    are rounded once to float32, which is the correctly rounded float32 result (the float64
    operation has more than 2 * 24 + 2 bits; Figueroa 1995). That needs ``jax_enable_x64``
    while tracing, which :func:`_x64_scope` turns on locally.
    """

    def __init__(self, fence: Any = None, wide: bool = False):
        self.fence = fence
        self.wide = wide

    def rnd(self, x):
        if self.fence is None:
            return x
        return lax.bitcast_convert_type(lax.bitcast_convert_type(x, jnp.int32) ^ self.fence, jnp.float32)

    def mulhilo(self, a, m):
        if isinstance(a, int):
            p = a * m
            return p >> 32, p & MASK32
        m_lo, m_hi = np.uint32(m & LIMB_MASK), np.uint32(m >> LIMB)
        a_lo, a_hi = a & np.uint32(LIMB_MASK), a >> np.uint32(LIMB)
        t0, t1, t2, t3 = a_lo * m_lo, a_hi * m_lo, a_lo * m_hi, a_hi * m_hi  # each < 2**32
        mid = (t0 >> np.uint32(LIMB)) + (t1 & np.uint32(LIMB_MASK)) + (t2 & np.uint32(LIMB_MASK))
        hi = t3 + (t1 >> np.uint32(LIMB)) + (t2 >> np.uint32(LIMB)) + (mid >> np.uint32(LIMB))
        return hi, a * np.uint32(m)

    def xor(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return a ^ b
        a, b = (np.uint32(v) if isinstance(v, int) else v for v in (a, b))
        return jnp.bitwise_xor(a, b)

    def shr(self, a, n):
        return jnp.right_shift(a, jnp.asarray(n, dtype=a.dtype))

    def band(self, a, m):
        return jnp.bitwise_and(a, jnp.asarray(m, dtype=a.dtype))

    def to_f32(self, a):
        return a.astype(jnp.float32)

    def frexp(self, x):
        bits = lax.bitcast_convert_type(x, jnp.int32)
        m = lax.bitcast_convert_type((bits & np.int32(FRAC_SIGN_MASK)) | np.int32(HALF_BITS), jnp.float32)
        return m, (bits >> np.int32(FRAC_BITS)) - np.int32(HALF_EXPONENT)

    def sqrt(self, x):
        if self.wide:
            return jnp.sqrt(x.astype(jnp.float64)).astype(jnp.float32)
        return jnp.sqrt(x)

    def div(self, a, b):
        if self.wide:
            return (a.astype(jnp.float64) / b.astype(jnp.float64)).astype(jnp.float32)
        return a / b

    def where(self, c, x, y):
        return jnp.where(c, _f32(x), _f32(y))

    def minimum(self, x, y):
        return jnp.minimum(x, _f32(y))

    def maximum(self, x, y):
        return jnp.maximum(x, _f32(y))

    def iota(self, n):
        return lax.iota(jnp.uint32, n)

    def interleave(self, lanes, n):
        return jnp.stack(lanes, axis=-1).reshape(-1)[:n]

    def block_of(self, idx):
        return idx >> np.uint32(2), 0


def _f32(x: Any) -> Any:
    """Python floats as float32 (with ``jax_enable_x64`` they would default to float64)."""
    return np.float32(x) if isinstance(x, float) else x


OPS = JaxOps()


def _index_grid(norm: tuple[tuple[int, int, int], ...], shape: tuple[int, ...],
                order: tuple[int, ...] | None) -> Any:
    """uint32 global element indices (in the stream's logical order) of the slice ``norm``
    (traced: partitionable iotas, so a transposed layout costs nothing extra)."""
    out_shape = slice_shape(norm)
    idx = jnp.zeros(out_shape, dtype=jnp.uint32)
    for axis, ((start, _stop, step), st) in enumerate(zip(norm, element_strides(shape, order))):
        pos = lax.broadcasted_iota(jnp.uint32, out_shape, axis) * np.uint32(step) + np.uint32(start)
        idx = idx + pos * np.uint32(st)
    return idx


def _finish(re: Any, im: Any, dtype: str, post_clip: tuple[float, float] | None,
            shape: tuple[int, ...]) -> Any:
    dt = jnp.dtype(dtype)
    if im is not None:
        return lax.complex(re, im).astype(dt).reshape(shape)
    out = re.astype(dt)
    if post_clip is not None:
        out = jnp.clip(out, jnp.asarray(post_clip[0], dt), jnp.asarray(post_clip[1], dt))
    return out.reshape(shape)


def _wide(platform: str | None) -> bool:
    """Whether division and sqrt must run in float64 (every platform but the CPU)."""
    return platform is not None and platform != "cpu"


def _x64_scope(wide: bool) -> Any:
    """``jax.enable_x64(True)`` for the float64 ops of ``wide`` kernels, else a no-op."""
    return jax.enable_x64(True) if wide else contextlib.nullcontext()


@functools.partial(jax.jit, static_argnames=("kind", "draws", "dtype", "post_clip", "shape", "norm",
                                             "full_shape", "order", "wide"))
def _values(keys: Any, prm: dict[str, Any], fence: Any, *, kind: str, draws: tuple[int, ...], dtype: str,
            post_clip: tuple[float, float] | None, shape: tuple[int, ...],
            norm: tuple[tuple[int, int, int], ...] | None, full_shape: tuple[int, ...],
            order: tuple[int, ...] | None = None, wide: bool = False) -> Any:
    """The element-wise generator: the whole tensor (``norm is None``) or the slice ``norm`` of
    ``full_shape``, from global element indices. ``fence`` is an int32 zero (see :class:`JaxOps`)."""
    ops, kp = JaxOps(fence | _unfoldable_zero(), wide), round_key_pairs(keys)
    # Always from element indices: XLA CPU recomputes a multi-output fusion per output, so the
    # block-packed layout (4 lanes interleaved) is ~50x slower there than one Philox per element.
    idx = _index_grid(_whole(full_shape) if norm is None else norm, full_shape, order)
    re, im = compute(ops, kind, draws, kp, prm, idx=idx)
    return _finish(re, im, dtype, post_clip, shape)


def _unfoldable_zero() -> Any:
    """An int32 zero computed inside the kernel that XLA cannot constant-fold.

    The FMA fence (:class:`JaxOps`) is a jit argument when :func:`sample` is called eagerly, but
    inside a caller's ``jax.jit`` that argument is a constant and XLA folds ``x ^ 0`` away, which
    lets the contraction back in (measured: up to 6 ulp on normals, ~2e4 ulp on truncated
    normals). XLA's constant folding never evaluates an op whose operands are all iotas
    (``xla/hlo/transforms/simplifiers/hlo_constant_folding.cc``), so ``sort(iota)[0]`` stays a
    runtime value; it is tiny, replicated, and needs no communication under SPMD partitioning.
    """
    return jnp.sort(lax.iota(jnp.int32, 2))[0]


def _inputs(table: np.ndarray, prm: dict[str, float], dev: Any) -> tuple[Any, dict[str, Any], Any]:
    """Device arrays of the jit arguments: key table, float32 parameters and the FMA fence."""
    keys = jax.device_put(np.asarray(table, dtype=np.uint32), dev)
    fence = jax.device_put(np.int32(0), dev)
    return keys, {k: jax.device_put(np.float32(v), dev) for k, v in prm.items()}, fence


#: the largest flat size class (:func:`_flat_values`); longer tensors are generated in pieces of it
FLAT_MAX = 2**22
#: the smallest flat size class
FLAT_MIN = 2**12


@functools.partial(jax.jit, static_argnames=("kind", "draws", "size", "wide"))
def _flat_values(keys: Any, prm: dict[str, Any], fence: Any, start: Any, *, kind: str, draws: tuple[int, ...],
                 size: int, wide: bool = False) -> tuple[Any, Any]:
    """float32 values ``(re, im | None)`` of elements ``start .. start+size-1`` (a runtime uint32
    ``start``): compiled once per ``size`` class, whatever the tensors' shapes."""
    ops, kp = JaxOps(fence | _unfoldable_zero(), wide), round_key_pairs(keys)
    return compute(ops, kind, draws, kp, prm, idx=lax.iota(jnp.uint32, size) + start)


@functools.partial(jax.jit, static_argnames=("n", "dtype", "post_clip", "shape", "order"))
def _flat_finish(re: tuple[Any, ...], im: tuple[Any, ...] | None, *, n: int, dtype: str,
                 post_clip: tuple[float, float] | None, shape: tuple[int, ...],
                 order: tuple[int, ...] | None) -> Any:
    """Pieces of flat values -> the tensor: first ``n`` elements, cast, reshaped in the stream's
    logical order, then laid out physically (a cheap per-shape program)."""
    def join(parts: tuple[Any, ...]) -> Any:
        return (parts[0] if len(parts) == 1 else jnp.concatenate(parts))[:n]

    out = _finish(join(re), None if im is None else join(im), dtype, post_clip, logical_shape(shape, order))
    return out if order is None else jnp.transpose(out, to_physical(order))


def size_class(n: int) -> int:
    """The flat kernel size serving ``n`` elements: the next power of two within
    ``[FLAT_MIN, FLAT_MAX]`` (at most 2x the work on the last piece, ~11 compiles at most for
    any model)."""
    return min(max(FLAT_MIN, 1 << max(n - 1, 0).bit_length()), FLAT_MAX)


def _run_flat(recipe: Recipe, plan: Plan, table: np.ndarray, dev: Any, wide: bool) -> Any:
    """A whole tensor from flat size-class kernels (no per-shape compile of the generator)."""
    n = plan.size
    size = size_class(n)
    keys, prm, fence = _inputs(table, recipe.params, dev)
    pieces = [_flat_values(keys, prm, fence, jax.device_put(np.uint32(start), dev), kind=recipe.kind,
                           draws=recipe.draws, size=size, wide=wide) for start in range(0, max(n, 1), size)]
    im = None if pieces[0][1] is None else tuple(p[1] for p in pieces)
    return _flat_finish(tuple(p[0] for p in pieces), im, n=n, dtype=plan.dtype, post_clip=recipe.post_clip,
                        shape=plan.shape, order=recipe.order)


def _tracing() -> bool:
    """Whether we are inside a caller's ``jax.jit`` (there the whole-tensor program stays one
    traced computation from partitionable indices, so ``out_shardings`` computes shards only)."""
    return isinstance(lax.iota(jnp.int32, 1), jax.core.Tracer)


def _run(recipe: Recipe, plan: Plan, table: np.ndarray, dev: Any, norm: tuple | None,
         sharding: Any = None) -> Any:
    """Run the element-wise kernel on ``dev`` (or under ``out_shardings=sharding``): a whole
    tensor on a CPU device through the compiled C kernel where it applies (:mod:`._host`), else,
    outside a trace, through the flat size-class kernels (:func:`_run_flat`)."""
    platform = _platform(sharding) if sharding is not None else dev.platform
    tracing = _tracing()
    if sharding is None and norm is None:
        host = _host.values(plan, recipe, table, dev, tracing)
        if host is not None:  # a CPU device: the compiled C kernel, nothing to compile
            return host
    if sharding is None and norm is None and not tracing:
        with _x64_scope(_wide(platform)):
            return _run_flat(recipe, plan, table, dev, _wide(platform))
    shape = plan.shape if norm is None else slice_shape(norm)
    static = {"kind": recipe.kind, "draws": recipe.draws, "dtype": plan.dtype, "post_clip": recipe.post_clip,
              "shape": shape, "norm": norm, "full_shape": plan.shape, "order": recipe.order,
              "wide": _wide(platform)}
    with _x64_scope(static["wide"]):
        keys, prm, fence = _inputs(table, recipe.params, dev)
        if sharding is not None:
            return _sharded_fn(static, sharding)(keys, prm, fence)
        return _values(keys, prm, fence, **static)


def _platform(sharding: Any) -> str:
    return next(iter(sharding.device_set)).platform


def _sharded_fn(static: dict[str, Any], sharding: Any) -> Any:
    return jax.jit(functools.partial(_values.__wrapped__, **static), out_shardings=sharding)


def _whole(shape: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    return tuple((0, d, 1) for d in shape)
