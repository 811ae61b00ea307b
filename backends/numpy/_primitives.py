"""NumPy primitives: the :class:`~initspec.backends._core.Primitives` vocabulary in NumPy/scipy.

Shared by the native reference (:mod:`initspec.backends.numpy`) and the NumPy reference of the
portable stream (:mod:`initspec.backends.portable`, which subclasses :class:`NumpyBackend` and
replaces only the RNG). The truncated normal is exact: rejection from the float64 normal when
the interval holds at least :data:`REJECTION_MIN_MASS` of it, else scipy's ``truncnorm``
inverse CDF (``scipy.stats.truncnorm.ppf``) in float64.

Memory: the real normal, uniform and truncated-normal paths (``fast_normal``/``fast_uniform``/``fast_truncated_normal``,
:func:`initspec.backends._core.sample`'s hook) fill the output in chunks of :data:`CHUNK`
elements, so a call's peak extra memory is the output plus a few MB of float64 scratch (scipy's
``truncnorm.rvs`` broadcast its bounds to the full size and needed ~49x the output).
"""

from __future__ import annotations

from typing import Any

import math

import numpy as np
from initspec.distributions import Plan
from initspec.dtypes import ceil_to_dtype, inner_bounds
from scipy import special, stats

from .._core import LOW_PRECISION, Primitives, compute_dtype

__all__ = ["BACKEND", "CHUNK", "NP_DTYPES", "NumpyBackend", "REJECTION_MIN_MASS", "np_dtype"]

#: elements per chunk of the memory-bounded samplers (8 MiB of float64 scratch)
CHUNK = 1 << 20
#: the truncated normal samples by rejection from N(0, 1) when P(a < Z < b) is at least this
#: (at most 4 normals per value on average); below it, by scipy's inverse CDF
REJECTION_MIN_MASS = 0.25

#: spec dtype name -> NumPy scalar type (NumPy has no bfloat16)
NP_DTYPES: dict[str, Any] = {"float16": np.float16, "float32": np.float32, "float64": np.float64,
                             "complex64": np.complex64, "complex128": np.complex128}


def np_dtype(dtype: str) -> Any:
    """The NumPy scalar type of the spec dtype ``dtype``; ``TypeError`` for one NumPy lacks."""
    if dtype not in NP_DTYPES:
        raise TypeError(f"The NumPy backend has no {dtype!r} dtype (no bfloat16 in NumPy). Received: dtype={dtype!r}")
    return NP_DTYPES[dtype]


