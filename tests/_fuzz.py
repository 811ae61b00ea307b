"""The property of the fuzz suites (issue 15): for any request ``sample(scheme, shape, layout,
dtype, seed, stream, **params)`` drawn from schemes x shapes x dtypes x parameters x layouts,
a backend's uniform harness either raises a clear initspec error (``ValueError``/``TypeError``
whose message names the value: ``Received: ...``) or returns finite values of the requested shape
and dtype inside the spec's support. Never inf, never a value on or beyond a bound, never a raw
``OverflowError``/``AttributeError``/``ZeroDivisionError``/``RuntimeError``.

Used by ``tests/spec/test_fuzz.py`` (NumPy) and ``tests/backends/test_fuzz_<framework>.py``;
:data:`OUTCOMES` counts the requests tried per backend and their outcomes (errors by type, passes).
"""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import initspec
from initspec.dtypes import dtype_name, get_dtype
from initspec.schemes import SCHEMES

settings.register_profile(
    "initspec-fuzz", derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

#: backend -> Counter of outcomes ("pass", "ValueError", "TypeError", ...)
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
LAYOUTS = (None, None, None, "keras", "torch", "jax", "torch_conv", "keras_conv", "keras_depthwise", "keras_dense",
           "torch_linear", "not_a_layout")

#: parameter values: ordinary, extreme (overflow, underflow), signed zeros and ill-typed ones
_FINITE = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-3, 0.02, 3.0, 1e4, 7e4, 1e38, 1e39, -1e39, 1e200]),
    st.floats(min_value=-50, max_value=50, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-3, max_value=70000),
)
_BAD = st.sampled_from([float("nan"), float("inf"), True, False, None, "1.0", 2**70, complex(1, 1), (1.0,)])
VALUES = st.one_of(*[_FINITE] * 6, _BAD)
PARAM_VALUES: dict[str, Any] = {
    "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg", "fan_mean"]),
    "distribution": st.sampled_from(["normal", "uniform", "truncated_normal", "cauchy"]),
    "sparsity": st.one_of(st.floats(min_value=0.0, max_value=1.0), _BAD),
    "groups": st.one_of(st.integers(min_value=0, max_value=4), st.sampled_from([True, 1.0])),
}
_VALID_SHAPES = st.lists(st.integers(min_value=1, max_value=6), min_size=2, max_size=4).map(tuple)
SHAPES = st.one_of(
    _VALID_SHAPES, _VALID_SHAPES, _VALID_SHAPES, _VALID_SHAPES,
    st.lists(st.integers(min_value=0, max_value=4), min_size=0, max_size=5).map(tuple),
    st.sampled_from([{3, 4}, "44", (2.0, 3), (-1, 3), (True, 2), 5]),
)
_VALID_SEEDS = st.integers(min_value=0, max_value=2**32)
SEEDS = st.one_of(*[_VALID_SEEDS] * 8, st.sampled_from([None, -1, 2**64 - 1, 2**64, 1.5]))


@st.composite
def requests(draw: Any) -> dict[str, Any]:
    """One harness request: scheme, shape, layout, dtype, seed, stream and parameters."""
    name = draw(st.sampled_from(sorted(SCHEMES)))
    sch = SCHEMES[name]
    params = {}
    for p in draw(st.lists(st.sampled_from(sch.params or ("value",)), unique=True, max_size=4)):
        params[p] = draw(PARAM_VALUES.get(p, VALUES))
    if draw(st.integers(0, 40)) == 40:
        params["bogus"] = 1.0  # an unknown parameter
    seed = draw(SEEDS)
    stream = draw(st.sampled_from([None, None, None, "w"]))
    if stream is None and seed is None:
        seed = 0  # native seed=None means "fresh randomness": fine, but not reproducible
    return dict(scheme=name, shape=draw(SHAPES), layout=draw(st.sampled_from(LAYOUTS)),
                dtype=draw(st.sampled_from(DTYPES)), seed=seed, stream=stream, params=params)


def check_request(harness: Any, backend: str, req: dict[str, Any]) -> str:
    """Run one request on ``harness``; assert the property; return the outcome (and count it)."""
    kw = dict(layout=req["layout"], dtype=req["dtype"], seed=req["seed"], **req["params"])
    if req["stream"] is not None:
        kw["stream"] = req["stream"]
    try:
        out = harness.sample(req["scheme"], req["shape"], **kw)
    except (ValueError, TypeError) as e:
        msg = str(e)
        assert "Received" in msg or "received" in msg, f"unclear error {type(e).__name__}: {msg} for {req}"
        outcome = type(e).__name__
        OUTCOMES[backend][outcome] += 1
        return outcome
    x = harness.to_numpy(out)
    layout = harness.DEFAULT_LAYOUT if req["layout"] is None else req["layout"]
    plan = initspec.resolve(req["scheme"], req["shape"], layout, req["dtype"],
                            **{k: v for k, v in req["params"].items()})
    assert tuple(x.shape) == plan.shape, (x.shape, req)
    assert dtype_name(getattr(out, "dtype", x.dtype)) == plan.dtype, (getattr(out, "dtype", x.dtype), req)
    assert np.all(np.isfinite(x)), f"non-finite values {x.ravel()[:8]} for {req}"
    _check_support(x, plan, req)
    OUTCOMES[backend]["pass"] += 1
    return "pass"


def _check_support(x: np.ndarray, plan: initspec.Plan, req: dict[str, Any]) -> None:
    e = plan.element
    if get_dtype(plan.dtype).is_complex or x.size == 0:
        return
    v = x.astype(np.float64)
    if e.kind == "truncnorm":  # open interval
        assert np.all((v > e.low) & (v < e.high)), f"outside ({e.low}, {e.high}): {v.min()}, {v.max()} {req}"
    elif e.kind == "uniform":  # [low, high)
        assert np.all((v >= e.low) & (v < e.high)), f"outside [{e.low}, {e.high}): {v.min()}, {v.max()} {req}"
    elif e.kind in ("haar", "rademacher", "point"):
        tol = 1e-6 * max(abs(e.high), 1.0) if e.kind != "point" else 0.0
        bound = max(abs(e.low), abs(e.high))
        assert np.all(np.abs(v) <= bound * (1 + 8 * get_dtype(plan.dtype).eps) + tol), (v.min(), v.max(), req)
        if e.kind == "point" and not math.isnan(e.mean):
            assert np.all(np.signbit(v) == (math.copysign(1.0, e.mean) < 0)), f"sign of {e.mean!r} lost: {req}"


def summary(backend: str) -> str:
    c = OUTCOMES[backend]
    return f"{backend}: {sum(c.values())} requests: " + ", ".join(f"{k}={n}" for k, n in c.most_common())
