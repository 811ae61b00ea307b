"""The JAX portable stream on the CPU through the compiled kernel of
:mod:`initspec.backends.portable` (``_ckernel.c``), instead of XLA programs.

On a CPU device the XLA kernel (:mod:`._kernel`) has to be compiled per size class, or per shape
inside a caller's ``jax.jit``: a whole Flax model's first portable init spent 10-20 s in XLA
compilation where ``model.init`` compiled in 7-11 s. The compiled C kernel computes the same values
bit for bit (tested against the NumPy reference in ``tests/backends/test_portable_ckernel.py``),
with nothing to compile:

* **eager** (no trace): the kernel writes into a 64-byte-aligned host buffer
  (:data:`ALIGN`) which the CPU device adopts without a copy (``jax.device_put(...,
  may_alias=True)``; XLA's CPU client aliases a host buffer only when it is aligned), so the peak
  memory is the output itself (plus one tensor for layouts that are neither the stream's logical
  order nor its 2-D transpose, e.g. a ``(kh, kw, in, out)`` conv kernel);
* **inside a caller's** ``jax.jit`` on a single CPU device: ``jax.pure_callback`` (no operands: the
  values depend only on the static plan and key table), which XLA copies once into its buffer.
  With several devices the traced XLA kernel stays, so ``out_shardings`` still computes each shard
  on its own device.

Where the kernel is not built or ``INITSPEC_PORTABLE_KERNEL=numpy`` turns it off, or the plan is
not a real one-draw float32 one (:func:`initspec.backends.portable.host_fillable`), the XLA kernel
runs as before (and the tests run it on the CPU that way).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from initspec.distributions import Plan

from ..portable import generate_into, host_fillable
from ..portable._spec import Recipe

__all__ = ["ALIGN", "aligned_empty", "values"]

#: the alignment (bytes) of a host buffer that XLA's CPU client adopts without copying
#: (``xla::cpu::MinAlign()``; measured: a 16-byte-aligned NumPy array is copied, a 64-byte one is not)
ALIGN = 64


def aligned_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised C-contiguous float32 array of ``shape`` whose data (if any) starts on a
    multiple of :data:`ALIGN` bytes."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * 4
    raw = np.empty(nbytes + ALIGN, dtype=np.uint8)
    offset = (-raw.ctypes.data) % ALIGN
    return raw[offset:offset + nbytes].view(np.float32).reshape(shape)


def _host_array(plan: Plan, recipe: Recipe, table: np.ndarray) -> np.ndarray:
    out = aligned_empty(plan.shape)
    generate_into(plan, recipe, table, out)
    return out


def values(plan: Plan, recipe: Recipe, table: np.ndarray, dev: Any, tracing: bool) -> Any:
    """The whole tensor as a jax.Array on ``dev`` (a CPU device) from the compiled kernel, or None
    where this path does not apply (then the caller runs the XLA kernel). ``tracing``: whether the
    call is inside a caller's ``jax.jit``."""
    if dev is None or dev.platform != "cpu" or not host_fillable(plan, recipe):
        return None
    if not tracing:
        return jax.device_put(_host_array(plan, recipe, table), dev, may_alias=True)
    if jax.default_backend() != "cpu" or jax.device_count() != 1:
        return None  # the traced kernel: partitionable under out_shardings, and on the jit's device
    table = np.array(table, dtype=np.uint32)  # the callback keeps its own copy
    return jax.pure_callback(lambda: _host_array(plan, recipe, table),
                             jax.ShapeDtypeStruct(plan.shape, jnp.float32))
