"""The uniform harness API of :mod:`initspec.backends` for torch: ``sample``, ``to_numpy``,
``device_available``, ``versions``, ``device_of`` and ``DEFAULT_LAYOUT`` (``bench_cases`` lives in
:mod:`initspec.backends.torch.bench`)."""

from __future__ import annotations

from typing import Any

import torch
from initspec.errors import check_shape
from initspec.backends._core import cpu_name

from . import portable
from ..portable._spec import portable_seed
from ._common import DEFAULT_LAYOUT, NAMES, check_seed, to_numpy, torch_device, torch_dtype
from .inplace import initialize_, plan_for

__all__ = ["DEFAULT_LAYOUT", "device_available", "device_name", "device_of", "sample", "to_numpy", "versions"]


def sample(scheme: Any, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: Any = "cpu", stream: str | None = None, **params: Any) -> torch.Tensor:
    """Uniform harness API (see :mod:`initspec.backends`): a new tensor on ``device``, drawn
    with a ``torch.Generator`` on that device seeded with ``seed`` (None: torch's global one).

    ``stream="encoder.0.weight"`` switches to the portable stream
    (:mod:`initspec.backends.portable`): the same values as every other framework for the same
    ``(seed, stream)``."""
    if stream is not None:
        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout,
                               dtype=dtype, seed=portable_seed(seed), stream=stream, device=device, **params)
    seed = check_seed(seed)
    dev = torch_device(device)
    td = torch_dtype(dtype)
    layout = DEFAULT_LAYOUT if layout is None else layout
    shape = check_shape(shape)
    plan_for(scheme, shape, layout, NAMES[td], **params)  # validate before allocating
    gen = None if seed is None or dev.type == "meta" else torch.Generator(device=dev).manual_seed(seed)
    return initialize_(torch.empty(shape, dtype=td, device=dev), scheme, layout=layout, generator=gen,
                       **params)


def device_available(device: str) -> tuple[bool, str]:
    """(available, reason if not) for ``"cpu"`` and ``"gpu"``/``"cuda"``."""
    if device == "cpu":
        return True, ""
    if device in ("gpu", "cuda"):
        if torch.cuda.is_available():
            return True, ""
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return False, f"torch.cuda.is_available() is False (torch {torch.__version__}, {build})"
    return False, f"unknown device {device!r} (expected 'cpu' or 'gpu')"


def device_of(x: torch.Tensor) -> str:
    """``"gpu"`` for CUDA tensors, else the device type (``"cpu"``, ``"meta"``)."""
    return "gpu" if x.device.type == "cuda" else x.device.type


def versions() -> dict[str, str]:
    """Framework versions: torch, and the CUDA it was built with."""
    v: dict[str, str] = {"torch": torch.__version__}
    if torch.version.cuda:
        v["cuda"] = torch.version.cuda
    return v


def device_name(device: str) -> str | None:
    """A human-readable name of ``device`` ("cpu" or "gpu") for the results."""
    return cpu_name() if device == "cpu" else torch.cuda.get_device_name(0)
