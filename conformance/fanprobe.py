"""Fan probe: recover which fan an initializer divides by, its scale and its distribution family,
from draws on several shapes of one layout (black box: only ``draw(shape) -> array``).

Model: ``variance = scale / fan(mode)`` with ``mode`` in ``fan_in``, ``fan_out``, ``fan_avg``,
``fan_geo_avg`` or ``none`` (constant variance). The probe shapes vary the in, out and receptive
sizes independently (in/out ratios of 16 separate every pair of modes by more than 0.5 in
``log variance``, against a standard error ~0.02 per shape). For each mode the scale is the
weighted mean of ``log var_i + log fan_i``; the mode with the smallest weighted residual wins.

Distribution family (pooled, each draw standardized by its own mean and std): ``bounded`` when
``max |z|`` is implausibly small for a normal law (probability < :data:`BOUNDED_P`); then uniform
vs truncated normal (bound ``c`` solved from ``max |z| = c / s(c)``, ``s(c)`` the std of N(0, 1)
truncated to ``+-c``) by the smaller KS distance; unbounded: normal unless the KS test rejects it.
Complex draws use ``|w|^2 / E|w|^2``: Exp(1) (normal), U(0, 2) (disk) or a truncated exponential.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from initspec.distributions import Plan, resolve
from initspec.layouts import FAN_MODES, Layout, get_layout
from initspec.schemes import get_scheme
from scipy import optimize, special, stats

from . import stats as S
from .recorder import Recorder

#: Logical probe points ``(n_in, n_out, receptive)``.
PROBE_POINTS: tuple[tuple[int, int, int], ...] = (
    (64, 64, 1),
    (16, 256, 1),
    (256, 16, 1),
    (64, 64, 9),
    (32, 128, 4),
    (128, 32, 4),
)
#: Probe points for layouts without a receptive axis (dense: rank 2 only).
DENSE_PROBE_POINTS: tuple[tuple[int, int, int], ...] = (
    (64, 64, 1),
    (16, 256, 1),
    (256, 16, 1),
    (128, 128, 1),
    (32, 512, 1),
    (512, 32, 1),
)
PROBE_MODES = (*FAN_MODES, "none")
#: ``max |z|`` below the normal law's ``BOUNDED_P`` quantile of the maximum => bounded law.
BOUNDED_P = 1e-6
#: Relative tolerance on the recovered truncation bound (in pre-truncation sigmas): the sample
#: maximum sits ~1/(n pdf(c)) below the bound, well inside this.
TRUNCATION_REL_TOL = 0.05
#: A truncation bound this many sigmas out is indistinguishable from no truncation at probe sizes.
NO_TRUNCATION_SIGMA = 4.5
#: A normal truncated closer than this (in sigmas) is indistinguishable from a uniform law at probe
#: sizes (``c -> 0`` is the uniform limit); such a bound is reported as uniform.
UNIFORM_LIKE_BELOW_SIGMA = 1.0
#: Level of the KS test that rejects every candidate family ("other").
FAMILY_ALPHA = 1e-6
DEFAULT_PROBE_ALPHA = 1e-6


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------
def shape_for(layout: Layout, n_in: int, n_out: int, k: int, rank: int) -> tuple[int, ...]:
    """A rank-``rank`` shape of ``layout`` with ``n_in`` on its (first) in axis, ``n_out`` on its out
    axis, ``n_in`` on a batch axis (depthwise channels) and ``k`` on the first receptive axis."""
    axes = (
        [a % rank for a in layout.in_axes],
        [a % rank for a in layout.out_axes],
        [a % rank for a in layout.batch_axes],
    )
    shape, first_rec = [], True
    for i in range(rank):
        if i in axes[0]:
            shape.append(n_in if i == axes[0][0] else 1)
        elif i in axes[1]:
            shape.append(n_out if i == axes[1][0] else 1)
        elif i in axes[2]:
            shape.append(n_in if i == axes[2][0] else 1)
        else:
            shape.append(k if first_rec else 1)
            first_rec = False
    return tuple(shape)


def probe_shapes(layout: str | Layout) -> list[tuple[int, ...]]:
    """Default probe shapes of ``layout``: rank 3 (one receptive axis) where the layout allows it,
    else rank 2 with :data:`DENSE_PROBE_POINTS`."""
    lay = get_layout(layout)
    rank3 = lay.min_rank <= 3 and (lay.max_rank is None or lay.max_rank >= 3)
    points = PROBE_POINTS if rank3 else DENSE_PROBE_POINTS
    rank = 3 if rank3 else max(2, lay.min_rank)
    return [shape_for(lay, i, o, k, rank) for i, o, k in points]


def _call(draw: Callable[..., Any], shape: tuple[int, ...], seed: int) -> np.ndarray:
    try:
        n_pos = sum(
            1
            for p in inspect.signature(draw).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        )
    except (TypeError, ValueError):
        n_pos = 1
    out = draw(shape, seed) if n_pos >= 2 else draw(shape)
    arr = np.asarray(out)
    if arr.dtype.kind not in "fc" and arr.dtype.name != "bfloat16":
        raise TypeError(f"The initializer returned {arr.dtype} values for shape {tuple(shape)}; expected "
                        f"floating or complex numbers. Received: dtype={arr.dtype}")
    if arr.dtype.name == "bfloat16":
        arr = arr.astype(np.float32)
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(
            f"The initializer returned shape {tuple(arr.shape)} for shape {tuple(shape)}. "
            f"Received: shape={tuple(shape)!r}"
        )
    return arr


# ---------------------------------------------------------------------------------------------
# family
# ---------------------------------------------------------------------------------------------
def _trunc_ratio(c: float) -> float:
    """``c / std(N(0,1) | |z| < c)``: max |z| of a +-c truncated normal in post-truncation stds."""
    var = 1.0 - 2.0 * c * stats.norm.pdf(c) / (2.0 * stats.norm.cdf(c) - 1.0)
    return c / math.sqrt(var)


def _solve_c(ratio: float) -> float:
    """The bound ``c`` with ``_trunc_ratio(c) = ratio`` (``ratio > sqrt(3)``)."""
    if ratio <= math.sqrt(3.0) + 1e-9:
        return 0.0
    hi = 1.0
    while _trunc_ratio(hi) < ratio and hi < 64:
        hi *= 2.0
    return float(optimize.brentq(lambda c: _trunc_ratio(c) - ratio, 1e-6, hi))


def _ks_d(z: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray]) -> float:
    return S.ks_statistic(z, cdf, presorted=True)[0]


def _std_truncnorm_cdf(c: float) -> Callable[[np.ndarray], np.ndarray]:
    """CDF of N(0, 1) truncated to +-c, rescaled to unit variance."""
    s = math.sqrt(1.0 - 2.0 * c * stats.norm.pdf(c) / (2.0 * stats.norm.cdf(c) - 1.0))
    lo = float(special.ndtr(-c))
    return lambda z: np.clip((special.ndtr(np.asarray(z) * s) - lo) / (1.0 - 2.0 * lo), 0.0, 1.0)


def _UNIT_UNIFORM_CDF(z: Any) -> np.ndarray:  # noqa: N802 - a constant-like law
    return np.clip((np.asarray(z) + math.sqrt(3.0)) / (2.0 * math.sqrt(3.0)), 0.0, 1.0)


def _classify_real(z: np.ndarray, ratio: float) -> dict[str, Any]:
    """``z``: pooled draws, each standardized by its own mean and std; ``ratio``: the n-weighted mean
    over draws of ``max |x - mean| / std`` (a max over the pooled values would pick the draw whose
    std happens to be lowest)."""
    zs = np.sort(z)
    n = zs.size
    r = float(np.max(np.abs(zs)))
    log_p_max = n * math.log1p(-2.0 * float(special.ndtr(-r))) if r > 0 else -math.inf  # log P(max|Z| <= r)
    fits = {"normal": _ks_d(zs, special.ndtr), "uniform": _ks_d(zs, _UNIT_UNIFORM_CDF)}
    c = _solve_c(ratio)
    if c >= UNIFORM_LIKE_BELOW_SIGMA:
        fits["truncated_normal"] = _ks_d(zs, _std_truncnorm_cdf(c))
    if log_p_max < math.log(BOUNDED_P):
        best = min((k for k in fits if k != "normal"), key=fits.get)
    else:
        best = "normal"
    if fits[best] > S.ks_critical(n, FAMILY_ALPHA):
        best = "other"
    return {
        "distribution": best,
        "truncation_sigma": c if best == "truncated_normal" else None,
        "max_abs_z": r,
        "ks_distances": fits,
        "excess_kurtosis": S.sample_moments(zs)[2],
    }


def _classify_complex(w2: np.ndarray, ratio: float) -> dict[str, Any]:
    """``w2 = |w - mean|^2 / E|w - mean|^2`` pooled; ``ratio``: n-weighted mean of ``max w2``."""
    r = float(w2.max())
    ws = np.sort(w2)
    fits = {
        "normal": _ks_d(ws, lambda x: -np.expm1(-np.asarray(x))),
        "uniform": _ks_d(ws, lambda x: np.clip(np.asarray(x) / 2.0, 0.0, 1.0)),
    }
    c = _solve_complex_c(ratio)
    if c >= UNIFORM_LIKE_BELOW_SIGMA:
        m, b = _complex_trunc_mean(c), c * c
        fits["truncated_normal"] = _ks_d(
            ws, lambda x: np.clip(-np.expm1(-np.asarray(x) * m) / -math.expm1(-b), 0.0, 1.0)
        )
    bounded = ws.size * math.log1p(-math.exp(-r)) < math.log(BOUNDED_P)  # P(max Exp(1) <= r) tiny
    best = min((k for k in fits if k != "normal"), key=fits.get) if bounded else "normal"
    if fits[best] > S.ks_critical(ws.size, FAMILY_ALPHA):
        best = "other"
    return {
        "distribution": best,
        "truncation_sigma": c if best == "truncated_normal" else None,
        "max_abs_z": math.sqrt(r),
        "ks_distances": fits,
        "excess_kurtosis": None,
    }


def _complex_trunc_mean(c: float) -> float:
    """``E[|z|^2 | |z| < c]`` for a complex standard normal (``|z|^2 ~ Exp(1)``)."""
    b = c * c
    return 1.0 - b * math.exp(-b) / (-math.expm1(-b))


def _solve_complex_c(ratio: float) -> float:
    """``c`` with ``c^2 / E[|z|^2 | |z| < c] = ratio`` (``ratio > 2``: the disk law's value)."""
    if ratio <= 2.0 + 1e-9:
        return 0.0
    def f(c: float) -> float:
        return c * c / _complex_trunc_mean(c) - ratio

    hi = 1.0
    while f(hi) < 0 and hi < 64:
        hi *= 2.0
    return float(optimize.brentq(f, 1e-3, hi))


# ---------------------------------------------------------------------------------------------
# probe
# ---------------------------------------------------------------------------------------------
def _fan_value(fans: dict[str, float], mode: str) -> float:
    fi, fo = fans["fan_in"], fans["fan_out"]
    return {
        "fan_in": fi,
        "fan_out": fo,
        "fan_avg": (fi + fo) / 2.0,
        "fan_geo_avg": math.sqrt(fi * fo),
        "none": 1.0,
    }[mode]


def _fit_modes(per_shape: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Weighted least-squares fit of ``log var = log scale - log fan(mode)`` for every mode."""
    y = np.array([math.log(p["variance"]) for p in per_shape])
    w = np.array([1.0 / max(p["se_log_var"], 1e-12) ** 2 for p in per_shape])
    out = {}
    for mode in PROBE_MODES:
        lf = np.array([math.log(_fan_value(p, mode)) for p in per_shape])
        log_scale = float(np.sum(w * (y + lf)) / np.sum(w))
        resid = y + lf - log_scale
        out[mode] = {
            "scale": math.exp(log_scale),
            "residual": float(math.sqrt(np.sum(w * resid**2) / len(y))),
            "rms_log_residual": float(math.sqrt(np.mean(resid**2))),
        }
    return out


def probe_fans(
    draw: Callable[..., Any],
    layout: str | Layout,
    *,
    shapes: Sequence[Sequence[int]] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Probe an initializer on several shapes of ``layout`` (see module docstring).

    ``draw(shape)`` or ``draw(shape, seed)`` returns an array-like of that shape (seeds
    ``seed, seed + 1, ...``, one per shape). Returns ``{"mode", "scale", "gain", "distribution",
    "truncation_sigma", "residual", "per_shape", "fits", "layout", "is_complex", ...}``.
    """
    lay = get_layout(layout)
    shapes = [tuple(int(d) for d in s) for s in (shapes or probe_shapes(lay))]
    if len(shapes) < 3:
        raise ValueError(
            "Argument `shapes` needs at least 3 shapes to separate the fan modes. "
            f"Received: shapes={shapes!r}"
        )
    per_shape, pooled, ratios = [], [], []
    is_complex = False
    for i, shape in enumerate(shapes):
        fans = lay.fans(shape)
        x = _call(draw, shape, seed + i)
        is_complex = is_complex or x.dtype.kind == "c"
        v = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64).ravel()
        v = v[np.isfinite(v)]
        if v.size < 2:  # the variance (and so the fans) of non-finite values is undefined
            raise ValueError(
                f"The initializer returned {x.size - v.size} non-finite values of {x.size} for shape "
                f"{shape}; the fan probe needs finite values. Received: shape={shape!r}")
        mean = v.mean()
        d = v - mean
        r2 = (d * np.conj(d)).real
        var = float(r2.mean())
        m4 = float((r2 * r2).mean())
        se = math.sqrt(max(m4 - var * var, 0.0) / v.size) / var if var > 0 else float("inf")
        per_shape.append(
            {
                "shape": list(shape),
                "fan_in": fans.fan_in,
                "fan_out": fans.fan_out,
                "receptive_field": fans.receptive_field,
                "n": int(v.size),
                "mean": complex(mean).real,
                "variance": var,
                "se_log_var": se,
                "std": math.sqrt(var),
                "max_abs": float(np.sqrt(r2.max())) if v.size else float("nan"),
            }
        )
        if var > 0:
            pooled.append(r2 / var if is_complex else d.real / math.sqrt(var))
            ratios.append((v.size, float(r2.max()) / var if is_complex else math.sqrt(float(r2.max()) / var)))
    if any(p["variance"] <= 0 for p in per_shape):
        return {
            "mode": "constant",
            "scale": 0.0,
            "gain": 0.0,
            "distribution": "point",
            "truncation_sigma": None,
            "residual": 0.0,
            "per_shape": per_shape,
            "fits": {},
            "layout": lay.name,
            "is_complex": is_complex,
            "seed": seed,
        }
    fits = _fit_modes(per_shape)
    mode = min(fits, key=lambda m: fits[m]["residual"])
    ratio = sum(n * r for n, r in ratios) / sum(n for n, _ in ratios)
    classify = _classify_complex if is_complex else _classify_real
    fam = classify(np.concatenate(pooled), ratio)
    return {
        "mode": mode,
        "scale": fits[mode]["scale"],
        "gain": math.sqrt(fits[mode]["scale"]),
        "distribution": fam["distribution"],
        "truncation_sigma": fam["truncation_sigma"],
        "residual": fits[mode]["residual"],
        "per_shape": per_shape,
        "fits": fits,
        "family": fam,
        "layout": lay.name,
        "is_complex": is_complex,
        "seed": seed,
    }


# ---------------------------------------------------------------------------------------------
# comparison with the spec
# ---------------------------------------------------------------------------------------------
def expected_fan_terms(
    plan_or_scheme: Plan | str, layout: str | Layout = "keras"
) -> dict[str, Any] | None:
    """What the spec says a probe should recover: ``{"mode", "scale", "distribution",
    "truncation_sigma", "excess_kurtosis", "variance_stat_factor"}``; None for schemes whose variance
    is not a fan rule or a constant (orthogonal, structured, sparse, constants)."""
    if isinstance(plan_or_scheme, Plan):
        plan = plan_or_scheme
    else:
        sch = get_scheme(plan_or_scheme)
        shape = probe_shapes(layout)[0]
        plan = resolve(sch, shape, layout)
    rule, p, el = plan.family.fan_rule, plan.params, plan.element
    if el.is_complex:
        kappa2 = float(el.modulus_sq_rv().var()) / el.var**2
    elif el.excess_kurtosis is None:
        return None
    else:
        kappa2 = el.excess_kurtosis + 2.0
    if rule == "variance_scaling":
        scale = p["scale"] if "scale" in p else p["gain"] ** 2
        dist = p["distribution"]
        c = 2.0 if dist == "truncated_normal" else None
        return {
            "mode": p["mode"],
            "scale": float(scale),
            "distribution": dist,
            "truncation_sigma": c,
            "variance_stat_factor": kappa2,
        }
    if rule == "fixed":
        dist, c = plan.family.probe_distribution, None
        if el.law.truncated:
            a, b = el.params["a"], el.params["b"]
            c = min(abs(a), abs(b)) if abs(abs(a) - abs(b)) < 1e-12 else None
            dist = (
                "truncated_normal"
                if c is not None and c < NO_TRUNCATION_SIGMA
                else ("normal" if c is not None else "other")
            )
            c = c if dist == "truncated_normal" else None
        return {
            "mode": "none",
            "scale": float(el.var),
            "distribution": dist,
            "truncation_sigma": c,
            "variance_stat_factor": kappa2,
        }
    return None


def _meta_plan(plan_or_scheme: Plan | str, result: dict[str, Any]) -> Plan:
    if isinstance(plan_or_scheme, Plan):
        return plan_or_scheme
    shape = tuple(result["per_shape"][0]["shape"])
    return resolve(plan_or_scheme, shape, result["layout"])


def fan_check(
    result: dict[str, Any],
    plan_or_scheme: Plan | str,
    meta: dict[str, Any] | None = None,
    *,
    alpha: float = DEFAULT_PROBE_ALPHA,
) -> list[dict[str, Any]]:
    """Compare a :func:`probe_fans` result with the spec: ``fan_probe`` (chi-square of the per-shape
    variances against ``scale / fan(mode)`` with standard errors from the spec law's 4th moment;
    one budgeted test at ``alpha``), ``fan_mode`` (recovered mode == spec mode) and
    ``fan_distribution`` (family and truncation bound)."""
    alpha = S.check_alpha(alpha)
    plan = _meta_plan(plan_or_scheme, result)
    rec = Recorder(plan, {**(meta or {}), "case": (meta or {}).get("case") or "fans"}, alpha)
    exp = expected_fan_terms(plan, result["layout"])
    if exp is None:
        rec.add(
            "fan_probe",
            "fan",
            None,
            f"not applicable: {plan.scheme.name!r} is not a fan-rule or constant-variance scheme",
            verdict="skip",
        )
        return rec.records
    ps = result["per_shape"]
    expected_var = [exp["scale"] / _fan_value(p, exp["mode"]) for p in ps]
    z = [
        (p["variance"] - v) / (v * math.sqrt(exp["variance_stat_factor"] / p["n"]))
        for p, v in zip(ps, expected_var, strict=True)
    ]
    chi2 = float(np.sum(np.square(z)))
    res = S.chi2_test(chi2, len(ps), alpha, sum(p["n"] for p in ps))
    ratios = ", ".join(
        f"{tuple(p['shape'])}: {math.sqrt(p['variance'] / v):.4f}"
        for p, v in zip(ps, expected_var, strict=True)
    )
    rec.add(
        "fan_probe",
        "statistical",
        res.passed,
        f"per-shape variance vs spec {exp['scale']:.6g}/{exp['mode']}: chi2({len(ps)}) = {chi2:.3g} "
        f"<= {res.interval[1]:.3g} (p={res.p_value:.3g}); std ratios {ratios}; recovered "
        f"{result['scale']:.6g}/{result['mode']}",
        measured={"mode": result["mode"], "scale": result["scale"]},
        expected={"mode": exp["mode"], "scale": exp["scale"]},
        interval=list(res.interval),
        p_value=res.p_value,
        n=res.n,
        std_ratio=math.sqrt(result["scale"] / exp["scale"]) if result["mode"] == exp["mode"] else None,
    )
    mode_ok = result["mode"] == exp["mode"]
    rec.add(
        "fan_mode",
        "fan",
        mode_ok,
        f"recovered fan mode {result['mode']!r} (scale {result['scale']:.6g}), "
        f"spec {exp['mode']!r} (scale {exp['scale']:.6g})",
        measured=result["mode"],
        expected=exp["mode"],
    )
    dist_ok = result["distribution"] == exp["distribution"]
    c_got, c_want = result.get("truncation_sigma"), exp["truncation_sigma"]
    if dist_ok and c_want is not None:
        dist_ok = c_got is not None and abs(c_got - c_want) <= TRUNCATION_REL_TOL * c_want
    trunc = f" (bound {c_got:.3f} sigma)" if c_got else ""
    want = f" (bound {c_want:g} sigma)" if c_want else ""
    rec.add(
        "fan_distribution",
        "fan",
        dist_ok,
        f"recovered {result['distribution']}{trunc}, spec {exp['distribution']}{want}",
        measured={"distribution": result["distribution"], "truncation_sigma": c_got},
        expected={"distribution": exp["distribution"], "truncation_sigma": c_want},
    )
    return rec.records


__all__ = [
    "DENSE_PROBE_POINTS",
    "PROBE_POINTS",
    "expected_fan_terms",
    "fan_check",
    "probe_fans",
    "probe_shapes",
    "shape_for",
]
