"""Keras' random draws under ``KERAS_BACKEND=torch``, with Keras' values and at most 2x memory.

The Keras adapter (:mod:`initspec.backends.keras`) samples exactly as Keras does so that a seed
gives Keras' values (``keras/src/backend/torch/random.py``, on a ``torch.Generator`` that
``torch_seed_generator(seed)`` seeds). Two of those calls hold several outputs:

* ``uniform``: ``(maxval - minval) * torch.rand(...) + minval``, out of place: 3x. Here the same
  two ops run in place (``mul_``, ``add_``: the same kernels and roundings): 1x.
* ``truncated_normal``: a standard normal of ``shape + (4,)``, a mask, ``max`` indices (int64) and
  a gather: 9x, measured. Here the same normals are drawn in blocks of leading rows from the same
  generator and each block is reduced into the output: ~1x plus a block. On the CPU,
  ``normal_`` fills a contiguous tensor of 16 or more values from the generator's uniforms in
  groups of 16 (``aten/src/ATen/native/cpu/DistributionTemplates.h``, ``normal_fill``; the last
  group redrawn when the size is not a multiple of 16), so blocks whose sizes are multiples of 16
  continue the one-piece stream exactly. :func:`blocks_usable` checks that once per process and
  dtype against the one-piece draw (the tests compare with Keras' own); elsewhere (other devices,
  small tensors, a torch that lays the stream out differently) Keras' own call runs.

* ``orthogonal``: ``torch.linalg.qr`` keeps its input, LAPACK's copy of it and both factors, then
  ``q * sign(diag(r))`` and ``gain * q`` allocate again: 4x. ``torch.linalg.qr`` computes Q with
  LAPACK's ``geqrf`` and then ``orgqr`` on that factorisation (``aten/src/ATen/native/
  BatchLinearAlgebra.cpp``, ``linalg_qr_out``); here the same two calls run (``torch.geqrf``,
  ``torch.linalg.householder_product``) in place on one column-major copy of the input (the
  input freed), ``diag(r)`` read off the factorisation (R's diagonal is its diagonal), and the two
  products in place: 2x for a tall Q (its C-order copy), 1x for a wide one.

``normal`` (``torch.normal``: 1x) stays Keras' own call.
:mod:`initspec.backends.keras._sampling` imports this module under the Keras backend this
framework declares (``keras_backend`` in :mod:`initspec.registry`) and uses the draws it defines,
and :func:`portable_sample` for the drop-in's portable stream.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import keras
import torch
from keras.src.backend.torch.core import get_device, to_torch_dtype
from keras.src.backend.torch.random import torch_seed_generator

__all__ = ["BLOCK_ELEMENTS", "blocks_usable", "orthogonal", "portable_sample", "truncated_normal", "uniform"]

#: normals (4 per output element) drawn per block of the truncated normal; a multiple of 16
BLOCK_ELEMENTS = 1 << 20
#: torch's CPU ``normal_fill`` group size: a block of a multiple of this many values continues the stream
FILL_GROUP = 16


def uniform(shape: tuple[int, ...], minval: float, maxval: float, dtype: str, seed: Any) -> Any:
    """``keras.random.uniform``: ``(maxval - minval) * rand + minval``, the two ops in place."""
    device = get_device()
    if device == "meta":
        return keras.random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=seed)
    size = tuple(shape) or (1,)  # Keras draws one value for a scalar
    x = torch.rand(size=size, generator=torch_seed_generator(seed), dtype=to_torch_dtype(dtype), device=device)
    x.mul_(maxval - minval).add_(minval)
    return x if shape else x[0]


def _reduce(x: torch.Tensor) -> torch.Tensor:
    """Keras' truncation of a ``(..., 4)`` block: the first of the 4 normals inside (-2, 2)."""
    valid = (x > -2) & (x < 2)
    indexes = valid.max(-1, keepdim=True)[1]
    return x.gather(-1, indexes).squeeze(-1)


