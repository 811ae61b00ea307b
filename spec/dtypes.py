"""Floating dtypes the spec knows, by name, with their precision (no framework imports)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import unknown


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


DTYPES: dict[str, DType] = {
    "float16": DType("float16", False, 10, "float16", 2.0**-10),
    "bfloat16": DType("bfloat16", False, 7, "bfloat16", 2.0**-7),
    "float32": DType("float32", False, 23, "float32", 2.0**-23),
    "float64": DType("float64", False, 52, "float64", 2.0**-52),
    "complex64": DType("complex64", True, 23, "float32", 2.0**-23),
    "complex128": DType("complex128", True, 52, "float64", 2.0**-52),
}

_INTEGER_LIKE = ("int", "uint", "bool")


def dtype_name(dtype: Any) -> str:
    """Normalise a dtype-like (string, numpy/torch/tf/jax dtype) to a spec dtype name."""
    if dtype is None:
        return "float32"
    name = getattr(dtype, "name", None)
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


def round_toward_zero(x: float, nmant: int) -> float:
    """Round ``x`` toward zero to ``nmant`` explicit mantissa bits (ignoring the exponent range,
    which is wide enough for every bound the spec produces)."""
    if x == 0 or not math.isfinite(x):
        return x
    m, e = math.frexp(x)  # x = m * 2**e, 0.5 <= |m| < 1
    scale = 2.0 ** (nmant + 1)
    return math.trunc(m * scale) / scale * 2.0**e


def inner_bounds(low: float, high: float, dtype: Any) -> tuple[float, float]:
    """Largest closed interval ``[lo, hi]`` of values representable in ``dtype`` lying strictly
    inside the open interval ``(low, high)``.

    Sampling a truncated normal in float32 and casting to float16/bfloat16 can round a value onto
    a bound; clamping to these inner bounds keeps support open without resampling.
    """
    dt = get_dtype(dtype)
    ulp = lambda v: 2.0 ** (math.frexp(v)[1] - dt.nmant - 1) if v else 2.0**-126  # noqa: E731

    def inside_below(h: float) -> float:  # largest representable < h
        r = round_toward_zero(h, dt.nmant) if h > 0 else -_round_away(-h, dt.nmant)
        while r >= h:
            r -= ulp(r) if r > 0 else ulp(r if r else h)
        return r

    def _round_away(v: float, nm: int) -> float:
        r = round_toward_zero(v, nm)
        return r if r == v else r + 2.0 ** (math.frexp(r)[1] - nm - 1)

    hi = inside_below(high)
    lo = -inside_below(-low)
    return lo, hi
