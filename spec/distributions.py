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

import math
import numbers
from dataclasses import dataclass
from typing import Any


from .dtypes import ceil_to_dtype, check_representable, get_dtype, inner_bounds, next_below
from .errors import InitSpecError, check_shape, unknown
from .families import FAMILY_TABLE, Context, Family
from .laws import LAWS, ElementDistribution, Law  # noqa: F401  (re-exported)
from .layouts import Fans, Layout, get_layout
from .schemes import Scheme, get_scheme


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
    def family(self) -> Family:
        """The scheme's :class:`~initspec.families.Family` (its declared capabilities)."""
        return FAMILY_TABLE[self.scheme.family]

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
    family = FAMILY_TABLE[sch.family]
    ctx = Context(sch, shape, dt, lay, groups, fans, p)
    step = family.resolve(ctx)
    kw, f = dict(step.kw), step.fans
    if f is None and sch.uses_fans and family.fans_in_plan:
        f = ctx.need_fans()
    kw.setdefault("groups", groups)
    _check_range(sch, dt.name, p, kw, step.range_rule or family.range_rule)
    return Plan(scheme=sch, shape=shape, dtype=dt.name, layout=lay, fans=f, params=p,
                element=step.element, **kw)


#: normal draws are refused when ``|mean| + NORMAL_RANGE_STDS * std`` exceeds the dtype's range
#: (P(|z| > 40) ~ 1e-350: a finite dtype max beyond it is never reached in practice)
NORMAL_RANGE_STDS = 40.0


class _Received:
    """The ``Received: ...`` part of a range error, formatted only when an error is raised (it
    was 0.3 ms a plan: a large share of a whole-model init's overhead)."""

    def __init__(self, sch: Scheme, params: dict[str, Any]) -> None:
        self.sch, self.params = sch, params

    def __str__(self) -> str:
        return (", ".join(f"{k}={v!r}" for k, v in self.params.items() if k not in self.sch.fixed)
                or f"scheme={self.sch.name!r}")


def _check_range(sch: Scheme, dtype: str, params: dict[str, Any], kw: dict[str, Any], rule: str | None) -> None:
    """Refuse a plan whose values cannot all be represented in ``dtype``: a magnitude beyond the
    dtype's finite range (they would round to inf) or a truncation/uniform interval with no
    representable value inside it (they would land on or beyond a bound). ``rule``: see
    :class:`~initspec.families.Family`."""
    received = _Received(sch, params)
    if rule == "value":
        v = complex(kw["value"])
        check_representable(dtype, max(abs(v.real), abs(v.imag)), "|value|", received)
    elif rule == "normal":
        m, sd = abs(kw.get("mean", 0.0)), kw["std"]
        check_representable(dtype, m + NORMAL_RANGE_STDS * sd, f"|mean| + {NORMAL_RANGE_STDS:g} std", received)
    elif rule in ("uniform", "truncated"):
        lo, hi = kw["low"], kw["high"]
        mid = kw.get("mean", lo)  # samplers compute mean + std * z (low + (high - low) * u)
        check_representable(dtype, max(abs(lo), abs(hi), hi - mid, mid - lo), "the bounds (and their span)",
                            received)
        if kw.get("complex_rule") is None:
            inner_lo = ceil_to_dtype(lo, dtype) if rule == "uniform" else inner_bounds(lo, hi, dtype)[0]
            inner_hi = next_below(hi, dtype) if rule == "uniform" else inner_bounds(lo, hi, dtype)[1]
            if not inner_lo <= inner_hi:
                raise InitSpecError(
                    f"No {dtype} value lies {'strictly inside' if rule == 'truncated' else 'in'} the "
                    f"interval {'(' if rule == 'truncated' else '['}{lo!r}, {hi!r}); every sample would "
                    f"land on or beyond a bound. Received: {received}, dtype={dtype!r}"
                )
    elif rule == "gain":
        check_representable(dtype, abs(kw["gain"]), "|gain|", received)
