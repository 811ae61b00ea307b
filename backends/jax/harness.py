"""The uniform harness API of :mod:`initspec.backends` for JAX (used by the conformance runner,
the experiments and the benchmarks): ``DEFAULT_LAYOUT``, :func:`sample`, :func:`to_numpy`,
:func:`device_available`, :func:`device_of`, :func:`versions` (``bench_cases`` is in
:mod:`initspec.backends.jax.bench`).
"""

from __future__ import annotations

import importlib.metadata
import numbers
from typing import Any

import jax
import numpy as np
from initspec.errors import unknown
from initspec.backends._core import cpu_name

from . import portable
from ..portable._spec import portable_seed
from ._checks import DEFAULT_LAYOUT
from ._initializer import initializer
from ._primitives import to_numpy

__all__ = ["DEFAULT_LAYOUT", "device_available", "device_name", "device_of", "sample", "to_numpy", "versions"]

DEVICES = ("cpu", "gpu")
#: JAX platform names that are the harness' "gpu"
GPU_PLATFORMS = frozenset({"gpu", "cuda", "rocm"})
#: seeds accepted by ``jax.random.key`` without overflow (the harness takes non-negative ints)
MAX_SEED = 2**64 - 1


def jax_device(device: str) -> Any:
    """The first JAX device of the harness name ``device`` ("cpu" or "gpu")."""
    if device not in DEVICES:
        raise unknown("device", "device", device, DEVICES)
    ok, why = device_available(device)
    if not ok:
        raise RuntimeError(f"{why}. Received: device={device!r}")
    return jax.devices(device)[0]


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"Argument `seed` must be a non-negative int. Received: seed={seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"Argument `seed` must be in [0, 2**64). Received: seed={seed!r}")
    return int(seed)


def seed_key(seed: int) -> Any:
    """``jax.random.key(seed)`` for a seed in ``[0, 2**64)``, all 64 bits kept: without
    ``jax_enable_x64`` ``jax.random.key`` keeps only the low 32 bits (2**40 would silently give the
    key of 0) and refuses seeds >= 2**63. Seeds below 2**32 give ``jax.random.key(seed)`` itself;
    larger ones the threefry key data ``[seed >> 32, seed mod 2**32]`` (what ``key`` builds with x64)."""
    if seed < 2**32:
        return jax.random.key(seed)
    data = np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32)
    if jax.random.key_data(jax.random.key(0)).shape != data.shape:  # a non-threefry default PRNG impl
        raise ValueError(f"Seeds >= 2**32 need the threefry PRNG implementation. Received: seed={seed!r}")
    return jax.random.wrap_key_data(data)


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", stream: str | None = None, **params: Any) -> Any:
    """Uniform harness API (see :mod:`initspec.backends`): a ``jax.Array`` on ``device``,
    drawn with ``jax.random.key(seed)`` placed there (so the program runs there).

    ``stream="encoder.0.kernel"`` switches to the portable stream
    (:mod:`initspec.backends.portable`): the same values as every other framework for the same
    ``(seed, stream)``, shard-invariant."""
    if stream is not None:
        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout, dtype=dtype,
                               seed=portable_seed(seed), stream=stream, device=device, **params)
    init = initializer(scheme, layout=layout, **params)
    key = jax.device_put(seed_key(_seed(seed)), jax_device(device))
    return init(key, shape, dtype)


def device_available(device: str) -> tuple[bool, str]:
    """``(True, "")`` if JAX has a ``device`` ("cpu"/"gpu") backend, else ``(False, reason)``."""
    if device not in DEVICES:
        raise unknown("device", "device", device, DEVICES)
    try:
        devs = jax.devices(device)
    except RuntimeError as e:
        return False, f"JAX has no {device} backend ({e})"
    return (True, "") if devs else (False, f"JAX lists no {device} device")


def device_of(x: Any) -> str:
    """Where ``x``'s values live: "gpu" or "cpu"."""
    platforms = {d.platform for d in x.devices()}
    return "gpu" if platforms & GPU_PLATFORMS else "cpu"


def versions() -> dict[str, str]:
    """Versions of jax, jaxlib and flax (flax read from metadata, not imported)."""
    out = {}
    for dist in ("jax", "jaxlib", "flax"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def device_name(device: str) -> str | None:
    """A human-readable name of ``device`` ("cpu" or "gpu") for the results."""
    return cpu_name() if device == "cpu" else str(jax.devices("gpu")[0].device_kind)
