"""Keras' random draws under ``KERAS_BACKEND=jax``, with Keras' values and at most 2x memory.

The Keras adapter (:mod:`initspec.backends.keras`) samples exactly as Keras does so that a seed
gives Keras' values. On JAX those calls (``keras/src/backend/jax/random.py``) are
``jax.random.normal(seed, shape, dtype) * stddev + mean`` and friends, run op by op: the rolled
Threefry of the CPU holds 4x the output (:mod:`._threefry`) and each eager op allocates anew.
Here the same ``jax.random`` functions run on Keras' own key (``jax_draw_seed(seed)``) made a
fused-Threefry key (:func:`._threefry.fused_key`: the same bits, 1x), and Keras' ``* stddev`` and
``+ mean`` run as the same two single-op programs, each writing into its donated input (one
program for both would let XLA contract them into an FMA, 1 ulp off, measured). The orthogonal
sequence has no sum to contract and runs as one program, where XLA reuses the Gaussian's buffer.
The values are Keras' bit for bit (tested). Measured (``docs/measurements/adapter-memory.md``):
1x for the element-wise draws, 2x for :func:`orthogonal` (the Gaussian matrix and LAPACK's
column-major Q), against Keras' 4x and 3x.

:mod:`initspec.backends.keras._sampling` imports this module under the Keras backend this
framework declares (``keras_backend`` in :mod:`initspec.registry`) and uses the draws it defines,
and :func:`portable_sample` for the drop-in's portable stream.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from keras.src.backend.jax.random import jax_draw_seed

from ._threefry import fused_key

__all__ = ["RSS_MEMORY_NOTE", "normal", "orthogonal", "portable_sample", "truncated_normal", "uniform"]

#: why ``initspec bench`` shows no memory figure for these draws: a warm call is invisible to the RSS
RSS_MEMORY_NOTE = ("KERAS_BACKEND=jax: XLA's runtime reuses freed buffers, so a warm call's RSS shows nothing; "
                   "tests/backends/test_keras_random.py measures fresh processes (<= 2x; Keras' own 4x)")


def _key(seed: Any, shape: tuple[int, ...]) -> Any:
    """Keras' key for ``seed`` (``jax_draw_seed``: raw ``uint32[2]`` key data, or a key the
    caller passed), typed, as a fused key where :func:`._threefry.fusable`."""
    key = jax_draw_seed(seed)
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.wrap_key_data(key)
    return fused_key(key, shape)


@functools.partial(jax.jit, donate_argnums=0)
def _mul(x: Any, s: Any) -> Any:
    return x * s


@functools.partial(jax.jit, donate_argnums=0)
def _add(x: Any, m: Any) -> Any:
    return x + m


def _affine(x: Any, stddev: float, mean: float) -> Any:
    """Keras' ``x * stddev + mean`` as its two eager ops (each rounds; no FMA), each writing
    into its donated input."""
    return _add(_mul(x, stddev), mean)


def normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: str, seed: Any) -> Any:
    """``keras.random.normal(shape, mean, stddev, dtype, seed)``: ``normal * stddev + mean``."""
    return _affine(jax.random.normal(_key(seed, shape), shape=tuple(shape), dtype=dtype), stddev, mean)


def truncated_normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: str, seed: Any) -> Any:
    """``keras.random.truncated_normal(...)``: ``truncated_normal(-2, 2) * stddev + mean``."""
    x = jax.random.truncated_normal(_key(seed, shape), shape=tuple(shape), lower=-2.0, upper=2.0, dtype=dtype)
    return _affine(x, stddev, mean)


def uniform(shape: tuple[int, ...], minval: float, maxval: float, dtype: str, seed: Any) -> Any:
    """``keras.random.uniform(shape, minval, maxval, dtype, seed)``: one ``jax.random.uniform``."""
    return jax.random.uniform(_key(seed, shape), shape=tuple(shape), dtype=dtype, minval=minval, maxval=maxval)


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _orthogonal(key: Any, shape: tuple[int, ...], dtype: str, flat: tuple[int, int], gain: Any) -> Any:
    a = jax.random.normal(key, shape=flat, dtype=dtype)
    q, r = jnp.linalg.qr(a, mode="reduced")          # keras.ops.qr(a)
    q = q * jnp.sign(jnp.diagonal(r))                # q *= ops.sign(ops.diag(r)): exact (a sign)
    if flat[0] > math.prod(shape[:-1]):              # num_rows < num_cols
        q = q.T
    return gain * jnp.reshape(q, shape)              # one rounding, as Keras' (no sum to contract)


def orthogonal(shape: tuple[int, ...], gain: float, dtype: str, seed: Any) -> Any:
    """``keras.initializers.Orthogonal(gain, seed)(shape, dtype)``: a Gaussian ``(max, min)``
    matrix, its reduced QR, ``q * sign(diag(r))``, transposed for wide shapes, times ``gain``."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    flat = (max(rows, cols), min(rows, cols))
    return _orthogonal(_key(seed, flat), tuple(shape), dtype, flat, gain)


def portable_sample(scheme: str, shape: tuple[int, ...], **kw: Any) -> Any:
    """The portable stream by :func:`initspec.backends.jax.portable.sample` on JAX's default
    device (on a CPU the compiled C kernel into a host buffer JAX adopts; on GPUs XLA's flat
    size-class kernels); float32 only (float64 needs ``jax_enable_x64``), else None."""
    if kw.get("dtype") != "float32":
        return None
    from . import portable

    return portable.sample(scheme, shape, device=jax.devices()[0], **kw)
