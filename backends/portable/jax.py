"""The portable stream in JAX (imports only JAX): bit-identical to the NumPy reference on CPU and
GPU, jit-compiled, and partitionable.

* :func:`sample` - the harness API plus ``stream=`` (see :mod:`initspec.backends.portable`);
* :func:`sample_slice` - ``sample(...)[index]`` computing only that slice;
* :func:`sample_sharded` - the whole tensor under ``jax.jit(..., out_shardings=sharding)``: every
  element is a function of its *global* index (a broadcasted iota), so XLA's SPMD partitioner
  gives each device only its own shard's indices to compute, with no communication, and the
  result equals the single-device one bit for bit (structured schemes are computed whole and
  then placed: not shard-local);
* :func:`words` - the raw 32-bit words (uint32).

Words are uint32 (wrap-around arithmetic is defined in XLA); the high half of the 32x32-bit
Philox products comes from 16-bit limbs, so ``jax_enable_x64`` is not needed (it is switched on
locally, on GPUs only, for the float64 division and sqrt; see :class:`JaxOps`). Tensors are
limited to ``2**32`` elements (uint32 element indices). Every element is generated from its own
global index (one Philox block per element, the lane picked by ``index mod 4``): XLA CPU
recomputes a multi-output fusion once per output, which made the 4-lanes-per-block layout ~50x
slower there.

Measured on an H200 machine: bit-identical to NumPy on its CPU; on its GPU, words and
uniform-based schemes bit-identical and normal-based ones within 4 ulp (see the package notes).
"""

from __future__ import annotations

import contextlib
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from initspec.distributions import Plan

from .._bench import BenchCase
from ..jax import JaxBackend
from ._philox import MASK32
from ._spec import (
    FloatOps,
    PortableRng,
    Recipe,
    check_index,
    compute,
    element_strides,
    key_table,
    normal_rng_params,
    prepare,
    round_key_pairs,
    sample_structured,
    slice_shape,
    uniform_params,
    words_at,
    words_full,
)

__all__ = [
    "DEFAULT_LAYOUT", "MAX_ELEMENTS", "bench_cases", "device_available", "device_of", "lowered_sharded",
    "sample", "sample_sharded", "sample_slice", "to_numpy", "versions", "words",
]

DEFAULT_LAYOUT = "jax"
#: element indices are uint32
MAX_ELEMENTS = 2**32
LIMB = 16
LIMB_MASK = (1 << LIMB) - 1
X64_DTYPES = ("float64", "complex128")
# frexp of a positive normal float32 by bit casts: keep sign and fraction, exponent of 1/2
FRAC_BITS = 23
FRAC_SIGN_MASK = -0x7F800001  # 0x807FFFFF as int32
HALF_BITS = 0x3F000000
HALF_EXPONENT = 126


def _x64_enabled() -> bool:
    return jax.dtypes.canonicalize_dtype(np.float64) == np.dtype(np.float64)


def _check_dtype(name: str) -> None:
    if name in X64_DTYPES and not _x64_enabled():
        raise ValueError(
            f"JAX has no {name} while jax_enable_x64 is off; enable it with "
            f"jax.config.update('jax_enable_x64', True). Received: dtype={name!r}"
        )


def _device(device: Any) -> Any:
    """``"cpu"``/``"gpu"`` (or a jax Device) -> a jax Device, or a clear error."""
    if isinstance(device, jax.Device):
        return device
    if device not in ("cpu", "gpu"):
        raise ValueError(f"Argument `device` must be 'cpu' or 'gpu'. Received: device={device!r}")
    try:
        return jax.devices(device)[0]
    except RuntimeError as e:
        raise ValueError(f"JAX has no {device!r} device ({e}). Received: device={device!r}") from e


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


