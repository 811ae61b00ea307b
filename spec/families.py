"""Scheme families as objects: one :class:`Family` per ``Scheme.family``, registered once.

Each family holds its *resolve step* (validate the parameters for a shape/layout/dtype, give the
element law of :mod:`initspec.laws` and the sampler arguments every backend executes) and
declares what the conformance engine needs to know about it, so that no module compares family
names:

* ``structure``: the exact structural check of a draw: ``"constant"`` / ``"structure"`` (equal to
  the reference array), ``"orthogonality"`` (plus Haar sign statistics), ``"delta_orthogonal"``,
  ``"sparse_count"`` (zeros per column), or None (element-wise: moments and KS only);
* ``fan_rule``: ``"variance_scaling"`` (the variance is ``scale / fan``), ``"fixed"`` (a fixed
  law, no fans: :attr:`probe_distribution` names it) or None (not a fan-probe subject);
* ``audit_size``: ``"orthogonal"`` / ``"structured"`` for families the native audit draws at a
  fixed small size (no sample-size rule), None otherwise;
* ``conv_only``: defined on conv kernels only (rank 3..5);
* ``fans_in_plan``: whether the plan records the fans when the scheme uses them.

:func:`initspec.distributions.resolve` does the common work (dtype, layout, parameter merge,
range check) and dispatches to :data:`FAMILY_TABLE`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from scipy import stats

from .constants import COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION as _C_CPLX
from .constants import TRUNCATED_NORMAL_STD_CORRECTION as _C_REAL
from .constants import VARIANCE_SCALING_TRUNCATION
from .dtypes import DType
from .errors import InitSpecError, check_finite, unknown
from .laws import ElementDistribution
from .layouts import FAN_MODES, Fans, Layout, compute_fans
from .schemes import FAMILIES, VS_DISTRIBUTIONS, Scheme


# ------------------------------------------------------------------------- element constructors
def normal_element(mean: float, std: float) -> ElementDistribution:
    return ElementDistribution("normal", mean, std * std, None, None, 0.0, {"mean": mean, "std": std})


@functools.lru_cache(maxsize=1024)
def _truncnorm_mvk(a: float, b: float) -> tuple[float, float, float]:
    """(mean, variance, excess kurtosis) of N(0,1) truncated to (a, b); scipy is ~10 ms a call."""
    m, v, _, k = (float(x) for x in stats.truncnorm(a, b).stats(moments="mvsk"))
    return m, v, k


def truncnorm_element(mean: float, std: float, a: float, b: float) -> ElementDistribution:
    m0, v0, k = _truncnorm_mvk(a, b)
    return ElementDistribution("truncnorm", mean + std * m0, std * std * v0, mean + a * std, mean + b * std, k,
                               {"mean": mean, "std": std, "a": a, "b": b})


def uniform_element(low: float, high: float) -> ElementDistribution:
    return ElementDistribution("uniform", (low + high) / 2, (high - low) ** 2 / 12.0, low, high, -1.2,
                               {"low": low, "high": high})


def haar_element(n: int, gain: float) -> ElementDistribution:
    if n == 1:
        return ElementDistribution("rademacher", 0.0, gain * gain, -gain, gain, -2.0, {"n": 1, "gain": gain})
    # coordinate of a uniform point on S^{n-1}: E x^2 = 1/n, E x^4 = 3/(n(n+2))
    return ElementDistribution("haar", 0.0, gain * gain / n, -gain, gain, -6.0 / (n + 2), {"n": n, "gain": gain})


def _check_interval(lo_name: str, lo: float, hi_name: str, hi: float) -> None:
    if not lo < hi:
        raise InitSpecError(f"Argument `{lo_name}` must be < `{hi_name}`. Received: {lo_name}={lo!r}, "
                            f"{hi_name}={hi!r}")


# ------------------------------------------------------------------------------------ families
@dataclass(frozen=True)
class Context:
    """What a resolve step sees: the scheme, checked shape/dtype/layout, merged params (a step
    may record a resolved parameter in ``params``, as dirac does with ``groups``)."""

    scheme: Scheme
    shape: tuple[int, ...]
    dtype: DType
    layout: Layout | None
    groups: int
    fans: tuple[float, float] | None
    params: dict[str, Any]

    def need_fans(self) -> Fans:
        if self.layout is None and self.fans is None:
            raise InitSpecError(f"Scheme {self.scheme.name!r} needs a layout (or fans=). Received: layout=None")
        lay = self.layout if self.layout is not None else "keras"
        return compute_fans(self.shape, lay, groups=self.groups, fans=self.fans)

    def need_layout(self, family: str) -> Layout:
        if self.layout is None:
            raise InitSpecError(f"Scheme {family!r} needs a layout. Received: layout=None")
        return self.layout


@dataclass(frozen=True)
class Step:
    """A resolve step's result: the element law, the sampler arguments of the Plan (``sampler``
    and any of mean/std/low/high/value/gain/groups/complex_rule/perm) and the fans it used."""

    element: ElementDistribution
    kw: dict[str, Any]
    fans: Fans | None = None


class Family:
    """One scheme family (see module docstring for the declared capabilities)."""

    name: ClassVar[str]
    structure: ClassVar[str | None] = None
    fan_rule: ClassVar[str | None] = None
    probe_distribution: ClassVar[str | None] = None
    audit_size: ClassVar[str | None] = None
    conv_only: ClassVar[bool] = False
    fans_in_plan: ClassVar[bool] = True

    def resolve(self, ctx: Context) -> Step:
        raise NotImplementedError


class Constant(Family):
    name, structure, audit_size = "constant", "constant", "structured"

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
    name, fan_rule, probe_distribution = "normal", "fixed", "normal"

    def resolve(self, ctx: Context) -> Step:
        p, cplx = ctx.params, ctx.dtype.is_complex
        m, s = check_finite("mean", p["mean"]), check_finite("std", p["std"], nonneg=True)
        el = normal_element(m, s)
        if cplx:
            el = ElementDistribution("normal", m, s * s, None, None, 0.0, {"mean": m, "std": s}, True, "gaussian")
        return Step(el, dict(sampler="normal", mean=m, std=s, complex_rule="gaussian" if cplx else None))


class Uniform(Family):
    name, fan_rule, probe_distribution = "uniform", "fixed", "uniform"

    def resolve(self, ctx: Context) -> Step:
        lo, hi = check_finite("low", ctx.params["low"]), check_finite("high", ctx.params["high"])
        _check_interval("low", lo, "high", hi)
        return Step(uniform_element(lo, hi), dict(sampler="uniform", low=lo, high=hi))


class TruncatedNormal(Family):
    """N(mean, std^2) truncated to ``(mean + a std, mean + b std)`` (``a``/``b`` in std units)."""

    name, fan_rule, probe_distribution = "truncated_normal", "fixed", "normal"

    def bounds(self, p: dict[str, Any], m: float, s: float) -> tuple[float, float]:
        a, b = check_finite("a", p["a"]), check_finite("b", p["b"])
        _check_interval("a", a, "b", b)
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
        _check_interval("low", lo, "high", hi)
        return (lo - m) / s, (hi - m) / s


class VarianceScaling(Family):
    """``Var = scale / fan(mode)`` with a normal, uniform or truncated-normal law (complex: see
    :mod:`initspec.distributions`)."""

    name, fan_rule = "variance_scaling", "variance_scaling"

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
                return Step(el, dict(sampler="normal", mean=0.0, std=sd, complex_rule="gaussian"), f)
            return Step(normal_element(0.0, sd), dict(sampler="normal", mean=0.0, std=sd), f)
        if dist == "uniform":
            if cplx:
                r = math.sqrt(2.0 * var)
                el = ElementDistribution("uniform", 0.0, var, None, None, None, {"radius": r}, True, "disk")
                return Step(el, dict(sampler="uniform", low=-r, high=r, complex_rule="disk"), f)
            lim = math.sqrt(3.0 * var)
            return Step(uniform_element(-lim, lim), dict(sampler="uniform", low=-lim, high=lim), f)
        k = VARIANCE_SCALING_TRUNCATION
        sig = sd / (_C_CPLX if cplx else _C_REAL)
        kw = dict(sampler="truncated_normal", mean=0.0, std=sig, low=-k * sig, high=k * sig)
        if cplx:
            el = ElementDistribution("truncnorm", 0.0, var, None, None, None, {"sigma": sig, "bound": k}, True,
                                     "truncated_modulus")
            return Step(el, {**kw, "complex_rule": "truncated_modulus"}, f)
        return Step(truncnorm_element(0.0, sig, -k, k), kw, f)


class Orthogonal(Family):
    name, structure, audit_size, fans_in_plan = "orthogonal", "orthogonality", "orthogonal", False

    def resolve(self, ctx: Context) -> Step:
        g = check_finite("gain", ctx.params["gain"], nonneg=True)
        _, _, rows, cols = ctx.need_layout(self.name).orthogonal_matrix(ctx.shape)
        if rows == 0 or cols == 0:
            raise InitSpecError(f"Orthogonal needs non-empty rows and columns. Received: shape={ctx.shape!r}")
        return Step(haar_element(max(rows, cols), g), dict(sampler="orthogonal", gain=g))


class Identity(Family):
    name, structure, audit_size = "identity", "structure", "structured"

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
    name, structure, fans_in_plan = "sparse", "sparse_count", False

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


from ._fixed_order import DeltaOrthogonal, Dirac  # noqa: E402  (they subclass Family)

#: Every scheme family, registered once, keyed by ``Scheme.family``.
FAMILY_TABLE: dict[str, Family] = {f.name: f for f in (
    Constant(), Normal(), Uniform(), TruncatedNormal(), TruncatedNormalAbs(), VarianceScaling(),
    Orthogonal(), Identity(), Dirac(), DeltaOrthogonal(), Sparse(),
)}
if set(FAMILY_TABLE) != set(FAMILIES):  # pragma: no cover - table and scheme names out of sync
    raise AssertionError(sorted(set(FAMILY_TABLE) ^ set(FAMILIES)))


def get_family(name: str) -> Family:
    """The :class:`Family` of ``Scheme.family`` ``name``."""
    return FAMILY_TABLE[name]
