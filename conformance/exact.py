"""The exact tier of the check engine: shape, dtype, finiteness, structure, support.

``shape``; ``dtype`` (an accepted numpy carrier and every value on the dtype's grid); ``finite``;
``constant`` / ``structure`` (identity, dirac, delta-orthogonal compared with the NumPy
reference's structure); ``support`` (nothing outside the law's support and nothing AT an open
truncation bound); ``orthogonality`` (``max |Q Q^T - gain^2 I|`` with the layout's flattening,
within a tolerance from the dtype's epsilon and the matrix size, cf. Higham, *Accuracy and
Stability of Numerical Algorithms*, 2nd ed., sec. 19.3 on Householder QR); ``sparse_zeros``
(exact zero count per input unit).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from initspec.backends import numpy as ref
from initspec.distributions import ElementDistribution, Plan
from initspec.dtypes import dtype_name, get_dtype

from . import stats as S
from .recorder import Recorder

__all__ = [
    "CARRIERS", "COMPLEX_SUPPORT_ULPS", "LOW_PRECISION", "ORTH_QR_ULPS_PER_DIM", "ORTH_ROUNDING_ULPS",
    "check_complex_support", "check_delta_orthogonal", "check_dtype", "check_equal_reference", "check_finite",
    "check_orthogonality", "check_shape", "check_sparse_zeros", "check_support", "gram_deviation",
    "orth_tolerance", "reference_values",
]

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



def check_shape(rec: Recorder, arr: np.ndarray) -> bool:
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


def check_dtype(rec: Recorder, arr: np.ndarray) -> np.ndarray:
    """Dtype check; returns the values as float64 / complex128 for the measurements."""
    dt = rec.plan.dtype
    carrier = _carrier_name(arr)
    problems = []
    if carrier not in CARRIERS[dt]:
        problems.append(
            f"numpy dtype {carrier!r} cannot carry {dt} values (accepted: {', '.join(CARRIERS[dt])})"
        )
    native = rec.meta.get("native_dtype")
    if native is not None and dtype_name(native) != dt:
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


def check_finite(rec: Recorder, x: np.ndarray) -> np.ndarray:
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


def reference_values(plan: Plan) -> np.ndarray:
    """The NumPy reference values of a deterministic plan (float64/complex128, rounded to dtype)."""
    wide = "complex128" if get_dtype(plan.dtype).is_complex else "float64"
    params = {k: v for k, v in plan.params.items() if k not in plan.scheme.fixed}
    vals = ref.initialize(plan.scheme.name, plan.shape, plan.layout, wide, seed=0, **params)
    return S.round_to_dtype(vals, plan.dtype)


def _scalar(v: Any) -> Any:
    v = np.asarray(v).item()
    return v


def check_equal_reference(rec: Recorder, stack: np.ndarray, check: str) -> None:
    ref = reference_values(rec.plan)
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


def gram_deviation(q: np.ndarray, gain: float) -> float:
    """``max |Q Q^T - gain^2 I|`` over a batch ``(b, rows, cols)`` (the smaller Gram matrix)."""
    if q.shape[1] > q.shape[2]:
        q = np.swapaxes(q, 1, 2)
    gram = q @ np.conj(np.swapaxes(q, 1, 2))
    eye = np.eye(gram.shape[1]) * gain**2
    return float(np.max(np.abs(gram - eye[None]))) if gram.size else 0.0


def orth_tolerance(dtype: str, n: int, gain: float) -> float:
    store = get_dtype(dtype).eps
    compute = get_dtype("float32").eps if dtype in LOW_PRECISION else store
    return gain**2 * (ORTH_ROUNDING_ULPS * store + ORTH_QR_ULPS_PER_DIM * n * compute)


def check_orthogonality(rec: Recorder, stack: np.ndarray) -> None:
    plan = rec.plan
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    worst = max(gram_deviation(np.transpose(x, perm).reshape(nb, rows, cols), plan.gain) for x in stack)
    tol = orth_tolerance(plan.dtype, max(rows, cols), plan.gain)
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


def check_delta_orthogonal(rec: Recorder, stack: np.ndarray) -> None:
    plan = rec.plan
    mask = reference_values(plan) != 0
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
    worst = gram_deviation(centre, plan.gain)
    tol = orth_tolerance(plan.dtype, max(centre.shape[1:]), plan.gain)
    rec.add(
        "orthogonality",
        "exact",
        worst <= tol,
        f"centre slice: max |Q Q^T - gain^2 I| = {worst:.3g} (tolerance {tol:.3g})",
        measured=worst,
        expected=0.0,
        interval=[0.0, tol],
    )


def check_sparse_zeros(rec: Recorder, stack: np.ndarray) -> None:
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


def check_support(rec: Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    """Nothing outside the support; nothing AT an open bound (truncated normal: open interval;
    uniform: ``[low, high)`` with ``low`` as stored in the dtype)."""
    lo, hi = el.low, el.high
    mn, mx = float(x.min()), float(x.max())
    if el.law.closed_low:
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


def check_complex_support(rec: Recorder, r: np.ndarray, radius: float) -> None:
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