def _run(recipe: Recipe, plan: Plan, table: np.ndarray, dev: Any, norm: tuple | None,
         sharding: Any = None) -> Any:
    """Run the element-wise kernel on ``dev`` (or under ``out_shardings=sharding``)."""
    platform = _platform(sharding) if sharding is not None else dev.platform
    shape = plan.shape if norm is None else slice_shape(norm)
    static = dict(kind=recipe.kind, draws=recipe.draws, dtype=plan.dtype, post_clip=recipe.post_clip,
                  shape=shape, norm=norm, full_shape=plan.shape, order=recipe.order, wide=_wide(platform))
    with _x64_scope(static["wide"]):
        keys, prm, fence = _inputs(table, recipe.params, dev)
        if sharding is not None:
            return _sharded_fn(static, sharding)(keys, prm, fence)
        return _values(keys, prm, fence, **static)


def _platform(sharding: Any) -> str:
    return next(iter(sharding.device_set)).platform


def _sharded_fn(static: dict[str, Any], sharding: Any) -> Any:
    return jax.jit(functools.partial(_values.__wrapped__, **static), out_shardings=sharding)


# -- _core primitives on the portable stream (structured schemes) --------------------------------


class PortableJax(JaxBackend):
    """The JAX adapter's primitives with the portable stream as RNG (structured schemes), their
    arrays placed on ``device``."""

    name = "portable-jax"

    def __init__(self, device: Any):
        self.device = device

    def split(self, rng: PortableRng, n: int) -> list[PortableRng]:
        return rng.children(n)

    def _draw(self, rng: PortableRng, shape, kind: str, prm: dict[str, float], dtype: str) -> Any:
        n, wide = math.prod(shape), _wide(self.device.platform)
        with _x64_scope(wide):
            keys, p, fence = _inputs(rng.keys, prm, self.device)
            out = _values(keys, p, fence, kind=kind, draws=(rng.draw,), dtype="float32", post_clip=None,
                          shape=(n,), norm=None, full_shape=(n,), wide=wide)
        return out.reshape(shape).astype(dtype)

    def normal(self, rng, shape, dtype):
        return self._draw(rng, shape, "normal", normal_rng_params(), dtype)

    def uniform(self, rng, shape, dtype, low, high):
        return self._draw(rng, shape, "uniform", uniform_params(low, high), dtype)

    def truncated_normal(self, rng, shape, dtype, a, b):
        return self._draw(rng, shape, "normal", normal_rng_params(a, b), dtype)

    def full(self, shape, dtype, value):
        return jax.device_put(super().full(tuple(shape), dtype, value), self.device)

    def eye(self, rows, cols, dtype):
        return jax.device_put(super().eye(rows, cols, dtype), self.device)

    def scatter(self, shape, dtype, index, value):
        return jax.device_put(super().scatter(tuple(shape), dtype, index, value), self.device)


# -- public API ---------------------------------------------------------------------------------


def _generate(plan: Plan, recipe: Recipe, table: np.ndarray, dev: Any, norm: tuple | None) -> Any:
    _check_dtype(plan.dtype)
    shape = plan.shape if norm is None else slice_shape(norm)
    if math.prod(plan.shape) > MAX_ELEMENTS:
        raise ValueError(
            f"The JAX portable stream handles at most 2**32 elements. Received: shape={plan.shape!r}"
        )
    if recipe.kind == "constant":
        return jax.device_put(jnp.full(shape, plan.value, dtype=plan.dtype), dev)
    if not recipe.elementwise:
        full = sample_structured(PortableJax(dev), PortableRng(table), plan, recipe)
        return full if norm is None else full[tuple(slice(*s) for s in norm)]
    return _run(recipe, plan, table, dev, norm)


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           stream: str = "", device: Any = "cpu", **params: Any) -> Any:
    """Portable values of ``scheme`` as a jax.Array on ``device`` ("cpu" or "gpu");
    ``layout=None`` is ``"jax"``. Equal, bit for bit, to the NumPy reference."""
    dev = _device(device)
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    return _generate(plan, recipe, table, dev, None)


def sample_slice(scheme: str, shape: Any, *, index: Any, layout: Any = None, dtype: Any = "float32",
                 seed: Any = 0, stream: str = "", device: Any = "cpu", **params: Any) -> Any:
    """``sample(...)[index]``; only the slice is computed for element-wise schemes."""
    dev = _device(device)
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    return _generate(plan, recipe, table, dev, check_index(index, plan.shape))


