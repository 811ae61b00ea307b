"""The conformance check engine: every exact and statistical check of one draw against its plan.

Framework-free: values always arrive as ``np.ndarray`` (the adapter's ``to_numpy``; float16 and
bfloat16 may arrive on a float32 carrier). Each check produces a ``Check`` record of
:mod:`initspec.conformance.results`.

Tiers
-----
*exact*: ``shape``; ``dtype`` (an accepted numpy carrier and every value on the dtype's grid);
``finite``; ``constant`` / ``structure`` (identity, dirac, delta-orthogonal compared with the
NumPy reference's structure); ``support`` (nothing outside the law's support and nothing AT an
open truncation bound); ``orthogonality`` (``max |Q Q^T - gain^2 I|`` with the layout's
flattening, within a tolerance from the dtype's epsilon and the matrix size); ``sparse_zeros``
(exact zero count per input unit).

*statistical* (each one test at the per-test level ``alpha`` of a :class:`Budget`): ``pileup``
(count of the most frequent value vs a union bound over the dtype's cells); ``mean``,
``variance``, ``kurtosis`` against the spec's exact values with intervals from ``n`` and the law's
own moments (:mod:`initspec.conformance.stats`); ``ks`` against the spec CDF (rounded-law CDF for
float16/bfloat16). Complex laws: ``mean`` (chi-square, 2 dof), ``variance`` of ``|w - mean|^2``,
``ks`` of ``|w - mean|^2`` against ``modulus_sq_rv()`` and ``phase`` (KS against uniform).

Sample sizes: :func:`plan_n` gives the ``n`` at which the variance test detects a 2% error in
the standard deviation with power 99.9%; :data:`DEFAULT_MATRIX` shapes are sized so one draw
suffices at the default run budget (:func:`draws_needed` otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from initspec.distributions import ElementDistribution, Plan, resolve
from initspec.dtypes import get_dtype
from scipy import stats

from . import stats as S
from .records import Check, check_id, group_id

# ---------------------------------------------------------------------------------------------
# constants
# ---------------------------------------------------------------------------------------------
#: Family-wise error rate of one whole run (all backends, all cases).
DEFAULT_ALPHA_TOTAL = 1e-3
#: Relative error of the standard deviation the variance test must detect ...
STD_REL_ERROR = 0.02
#: ... with this power.
STD_POWER = 0.999
#: Backends of a full conformance run (the budget is split over all of them).
RUN_BACKENDS = 4
#: Orthogonality tolerance: QR in the compute dtype loses about this many ulps per unit of
#: matrix dimension (a loose, size-scaled bound; real errors are ~sqrt(n) ulps).
ORTH_QR_ULPS_PER_DIM = 8.0
#: Rounding a unit-norm row to the storage dtype moves a Gram entry by at most ``2 eps``.
ORTH_ROUNDING_ULPS = 2.0
#: Complex support: ``|w|`` is computed from rounded components; allow this many ulps over R.
COMPLEX_SUPPORT_ULPS = 4.0
#: Dtypes that are sampled in float32 and cast (``initspec.backends._core.compute_dtype``).
LOW_PRECISION = ("float16", "bfloat16")

#: Accepted numpy carriers of each spec dtype (bfloat16 may be ml_dtypes' ``bfloat16``).
CARRIERS: dict[str, tuple[str, ...]] = {
    "float16": ("float16", "float32"),
    "bfloat16": ("bfloat16", "float32"),
    "float32": ("float32",),
    "float64": ("float64",),
    "complex64": ("complex64",),
    "complex128": ("complex128",),
}

#: Number of budgeted statistical tests :func:`check_draw` runs, per kind of element law.
_REAL_TESTS = ("pileup", "mean", "variance", "kurtosis", "ks")
_COMPLEX_TESTS = ("mean", "variance", "ks", "phase")
_CONTINUOUS = ("normal", "truncnorm", "uniform", "haar")


# ---------------------------------------------------------------------------------------------
# error budget and sample sizes
# ---------------------------------------------------------------------------------------------
@dataclass
class Budget:
    """Family-wise error control over a whole run.

    ``per_test()`` is the Bonferroni level ``alpha_total / n_tests``; :meth:`holm` re-judges the
    statistical checks of a finished run with Holm's step-down (uniformly more powerful, same
    family-wise guarantee).
    """

    alpha_total: float = DEFAULT_ALPHA_TOTAL
    n_tests: int = 1

    def __post_init__(self) -> None:
        S.check_alpha(self.alpha_total)
        if isinstance(self.n_tests, bool) or not isinstance(self.n_tests, int) or self.n_tests < 1:
            raise ValueError(f"Argument `n_tests` must be an int >= 1. Received: n_tests={self.n_tests!r}")

    def per_test(self) -> float:
        return self.alpha_total / self.n_tests

    @classmethod
    def for_cases(
        cls,
        cases: Iterable["Case"],
        *,
        n_backends: int = 1,
        alpha_total: float = DEFAULT_ALPHA_TOTAL,
        extra_tests: int = 0,
    ) -> "Budget":
        """The budget of a run over ``cases`` on ``n_backends`` backends (+ ``extra_tests``,
        e.g. fan probes)."""
        per_backend = sum(tests_per_plan(case_plan(c)) for c in cases)
        return cls(alpha_total, max(1, per_backend * n_backends + extra_tests))

    def holm(self, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Holm step-down over the statistical checks (those with a p-value) of ``checks``:
        verdicts and ``alpha`` are updated in place; returns ``checks``."""
        stat = sorted(
            (c for c in checks if c.get("tier") == "statistical" and c.get("p_value") is not None),
            key=lambda c: c["p_value"],
        )
        m = max(self.n_tests, len(stat))
        rejecting = True
        for i, c in enumerate(stat):
            level = self.alpha_total / (m - i)
            rejecting = rejecting and c["p_value"] < level
            fail = c["verdict"] if c["verdict"] in ("fail", "finding") else "fail"
            if c.get("subject") == "native" and fail == "fail":
                fail = "finding"
            c["alpha"] = level
            c["verdict"] = fail if rejecting else "pass"
        return checks


