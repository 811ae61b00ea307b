"""NumPy primitives: the :class:`~initspec.backends._core.Primitives` vocabulary in NumPy/scipy.

Shared by the native reference (:mod:`initspec.backends.numpy`) and the NumPy reference of the
portable stream (:mod:`initspec.backends.portable`, which subclasses :class:`NumpyBackend` and
replaces only the RNG). The truncated normal is exact: scipy's ``truncnorm`` inverse-CDF sampler
in float64 (``scipy.stats.truncnorm``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .._core import Primitives

__all__ = ["BACKEND", "NP_DTYPES", "NumpyBackend", "np_dtype"]

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
        return stats.truncnorm.rvs(a, b, size=shape, random_state=rng).astype(np_dtype(dtype))

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


#: the shared instance of the native reference
BACKEND = NumpyBackend()