def sample_sharded(scheme: str, shape: Any, sharding: Any, *, layout: Any = None, dtype: Any = "float32",
                   seed: Any = 0, stream: str = "", **params: Any) -> Any:
    """The whole tensor generated under ``jax.jit(..., out_shardings=sharding)``.

    Element-wise schemes are computed from the global index of each element, so XLA partitions
    the computation: each device computes only its shard (see :func:`lowered_sharded` for the
    compiled per-device program). Structured schemes are computed whole, then placed.
    """
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    _check_dtype(plan.dtype)
    if not recipe.elementwise:
        return jax.device_put(_generate(plan, recipe, table, jax.devices()[0], None), sharding)
    return _run(recipe, plan, table, None, _whole(plan.shape), sharding)


def lowered_sharded(scheme: str, shape: Any, sharding: Any, *, layout: Any = None, dtype: Any = "float32",
                    seed: Any = 0, stream: str = "", **params: Any) -> Any:
    """The ``jax.stages.Compiled`` program of :func:`sample_sharded` (inspect ``as_text()``: the
    per-device module works on shard-sized arrays and holds no collectives)."""
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    if not recipe.elementwise:
        raise ValueError(
            f"Scheme {plan.scheme.name!r} is not element-wise (not shard-local). Received: scheme={scheme!r}"
        )
    static = dict(kind=recipe.kind, draws=recipe.draws, dtype=plan.dtype, post_clip=recipe.post_clip,
                  shape=plan.shape, norm=_whole(plan.shape), full_shape=plan.shape, order=recipe.order,
                  wide=_wide(_platform(sharding)))
    with _x64_scope(static["wide"]):
        keys, prm, fence = _inputs(table, recipe.params, None)
        return _sharded_fn(static, sharding).lower(keys, prm, fence).compile()


def _whole(shape: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    return tuple((0, d, 1) for d in shape)


def words(seed: Any = 0, stream: str = "", n: int | None = None, *, index: Any = None, draw: int = 0,
          device: Any = "cpu") -> Any:
    """Raw uint32 words ``0 .. n-1`` or at element indices ``index``."""
    dev = _device(device)
    kp = round_key_pairs(jax.device_put(key_table(seed, stream), dev))
    if index is not None:
        return words_at(OPS, kp, draw, jax.device_put(np.asarray(index, dtype=np.uint32), dev))
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TypeError(f"Argument `n` must be a non-negative int. Received: n={n!r}")
    table = jax.device_put(key_table(seed, stream), dev)
    return jax.jit(lambda k: words_full(OPS, round_key_pairs(k), draw, n))(table)


def to_numpy(x: Any) -> np.ndarray:
    x = np.asarray(jax.device_get(x))
    return x.astype(np.float32) if x.dtype.name == "bfloat16" else x


def device_available(device: str) -> tuple[bool, str]:
    try:
        jax.devices(device)
    except RuntimeError as e:
        return False, f"JAX has no {device!r} device: {e}"
    return True, ""


def device_of(x: Any) -> str:
    platforms = {d.platform for d in x.devices()}
    return "cpu" if platforms == {"cpu"} else "gpu"


def versions() -> dict[str, str]:
    import jaxlib

    return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}


def bench_cases(device: str | None = None) -> list[BenchCase]:
    """Portable normal (4096x4096 float32) vs ``jax.random.normal``; target: at least half the
    native speed (``min_speedup=0.5`` means native_time / ours_time >= 0.5)."""
    shape = (4096, 4096)
    cases = []
    native = jax.jit(lambda k: jax.random.normal(k, shape, jnp.float32))
    for device in ("cpu", "gpu") if device is None else (device,):
        if not device_available(device)[0]:
            continue
        dev = _device(device)
        key = jax.device_put(jax.random.key(0), dev)
        cases.append(BenchCase(
            backend="portable-jax",
            label=f"portable normal {shape[0]}x{shape[1]} float32 (min_speedup=0.5)",
            ours=lambda device=device: sample("normal", shape, seed=0, stream="bench", device=device),
            native=lambda key=key: native(key), native_name="jax.random.normal",
            sync=jax.block_until_ready, target=2.0, min_speedup=0.5, device=device,
        ))
    return cases