def _variance_stat_factor(plan: Plan) -> float | None:
    """``n * Var(variance estimate) / variance^2`` of the law the variance test uses."""
    el = plan.element
    if el.is_complex:
        rv = el.modulus_sq_rv()
        return None if rv is None else float(rv.var()) / el.var**2
    if el.kind == "sparse":
        mu = S.central_moments(_nonzero_law(el))
        return S.variance_of_variance(mu) / mu[2] ** 2 / (1.0 - el.params["zero_fraction"])
    mu = S.central_moments(el)
    if mu is None or el.kind == "rademacher":
        return None
    return S.variance_of_variance(mu) / mu[2] ** 2


def plan_n(plan: Plan, *, rel_std_err: float = STD_REL_ERROR, power: float = STD_POWER, alpha: float) -> int:
    """Sample size at which the variance test (level ``alpha``) detects a relative error
    ``rel_std_err`` of the standard deviation, in either direction, with probability ``power``.

    With ``q = n Var(s^2) / sigma^4`` (from the law's 4th moment) and a true std ``(1 +- r) sigma``:
    ``n = q (z_{alpha/2} + (1 +- r)^2 z_power)^2 / ((1 +- r)^2 - 1)^2``, the larger of the two.
    Deterministic laws need no sample (returns 1).
    """
    S.check_alpha(alpha)
    if not 0 < rel_std_err < 1:
        raise ValueError(f"Argument `rel_std_err` must be in (0, 1). Received: rel_std_err={rel_std_err!r}")
    if not 0 < power < 1:
        raise ValueError(f"Argument `power` must be in (0, 1). Received: power={power!r}")
    q = _variance_stat_factor(plan)
    if q is None:
        return 1
    za, zb = S.z_two_sided(alpha), float(stats.norm.isf(1.0 - power))
    need = 0.0
    for ratio in ((1.0 + rel_std_err) ** 2, (1.0 - rel_std_err) ** 2):
        need = max(need, q * (za + ratio * zb) ** 2 / (ratio - 1.0) ** 2)
    return int(math.ceil(need))


def draws_needed(plan: Plan, alpha: float, **kw: Any) -> int:
    """How many independent draws of ``plan.shape`` reach :func:`plan_n`."""
    return max(1, math.ceil(plan_n(plan, alpha=alpha, **kw) / max(plan.size, 1)))


def tests_per_plan(plan: Plan) -> int:
    """Number of budgeted statistical tests :func:`check_draw` runs for ``plan``."""
    el = plan.element
    if el.kind in ("point", "structured"):
        return 0
    if el.is_complex:
        return len(_COMPLEX_TESTS)
    if el.kind == "rademacher":
        return len(_REAL_TESTS) - 2  # no pile-up, no kurtosis
    return len(_REAL_TESTS)


# ---------------------------------------------------------------------------------------------
# the default matrix
# ---------------------------------------------------------------------------------------------
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


def default_budget(
    n_backends: int = RUN_BACKENDS, alpha_total: float = DEFAULT_ALPHA_TOTAL, extra_tests: int = 0
) -> Budget:
    """Budget of a full run of :data:`DEFAULT_MATRIX` over ``n_backends`` backends."""
    return Budget.for_cases(
        DEFAULT_MATRIX, n_backends=n_backends, alpha_total=alpha_total, extra_tests=extra_tests
    )


# ---------------------------------------------------------------------------------------------
# records
# ---------------------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
    if isinstance(v, complex):
        return [v.real, v.imag]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _non_default_params(plan: Plan) -> str:
    diff = {k: v for k, v in plan.params.items() if plan.scheme.defaults.get(k) != v}
    return ",".join(f"{k}={v}" for k, v in sorted(diff.items()))


