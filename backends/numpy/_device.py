"""Host/device helpers of the harness API for NumPy arrays (see :mod:`initspec.backends`).

Framework-free and shared by the native NumPy reference and the portable stream's NumPy
reference (:mod:`initspec.backends.portable`): both run on the CPU only and return ``np.ndarray``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy

from initspec.backends._core import cpu_name

__all__ = ["bench_cases", "device_available", "device_name", "device_of", "to_numpy", "versions"]


def to_numpy(x: Any) -> np.ndarray:
    """The values as an ``np.ndarray`` (no copy for an array)."""
    return np.asarray(x)


def device_available(device: str) -> tuple[bool, str]:
    """``(True, "")`` for ``"cpu"``; NumPy has no GPU device."""
    return (True, "") if device == "cpu" else (False, "NumPy has no GPU device")


def device_of(x: Any) -> str:
    """Always ``"cpu"``."""
    return "cpu"


def versions() -> dict[str, str]:
    """NumPy's and scipy's versions."""
    return {"numpy": np.__version__, "scipy": scipy.__version__}


def bench_cases() -> list:
    """None for the portable stream's NumPy reference (:mod:`initspec.backends.portable`, which
    shares these helpers): its speed against NumPy's own sampler is the ``portable he_normal`` case
    of the NumPy adapter's bench (:mod:`initspec.backends.numpy.bench`)."""
    return []


def device_name(device: str) -> str | None:
    """A human-readable name of ``device`` for the results (the NumPy reference runs on the CPU)."""
    return cpu_name() if device == "cpu" else None
