"""Floating dtypes the spec knows, by name, with their precision (no framework imports)."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

from .errors import InitSpecError, unknown


@dataclass(frozen=True)
class DType:
    name: str
    is_complex: bool
    #: explicit mantissa bits of the (real component's) format
    nmant: int
    #: real component dtype name
    real: str
    #: machine epsilon of the real component
    eps: float
    #: smallest positive normal number of the real component
    tiny: float
    #: largest finite value of the real component (values beyond it round to inf)
    max: float


DTYPES: dict[str, DType] = {
    "float16": DType("float16", False, 10, "float16", 2.0**-10, 2.0**-14, 65504.0),
    "bfloat16": DType("bfloat16", False, 7, "bfloat16", 2.0**-7, 2.0**-126, (2 - 2.0**-7) * 2.0**127),
    "float32": DType("float32", False, 23, "float32", 2.0**-23, 2.0**-126, (2 - 2.0**-23) * 2.0**127),
    "float64": DType("float64", False, 52, "float64", 2.0**-52, 2.0**-1022, sys.float_info.max),
    "complex64": DType("complex64", True, 23, "float32", 2.0**-23, 2.0**-126, (2 - 2.0**-23) * 2.0**127),
    "complex128": DType("complex128", True, 52, "float64", 2.0**-52, 2.0**-1022, sys.float_info.max),
}

_INTEGER_LIKE = ("int", "uint", "bool")


def dtype_name(dtype: Any) -> str:
    """Normalise a dtype-like (string, numpy/torch/tf/jax dtype) to a spec dtype name."""
    if dtype is None:
        return "float32"
    if isinstance(dtype, bool) or isinstance(dtype, (int, float, complex)):
        raise TypeError(f"Argument `dtype` must be a dtype or a dtype name. Received: dtype={dtype!r}")
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        inner = getattr(dtype, "dtype", None)  # scalar types: jnp.float32, ml_dtypes.bfloat16
        name = getattr(inner, "name", None)
    if not isinstance(name, str) and isinstance(dtype, type):
        name = dtype.__name__  # np.float32, np.float16, ...
    if not isinstance(name, str):
        name = str(dtype)
    name = name.replace("torch.", "").replace("<dtype: '", "").replace("'>", "")
    name = {"float": "float32", "double": "float64", "half": "float16", "cfloat": "complex64",
            "cdouble": "complex128"}.get(name, name)
    if name.startswith(_INTEGER_LIKE):
        raise TypeError(
            f"Argument `dtype` must be a floating or complex dtype; initializers do not produce "
            f"{name} weights. Received: dtype={dtype!r}"
        )
    return name


def get_dtype(dtype: Any) -> DType:
    name = dtype_name(dtype)
    if name not in DTYPES:
        raise unknown("dtype", "dtype", name, DTYPES)
    return DTYPES[name]


def check_representable(dtype: Any, magnitude: float, what: str, received: object) -> None:
    """Refuse values of ``magnitude`` that would round to inf in ``dtype`` (a clear error naming
    the dtype's finite range, ``what`` would exceed it and the arguments ``received``)."""
    dt = get_dtype(dtype)
    if not magnitude <= dt.max:  # also catches nan / inf
        raise InitSpecError(
            f"The values would not be representable in {dt.name} (finite range +-{dt.max:.5g}): "
            f"{what} = {magnitude:.5g}; they would round to inf. Received: {received}, dtype={dt.name!r}"
        )


def _next_above_pos(x: float, nmant: int) -> float:
    """Smallest number with ``nmant`` mantissa bits strictly greater than ``x > 0``."""
    _, e = math.frexp(x)  # x in [2**(e-1), 2**e)
    q = 2.0 ** (e - 1 - nmant)
    return (math.floor(x / q) + 1) * q


def _next_below_pos(x: float, nmant: int) -> float:
    """Largest number with ``nmant`` mantissa bits strictly smaller than ``x > 0``."""
    _, e = math.frexp(x)
    q = 2.0 ** (e - 1 - nmant)
    k = math.ceil(x / q) - 1
    if k < 2**nmant:  # x is the bottom of its binade: step into the binade below
        return x - q / 2.0
    return k * q


def next_below(x: float, dtype: Any) -> float:
    """Largest value representable in ``dtype`` strictly below ``x`` (normal range)."""
    dt = get_dtype(dtype)
    if x > 0:
        return _next_below_pos(x, dt.nmant)
    if x < 0:
        return -_next_above_pos(-x, dt.nmant)
    return -dt.tiny


def inner_bounds(low: float, high: float, dtype: Any) -> tuple[float, float]:
    """Largest closed interval ``[lo, hi]`` of values representable in ``dtype`` lying strictly
    inside the open interval ``(low, high)``.

    Sampling a truncated normal in float32 and casting to float16/bfloat16 (or just the affine map
    ``mean + std * z``) can round a value onto a bound; clamping to these inner bounds keeps the
    support open without resampling. The clamped mass is at most the rounding cell next to the bound.
    """
    return -next_below(-low, dtype), next_below(high, dtype)


def ceil_to_dtype(x: float, dtype: Any) -> float:
    """Smallest value representable in ``dtype`` that is >= ``x`` (``x`` itself when representable)."""
    above = -next_below(-x, dtype)
    below = next_below(above, dtype)
    return below if below == x else above
