"""The conformance matrix: the scheme x layout x dtype cases every backend is checked on.

Shapes are sized so that one draw reaches the variance test's sample size
(:func:`initspec.conformance.budget.plan_n`) at the default run budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from initspec.distributions import Plan, resolve

__all__ = [
    "CONV",
    "DEFAULT_MATRIX",
    "DENSE",
    "SMALL_CONV_KERAS",
    "SMALL_CONV_TORCH",
    "SMALL_DENSE",
    "SPARSE",
    "Case",
    "case_plan",
]


class Case(NamedTuple):
    """One cell of the conformance matrix (a plain tuple: scheme, layout, shape, dtype, params).
    Shapes are logical shapes in ``layout``; the runner translates them to each framework."""

    scheme: str
    layout: str
    shape: tuple[int, ...]
    dtype: str
    params: dict[str, Any]


#: Dense ``(in, out)`` and conv ``(kh, kw, in, out)`` shapes: ~95k elements each, above
#: :func:`plan_n` (~83k for a normal law) at the default run budget.
DENSE = (256, 384)
CONV = (3, 3, 64, 160)
#: Small shapes for the deterministic schemes (exact checks only).
SMALL_DENSE = (48, 64)
SMALL_CONV_TORCH = (64, 32, 3, 3)
SMALL_CONV_KERAS = (3, 3, 32, 64)
#: Sparse needs rank 2; out = 400 makes ceil(0.1 * 400) = 40 zeros per input unit.
SPARSE = (240, 400)

_FLOATS = ("float32", "float16", "bfloat16", "float64")
_VS_SCHEMES = (
    "glorot_normal",
    "glorot_truncated_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
)


def _matrix() -> list[Case]:
    cases: list[Case] = []

    def add(scheme: str, layout: str, shape: tuple[int, ...], dtypes: Sequence[str], **params: Any) -> None:
        cases.extend(Case(scheme, layout, shape, dt, dict(params)) for dt in dtypes)

    for name in ("zeros", "ones"):
        add(name, "keras_dense", SMALL_DENSE, (*_FLOATS, "complex64"))
    add("constant", "keras_dense", SMALL_DENSE, _FLOATS, value=0.1)
    add("constant", "keras_dense", SMALL_DENSE, ("complex64",), value=complex(0.5, -0.25))
    add("normal", "keras_dense", DENSE, (*_FLOATS, "complex64"), mean=0.0, std=0.05)
    add("normal", "keras_dense", DENSE, ("float32",), mean=0.5, std=2.0)
    add("uniform", "keras_dense", DENSE, _FLOATS, low=-0.1, high=0.3)
    add("truncated_normal", "keras_dense", DENSE, _FLOATS, mean=0.0, std=0.05, a=-2.0, b=2.0)
    add("truncated_normal", "keras_dense", DENSE, ("float32",), mean=0.1, std=0.05, a=-1.0, b=3.0)
    add(
        "truncated_normal_abs",
        "keras_dense",
        DENSE,
        ("float32", "bfloat16"),
        mean=0.0,
        std=0.02,
        low=-0.03,
        high=0.05,
    )
    for name in _VS_SCHEMES:
        add(name, "keras_dense", DENSE, ("float32",))
        add(name, "keras_conv", CONV, ("float32",))
    for name in ("glorot_truncated_normal", "he_uniform"):
        add(name, "keras_dense", DENSE, ("float16", "bfloat16", "float64"))
    add(
        "variance_scaling", "keras_conv", CONV, ("float32",), scale=2.0, mode="fan_out", distribution="normal"
    )
    add(
        "variance_scaling",
        "keras_dense",
        DENSE,
        ("float32",),
        scale=0.5,
        mode="fan_geo_avg",
        distribution="truncated_normal",
    )
    for dist in ("normal", "uniform", "truncated_normal"):
        add(
            "variance_scaling",
            "keras_dense",
            DENSE,
            ("complex64",),
            scale=1.0,
            mode="fan_in",
            distribution=dist,
        )
    add("orthogonal", "keras_dense", DENSE, ("float32", "float64", "float16"))
    add("orthogonal", "keras_conv", CONV, ("float32",), gain=2.0)
    add("identity", "keras_dense", SMALL_DENSE, _FLOATS)
    add("identity", "keras_dense", SMALL_DENSE, ("float32",), gain=2.0)
    add("dirac", "torch_conv", SMALL_CONV_TORCH, ("float32", "float16"))
    add("dirac", "torch_conv", SMALL_CONV_TORCH, ("float32",), groups=2)
    add("delta_orthogonal", "keras_conv", SMALL_CONV_KERAS, ("float32", "float64"))
    add("sparse", "keras_dense", SPARSE, ("float32", "float64"), sparsity=0.1, std=0.01)
    return cases


#: The scheme x layout x dtype matrix the runner uses for every backend. ``dirac`` (torch order
#: ``(out, in, *k)``) and ``delta_orthogonal`` (``(*k, in, out)``) have a fixed axis order; in
#: another layout ``Plan.perm`` maps the weight to it, and the structure checks follow it.
DEFAULT_MATRIX: list[Case] = _matrix()


def case_plan(case: Sequence[Any]) -> Plan:
    """Resolve one matrix case."""
    scheme, layout, shape, dtype, params = case
    return resolve(scheme, shape, layout, dtype, **params)