class _Recorder:
    """Builds ``Check`` dicts for one plan + meta; a failing native check is a ``finding``."""

    def __init__(self, plan: Plan, meta: dict[str, Any], alpha: float | None, draws: int = 1) -> None:
        self.plan, self.meta, self.alpha, self.draws = plan, dict(meta or {}), alpha, draws
        self.records: list[dict[str, Any]] = []

    def _fail_verdict(self) -> str:
        return "finding" if self.meta.get("subject") == "native" else "fail"

    def base_id(self) -> str:
        """The check-group id of this draw (:func:`initspec.conformance.records.group_id`)."""
        m, p = self.meta, self.plan
        return group_id(backend=m.get("backend", "unknown"), device=m.get("device", "cpu"),
                        subject=m.get("subject", "initspec"), native_name=m.get("native_name"),
                        scheme=p.scheme.name, params=p.params, layout=p.layout.name if p.layout is not None else None,
                        shape=p.shape, dtype=p.dtype, case=m.get("case"))

    def reproduce(self) -> str:
        if self.meta.get("reproduce"):
            return str(self.meta["reproduce"])
        p = self.plan
        args = "".join(f", {k}={_jsonable(v)!r}" for k, v in p.params.items() if k not in p.scheme.fixed)
        layout = p.layout.name if p.layout is not None else None
        return (
            f"initspec.backends.load({self.meta.get('backend', 'numpy')!r}).sample({p.scheme.name!r}, "
            f"{p.shape}, layout={layout!r}, dtype={p.dtype!r}, seed={self.meta.get('seed', 0)!r}{args})"
        )

    def add(
        self,
        check: str,
        tier: str,
        ok: bool | None,
        message: str,
        *,
        measured: Any = None,
        expected: Any = None,
        interval: Sequence[float] | None = None,
        p_value: float | None = None,
        n: int | None = None,
        std_ratio: float | None = None,
        verdict: str | None = None,
    ) -> dict[str, Any]:
        p, m = self.plan, self.meta
        if verdict is None:
            verdict = "pass" if ok else self._fail_verdict()
        gid = self.base_id()
        rec = Check(
            id=check_id(gid, check), group=gid, backend=m.get("backend", "unknown"), device=m.get("device", "cpu"),
            subject=m.get("subject", "initspec"), native_name=m.get("native_name"), scheme=p.scheme.name,
            layout=p.layout.name if p.layout is not None else None, shape=tuple(p.shape), dtype=p.dtype,
            params={k: _jsonable(v) for k, v in p.params.items()}, check=check, tier=tier,
            measured=_jsonable(measured), expected=_jsonable(expected),
            interval=None if interval is None else [float(v) for v in interval], p_value=p_value,
            alpha=self.alpha if tier == "statistical" else None, n=n, seed=m.get("seed"), std_ratio=std_ratio,
            verdict=verdict, message=message, reproduce=self.reproduce(),
        ).as_dict()
        self.records.append(rec)
        return rec

    def test(
        self, check: str, res: S.TestResult, what: str, *, std_ratio: float | None = None, fmt: str = ".6g"
    ) -> dict[str, Any]:
        """Record a statistical :class:`~initspec.conformance.stats.TestResult`."""
        lo, hi = res.interval
        msg = (
            f"{what}: measured {res.measured:{fmt}}, expected {res.expected:{fmt}}, "
            f"acceptance [{lo:{fmt}}, {hi:{fmt}}] (n={res.n}, p={res.p_value:.3g}, alpha={res.alpha:.3g})"
        )
        return self.add(
            check,
            "statistical",
            res.passed,
            msg,
            measured=res.measured,
            expected=res.expected,
            interval=res.interval,
            p_value=res.p_value,
            n=res.n,
            std_ratio=std_ratio,
        )


# ---------------------------------------------------------------------------------------------
# exact tier
# ---------------------------------------------------------------------------------------------
def _check_shape(rec: _Recorder, arr: np.ndarray) -> bool:
    want = rec.plan.shape if rec.draws == 1 else (rec.draws, *rec.plan.shape)
    ok = tuple(arr.shape) == tuple(want)
    rec.add(
        "shape",
        "exact",
        ok,
        f"shape {tuple(arr.shape)}, expected {tuple(want)}",
        measured=list(arr.shape),
        expected=list(want),
    )
    return ok


def _carrier_name(arr: np.ndarray) -> str:
    return str(arr.dtype.name)


