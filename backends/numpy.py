"""NumPy reference backend: the spec executed with ``numpy.random.Generator`` and scipy.

Every scheme is a function ``NAME(shape, layout="keras", dtype="float32", seed=None, **params)``
returning an ``np.ndarray``; ``initialize(scheme, shape, ...)`` takes the scheme by name.
``seed`` is an int or an ``np.random.Generator`` (deterministic for a given int seed).
The truncated normal is exact: scipy's ``truncnorm`` inverse-CDF sampler in float64.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from scipy import stats

from initspec.distributions import Plan, resolve
from initspec.schemes import SCHEMES

from ._core import Primitives
from ._core import sample as core_sample

__all__ = ["NumpyBackend", "initialize", "plan_and_sample", "sample", "to_numpy", *SCHEMES]

_NP = {"float16": np.float16, "float32": np.float32, "float64": np.float64,
       "complex64": np.complex64, "complex128": np.complex128}


def _np_dtype(dtype: str) -> Any:
    if dtype not in _NP:
        raise TypeError(f"The NumPy backend has no {dtype!r} dtype (no bfloat16 in NumPy). Received: dtype={dtype!r}")
    return _NP[dtype]


class NumpyBackend(Primitives):
    name = "numpy"
    capabilities = frozenset({"complex", "float16", "float64", "cpu"})

    def split(self, rng: np.random.Generator, n: int) -> list[np.random.Generator]:
        return list(rng.spawn(n))

    def normal(self, rng, shape, dtype):
        return rng.standard_normal(shape, dtype=np.float64).astype(_np_dtype(dtype))

    def uniform(self, rng, shape, dtype, low, high):
        x = rng.uniform(low, high, size=shape).astype(_np_dtype(dtype))
        hi = np.nextafter(_np_dtype(dtype)(high), _np_dtype(dtype)(low))
        return np.minimum(x, hi)  # float64 -> float32 rounding may reach `high`

    def truncated_normal(self, rng, shape, dtype, a, b):
        return stats.truncnorm.rvs(a, b, size=shape, random_state=rng).astype(_np_dtype(dtype))

    def full(self, shape, dtype, value):
        return np.full(shape, value, dtype=_np_dtype(dtype))

    def eye(self, rows, cols, dtype):
        return np.eye(rows, cols, dtype=_np_dtype(dtype))

    def cast(self, x, dtype):
        return np.asarray(x).astype(_np_dtype(dtype), copy=False)

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
        out = np.empty(re.shape, dtype=_np_dtype(dtype))
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
        out = np.zeros(shape, dtype=_np_dtype(dtype))
        out[tuple(index.T)] = value
        return out

    def to_numpy(self, x):
        return np.asarray(x)


BACKEND = NumpyBackend()


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(
            f"Argument `seed` must be a non-negative int, a numpy Generator or None. Received: seed={seed!r}"
        )
    return np.random.default_rng(int(seed))


def plan_and_sample(
    scheme: str, shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None, **params: Any
) -> tuple[Plan, np.ndarray]:
    plan = resolve(scheme, shape, layout, dtype, **params)
    _np_dtype(plan.dtype)
    return plan, np.asarray(core_sample(BACKEND, _rng(seed), plan))


def initialize(
    scheme: str, shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None, **params: Any
) -> np.ndarray:
    """Sample ``scheme`` for a weight of ``shape`` (see :func:`initspec.resolve`)."""
    return plan_and_sample(scheme, shape, layout, dtype, seed, **params)[1]


DEFAULT_LAYOUT = "keras"


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", stream: str | None = None, **params: Any) -> np.ndarray:
    """Uniform harness API (see :mod:`initspec.backends`); ``stream=`` selects the portable stream."""
    if device != "cpu":
        raise ValueError(f"The NumPy backend runs on the CPU only. Received: device={device!r}")
    if stream is not None:
        from . import portable

        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout, dtype=dtype,
                               seed=seed, stream=stream, **params)
    return initialize(scheme, shape, DEFAULT_LAYOUT if layout is None else layout, dtype, seed, **params)


def to_numpy(x: Any) -> np.ndarray:
    return np.asarray(x)


def device_available(device: str) -> tuple[bool, str]:
    return (True, "") if device == "cpu" else (False, "NumPy has no GPU device")


def device_of(x: Any) -> str:
    return "cpu"


def versions() -> dict[str, str]:
    import scipy

    return {"numpy": np.__version__, "scipy": scipy.__version__}


def bench_cases() -> list:
    return []


def _make(name: str):
    def init(shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None, **params: Any) -> np.ndarray:
        return initialize(name, shape, layout, dtype, seed, **params)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = f"{SCHEMES[name].summary}\n\nNumPy reference for scheme {name!r}."
    return init


for _name in SCHEMES:
    globals()[_name] = _make(_name)
