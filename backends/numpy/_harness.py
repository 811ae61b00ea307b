"""The uniform harness API of the NumPy reference (see :mod:`initspec.backends`).

``sample(..., stream=NAME)`` selects the portable stream, whose NumPy reference is
:mod:`initspec.backends.portable`; that package depends only on this package's primitives and
device helpers (:mod:`._primitives`, :mod:`._device`), never on this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import portable
from ..portable._spec import portable_seed
from ._functions import initialize

__all__ = ["DEFAULT_LAYOUT", "sample"]

DEFAULT_LAYOUT = "keras"


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", stream: str | None = None, **params: Any) -> np.ndarray:
    """Uniform harness API (see :mod:`initspec.backends`); ``stream=`` selects the portable stream."""
    if device != "cpu":
        raise ValueError(f"The NumPy backend runs on the CPU only. Received: device={device!r}")
    layout = DEFAULT_LAYOUT if layout is None else layout
    if stream is not None:
        return portable.sample(scheme, shape, layout=layout, dtype=dtype, seed=portable_seed(seed), stream=stream, **params)
    return initialize(scheme, shape, layout, dtype, seed, **params)
