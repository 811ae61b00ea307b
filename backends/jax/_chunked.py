"""Large element-wise draws in blocks, with exactly ``jax.random``'s values and a peak memory
near the output's own (the JAX adapter's native mode, :func:`._initializer._draw`).

On the CPU, JAX lowers ``threefry2x32`` with rolled loops (``jax/_src/random/threefry2x32.py``:
``use_rolled_loops`` on the ``cpu`` platform), so XLA keeps the two 32-bit halves of every
element's Threefry state alive across the rounds: ``jax.random.normal`` of a 8192x8192 float32
holds 3x its output in temporaries (``compiled.memory_analysis().temp_size_in_bytes``; 4.3x the
output in peak RSS, measured, ``jax.nn.initializers.he_normal`` the same).

With ``jax_threefry_partitionable`` (JAX's default since 0.5), the bits of element ``i`` (its flat
C-order index) are ``threefry2x32(key, (i >> 32, i & 0xFFFFFFFF))``, the two words xor-ed
(``_threefry_random_bits_partitionable``): a function of ``(key, i)`` only. :func:`draw` computes
the flat tensor in blocks inside one ``lax.fori_loop`` writing into the output
(``dynamic_update_slice``, in place) and reshapes it. Each block is sampled by the very same
``jax.random`` function on a key of :data:`OFFSET_IMPL`, a PRNG implementation
(``jax.extend.random.define_prng_impl``) whose ``random_bits`` are Threefry's at the block's global
indices; the transforms (uniform mantissa trick, ``erf_inv``, truncation) are JAX's own code, so
the values equal the one-piece call bit for bit. :func:`usable` checks the bits once per process
on a small tensor (the tests check the samplers on many shapes and dtypes) and falls back to the
one-piece call, with a warning, if a JAX version ever lays them out differently.

Peak: the output plus the temporaries of a few blocks (a block is at most :data:`BLOCK_ELEMENTS`
and an eighth of the tensor): ~1.25x the output for 4096x4096, at most ~1.5x, for tensors of
:data:`MIN_ELEMENTS` and more; smaller ones keep JAX's own program (~4x, under 64 MiB).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import random as jex_random

__all__ = ["BLOCK_ELEMENTS", "MIN_BLOCKS", "MIN_ELEMENTS", "OFFSET_IMPL", "block_size", "draw", "usable"]

#: elements per block (4 MiB of float32): the loop's temporaries stay a few of these
BLOCK_ELEMENTS = 1 << 20
#: tensors smaller than this (16 MiB of float32) are drawn in one piece: there XLA's one fused
#: program is as fast or faster than blocks (measured up to 1.5x slower blocked at 3x3x256x256), and
#: its ~4x peak stays under 64 MiB
MIN_ELEMENTS = 1 << 22
#: a blocked tensor has at least this many blocks (:func:`block_size`)
MIN_BLOCKS = 8
#: the samplers whose values at flat index ``i`` depend on ``(key, i)`` only (one ``random_bits`` call)
SAMPLERS = ("normal", "uniform", "truncated_normal")


def _offset_bits(key_data: Any, bit_width: int, shape: tuple[int, ...]) -> Any:
    """Threefry bits of the elements ``offset .. offset + prod(shape) - 1`` (C order), the
    ``uint32[4]`` key data being ``(k1, k2, offset_hi, offset_lo)``: what
    ``_threefry_random_bits_partitionable`` computes for those global indices."""
    k1, k2, off_hi, off_lo = key_data[0], key_data[1], key_data[2], key_data[3]
    n = math.prod(shape)
    lo = lax.iota(jnp.uint32, n) + off_lo  # wraps mod 2**32
    hi = jnp.broadcast_to(off_hi, (n,)) + (lo < off_lo).astype(jnp.uint32)  # the carry
    bits1, bits2 = jex_random.threefry2x32_p.bind(k1, k2, hi.reshape(shape), lo.reshape(shape))
    if bit_width == 64:
        return lax.shift_left(bits1.astype(jnp.uint64), jnp.uint64(32)) | bits2.astype(jnp.uint64)
    if bit_width == 32:
        return bits1 ^ bits2
    return (bits1 ^ bits2).astype({8: jnp.uint8, 16: jnp.uint16}[bit_width])


def _unsupported(*_: Any) -> Any:
    raise NotImplementedError("initspec's block keys only draw random bits")


#: a PRNG implementation whose keys are ``(threefry key, 64-bit element offset)``: random bits only
OFFSET_IMPL = jex_random.define_prng_impl(
    key_shape=(4,), seed=_unsupported, split=_unsupported, fold_in=_unsupported, random_bits=_offset_bits,
    name="initspec_threefry_offset", tag="ito")


def _block_key(k1: Any, k2: Any, offset: Any) -> Any:
    offset = jnp.asarray(offset, jnp.uint32)  # < 2**32: draw() only blocks tensors that small
    data = jnp.stack([k1, k2, jnp.uint32(0), offset])
    return jax.random.wrap_key_data(data, impl=OFFSET_IMPL)


def block_size(n: int) -> int:
    """Elements per block for an ``n``-element tensor: at most :data:`BLOCK_ELEMENTS` and at
    most an eighth of the tensor (XLA keeps ~4 blocks of rolled-Threefry state alive, so the peak
    stays under 2x the output for every blocked size)."""
    return max(1, min(BLOCK_ELEMENTS, -(-n // MIN_BLOCKS)))


def draw(key: Any, shape: tuple[int, ...], sample: Callable[[Any, tuple[int, ...]], Any], dtype: Any,
         block_elements: int | None = None) -> Any:
    """``sample(key, shape)`` computed over the flat C-order element range in blocks (see the
    module docstring), then reshaped (free); ``sample(key, (m,))`` must draw its values with one
    ``jax.random`` call on ``key``, element-wise (so a flat draw reshaped equals the shaped one)."""
    n = math.prod(shape)
    size = block_size(n) if block_elements is None else block_elements
    full, tail = divmod(n, size)
    data = jax.random.key_data(key)
    k1, k2 = data[0], data[1]

    def body(i: Any, out: Any) -> Any:
        start = i * size
        return lax.dynamic_update_slice(out, sample(_block_key(k1, k2, start), (size,)), (start,))

    out = jnp.zeros((n,), dtype)
    if full:
        out = lax.fori_loop(0, full, body, out)
    if tail:
        out = lax.dynamic_update_slice(out, sample(_block_key(k1, k2, full * size), (tail,)), (full * size,))
    return out.reshape(shape)


def blockable(key: Any, sampler: str, complex_rule: Any, shape: tuple[int, ...]) -> bool:
    """Whether :func:`draw` applies: a real element-wise sampler, a large tensor below 2**32
    elements, on a single CPU device (the rolled Threefry lowering is the CPU's; GPUs keep JAX's
    own program), a Threefry key with partitionable bits, and :func:`usable`."""
    n = math.prod(shape)
    return (sampler in SAMPLERS and complex_rule is None and len(shape) >= 1 and MIN_ELEMENTS <= n < 2**32
            and jax.default_backend() == "cpu" and jax.device_count() == 1
            and bool(jax.config.jax_threefry_partitionable)
            and str(jax.random.key_impl(key)) == "threefry2x32" and usable())


def _check(key: Any) -> None:
    """Raise unless blocked random bits equal ``jax.random.bits`` (see :func:`usable`) for every
    width the samplers draw (uint8 .. uint64 where x64 is on), blocks splitting rows unevenly, in
    one small jitted program. The samplers' transforms are JAX's own element-wise code on those bits."""
    shape = (7, 5, 3)
    widths = [jnp.uint8, jnp.uint16, jnp.uint32] + ([jnp.uint64] if jax.config.jax_enable_x64 else [])

    def both(k: Any) -> list[tuple[Any, Any]]:
        return [(jax.random.bits(k, shape, dt),
                 draw(k, shape, lambda kk, s, dt=dt: jax.random.bits(kk, s, dt), dt, block_elements=11))
                for dt in widths]

    for (want, got), dt in zip(jax.jit(both)(key), widths):
        if not np.array_equal(np.asarray(want), np.asarray(got)):
            raise AssertionError(f"bits of {np.dtype(dt).name} differ")


@functools.cache
def usable() -> bool:
    """Once per process: blocked random bits equal ``jax.random.bits`` (:func:`_check`), else a
    warning and False (the plain call is used). The tests compare whole samplers, all dtypes."""
    try:
        with jax.ensure_compile_time_eval():  # evaluated now, also when first asked inside a trace
            _check(jax.random.key(20260607))
    except Exception as e:  # noqa: BLE001 - any failure means: do not block
        warnings.warn(f"initspec: blocked jax.random draws differ from jax.random's on this JAX version "
                      f"({jax.__version__}: {type(e).__name__}: {e}); drawing large tensors in one piece "
                      f"(more peak memory, the same values)", RuntimeWarning, stacklevel=2)
        return False
    return True


def plan_block(plan: Any, shape: tuple[int, ...]) -> Any:
    """``plan`` for a block of ``shape`` (the same law; only the shape differs)."""
    return dataclasses.replace(plan, shape=shape)
