"""Exact distribution of one weight element, and the resolved sampling plan of a scheme.

:func:`resolve` turns ``(scheme, shape, layout, dtype, params)`` into a :class:`Plan`: the fans,
the absolute sampler arguments (mean, std, bounds...) that every backend executes with its own
RNG, and an :class:`ElementDistribution` with the exact moments, support and CDF (scipy.stats)
that the conformance checks measure against.

Complex dtypes (the convention of ``jax.nn.initializers`` and torch's complex ``normal_``), with
``v`` the target variance ``E|w|^2``:

* normal: real and imaginary parts i.i.d. N(0, v/2); ``|w|^2 ~ Exp(mean v)``;
* uniform (variance scaling): uniform on the disk of radius ``sqrt(2 v)``; ``|w|^2 ~ U(0, 2v)``;
* truncated normal (variance scaling): complex normal with ``|w| <= 2 sigma``, uniform phase,
  ``sigma = sqrt(v) / COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION`` (exact; JAX's constant differs).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any

from scipy import stats

from .constants import (
    COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION,
    TRUNCATED_NORMAL_STD_CORRECTION,
    VARIANCE_SCALING_TRUNCATION,
)
from .dtypes import ceil_to_dtype, check_representable, get_dtype, inner_bounds, next_below
from .errors import InitSpecError, check_finite, check_shape, unknown
from .laws import LAWS, ElementDistribution, Law  # noqa: F401  (re-exported)
from .layouts import FAN_MODES, Fans, Layout, compute_fans, get_layout
from .schemes import VS_DISTRIBUTIONS, Scheme, get_scheme


def _normal(mean: float, std: float) -> ElementDistribution:
    return ElementDistribution("normal", mean, std * std, None, None, 0.0, {"mean": mean, "std": std})


@functools.lru_cache(maxsize=1024)
def _truncnorm_moments(a: float, b: float) -> tuple[float, float, float]:
    """(mean, variance, excess kurtosis) of N(0,1) truncated to (a, b); scipy is ~10 ms a call."""
    m, v, _, k = (float(x) for x in stats.truncnorm(a, b).stats(moments="mvsk"))
    return m, v, k


def _truncnorm(mean: float, std: float, a: float, b: float) -> ElementDistribution:
    m0, v0, k = _truncnorm_moments(a, b)
    m, v = mean + std * m0, std * std * v0
    return ElementDistribution("truncnorm", m, v, mean + a * std, mean + b * std, k,
                               {"mean": mean, "std": std, "a": a, "b": b})


def _uniform(low: float, high: float) -> ElementDistribution:
    return ElementDistribution("uniform", (low + high) / 2, (high - low) ** 2 / 12.0, low, high, -1.2,
                               {"low": low, "high": high})


def _point(value: float) -> ElementDistribution:
    return ElementDistribution("point", value, 0.0, value, value, None, {"value": value})


def _haar(n: int, gain: float) -> ElementDistribution:
    if n == 1:
        return ElementDistribution("rademacher", 0.0, gain * gain, -gain, gain, -2.0, {"n": 1, "gain": gain})
    # coordinate of a uniform point on S^{n-1}: E x^2 = 1/n, E x^4 = 3/(n(n+2))
    return ElementDistribution("haar", 0.0, gain * gain / n, -gain, gain, -6.0 / (n + 2),
                               {"n": n, "gain": gain})


@dataclass(frozen=True)
class Plan:
    """A scheme resolved for one shape/layout/dtype: what every backend must sample.

    ``sampler`` is the family a backend implements; its absolute arguments are ``mean``, ``std``,
    ``low``/``high`` (uniform bounds or absolute truncation bounds), ``value`` and ``gain``.
    """

    scheme: Scheme
    shape: tuple[int, ...]
    dtype: str
    layout: Layout | None
    fans: Fans | None
    params: dict[str, Any]
    sampler: str
    element: ElementDistribution
    mean: float = 0.0
    std: float = 1.0
    low: float | None = None
    high: float | None = None
    value: float = 0.0
    gain: float = 1.0
    groups: int = 1
    complex_rule: str | None = None
    #: for schemes defined in a fixed axis order (dirac: (out, in, *k); delta_orthogonal:
    #: (*k, in, out)): the permutation taking ``shape`` to that order (None = already in it)
    perm: tuple[int, ...] | None = None

    @property
    def canonical_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[i] for i in self.perm) if self.perm is not None else self.shape

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def summary(self) -> dict[str, Any]:
        e = self.element
        return {
            "scheme": self.scheme.name, "family": self.scheme.family, "sampler": self.sampler,
            "shape": list(self.shape), "dtype": self.dtype,
            "layout": self.layout.name if self.layout else None,
            "fan_in": self.fans.fan_in if self.fans else None,
            "fan_out": self.fans.fan_out if self.fans else None,
            "receptive_field": self.fans.receptive_field if self.fans else None,
            "params": dict(self.params), "mean": e.mean, "std": e.std, "variance": e.var,
            "low": e.low, "high": e.high, "excess_kurtosis": e.excess_kurtosis,
            "distribution": e.kind, "complex_rule": e.complex_rule,
        }


def _merge_params(scheme: Scheme, params: dict[str, Any]) -> dict[str, Any]:
    for k in params:
        if k in scheme.fixed:
            raise InitSpecError(
                f"Parameter `{k}` is fixed for scheme {scheme.name!r} "
                f"({k}={scheme.defaults[k]!r}); use 'variance_scaling' to choose it. Received: {k}={params[k]!r}"
            )
        if k not in scheme.defaults:
            raise unknown(f"parameter of scheme {scheme.name!r}", k, params[k], scheme.params or ["(none)"],
                          query=k)
    return {**scheme.defaults, **params}


def resolve(
    scheme: "str | Scheme",
    shape: Any,
    layout: "str | Layout | None" = "keras",
    dtype: Any = "float32",
    *,
    groups: int = 1,
    fans: "tuple[float, float] | None" = None,
    **params: Any,
) -> Plan:
    """Resolve ``scheme`` for a weight of ``shape`` (see module docstring)."""
    sch = get_scheme(scheme)
    shape = check_shape(shape)
    dt = get_dtype(dtype)
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise InitSpecError(f"Argument `groups` must be an int >= 1. Received: groups={groups!r}")
    if dt.is_complex and not sch.complex_ok:
        raise TypeError(
            f"Scheme {sch.name!r} is not defined for complex dtypes. Received: dtype={dt.name!r}"
        )
    p = _merge_params(sch, params)
    lay = get_layout(layout) if layout is not None else None
    fam = sch.family
    kw: dict[str, Any] = {}

    def need_fans() -> Fans:
        if lay is None and fans is None:
            raise InitSpecError(f"Scheme {sch.name!r} needs a layout (or fans=). Received: layout=None")
        return compute_fans(shape, lay if lay is not None else "keras", groups=groups, fans=fans)

    f: Fans | None = None
    if fam == "constant":
        v = p["value"]
        if isinstance(v, complex):
            if not dt.is_complex:
                raise TypeError(f"A complex `value` needs a complex dtype. Received: value={v!r}, dtype={dt.name!r}")
            if not (math.isfinite(v.real) and math.isfinite(v.imag)):
                raise InitSpecError(f"Argument `value` must be finite. Received: value={v!r}")
            el = ElementDistribution("point", 0.0, 0.0, None, None, None, {"value": 0.0}, True, "point")
            kw = dict(sampler="constant", value=v)
        else:
            v = check_finite("value", v)
            el = _point(v)
            if dt.is_complex:
                el = ElementDistribution("point", v, 0.0, v, v, None, {"value": v}, True, "point")
            kw = dict(sampler="constant", value=v)
    elif fam == "normal":
        m, s = check_finite("mean", p["mean"]), check_finite("std", p["std"], nonneg=True)
        el = _normal(m, s)
        if dt.is_complex:
            el = ElementDistribution("normal", m, s * s, None, None, 0.0, {"mean": m, "std": s}, True, "gaussian")
        kw = dict(sampler="normal", mean=m, std=s, complex_rule="gaussian" if dt.is_complex else None)
    elif fam == "uniform":
        lo, hi = check_finite("low", p["low"]), check_finite("high", p["high"])
        if not lo < hi:
            raise InitSpecError(f"Argument `low` must be < `high`. Received: low={lo!r}, high={hi!r}")
        el = _uniform(lo, hi)
        kw = dict(sampler="uniform", low=lo, high=hi)
    elif fam in ("truncated_normal", "truncated_normal_abs"):
        m, s = check_finite("mean", p["mean"]), check_finite("std", p["std"], positive=True)
        if fam == "truncated_normal":
            a, b = check_finite("a", p["a"]), check_finite("b", p["b"])
            if not a < b:
                raise InitSpecError(f"Argument `a` must be < `b`. Received: a={a!r}, b={b!r}")
        else:
            lo, hi = check_finite("low", p["low"]), check_finite("high", p["high"])
            if not lo < hi:
                raise InitSpecError(f"Argument `low` must be < `high`. Received: low={lo!r}, high={hi!r}")
            a, b = (lo - m) / s, (hi - m) / s
        if stats.norm.cdf(b) - stats.norm.cdf(a) <= 0 and stats.norm.sf(a) - stats.norm.sf(b) <= 0:
            raise InitSpecError(
                f"The truncation interval holds no probability mass of N(mean, std^2) "
                f"(a={a:.3g}, b={b:.3g} in std units). Received: {p!r}"
            )
        el = _truncnorm(m, s, a, b)
        kw = dict(sampler="truncated_normal", mean=m, std=s, low=m + a * s, high=m + b * s)
    elif fam == "variance_scaling":
        mode, dist = p["mode"], p["distribution"]
        if mode not in FAN_MODES:
            raise unknown("fan mode", "mode", mode, FAN_MODES)
        if dist not in VS_DISTRIBUTIONS:
            raise unknown("distribution", "distribution", dist, VS_DISTRIBUTIONS)
        f = need_fans()
        if "scale" in p:
            sd = math.sqrt(check_finite("scale", p["scale"], positive=True) / f.fan(mode))
        else:  # std = gain / sqrt(fan): gain**2 could overflow a float for a huge gain
            sd = check_finite("gain", p["gain"], positive=True) / math.sqrt(f.fan(mode))
        var = sd * sd
        if dist == "normal":
            el = _normal(0.0, sd)
            kw = dict(sampler="normal", mean=0.0, std=sd)
            if dt.is_complex:
                el = ElementDistribution("normal", 0.0, var, None, None, 0.0, {"mean": 0.0, "std": sd}, True, "gaussian")
                kw["complex_rule"] = "gaussian"
        elif dist == "uniform":
            lim = math.sqrt(3.0 * var)
            el = _uniform(-lim, lim)
            kw = dict(sampler="uniform", low=-lim, high=lim)
            if dt.is_complex:
                r = math.sqrt(2.0 * var)
                el = ElementDistribution("uniform", 0.0, var, None, None, None, {"radius": r}, True, "disk")
                kw = dict(sampler="uniform", low=-r, high=r, complex_rule="disk")
        else:
            k = VARIANCE_SCALING_TRUNCATION
            if dt.is_complex:
                sig = sd / COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION
                el = ElementDistribution("truncnorm", 0.0, var, None, None, None,
                                         {"sigma": sig, "bound": k}, True, "truncated_modulus")
                kw = dict(sampler="truncated_normal", mean=0.0, std=sig, low=-k * sig, high=k * sig,
                          complex_rule="truncated_modulus")
            else:
                sig = sd / TRUNCATED_NORMAL_STD_CORRECTION
                el = _truncnorm(0.0, sig, -k, k)
                kw = dict(sampler="truncated_normal", mean=0.0, std=sig, low=-k * sig, high=k * sig)
    elif fam == "orthogonal":
        g = check_finite("gain", p["gain"], nonneg=True)
        if lay is None:
            raise InitSpecError("Scheme 'orthogonal' needs a layout. Received: layout=None")
        _, nb, rows, cols = lay.orthogonal_matrix(shape)
        if rows == 0 or cols == 0:
            raise InitSpecError(f"Orthogonal needs non-empty rows and columns. Received: shape={shape!r}")
        el = _haar(max(rows, cols), g)
        kw = dict(sampler="orthogonal", gain=g)
    elif fam == "identity":
        g = check_finite("gain", p["gain"])
        if len(shape) != 2:
            raise InitSpecError(f"Scheme 'identity' needs a rank-2 shape. Received: shape={shape!r}")
        n = min(shape)
        tot = max(math.prod(shape), 1)
        m = g * n / tot
        el = ElementDistribution("structured", m, g * g * n / tot - m * m, min(0.0, g), max(0.0, g), None, {"gain": g})
        kw = dict(sampler="identity", gain=g)
    elif fam in ("dirac", "delta_orthogonal"):
        perm = _fixed_order_perm(fam, shape, lay)
        kw["perm"] = perm
        shape_c = tuple(shape[i] for i in perm) if perm is not None else shape
        el, kw2 = _fixed_order(fam, shape_c, p, groups)
        kw.update(kw2)
    elif fam == "sparse":
        sp = check_finite("sparsity", p["sparsity"], nonneg=True)
        if not sp < 1:
            raise InitSpecError(f"Argument `sparsity` must be in [0, 1). Received: sparsity={sp!r}")
        s = check_finite("std", p["std"], positive=True)
        if len(shape) != 2:
            raise InitSpecError(f"Scheme 'sparse' needs a rank-2 shape. Received: shape={shape!r}")
        if lay is None:
            raise InitSpecError("Scheme 'sparse' needs a layout. Received: layout=None")
        roles = lay.roles(shape)
        n_out = shape[roles["out"][0]]
        zf = math.ceil(sp * n_out) / n_out if n_out else 0.0
        # ceil(sparsity * n_out) == n_out (e.g. n_out = 1) zeroes everything, as torch does
        el = ElementDistribution("sparse", 0.0, (1 - zf) * s * s, None, None,
                                 3.0 / (1 - zf) - 3.0 if zf < 1 else None, {"std": s, "zero_fraction": zf})
        kw = dict(sampler="sparse", std=s, value=sp)
    else:  # pragma: no cover - table and code out of sync
        raise AssertionError(fam)
    if f is None and sch.uses_fans and fam not in ("orthogonal", "dirac", "delta_orthogonal", "sparse"):
        f = need_fans()
    kw.setdefault("groups", groups)
    _check_range(sch, dt.name, p, kw)
    return Plan(scheme=sch, shape=shape, dtype=dt.name, layout=lay, fans=f, params=p,
                element=el, **kw)


#: normal draws are refused when ``|mean| + NORMAL_RANGE_STDS * std`` exceeds the dtype's range
#: (P(|z| > 40) ~ 1e-350: a finite dtype max beyond it is never reached in practice)
NORMAL_RANGE_STDS = 40.0


def _check_range(sch: Scheme, dtype: str, params: dict[str, Any], kw: dict[str, Any]) -> None:
    """Refuse a plan whose values cannot all be represented in ``dtype``: a magnitude beyond the
    dtype's finite range (they would round to inf) or a truncation/uniform interval with no
    representable value inside it (they would land on or beyond a bound)."""
    received = ", ".join(f"{k}={v!r}" for k, v in params.items() if k not in sch.fixed) or f"scheme={sch.name!r}"
    s = kw["sampler"]
    if s == "constant":
        v = complex(kw["value"])
        check_representable(dtype, max(abs(v.real), abs(v.imag)), "|value|", received)
    elif s in ("normal", "sparse"):
        m, sd = abs(kw.get("mean", 0.0)), kw["std"]
        check_representable(dtype, m + NORMAL_RANGE_STDS * sd, f"|mean| + {NORMAL_RANGE_STDS:g} std", received)
    elif s in ("uniform", "truncated_normal"):
        lo, hi = kw["low"], kw["high"]
        mid = kw.get("mean", lo)  # samplers compute mean + std * z (low + (high - low) * u)
        check_representable(dtype, max(abs(lo), abs(hi), hi - mid, mid - lo), "the bounds (and their span)",
                            received)
        if kw.get("complex_rule") is None:
            inner_lo = ceil_to_dtype(lo, dtype) if s == "uniform" else inner_bounds(lo, hi, dtype)[0]
            inner_hi = next_below(hi, dtype) if s == "uniform" else inner_bounds(lo, hi, dtype)[1]
            if not inner_lo <= inner_hi:
                raise InitSpecError(
                    f"No {dtype} value lies {'strictly inside' if s == 'truncated_normal' else 'in'} the "
                    f"interval {'(' if s == 'truncated_normal' else '['}{lo!r}, {hi!r}); every sample would "
                    f"land on or beyond a bound. Received: {received}, dtype={dtype!r}"
                )
    elif s in ("orthogonal", "identity", "delta_orthogonal"):
        check_representable(dtype, abs(kw["gain"]), "|gain|", received)


def _fixed_order_perm(fam: str, shape: tuple[int, ...], lay: Layout | None) -> tuple[int, ...] | None:
    """Permutation taking ``shape`` (in ``lay``) to the fixed order of ``dirac`` (torch
    ``(out, in, *k)``) or ``delta_orthogonal`` (``(*k, in, out)``), so both mean the same logical
    kernel (identity / orthogonal convolution) in every layout. None when it is the identity."""
    if lay is None:
        return None
    roles = lay.roles(shape)
    if len(roles["in"]) != 1 or len(roles["out"]) != 1 or roles["batch"]:
        raise InitSpecError(
            f"Scheme {fam!r} needs a layout with one in axis, one out axis and no batch axis. "
            f"Received: layout={lay.name!r}"
        )
    (i,), (o,), rec = roles["in"], roles["out"], roles["receptive"]
    perm = (o, i, *rec) if fam == "dirac" else (*rec, i, o)
    return None if perm == tuple(range(len(shape))) else perm


def _fixed_order(fam: str, shape: tuple[int, ...], p: dict[str, Any], groups: int
                 ) -> tuple[ElementDistribution, dict[str, Any]]:
    """Validation and element law of dirac / delta_orthogonal on the fixed-order ``shape``."""
    if fam == "dirac":
        gr = groups if groups != 1 else p["groups"]  # `groups=` is both resolve's and dirac's
        p["groups"] = gr
        if isinstance(gr, bool) or not isinstance(gr, int) or gr < 1:
            raise InitSpecError(f"Argument `groups` must be an int >= 1. Received: groups={gr!r}")
        if not 3 <= len(shape) <= 5:
            raise InitSpecError(f"Scheme 'dirac' needs rank 3..5 (a conv kernel). Received: shape={shape!r}")
        if 0 in shape[2:]:
            raise InitSpecError(f"Scheme 'dirac' needs non-empty spatial dims (a centre). Received: shape={shape!r}")
        if shape[0] % gr:
            raise InitSpecError(
                f"The out-channel dim ({shape[0]}) must be divisible by groups={gr}. Received: shape={shape!r}")
        el = ElementDistribution("structured", float("nan"), float("nan"), 0.0, 1.0, None, {})
        return el, dict(sampler="dirac", groups=gr)
    g = check_finite("gain", p["gain"], nonneg=True)
    if not 3 <= len(shape) <= 5:
        raise InitSpecError(f"Scheme 'delta_orthogonal' needs rank 3..5 (a conv kernel). Received: shape={shape!r}")
    if 0 in shape:
        raise InitSpecError(f"Scheme 'delta_orthogonal' needs non-empty dims (an orthogonal centre slice). "
                            f"Received: shape={shape!r}")
    if shape[-2] > shape[-1]:
        raise InitSpecError(
            f"Scheme 'delta_orthogonal' needs in_channels <= out_channels. Received: shape={shape!r} "
            f"(in={shape[-2]}, out={shape[-1]})"
        )
    el = ElementDistribution("structured", 0.0, float("nan"), -g, g, None, {"gain": g})
    return el, dict(sampler="delta_orthogonal", gain=g)