def _check_dtype(rec: _Recorder, arr: np.ndarray) -> np.ndarray:
    """Dtype check; returns the values as float64 / complex128 for the measurements."""
    dt = rec.plan.dtype
    carrier = _carrier_name(arr)
    problems = []
    if carrier not in CARRIERS[dt]:
        problems.append(
            f"numpy dtype {carrier!r} cannot carry {dt} values (accepted: {', '.join(CARRIERS[dt])})"
        )
    native = rec.meta.get("native_dtype")
    if native is not None:
        from initspec.dtypes import dtype_name

        if dtype_name(native) != dt:
            problems.append(f"the framework reports dtype {native!r}")
    if carrier == "bfloat16":
        arr = arr.astype(np.float32)
    if get_dtype(dt).is_complex:
        x = arr.astype(np.complex128)
    elif arr.dtype.kind == "c":  # complex values for a real dtype: measure the real part
        problems.append("complex values returned for a real dtype")
        x = arr.real.astype(np.float64)
    else:
        x = arr.astype(np.float64)
    off = int(np.count_nonzero(~S.on_dtype_grid(x, dt))) if not problems else 0
    if off:
        problems.append(f"{off} of {x.size} values are not representable in {dt} (wider precision returned)")
    rec.add(
        "dtype",
        "exact",
        not problems,
        "; ".join(problems) or f"{carrier} carrier, all values on the {dt} grid",
        measured=native or carrier,
        expected=dt,
    )
    return x


def _check_finite(rec: _Recorder, x: np.ndarray) -> np.ndarray:
    bad = int(np.count_nonzero(~np.isfinite(x)))
    rec.add(
        "finite",
        "exact",
        bad == 0,
        f"{bad} non-finite values of {x.size}",
        measured=bad,
        expected=0,
        n=x.size,
    )
    return x[np.isfinite(x)] if bad else x


def _reference(plan: Plan) -> np.ndarray:
    """The NumPy reference values of a deterministic plan (float64/complex128, rounded to dtype)."""
    from initspec.backends import numpy as ref

    wide = "complex128" if get_dtype(plan.dtype).is_complex else "float64"
    params = {k: v for k, v in plan.params.items() if k not in plan.scheme.fixed}
    vals = ref.initialize(plan.scheme.name, plan.shape, plan.layout, wide, seed=0, **params)
    return S.round_to_dtype(vals, plan.dtype)


def _scalar(v: Any) -> Any:
    v = np.asarray(v).item()
    return v


def _check_equal_reference(rec: _Recorder, stack: np.ndarray, check: str) -> None:
    ref = _reference(rec.plan)
    diff = stack != ref[None]
    bad = int(np.count_nonzero(diff))
    msg = f"all {stack.size} values equal the NumPy reference"
    if bad:
        idx = np.argwhere(diff)[0]
        msg = (
            f"{bad} of {stack.size} values differ from the NumPy reference; first at index "
            f"{tuple(int(i) for i in idx[1:])}: {_scalar(stack[tuple(idx)])!r} vs "
            f"{_scalar(ref[tuple(idx[1:])])!r}"
        )
    rec.add(check, "exact", bad == 0, msg, measured=bad, expected=0, n=stack.size)


def _gram_deviation(q: np.ndarray, gain: float) -> float:
    """``max |Q Q^T - gain^2 I|`` over a batch ``(b, rows, cols)`` (the smaller Gram matrix)."""
    if q.shape[1] > q.shape[2]:
        q = np.swapaxes(q, 1, 2)
    gram = q @ np.conj(np.swapaxes(q, 1, 2))
    eye = np.eye(gram.shape[1]) * gain**2
    return float(np.max(np.abs(gram - eye[None]))) if gram.size else 0.0


def _orth_tolerance(dtype: str, n: int, gain: float) -> float:
    store = get_dtype(dtype).eps
    compute = get_dtype("float32").eps if dtype in LOW_PRECISION else store
    return gain**2 * (ORTH_ROUNDING_ULPS * store + ORTH_QR_ULPS_PER_DIM * n * compute)


def _check_orthogonality(rec: _Recorder, stack: np.ndarray) -> None:
    plan = rec.plan
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    worst = max(_gram_deviation(np.transpose(x, perm).reshape(nb, rows, cols), plan.gain) for x in stack)
    tol = _orth_tolerance(plan.dtype, max(rows, cols), plan.gain)
    rec.add(
        "orthogonality",
        "exact",
        worst <= tol,
        f"max |Q Q^T - gain^2 I| = {worst:.3g} (tolerance {tol:.3g}; layout {plan.layout.name}: "
        f"{nb} x ({rows} x {cols}) after flattening)",
        measured=worst,
        expected=0.0,
        interval=[0.0, tol],
    )


def _check_delta_orthogonal(rec: _Recorder, stack: np.ndarray) -> None:
    plan = rec.plan
    mask = _reference(plan) != 0
    if plan.perm is not None:  # to the scheme's fixed (*k, in, out) order (see Plan.perm)
        mask = np.transpose(mask, plan.perm)
        stack = np.transpose(stack, (0, *(p + 1 for p in plan.perm)))
    centre_k = tuple(int(i) for i in np.argwhere(mask.any(axis=(-2, -1)))[0])
    outside = int(np.count_nonzero(stack[:, ~mask.any(axis=(-2, -1))]))
    rec.add(
        "structure",
        "exact",
        outside == 0,
        f"{outside} nonzero values outside the centre tap {centre_k} of the NumPy reference",
        measured=outside,
        expected=0,
    )
    centre = stack[(slice(None), *centre_k)]  # (draws, in, out)
    worst = _gram_deviation(centre, plan.gain)
    tol = _orth_tolerance(plan.dtype, max(centre.shape[1:]), plan.gain)
    rec.add(
        "orthogonality",
        "exact",
        worst <= tol,
        f"centre slice: max |Q Q^T - gain^2 I| = {worst:.3g} (tolerance {tol:.3g})",
        measured=worst,
        expected=0.0,
        interval=[0.0, tol],
    )


