"""Shared vocabulary of the torch package: the torch <-> spec dtype maps, the default layout, the
dtype/device checks of public arguments and the one host copy (:func:`to_numpy`)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from initspec.dtypes import get_dtype
from initspec.errors import InitSpecError

from .._core import compute_dtype

#: torch's own weight layout ``(out, in, *k)`` (:mod:`initspec.layouts`)
DEFAULT_LAYOUT = "torch"

DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128,
}
#: torch dtype -> spec dtype name
NAMES: dict[torch.dtype, str] = {v: k for k, v in DTYPES.items()}
#: torch dtype the values of each spec dtype are computed in (``_core.compute_dtype``)
COMPUTE: dict[str, torch.dtype] = {k: DTYPES[compute_dtype(k)] for k in DTYPES}
_DEVICE_ALIASES = {"gpu": "cuda"}


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype for a spec dtype name (or a torch dtype)."""
    if isinstance(dtype, torch.dtype):
        spec_dtype_of(dtype, "dtype")
        return dtype
    return DTYPES[get_dtype(dtype).name]


def spec_dtype_of(dtype: torch.dtype, arg: str = "tensor") -> str:
    """Spec dtype name of a torch dtype; integer/bool/float8 dtypes raise a TypeError."""
    if dtype not in NAMES:
        raise TypeError(
            f"Argument `{arg}` must have a floating or complex dtype "
            f"({', '.join(DTYPES)}); initializers do not produce {dtype} weights. "
            f"Received: {arg} with dtype={dtype}"
        )
    return NAMES[dtype]


def torch_device(device: Any) -> torch.device:
    """``"cpu"``, ``"gpu"`` (= cuda), ``"cuda[:i]"``, ``"meta"`` or a ``torch.device``."""
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(_DEVICE_ALIASES.get(device, device))
        except RuntimeError as e:
            raise InitSpecError(f"Unknown device {device!r} ({e}). Received: device={device!r}") from None
    else:
        raise TypeError(f"Argument `device` must be a string or torch.device. Received: device={device!r}")
    if dev.type not in ("cpu", "cuda", "meta"):
        raise InitSpecError(f"The torch backend runs on cpu, cuda or meta. Received: device={device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InitSpecError(
            f"CUDA is not available to torch {torch.__version__}. Received: device={device!r}")
    return dev


def check_seed(seed: Any) -> int | None:
    """``seed`` of torch's generator: a non-negative int or None."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"Argument `seed` must be a non-negative int or None. Received: seed={seed!r}")
    if seed >= 2**64:  # torch.Generator.manual_seed takes 64 bits
        raise InitSpecError(f"Argument `seed` must be < 2**64. Received: seed={seed!r}")
    return int(seed)


def has_internal_overlap(shape: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """Whether two elements of a strided view share a storage offset.

    Fast sufficient test (dims of size > 1 sorted by stride: each stride exceeds the extent
    spanned by the smaller ones; the rule of ``at::has_internal_overlap`` for the common case),
    else an exact count of the distinct offsets."""
    dims = sorted((abs(st), n) for st, n in zip(stride, shape) if n > 1)
    extent = 0
    for st, n in dims:
        if st <= extent:
            break
        extent += st * (n - 1)
    else:
        return False
    offsets = np.zeros((1,), dtype=np.int64)
    for st, n in dims:
        offsets = (offsets[:, None] + st * np.arange(n, dtype=np.int64)[None, :]).ravel()
    return np.unique(offsets).size != offsets.size


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """Host copy as NumPy; bfloat16 becomes float32 (exact: NumPy has no bfloat16)."""
    x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.float()
    return x.resolve_conj().cpu().numpy()
