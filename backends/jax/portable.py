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

Element-wise schemes run, on a CPU device, the compiled C kernel of the reference
(:mod:`initspec.backends.jax._host`: no XLA compilation, no copy; float32 real kinds), elsewhere
the jitted kernel of :mod:`initspec.backends.jax._kernel` (uint32 words from 16-bit limbs, the FMA
fence, float64 division and sqrt on GPUs); structured ones (orthogonal,
sparse, ...) the generic sampler over :class:`PortableJax`, the adapter's primitives with the
portable stream as RNG. Tensors are limited to ``2**32`` elements (uint32 element indices).

Measured on an H200 machine: bit-identical to NumPy on its CPU; on its GPU, words and
uniform-based schemes bit-identical and normal-based ones within 4 ulp (see the package notes).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from initspec.distributions import Plan

from .._bench import BenchCase, portable_normal_cases
from ..portable._spec import (
    PortableRng,
    Recipe,
    check_index,
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
from ._checks import DEFAULT_LAYOUT, X64_DTYPES, x64_enabled
from ._kernel import OPS, JaxOps, _inputs, _platform, _run, _sharded_fn, _values, _whole, _wide, _x64_scope
from ._primitives import JaxBackend

__all__ = [
    "DEFAULT_LAYOUT", "MAX_ELEMENTS", "OPS", "JaxOps", "bench_cases", "device_available", "device_of",
    "lowered_sharded", "sample", "sample_sharded", "sample_slice", "to_numpy", "versions", "words",
]

#: element indices are uint32
MAX_ELEMENTS = 2**32


def _check_dtype(name: str) -> None:
    if name in X64_DTYPES and not x64_enabled():
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
    static = {"kind": recipe.kind, "draws": recipe.draws, "dtype": plan.dtype, "post_clip": recipe.post_clip,
              "shape": plan.shape, "norm": _whole(plan.shape), "full_shape": plan.shape, "order": recipe.order,
              "wide": _wide(_platform(sharding))}
    with _x64_scope(static["wide"]):
        keys, prm, fence = _inputs(table, recipe.params, None)
        return _sharded_fn(static, sharding).lower(keys, prm, fence).compile()


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
    """Portable normal vs ``jax.random.normal`` (:func:`initspec.backends._bench.portable_normal_cases`)."""

    def make(where: str, shape: tuple[int, ...]) -> Any:
        native = jax.jit(lambda k: jax.random.normal(k, shape, jnp.float32))
        key = jax.device_put(jax.random.key(0), _device(where))
        return (lambda: sample("normal", shape, seed=0, stream="bench", device=where)), (lambda: native(key)), \
            jax.block_until_ready

    return portable_normal_cases("jax", "jax.random.normal", device, device_available, make)