def _check_sparse_zeros(rec: _Recorder, stack: np.ndarray) -> None:
    plan = rec.plan
    out_ax = plan.layout.roles(plan.shape)["out"][0]
    k = math.ceil(plan.value * plan.shape[out_ax])
    counts = np.count_nonzero(stack == 0, axis=1 + out_ax)
    lo, hi = int(counts.min()), int(counts.max())
    rec.add(
        "sparse_zeros",
        "exact",
        lo == hi == k,
        f"zeros per input unit: min {lo}, max {hi}; expected exactly "
        f"ceil({plan.value} * {plan.shape[out_ax]}) = {k}",
        measured=[lo, hi],
        expected=k,
    )


def _check_support(rec: _Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    """Nothing outside the support; nothing AT an open bound (truncated normal: open interval;
    uniform: ``[low, high)`` with ``low`` as stored in the dtype)."""
    lo, hi = el.low, el.high
    mn, mx = float(x.min()), float(x.max())
    if el.kind == "uniform":
        lo_d = min(lo, float(S.round_to_dtype(lo, rec.plan.dtype)))
        outside, at = (
            int(np.count_nonzero(x < lo_d)) + int(np.count_nonzero(x > hi)),
            int(np.count_nonzero(x == hi)),
        )
        rule = f"[{lo:.9g}, {hi:.9g})"
    else:
        outside = int(np.count_nonzero(x < lo)) + int(np.count_nonzero(x > hi))
        at = int(np.count_nonzero(x == lo)) + int(np.count_nonzero(x == hi))
        rule = f"({lo:.9g}, {hi:.9g}) (open: nothing at a truncation bound)"
    msg = (
        f"range [{mn:.9g}, {mx:.9g}] vs support {rule}: {outside} values outside, "
        f"{at} exactly at an excluded bound"
    )
    rec.add(
        "support",
        "exact",
        outside == 0 and at == 0,
        msg,
        measured=[mn, mx],
        expected=[lo, hi],
        interval=[lo, hi],
        n=x.size,
    )


def _check_complex_support(rec: _Recorder, r: np.ndarray, radius: float) -> None:
    tol = radius * (1.0 + COMPLEX_SUPPORT_ULPS * get_dtype(rec.plan.dtype).eps)
    mx = float(r.max())
    above = int(np.count_nonzero(r > tol))
    rec.add(
        "support",
        "exact",
        above == 0,
        f"max |w - mean| = {mx:.9g} vs radius {radius:.9g}: {above} above",
        measured=mx,
        expected=radius,
        interval=[0.0, tol],
        n=r.size,
    )


# ---------------------------------------------------------------------------------------------
# statistical tier
# ---------------------------------------------------------------------------------------------
def _nonzero_law(el: ElementDistribution) -> ElementDistribution:
    s = el.params["std"]
    return ElementDistribution("normal", 0.0, s * s, None, None, 0.0, {"mean": 0.0, "std": s})


def _check_pileup(rec: _Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    p_max = S.max_cell_mass(el, rec.plan.dtype)
    if p_max is None:
        return
    value, count = S.most_frequent(x, presorted=True)
    limit = S.pileup_limit(x.size, p_max, rec.alpha)
    tail = float(min(1.0, stats.binom.sf(count - 1, x.size, p_max) / p_max))
    rec.add(
        "pileup",
        "statistical",
        count <= limit,
        f"most frequent value {value:.9g} occurs {count} times; a continuous law in {rec.plan.dtype} "
        f"(cell mass <= {p_max:.3g}) allows at most {limit} (n={x.size}, union-bound p <= {tail:.3g})",
        measured=count,
        expected=limit,
        interval=[0.0, float(limit)],
        p_value=tail,
        n=x.size,
    )


def _check_moments(rec: _Recorder, x: np.ndarray, el: ElementDistribution, *, kurtosis: bool = True) -> None:
    mu = S.central_moments(el)
    n = x.size
    mean, var, kurt = S.sample_moments(x)
    rec.test("mean", S.z_test(mean, el.mean, math.sqrt(mu[2] / n), rec.alpha, n), "mean")
    vres = S.z_test(var, mu[2], math.sqrt(S.variance_of_variance(mu) / n), rec.alpha, n)
    ratio = math.sqrt(var / mu[2]) if var >= 0 and mu[2] > 0 else None
    rec.test("variance", vres, f"variance (std ratio {ratio:.5f})" if ratio else "variance", std_ratio=ratio)
    if kurtosis:
        ex = mu[4] / mu[2] ** 2 - 3.0
        rec.test(
            "kurtosis",
            S.z_test(kurt, ex, math.sqrt(S.variance_of_kurtosis(mu) / n), rec.alpha, n),
            "excess kurtosis",
            fmt=".4f",
        )


def _check_ks(rec: _Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    bounded = el.kind in ("truncnorm", "uniform")
    res = S.ks_test(
        x,
        S.fast_cdf(el),
        rec.alpha,
        dtype=rec.plan.dtype,
        presorted=True,
        low=el.low if bounded else None,
        high=el.high if bounded else None,
    )
    law = "rounded " if rec.plan.dtype in S.ROUNDED_KS_DTYPES else ""
    rec.test("ks", res, f"Kolmogorov-Smirnov D against the spec's {law}{el.kind} CDF", fmt=".5f")


def _check_real_continuous(rec: _Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    x = np.sort(x)  # once, for the pile-up and KS checks
    if el.low is not None and el.high is not None and el.kind in ("truncnorm", "uniform"):
        _check_support(rec, x, el)
    if x.size == 0:
        rec.add("moments", "statistical", False, "no finite values to measure", n=0)
        return
    if el.kind != "rademacher":
        _check_pileup(rec, x, el)
    _check_moments(rec, x, el, kurtosis=el.kind != "rademacher")
    _check_ks(rec, x, el)


def _check_complex(rec: _Recorder, w: np.ndarray, el: ElementDistribution) -> None:
    mean = complex(el.params.get("mean", 0.0))
    d = w - mean
    n = d.size
    r2 = np.abs(d) ** 2
    if el.complex_rule == "disk":
        _check_complex_support(rec, np.sqrt(r2), el.params["radius"])
    elif el.complex_rule == "truncated_modulus":
        _check_complex_support(rec, np.sqrt(r2), el.params["bound"] * el.params["sigma"])
    if n == 0:
        rec.add("moments", "statistical", False, "no finite values to measure", n=0)
        return
    m = complex(d.mean())
    t = 2.0 * n * abs(m) ** 2 / el.var
    res = S.chi2_test(t, 2, rec.alpha, n)
    rec.add(
        "mean",
        "statistical",
        res.passed,
        f"complex mean {complex(m + mean):.4g} vs {mean:.4g}: chi2(2) = {t:.3g} <= {res.interval[1]:.3g} "
        f"(n={n}, p={res.p_value:.3g})",
        measured=[m.real + mean.real, m.imag + mean.imag],
        expected=[mean.real, mean.imag],
        interval=list(res.interval),
        p_value=res.p_value,
        n=n,
    )
    rv = el.modulus_sq_rv()
    s2 = float(r2.mean())
    ratio = math.sqrt(s2 / el.var)
    rec.test(
        "variance",
        S.z_test(s2, el.var, math.sqrt(float(rv.var()) / n), rec.alpha, n),
        f"E|w - mean|^2 (std ratio {ratio:.5f})",
        std_ratio=ratio,
    )
    rec.test(
        "ks",
        S.ks_test(r2, rv.cdf, rec.alpha),
        f"KS D of |w - mean|^2 against the {el.complex_rule} law",
        fmt=".5f",
    )
    phase = np.angle(d)
    rec.test(
        "phase",
        S.ks_test(phase, stats.uniform(-math.pi, 2 * math.pi).cdf, rec.alpha),
        "KS D of the phase against U(-pi, pi)",
        fmt=".5f",
    )


def check_draw(
    values: np.ndarray, plan: Plan, *, alpha: float, meta: dict[str, Any] | None = None, draws: int = 1
) -> list[dict[str, Any]]:
    """Every exact and statistical check of one draw (or ``draws`` independent draws stacked on a
    new leading axis) against ``plan``; returns ``Check`` records (see module docstring).

    ``meta`` supplies ``backend``, ``device``, ``subject`` (``initspec``/``native``/``portable``),
    ``native_name``, ``seed``, ``reproduce`` (copied into each record), optionally ``case`` (an id
    suffix) and ``native_dtype`` (the framework's own dtype name, compared with ``plan.dtype``).
    For ``subject == "native"`` a failing check has the verdict ``finding``.
    """
    alpha = S.check_alpha(alpha)
    if not isinstance(plan, Plan):
        raise TypeError(
            f"Argument `plan` must be an initspec Plan (initspec.resolve). Received: plan={plan!r}"
        )
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"Argument `draws` must be an int >= 1. Received: draws={draws!r}")
    arr = np.asarray(values)
    rec = _Recorder(plan, meta or {}, alpha, draws)
    shape_ok = _check_shape(rec, arr)
    x = _check_dtype(rec, arr)
    flat = _check_finite(rec, x.ravel())
    stack = x.reshape((draws, *plan.shape)) if shape_ok else None
    el, sampler = plan.element, plan.sampler
    structural = sampler in ("constant", "identity", "dirac", "delta_orthogonal", "orthogonal", "sparse")
    if structural and stack is None:
        rec.add("structure", "exact", None, "skipped: wrong shape", verdict="skip")
    elif sampler in ("constant", "identity", "dirac"):
        _check_equal_reference(rec, stack, "constant" if sampler == "constant" else "structure")
    elif sampler == "delta_orthogonal":
        _check_delta_orthogonal(rec, stack)
    elif sampler == "orthogonal":
        _check_orthogonality(rec, stack)
    elif sampler == "sparse":
        _check_sparse_zeros(rec, stack)
    if el.kind in ("point", "structured"):
        return rec.records
    if el.is_complex:
        _check_complex(rec, flat, el)
    elif el.kind == "sparse":
        _check_real_continuous(rec, flat[flat != 0], _nonzero_law(el))
    else:
        _check_real_continuous(rec, flat, el)
    return rec.records


# ---------------------------------------------------------------------------------------------
# determinism and verdicts
# ---------------------------------------------------------------------------------------------
def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def check_determinism(
    draw: Callable[[int], np.ndarray],
    seeds: tuple[int, int],
    meta: dict[str, Any] | None = None,
    *,
    plan: Plan | None = None,
    expect_seed_effect: bool | None = None,
) -> list[dict[str, Any]]:
    """Same seed -> bit-identical values (``determinism``); different seeds -> different values
    (``seed_sensitivity``; for deterministic schemes, identical values).

    ``draw(seed)`` returns a numpy array. ``plan`` (or ``meta["plan"]``) names the case in the
    records; ``expect_seed_effect`` defaults to ``not plan.scheme.deterministic``.
    """
    if not (isinstance(seeds, (tuple, list)) and len(seeds) == 2 and seeds[0] != seeds[1]):
        raise ValueError(f"Argument `seeds` must be two different seeds. Received: seeds={seeds!r}")
    meta = dict(meta or {})
    plan = plan or meta.pop("plan", None)
    if plan is None:
        raise ValueError(
            "check_determinism needs the case: pass plan=initspec.resolve(...). Received: plan=None"
        )
    if expect_seed_effect is None:
        expect_seed_effect = not plan.scheme.deterministic
    s1, s2 = seeds
    a, b, c = (np.asarray(draw(s)) for s in (s1, s1, s2))
    rec = _Recorder(plan, {**meta, "seed": s1}, None)
    same = _same(a, b)
    frac = float(np.mean(a == b)) if a.shape == b.shape and a.size else 0.0
    rec.add(
        "determinism",
        "exact",
        same,
        f"seed {s1} twice: {'bit-identical' if same else f'{frac:.1%} of values equal (must be 100%)'}",
        measured=frac,
        expected=1.0,
    )
    equal = _same(a, c)
    frac2 = float(np.mean(a == c)) if a.shape == c.shape and a.size else 0.0
    ok = (not equal) if expect_seed_effect else equal
    want = "different values" if expect_seed_effect else "identical values (deterministic scheme)"
    rec.add(
        "seed_sensitivity",
        "exact",
        ok,
        f"seeds {s1} and {s2}: {frac2:.1%} of values equal; expected {want}",
        measured=frac2,
        expected=0.0 if expect_seed_effect else 1.0,
    )
    return rec.records


_VERDICT_ORDER = ("fail", "finding", "pass", "skip", "unavailable")


def summarize_verdict(checks: Iterable[dict[str, Any]]) -> str:
    """One verdict for many checks: ``fail`` if any failed, else ``finding``, else ``pass``, else
    ``skip``/``unavailable`` (``unavailable`` when there is nothing at all)."""
    seen = {c.get("verdict") for c in checks}
    for v in _VERDICT_ORDER:
        if v in seen:
            return v
    return "unavailable"


def failures(checks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failing (or ``finding``) checks."""
    return [c for c in checks if c.get("verdict") in ("fail", "finding")]


def format_check(c: dict[str, Any]) -> str:
    """One human-readable line per check: id, verdict, message."""
    return f"[{c['verdict'].upper()}] {c['id']}: {c['message']}"


# ---------------------------------------------------------------------------------------------
# NumPy reference for every matrix dtype (bfloat16 emulated on a float32 carrier)
# ---------------------------------------------------------------------------------------------
def reference_draw(
    scheme: str,
    shape: Sequence[int],
    layout: Any = "keras",
    dtype: str = "float32",
    seed: int = 0,
    **params: Any,
) -> np.ndarray:
    """Values of the NumPy reference backend for ``dtype``; bfloat16 (which NumPy lacks) is the
    same sampler run in float32 and rounded to the bfloat16 grid, with the spec's inner-bound
    clipping (``initspec.backends._core``) - a float32 carrier, as adapters' ``to_numpy`` give."""
    from initspec.backends import _core
    from initspec.backends import numpy as ref

    plan = resolve(scheme, shape, layout, dtype, **params)
    if plan.dtype != "bfloat16":
        return ref.initialize(scheme, shape, layout, dtype, seed, **params)
    return np.asarray(_core.sample(_bf16_backend(), ref._rng(seed), plan))


@lru_cache(maxsize=1)
def _bf16_backend() -> Any:
    from initspec.backends.numpy import NumpyBackend

    class _Bfloat16Numpy(NumpyBackend):
        """NumPy primitives with a bfloat16 storage dtype on a float32 carrier."""

        def _store(self, x: Any, dtype: str) -> np.ndarray:
            return S.round_to_dtype(np.asarray(x, dtype=np.float32), "bfloat16").astype(np.float32)

        def clip(self, x, lo, hi):  # only ever applied to stored (bfloat16) values
            return self._store(super().clip(x, lo, hi), "bfloat16")

        def cast(self, x, dtype):
            return self._store(x, dtype) if dtype == "bfloat16" else super().cast(x, dtype)

        def full(self, shape, dtype, value):
            return (
                self._store(np.full(shape, value), dtype)
                if dtype == "bfloat16"
                else super().full(shape, dtype, value)
            )

        def eye(self, rows, cols, dtype):
            return super().eye(rows, cols, "float32" if dtype == "bfloat16" else dtype)

        def scatter(self, shape, dtype, index, value):
            return super().scatter(shape, "float32" if dtype == "bfloat16" else dtype, index, value)

    return _Bfloat16Numpy()


# ---------------------------------------------------------------------------------------------
# replaying a whole run on the reference (false-alarm measurement)
# ---------------------------------------------------------------------------------------------
#: base seed b, case i -> draw seed b * REPLAY_SEED_STRIDE + i (distinct over a whole replay)
REPLAY_SEED_STRIDE = 10_000
#: the fan probe j of a replay starts at seed offset len(cases) + REPLAY_PROBE_STRIDE * j
REPLAY_PROBE_STRIDE = 100


def fan_probe_cases(cases: Iterable[Case] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """One ``(scheme, layout, params)`` per distinct float32 case of ``cases`` (default
    :data:`DEFAULT_MATRIX`) whose variance is a fan rule or a constant (fan-probe targets)."""
    from .fanprobe import expected_fan_terms

    out, seen = [], set()
    for c in DEFAULT_MATRIX if cases is None else cases:
        key = (c.scheme, c.layout, repr(sorted(c.params.items())))
        if c.dtype == "float32" and key not in seen and expected_fan_terms(case_plan(c)) is not None:
            seen.add(key)
            out.append((c.scheme, c.layout, dict(c.params)))
    return out


def reference_run(
    base_seed: int, alpha: float, *, cases: Sequence[Case] | None = None, probes: bool = True
) -> list[dict[str, Any]]:
    """Every check of one run of the NumPy reference (a correct adapter) at per-test level
    ``alpha``: :func:`check_draw` on each case (default :data:`DEFAULT_MATRIX`) and, with
    ``probes``, the fan probe of each :func:`fan_probe_cases` entry. Used to measure the engine's
    false-alarm rate over many base seeds (a module-level function, so it runs in worker processes)."""
    from .fanprobe import fan_check, probe_fans, probe_shapes

    cases = list(DEFAULT_MATRIX if cases is None else cases)
    out: list[dict[str, Any]] = []
    for i, case in enumerate(cases):
        seed = base_seed * REPLAY_SEED_STRIDE + i
        x = reference_draw(case.scheme, case.shape, case.layout, case.dtype, seed, **case.params)
        out += check_draw(x, case_plan(case), alpha=alpha, meta={"backend": "numpy", "seed": seed})
    for j, (scheme, layout, params) in enumerate(fan_probe_cases(cases) if probes else []):
        seed = base_seed * REPLAY_SEED_STRIDE + len(cases) + REPLAY_PROBE_STRIDE * j

        def draw(
            shape: tuple[int, ...],
            s: int,
            scheme: str = scheme,
            layout: str = layout,
            params: dict[str, Any] = params,
        ) -> np.ndarray:
            return reference_draw(scheme, shape, layout, "float32", s, **params)

        result = probe_fans(draw, layout, seed=seed)
        plan = resolve(scheme, probe_shapes(layout)[0], layout, **params)
        out += fan_check(result, plan, {"backend": "numpy", "seed": seed}, alpha=alpha)
    return out


__all__ = [
    "Budget",
    "CARRIERS",
    "Case",
    "DEFAULT_ALPHA_TOTAL",
    "DEFAULT_MATRIX",
    "STD_POWER",
    "STD_REL_ERROR",
    "case_plan",
    "check_determinism",
    "check_draw",
    "default_budget",
    "draws_needed",
    "failures",
    "fan_probe_cases",
    "format_check",
    "plan_n",
    "reference_draw",
    "reference_run",
    "summarize_verdict",
    "tests_per_plan",
]