def _blocked(shape: tuple[int, ...], dtype: torch.dtype, generator: torch.Generator,
             block_elements: int | None = None) -> torch.Tensor:
    """The ``(shape + (4,))`` normals of one draw reduced block by block over the flat range
    (every block but the last a multiple of :data:`FILL_GROUP` normals)."""
    n = math.prod(shape)
    out = torch.empty(n, dtype=dtype)
    block_elements = BLOCK_ELEMENTS if block_elements is None else block_elements
    per = max(FILL_GROUP, block_elements // 4 // FILL_GROUP * FILL_GROUP)  # output elements per block
    starts = list(range(0, n, per))
    if len(starts) > 1 and 4 * (n - starts[-1]) < FILL_GROUP:  # a last block under 16 normals would take
        starts.pop()                                             # torch's scalar path: merged into the one before
    for start, stop in zip(starts, [*starts[1:], n]):
        x = torch.empty((stop - start, 4), dtype=dtype)
        x.normal_(0.0, 1.0, generator=generator)
        out[start:stop] = _reduce(x)
    return out.reshape(shape)


@functools.cache
def blocks_usable(dtype: torch.dtype) -> bool:
    """Once per process and dtype: blocked normals equal the one-piece draw (sizes off the group
    of 16 and blocks of a few groups), else a warning and False (Keras' own call is used)."""
    try:
        for shape in ((7, 5), (3, 37), (64,), (5, 3, 11)):
            one = torch.empty(tuple(shape) + (4,), dtype=dtype).normal_(
                0.0, 1.0, generator=torch.Generator().manual_seed(11))
            got = _blocked(shape, dtype, torch.Generator().manual_seed(11), block_elements=4 * FILL_GROUP)
            if not torch.equal(got, _reduce(one)):
                raise AssertionError(f"shape {shape} differs")
    except Exception as e:  # noqa: BLE001 - any failure means: do not block
        warnings.warn(f"initspec: blocked torch normals differ from one draw on this torch ({torch.__version__}, "
                      f"{dtype}: {type(e).__name__}: {e}); Keras' truncated normal runs as Keras' (more memory, "
                      f"the same values)", RuntimeWarning, stacklevel=2)
        return False
    return True


def truncated_normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: str, seed: Any) -> Any:
    """``keras.random.truncated_normal``: of 4 standard normals per element the first inside
    (-2, 2), times ``stddev`` plus ``mean`` (in place, as Keras), the normals drawn in blocks on
    the CPU (see the module docstring)."""
    tdt = to_torch_dtype(dtype)
    n = math.prod(shape)
    if get_device() != "cpu" or 4 * n < FILL_GROUP or not blocks_usable(tdt):
        return keras.random.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype, seed=seed)
    out = _blocked(tuple(shape), tdt, torch_seed_generator(seed))
    out.mul_(stddev).add_(mean)
    return out


def orthogonal(shape: tuple[int, ...], gain: float, dtype: str, seed: Any) -> Any:
    """``keras.initializers.Orthogonal(gain, seed)(shape, dtype)``: a Gaussian ``(max, min)``
    matrix (Keras' ``keras.random.normal``), Q of its reduced QR times ``sign(diag(R))``,
    transposed for wide shapes, times ``gain`` (see the module docstring)."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = keras.random.normal((max(rows, cols), min(rows, cols)), seed=seed, dtype=dtype)
    if a.device.type == "meta":  # shapes only (Keras' symbolic builds): no values to compute
        return torch.empty(shape, dtype=a.dtype, device=a.device)
    f = a.mT.contiguous().mT  # LAPACK's column-major copy (torch.linalg.qr makes it too)
    del a
    if f.device.type == "cpu":  # geqrf and orgqr in place on it
        tau = torch.empty(f.shape[-1], dtype=f.dtype)
        torch.geqrf(f, out=(f, tau))
        d = torch.sign(torch.diagonal(f))
        q = torch.linalg.householder_product(f, tau, out=f)
    else:
        h, tau = torch.geqrf(f)
        del f
        d = torch.sign(torch.diagonal(h))
        q = torch.linalg.householder_product(h, tau)
        del h
    del tau
    q.mul_(d)
    if rows < cols:
        q = q.T  # column-major Q transposed: C-contiguous, so the reshape below is a view
    return q.reshape(shape).mul_(gain)  # a C-order copy of a tall Q, a view of a wide one


def portable_sample(scheme: str, shape: tuple[int, ...], **kw: Any) -> Any:
    """The portable stream by :func:`initspec.backends.torch.portable.sample` on Keras' torch
    device (on the CPU the compiled C kernel writes the new tensor's memory); float32 only, else
    None."""
    if kw.get("dtype") != "float32":
        return None
    from . import portable

    return portable.sample(scheme, shape, device=torch.device(get_device()), **kw)
