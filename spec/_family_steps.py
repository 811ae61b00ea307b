"""The element-wise and matrix scheme families (:mod:`initspec.families`): constant, normal,
uniform, truncated normal (std-unit and absolute bounds), variance scaling, orthogonal, identity
and sparse. References: He et al. 2015 (variance scaling), Saxe et al. 2014 (orthogonal),
Martens 2010 (sparse)."""

from __future__ import annotations

import math
from typing import Any

from scipy import stats

from .constants import COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION as _C_CPLX
from .constants import TRUNCATED_NORMAL_STD_CORRECTION as _C_REAL
from .constants import VARIANCE_SCALING_TRUNCATION
from .errors import InitSpecError, check_finite, unknown
from .laws import ElementDistribution
from .layouts import FAN_MODES
from .schemes import VS_DISTRIBUTIONS


from ._family_base import (
    Context, Family, Step, check_interval, haar_element, normal_element, truncnorm_element, uniform_element,
)


class Constant(Family):
    name = "constant"
    range_rule = "value"
    structure = "constant"
    audit_size = "structured"

    def resolve(self, ctx: Context) -> Step:
        v, dt = ctx.params["value"], ctx.dtype
        if isinstance(v, complex):
            if not dt.is_complex:
                raise TypeError(f"A complex `value` needs a complex dtype. Received: value={v!r}, dtype={dt.name!r}")
            if not (math.isfinite(v.real) and math.isfinite(v.imag)):
                raise InitSpecError(f"Argument `value` must be finite. Received: value={v!r}")
            el = ElementDistribution("point", 0.0, 0.0, None, None, None, {"value": 0.0}, True, "point")
        else:
            v = check_finite("value", v)
            el = ElementDistribution("point", v, 0.0, v, v, None, {"value": v}, dt.is_complex,
                                     "point" if dt.is_complex else None)
        return Step(el, dict(sampler="constant", value=v))


class Normal(Family):
    name = "normal"
    range_rule = "normal"
    fan_rule = "fixed"
    probe_distribution = "normal"

    def resolve(self, ctx: Context) -> Step:
        p, cplx = ctx.params, ctx.dtype.is_complex
        m, s = check_finite("mean", p["mean"]), check_finite("std", p["std"], nonneg=True)
        el = normal_element(m, s)
        if cplx:
            el = ElementDistribution("normal", m, s * s, None, None, 0.0, {"mean": m, "std": s}, True, "gaussian")
        return Step(el, dict(sampler="normal", mean=m, std=s, complex_rule="gaussian" if cplx else None))


class Uniform(Family):
    name = "uniform"
    range_rule = "uniform"
    fan_rule = "fixed"
    probe_distribution = "uniform"

    def resolve(self, ctx: Context) -> Step:
        lo, hi = check_finite("low", ctx.params["low"]), check_finite("high", ctx.params["high"])
        check_interval("low", lo, "high", hi)
        return Step(uniform_element(lo, hi), dict(sampler="uniform", low=lo, high=hi))


class TruncatedNormal(Family):
    """N(mean, std^2) truncated to ``(mean + a std, mean + b std)`` (``a``/``b`` in std units)."""

    name = "truncated_normal"
    range_rule = "truncated"
    fan_rule = "fixed"
    probe_distribution = "normal"

    def bounds(self, p: dict[str, Any], m: float, s: float) -> tuple[float, float]:
        a, b = check_finite("a", p["a"]), check_finite("b", p["b"])
        check_interval("a", a, "b", b)
        return a, b

    def resolve(self, ctx: Context) -> Step:
        p = ctx.params
        m, s = check_finite("mean", p["mean"]), check_finite("std", p["std"], positive=True)
        a, b = self.bounds(p, m, s)
        if stats.norm.cdf(b) - stats.norm.cdf(a) <= 0 and stats.norm.sf(a) - stats.norm.sf(b) <= 0:
            raise InitSpecError(
                f"The truncation interval holds no probability mass of N(mean, std^2) "
                f"(a={a:.3g}, b={b:.3g} in std units). Received: {p!r}"
            )
        return Step(truncnorm_element(m, s, a, b),
                    dict(sampler="truncated_normal", mean=m, std=s, low=m + a * s, high=m + b * s))


class TruncatedNormalAbs(TruncatedNormal):
    """The same law with absolute bounds ``low``/``high``."""

    name = "truncated_normal_abs"

    def bounds(self, p: dict[str, Any], m: float, s: float) -> tuple[float, float]:
        lo, hi = check_finite("low", p["low"]), check_finite("high", p["high"])
        check_interval("low", lo, "high", hi)
        return (lo - m) / s, (hi - m) / s


