"""Base of the scheme families (:mod:`initspec.families`): the resolve context, a step's result,
the :class:`Family` interface and the element-law constructors the steps share."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

from scipy import stats

from .dtypes import DType
from .errors import InitSpecError
from .laws import ElementDistribution
from .layouts import Fans, Layout, compute_fans
from .schemes import Scheme


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


def check_interval(lo_name: str, lo: float, hi_name: str, hi: float) -> None:
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
    #: overrides the family's :attr:`Family.range_rule` (a family with several samplers)
    range_rule: str | None = None


#: Every concrete family, registered once when its class is defined (see :class:`Family`).
REGISTRY: dict[str, Family] = {}


class Family:
    """One scheme family (see :mod:`initspec.families` for the declared capabilities).

    A subclass that sets ``name`` registers one instance in :data:`REGISTRY`. ``range_rule``
    is how :func:`initspec.distributions.resolve` checks that the values fit the dtype:
    ``"value"`` (|value|), ``"normal"`` (|mean| + 40 std), ``"uniform"`` (``[low, high)`` holds a
    dtype value), ``"truncated"`` (``(low, high)`` holds one), ``"gain"`` (|gain|) or None.
    """

    name: ClassVar[str]
    structure: ClassVar[str | None] = None
    fan_rule: ClassVar[str | None] = None
    probe_distribution: ClassVar[str | None] = None
    audit_size: ClassVar[str | None] = None
    conv_only: ClassVar[bool] = False
    fans_in_plan: ClassVar[bool] = True
    range_rule: ClassVar[str | None] = None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "name" in cls.__dict__:
            if cls.name in REGISTRY:  # pragma: no cover - two classes for one family
                raise AssertionError(f"family {cls.name!r} registered twice")
            REGISTRY[cls.name] = cls()

    def resolve(self, ctx: Context) -> Step:
        raise NotImplementedError