class NumpyBackend(Primitives):
    """NumPy primitives over a ``numpy.random.Generator`` (``split`` is ``Generator.spawn``)."""

    name = "numpy"
    capabilities = frozenset({"complex", "float16", "float64", "cpu"})

    def split(self, rng: np.random.Generator, n: int) -> list[np.random.Generator]:
        return list(rng.spawn(n))

    def normal(self, rng, shape, dtype):
        return rng.standard_normal(shape, dtype=np.float64).astype(np_dtype(dtype))

    def uniform(self, rng, shape, dtype, low, high):
        x = rng.uniform(low, high, size=shape).astype(np_dtype(dtype))
        hi = np.nextafter(np_dtype(dtype)(high), np_dtype(dtype)(low))
        return np.minimum(x, hi)  # float64 -> float32 rounding may reach `high`

    def truncated_normal(self, rng, shape, dtype, a, b):
        out = np.empty(shape, dtype=np_dtype(dtype))
        flat = out.reshape(-1)
        for start in range(0, flat.size, CHUNK):
            stop = min(flat.size, start + CHUNK)
            flat[start:stop] = _truncated_chunk(rng, stop - start, a, b)
        return out

    # fused, chunked paths for real dtypes (the generic code would allocate 3-4 full-size temporaries)
    def fast_normal(self, rng, plan: Plan):
        if plan.complex_rule is not None or plan.dtype not in NP_DTYPES:  # e.g. an emulated bfloat16
            return NotImplemented
        return self._chunked(plan, lambda k: rng.standard_normal(k, dtype=np.float64), clip=False)

    def fast_truncated_normal(self, rng, plan: Plan):
        if plan.complex_rule is not None or plan.dtype not in NP_DTYPES:  # e.g. an emulated bfloat16
            return NotImplemented
        a, b = (plan.low - plan.mean) / plan.std, (plan.high - plan.mean) / plan.std
        return self._chunked(plan, lambda k: _truncated_chunk(rng, k, a, b), clip=True)

    def fast_uniform(self, rng, plan: Plan):
        if plan.complex_rule is not None or plan.dtype not in NP_DTYPES:  # e.g. an emulated bfloat16
            return NotImplemented
        cdt, dt = compute_dtype(plan.dtype), np_dtype(plan.dtype)
        clip = plan.dtype in LOW_PRECISION or cdt != plan.dtype
        lo, hi = (ceil_to_dtype(plan.low, plan.dtype), inner_bounds(plan.low, plan.high, plan.dtype)[1]) if clip else (0, 0)
        out = np.empty(plan.shape, dtype=dt)
        flat = out.reshape(-1)
        for start in range(0, flat.size, CHUNK):
            stop = min(flat.size, start + CHUNK)
            chunk = self.uniform(rng, (stop - start,), cdt, plan.low, plan.high).astype(dt, copy=False)
            flat[start:stop] = np.clip(chunk, np.asarray(lo, dt), np.asarray(hi, dt)) if clip else chunk
        return out

    def _chunked(self, plan: Plan, draw, clip: bool) -> np.ndarray:
        """``draw(k) * std + mean`` in the compute dtype, cast to ``plan.dtype``, chunk by chunk
        into one output array (clipped into the open truncation interval when ``clip``): the same
        values, operation for operation, as the generic path of ``_core.sample``."""
        cdt, dt = np_dtype(compute_dtype(plan.dtype)), np_dtype(plan.dtype)
        out = np.empty(plan.shape, dtype=dt)
        flat = out.reshape(-1)
        lo, hi = inner_bounds(plan.low, plan.high, plan.dtype) if clip else (None, None)
        for start in range(0, flat.size, CHUNK):
            stop = min(flat.size, start + CHUNK)
            z = draw(stop - start).astype(cdt, copy=False)  # a fresh array: scaled in place
            z *= plan.std
            z += plan.mean
            part = flat[start:stop]
            np.copyto(part, z, casting="same_kind")  # the cast to dt (astype's rounding), into place
            if clip:
                np.clip(part, np.asarray(lo, dt), np.asarray(hi, dt), out=part)
        return out

    def full(self, shape, dtype, value):
        return np.full(shape, value, dtype=np_dtype(dtype))

    def eye(self, rows, cols, dtype):
        return np.eye(rows, cols, dtype=np_dtype(dtype))

    def cast(self, x, dtype):
        return np.asarray(x).astype(np_dtype(dtype), copy=False)

    def clip(self, x, lo, hi):
        return np.clip(x, np.asarray(lo, x.dtype), np.asarray(hi, x.dtype))

    def where(self, cond, x, y):
        return np.where(cond, x, y)

    sqrt = staticmethod(np.sqrt)
    log1p = staticmethod(np.log1p)
    cos = staticmethod(np.cos)
    sin = staticmethod(np.sin)
    sign = staticmethod(np.sign)

    def complex(self, re, im, dtype):
        out = np.empty(re.shape, dtype=np_dtype(dtype))
        out.real, out.imag = re, im
        return out

    def reshape(self, x, shape):
        return np.reshape(x, shape)

    def transpose(self, x, perm):
        return np.ascontiguousarray(np.transpose(x, perm))

    def pad(self, x, pads):
        return np.pad(x, pads)

    def qr(self, x):
        return np.linalg.qr(x, mode="reduced")

    def diagonal(self, x):
        return np.diagonal(x, axis1=-2, axis2=-1)

    def argsort(self, x, axis):
        return np.argsort(x, axis=axis, kind="stable")

    def scatter(self, shape, dtype, index, value):
        out = np.zeros(shape, dtype=np_dtype(dtype))
        out[tuple(index.T)] = value
        return out

    def to_numpy(self, x):
        return np.asarray(x)


def _truncated_chunk(rng: np.random.Generator, k: int, a: float, b: float) -> np.ndarray:
    """``k`` float64 draws of N(0, 1) truncated to the open interval (a, b), exactly: rejection
    when the interval's mass is at least :data:`REJECTION_MIN_MASS`, else the inverse CDF."""
    mass = float(special.ndtr(b) - special.ndtr(a)) if b <= 0 or a >= 0 else 1.0 - float(special.ndtr(a) + special.ndtr(-b))
    if mass < REJECTION_MIN_MASS:
        return stats.truncnorm.ppf(rng.uniform(size=k), a, b)
    out: np.ndarray | None = None
    filled = 0
    while filled < k:
        need = k - filled
        z = rng.standard_normal(math.ceil(need / mass * 1.05) + 16)
        keep = z > a
        keep &= z < b
        z = z[keep][:need]
        if out is None and z.size == k:
            return z  # the usual case: the first batch fills the chunk (no second copy)
        if out is None:
            out = np.empty(k)
        out[filled:filled + z.size] = z
        filled += z.size
    assert out is not None
    return out


#: the shared instance of the native reference
BACKEND = NumpyBackend()
