"""The uniform harness API of :mod:`initspec.backends` (used by the conformance runner, the experiments
and the benchmarks): :func:`sample`, :func:`to_numpy`, :func:`device_available`, :func:`device_of`,
:func:`versions` and ``DEFAULT_LAYOUT``."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf
from initspec.errors import unknown
from initspec.backends._core import cpu_name

from . import portable
from ..portable._spec import portable_seed
from ._primitives import DEFAULT_LAYOUT
from .functions import plan_and_sample

__all__ = [
    "DEFAULT_LAYOUT", "DEVICE_SCOPE", "device_available", "device_name", "device_of", "sample", "to_numpy", "versions",
]

#: harness device name -> TF device string
DEVICE_SCOPE = {"cpu": "/CPU:0", "gpu": "/GPU:0"}


def device_available(device: str) -> tuple[bool, str]:
    """(available, reason if not) for ``"cpu"``/``"gpu"``."""
    if device == "cpu":
        return True, ""
    if device == "gpu":
        if tf.config.list_physical_devices("GPU"):
            return True, ""
        return False, f"TensorFlow {tf.__version__} sees no GPU (CPU-only build or no CUDA device)"
    return False, f"unknown device {device!r} (expected 'cpu' or 'gpu')"


def _device_scope(device: str) -> str:
    """The TF device string of an available harness ``device``, or a clear error."""
    if device not in DEVICE_SCOPE:
        raise unknown("device", "device", device, DEVICE_SCOPE)
    ok, why = device_available(device)
    if not ok:
        raise ValueError(f"Device {device!r} is not available: {why}. Received: device={device!r}")
    return DEVICE_SCOPE[device]


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", stream: str | None = None, **params: Any) -> tf.Tensor:
    """Uniform harness API: the spec's ``resolve`` + ``_core.sample`` verbatim.

    ``stream="encoder/kernel"`` switches to the portable stream (:mod:`initspec.backends.portable`):
    the same values as every other framework for the same ``(seed, stream)``."""
    if stream is not None:
        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout, dtype=dtype,
                               seed=portable_seed(seed), stream=stream, device=device, **params)
    with tf.device(_device_scope(device)):
        return plan_and_sample(scheme, shape, DEFAULT_LAYOUT if layout is None else layout, dtype, seed,
                               **params)[1]


def to_numpy(x: Any) -> np.ndarray:
    """Host copy of a TF tensor (or array-like) as NumPy."""
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def device_of(x: Any) -> str:
    """``"gpu"`` if ``x`` lives on a GPU, else ``"cpu"``."""
    return "gpu" if "GPU" in (getattr(x, "device", "") or "").upper() else "cpu"


def versions() -> dict[str, str]:
    """Versions of TensorFlow, Keras and NumPy."""
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}


def device_name(device: str) -> str | None:
    """A human-readable name of ``device`` ("cpu" or "gpu") for the results."""
    if device == "cpu":
        return cpu_name()
    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else None
