"""``jax.random``'s Threefry bits, lowered so that XLA fuses a whole draw into one loop: the
JAX adapter's native draws hold about their output instead of ~4x, with exactly JAX's values.

On the CPU, JAX lowers ``threefry2x32`` with rolled loops (``jax/_src/random/threefry2x32.py``,
``_threefry2x32_cpu_lowering_rule``: ``use_rolled_loops=True``; other platforms get the unrolled
rule). The ``while`` loop over the five round groups keeps the two 32-bit halves of every element's
state alive as separate buffers: ``jax.random.normal`` (and ``jax.nn.initializers.he_normal``) of a
4096x4096 float32 holds 4.00x its output (``compiled.memory_analysis()``: output plus temporaries;
4.3x in peak RSS at 8192x8192), and the same 4x for every size down to a 784x256 kernel.

The bits depend on ``(key, i)`` only, ``i`` the flat C-order index of the element
(``_threefry_random_bits_partitionable`` with ``jax_threefry_partitionable``, JAX's default since
0.5): ``threefry2x32(key, (i >> 32, i & 0xFFFFFFFF))``, the two words xor-ed (32 bits), truncated
(8 and 16 bits) or concatenated (64 bits). :data:`FUSED_IMPL` is a PRNG implementation
(``jax.extend.random.define_prng_impl``) with Threefry's key data whose ``random_bits`` compute
exactly that with the 20 rounds written out (Salmon et al. 2011, "Parallel random numbers: as easy
as 1, 2, 3", Threefry-2x32 with 20 rounds; the rotation constants and key schedule of JAX's
``_threefry2x32_lowering``). Element-wise integer code from an ``iota``: XLA fuses it with the
sampler's transform (JAX's own ``uniform``/``normal``/``truncated_normal`` code runs on the bits)
into one loop that writes the output. Measured (``docs/measurements/adapter-memory.md``): 1.00x
memory for every element-wise sampler and size, 1.6-3.4x faster than the rolled program, and
faster to compile (a 50-kernel program 3.1 s against 5.3 s).

``split``, ``fold_in`` and ``seed`` are Threefry's own, so a fused key behaves as the Threefry key
it wraps in every ``jax.random`` function. The tests compare whole samplers in every dtype with
JAX's own keys. On a JAX version the tests did not run on, :func:`usable` compares the bits with
``jax.random.bits`` once per process and turns the fused keys off with a warning if they differ.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend import random as jex_random

__all__ = ["FUSED_IMPL", "fused_key", "fusable", "usable"]

#: Threefry-2x32's rotation constants, alternating by group of 4 rounds (Salmon et al. 2011, table 4)
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
#: the key schedule's parity constant (``ks[2] = k1 ^ k2 ^ PARITY``)
PARITY = np.uint32(0x1BD11BDA)
#: the largest tensor the fused bits cover: the flat index's high word is 0 below it
MAX_ELEMENTS = 1 << 32
#: the implementation fused keys wrap
THREEFRY = "threefry2x32"


def _rotl(x: Any, d: int) -> Any:
    return lax.shift_left(x, np.uint32(d)) | lax.shift_right_logical(x, np.uint32(32 - d))


def threefry2x32(k1: Any, k2: Any, x0: Any, x1: Any) -> tuple[Any, Any]:
    """Threefry-2x32, 20 rounds, unrolled: JAX's ``_threefry2x32_lowering`` with
    ``use_rolled_loops=False``, written with ``lax`` integer ops (wrapping uint32 arithmetic)."""
    ks = (k1, k2, k1 ^ k2 ^ PARITY)
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for group in range(5):
        for r in ROTATIONS[group % 2]:
            x0 = x0 + x1
            x1 = x0 ^ _rotl(x1, r)
        x0 = x0 + ks[(group + 1) % 3]
        x1 = x1 + ks[(group + 2) % 3] + np.uint32(group + 1)
    return x0, x1


def _bits(key_data: Any, bit_width: int, shape: tuple[int, ...]) -> Any:
    """``_threefry_random_bits_partitionable(key_data, bit_width, shape)``: the counter of an
    element is its flat index (high word 0: :func:`fusable` keeps tensors under 2**32 elements)."""
    n = math.prod(shape)
    if n >= MAX_ELEMENTS:
        raise NotImplementedError(f"initspec's fused Threefry bits cover < 2**32 elements. Received: shape={shape}")
    lo = lax.iota(jnp.uint32, n).reshape(shape)
    bits1, bits2 = threefry2x32(key_data[0], key_data[1], jnp.zeros(shape, jnp.uint32), lo)
    if bit_width == 64:
        return lax.shift_left(bits1.astype(jnp.uint64), jnp.uint64(32)) | bits2.astype(jnp.uint64)
    if bit_width == 32:
        return bits1 ^ bits2
    return (bits1 ^ bits2).astype({8: jnp.uint8, 16: jnp.uint16}[bit_width])


def _as_threefry(key_data: Any) -> Any:
    return jax.random.wrap_key_data(key_data, impl=THREEFRY)


def _seed(seed: Any) -> Any:
    return jax.random.key_data(jax.random.key(seed, impl=THREEFRY))


def _split(key_data: Any, shape: tuple[int, ...]) -> Any:
    return jax.random.key_data(jax.random.split(_as_threefry(key_data), shape))


def _fold_in(key_data: Any, data: Any) -> Any:
    return jax.random.key_data(jax.random.fold_in(_as_threefry(key_data), data))


#: Threefry with its bits lowered unrolled (fused by XLA); seed, split and fold_in are Threefry's
FUSED_IMPL = jex_random.define_prng_impl(
    key_shape=(2,), seed=_seed, split=_split, fold_in=_fold_in, random_bits=_bits,
    name="initspec_threefry_fused", tag="itf")


def fusable(key: Any, shape: tuple[int, ...]) -> bool:
    """Whether :func:`fused_key` wraps ``key`` for a draw of ``shape``: a Threefry key with
    partitionable bits, fewer than 2**32 elements, the CPU backend (where JAX rolls the loop; other
    platforms already lower Threefry unrolled, or with their own kernel), and :func:`usable`."""
    return (math.prod(shape) < MAX_ELEMENTS and jax.default_backend() == "cpu"
            and bool(jax.config.jax_threefry_partitionable)
            and str(jax.random.key_impl(key)) == THREEFRY and usable())


def fused_key(key: Any, shape: tuple[int, ...]) -> Any:
    """``key`` as a :data:`FUSED_IMPL` key when :func:`fusable` (the same bits, fused), else
    ``key`` itself. ``key`` is a typed key."""
    if fusable(key, shape):
        return jax.random.wrap_key_data(jax.random.key_data(key), impl=FUSED_IMPL)
    return key


#: the JAX versions whose bit layout the test suite checks (``constraints.txt`` pins one): there
#: :func:`usable` trusts the tests; any other version checks once per process (~0.5 s of compiles)
TESTED_JAX_VERSIONS = frozenset({"0.10.2"})
#: the shape :func:`_check` compares (odd sizes, a row count that is not a power of two)
CHECK_SHAPE = (33, 17)


def _check(key: Any) -> None:
    """Raise unless the fused bits equal ``jax.random.bits`` on :data:`CHECK_SHAPE`, 32-bit words
    and the 8-bit truncation (16 bits truncate alike; 64 bits concatenate the same two words), in
    one small jitted program. The tests compare every width and whole samplers."""
    widths = (jnp.uint32, jnp.uint8)

    def both(k: Any) -> list[tuple[Any, Any]]:
        f = jax.random.wrap_key_data(jax.random.key_data(k), impl=FUSED_IMPL)
        return [(jax.random.bits(k, CHECK_SHAPE, dt), jax.random.bits(f, CHECK_SHAPE, dt)) for dt in widths]

    for (want, got), dt in zip(jax.jit(both)(key), widths):
        if not np.array_equal(np.asarray(want), np.asarray(got)):
            raise AssertionError(f"bits of {np.dtype(dt).name} differ")


@functools.cache
def usable() -> bool:
    """Once per process: the fused bits equal ``jax.random``'s (:func:`_check`; trusted without
    a check on :data:`TESTED_JAX_VERSIONS`), else a warning and False (JAX's own keys are used:
    more memory, the same values)."""
    if jax.__version__ in TESTED_JAX_VERSIONS:
        return True
    try:
        with jax.ensure_compile_time_eval():  # evaluated now, also when first asked inside a trace
            _check(jax.random.key(20260607, impl=THREEFRY))
    except Exception as e:  # noqa: BLE001 - any failure means: do not fuse
        warnings.warn(f"initspec: fused Threefry bits differ from jax.random's on this JAX version "
                      f"({jax.__version__}: {type(e).__name__}: {e}); drawing with JAX's own keys "
                      f"(more peak memory, the same values)", RuntimeWarning, stacklevel=2)
        return False
    return True