class VarianceScaling(Family):
    """``Var = scale / fan(mode)`` with a normal, uniform or truncated-normal law (complex: see
    :mod:`initspec.distributions`)."""

    name = "variance_scaling"
    fan_rule = "variance_scaling"

    def resolve(self, ctx: Context) -> Step:
        p, cplx = ctx.params, ctx.dtype.is_complex
        mode, dist = p["mode"], p["distribution"]
        if mode not in FAN_MODES:
            raise unknown("fan mode", "mode", mode, FAN_MODES)
        if dist not in VS_DISTRIBUTIONS:
            raise unknown("distribution", "distribution", dist, VS_DISTRIBUTIONS)
        f = ctx.need_fans()
        if "scale" in p:
            sd = math.sqrt(check_finite("scale", p["scale"], positive=True) / f.fan(mode))
        else:  # std = gain / sqrt(fan): gain**2 could overflow a float for a huge gain
            sd = check_finite("gain", p["gain"], positive=True) / math.sqrt(f.fan(mode))
        var = sd * sd
        if dist == "normal":
            if cplx:
                el = ElementDistribution("normal", 0.0, var, None, None, 0.0, {"mean": 0.0, "std": sd}, True, "gaussian")
                return Step(el, dict(sampler="normal", mean=0.0, std=sd, complex_rule="gaussian"), f, "normal")
            return Step(normal_element(0.0, sd), dict(sampler="normal", mean=0.0, std=sd), f, "normal")
        if dist == "uniform":
            if cplx:
                r = math.sqrt(2.0 * var)
                el = ElementDistribution("uniform", 0.0, var, None, None, None, {"radius": r}, True, "disk")
                return Step(el, dict(sampler="uniform", low=-r, high=r, complex_rule="disk"), f, "uniform")
            lim = math.sqrt(3.0 * var)
            return Step(uniform_element(-lim, lim), dict(sampler="uniform", low=-lim, high=lim), f, "uniform")
        k = VARIANCE_SCALING_TRUNCATION
        sig = sd / (_C_CPLX if cplx else _C_REAL)
        kw = dict(sampler="truncated_normal", mean=0.0, std=sig, low=-k * sig, high=k * sig)
        if cplx:
            el = ElementDistribution("truncnorm", 0.0, var, None, None, None, {"sigma": sig, "bound": k}, True,
                                     "truncated_modulus")
            return Step(el, {**kw, "complex_rule": "truncated_modulus"}, f, "truncated")
        return Step(truncnorm_element(0.0, sig, -k, k), kw, f, "truncated")


class Orthogonal(Family):
    name = "orthogonal"
    range_rule = "gain"
    structure = "orthogonality"
    audit_size = "orthogonal"
    fans_in_plan = False

    def resolve(self, ctx: Context) -> Step:
        g = check_finite("gain", ctx.params["gain"], nonneg=True)
        _, _, rows, cols = ctx.need_layout(self.name).orthogonal_matrix(ctx.shape)
        if rows == 0 or cols == 0:
            raise InitSpecError(f"Orthogonal needs non-empty rows and columns. Received: shape={ctx.shape!r}")
        return Step(haar_element(max(rows, cols), g), dict(sampler="orthogonal", gain=g))


class Identity(Family):
    name = "identity"
    range_rule = "gain"
    structure = "structure"
    audit_size = "structured"

    def resolve(self, ctx: Context) -> Step:
        g, shape = check_finite("gain", ctx.params["gain"]), ctx.shape
        if len(shape) != 2:
            raise InitSpecError(f"Scheme 'identity' needs a rank-2 shape. Received: shape={shape!r}")
        n, tot = min(shape), max(math.prod(shape), 1)
        m = g * n / tot
        el = ElementDistribution("structured", m, g * g * n / tot - m * m, min(0.0, g), max(0.0, g), None,
                                 {"gain": g})
        return Step(el, dict(sampler="identity", gain=g))


class Sparse(Family):
    name = "sparse"
    range_rule = "normal"
    structure = "sparse_count"
    fans_in_plan = False

    def resolve(self, ctx: Context) -> Step:
        p, shape = ctx.params, ctx.shape
        sp = check_finite("sparsity", p["sparsity"], nonneg=True)
        if not sp < 1:
            raise InitSpecError(f"Argument `sparsity` must be in [0, 1). Received: sparsity={sp!r}")
        s = check_finite("std", p["std"], positive=True)
        if len(shape) != 2:
            raise InitSpecError(f"Scheme 'sparse' needs a rank-2 shape. Received: shape={shape!r}")
        n_out = shape[ctx.need_layout(self.name).roles(shape)["out"][0]]
        zf = math.ceil(sp * n_out) / n_out if n_out else 0.0
        # ceil(sparsity * n_out) == n_out (e.g. n_out = 1) zeroes everything, as torch does
        el = ElementDistribution("sparse", 0.0, (1 - zf) * s * s, None, None,
                                 3.0 / (1 - zf) - 3.0 if zf < 1 else None, {"std": s, "zero_fraction": zf})
        return Step(el, dict(sampler="sparse", std=s, value=sp))


