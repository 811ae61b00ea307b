"""A minimal extra backend, registered through the registry alone (docs/adding-a-backend.md).

It stands for a new framework whose array type is :class:`MinimalArray` (a NumPy subclass) and
whose own layout is torch's ``(out, in, *k)``. Everything a backend needs is here: a
:class:`~initspec.backends._core.Primitives` class (the framework's ops; here NumPy's, returning
``MinimalArray``), the uniform harness API of :mod:`initspec.backends`, and one
:func:`initspec.registry.register` call. Load it with ``INITSPEC_PLUGINS=tests.plugins.minimal_backend``
(the runner's workers inherit the variable) or by importing it.
"""

from __future__ import annotations

import platform
from typing import Any

import numpy as np

from initspec import registry
from initspec.backends import _core
from initspec.backends.numpy import NumpyBackend
from initspec.distributions import resolve

NAME = "minimal"
DEFAULT_LAYOUT = "torch"


class MinimalArray(np.ndarray):
    """The "framework's" tensor type."""


class MinimalPrimitives(NumpyBackend):
    """The framework's ops: NumPy's, with every created tensor a :class:`MinimalArray`."""

    name = NAME

    def normal(self, rng, shape, dtype):
        return super().normal(rng, shape, dtype).view(MinimalArray)

    def uniform(self, rng, shape, dtype, low, high):
        return super().uniform(rng, shape, dtype, low, high).view(MinimalArray)

    def truncated_normal(self, rng, shape, dtype, a, b):
        return np.asarray(super().truncated_normal(rng, shape, dtype, a, b)).view(MinimalArray)

    def full(self, shape, dtype, value):
        return super().full(shape, dtype, value).view(MinimalArray)

    def eye(self, rows, cols, dtype):
        return super().eye(rows, cols, dtype).view(MinimalArray)

    def to_numpy(self, x):
        return np.asarray(x).view(np.ndarray)


PRIMITIVES = MinimalPrimitives()


# --- the uniform harness API (initspec.backends) ---------------------------------------------
def sample(scheme: Any, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", **params: Any) -> MinimalArray:
    if device != "cpu":
        raise ValueError(f"The minimal backend runs on the CPU only. Received: device={device!r}")
    plan = resolve(scheme, shape, DEFAULT_LAYOUT if layout is None else layout, dtype, **params)
    out = _core.sample(PRIMITIVES, np.random.default_rng(seed), plan)
    return np.asarray(out).view(MinimalArray)


def to_numpy(x: Any) -> np.ndarray:
    return PRIMITIVES.to_numpy(x)


def device_available(device: str) -> tuple[bool, str]:
    return (True, "") if device == "cpu" else (False, "the minimal backend has no GPU")


def device_of(x: Any) -> str:
    return "cpu"


def device_name(device: str) -> str | None:
    return platform.machine() if device == "cpu" else None


def versions() -> dict[str, str]:
    return {"numpy": np.__version__}


def bench_cases() -> list[Any]:
    return []


registry.register(registry.Framework(
    name=NAME, imports=("numpy",), adapter=__name__, label="Minimal (example plugin)", layout="torch",
), replace=True)
