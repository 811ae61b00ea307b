"""The JAX portable stream on the CPU through the compiled kernel of
:mod:`initspec.backends.portable` (``_ckernel.c``), instead of XLA programs.

On a CPU device the XLA kernel (:mod:`._kernel`) has to be compiled per size class, or per shape
inside a caller's ``jax.jit``: a whole Flax model's first portable init spent 10-20 s in XLA
compilation where ``model.init`` compiled in 7-11 s. The compiled C kernel computes the same values
bit for bit (tested against the NumPy reference in ``tests/backends/test_portable_ckernel.py``),
with nothing to compile:

* **eager** (no trace): the kernel writes into a 64-byte-aligned host array
  (:func:`initspec.backends.portable.host_array`) which the CPU device adopts without a copy
  (``jax.device_put(..., may_alias=True)``; XLA's CPU client aliases a host buffer only when it is
  aligned), so the peak memory is the output itself;
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

from .. import portable as reference
from ..portable._spec import Recipe

__all__ = ["values"]


def _host_array(plan: Plan, recipe: Recipe, table: np.ndarray) -> np.ndarray:
    out = reference.host_array(plan, recipe, table)
    assert out is not None  # values() checked host_fillable
    return out


def values(plan: Plan, recipe: Recipe, table: np.ndarray, dev: Any, tracing: bool) -> Any:
    """The whole tensor as a jax.Array on ``dev`` (a CPU device) from the compiled kernel, or None
    where this path does not apply (then the caller runs the XLA kernel). ``tracing``: whether the
    call is inside a caller's ``jax.jit``."""
    if dev is None or dev.platform != "cpu" or not reference.host_fillable(plan, recipe):
        return None
    if not tracing:
        return jax.device_put(_host_array(plan, recipe, table), dev, may_alias=True)
    if jax.default_backend() != "cpu" or jax.device_count() != 1:
        return None  # the traced kernel: partitionable under out_shardings, and on the jit's device
    table = np.array(table, dtype=np.uint32)  # the callback keeps its own copy
    return jax.pure_callback(lambda: _host_array(plan, recipe, table),
                             jax.ShapeDtypeStruct(plan.shape, jnp.float32))
