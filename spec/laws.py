"""Element laws as objects: the exact marginal law of one weight element, one class per kind.

Each :class:`Law` holds everything the conformance checks measure against: a frozen
``scipy.stats`` law (:meth:`Law.rv`, where one exists), its CDF (exact and a fast vectorised
one), its central moments ``mu_0..mu_8`` and flags describing its support. Laws are registered
once in :data:`LAWS`, keyed by :attr:`ElementDistribution.kind`; adding an element-wise family
means adding one class here (plus its scheme family in :mod:`initspec.families`).

Moment formulas: normal ``E d^k = (k-1)!! sigma^k`` (even k); uniform on ``[-h, h]``:
``h^k / (k+1)``; a coordinate of a uniform point on ``S^{n-1}`` (Haar-orthogonal entry):
``E x^{2m} = (2m-1)!! / (n (n+2) ... (n+2m-2))`` (e.g. Muirhead, *Aspects of Multivariate
Statistical Theory*, 1982, thm 1.5.7); truncated normal: from scipy's raw moments.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np
from scipy import special, stats

from .errors import InitSpecError

#: Highest central moment the conformance kurtosis interval needs.
MAX_MOMENT = 8

_K = np.arange(MAX_MOMENT + 1)


def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def standard_central_moments(rv: Any) -> np.ndarray:
    """Central moments 0..MAX_MOMENT of a frozen scipy law (from its raw moments)."""
    raw = [1.0] + [float(rv.moment(k)) for k in range(1, MAX_MOMENT + 1)]
    m = raw[1]
    out = np.zeros(MAX_MOMENT + 1)
    for k in range(MAX_MOMENT + 1):
        out[k] = sum(math.comb(k, j) * raw[j] * (-m) ** (k - j) for j in range(k + 1))
    out[1] = 0.0
    return out


@functools.lru_cache(maxsize=256)
def truncnorm_central_moments(a: float, b: float) -> tuple[float, ...]:
    """Central moments 0..MAX_MOMENT of N(0, 1) truncated to ``(a, b)``."""
    return tuple(standard_central_moments(stats.truncnorm(a, b)))


def haar_moments(n: float) -> np.ndarray:
    """Moments of one coordinate of a uniform point on the sphere S^{n-1} (a Haar-orthogonal
    entry): ``E x^{2m} = (2m-1)!! / (n (n+2) ... (n+2m-2))``, odd moments 0."""
    out = np.zeros(MAX_MOMENT + 1)
    for k in range(0, MAX_MOMENT + 1, 2):
        out[k] = math.prod(range(k - 1, 0, -2)) / math.prod(n + 2 * j for j in range(k // 2))
    return out


def normal_moments(std: float) -> np.ndarray:
    """Central moments of N(., std^2): ``E d^k = (k-1)!! std^k`` for even k, 0 for odd k."""
    return np.array(
        [0.0 if k % 2 else float(math.prod(range(k - 1, 0, -2))) * std**k for k in range(MAX_MOMENT + 1)]
    )


#: Every element law, registered once when its class is defined, keyed by
#: :attr:`ElementDistribution.kind`.
LAWS: dict[str, Law] = {}


class Law:
    """The exact law of one real element of kind :attr:`kind` (stateless; reads ``el.params``).

    Flags the checks read instead of comparing kind names:

    * ``statistical``: measured by moments/KS (False: point masses, deterministic patterns);
    * ``continuous_part``: has a continuous component (its std is a meaningful summary);
    * ``zero_atom``: a point mass at 0 mixed with :meth:`nonzero_std`'s normal (checked on the
      non-zero values);
    * ``bounded``: the support ``[low, high]`` is checked exactly;
    * ``closed_low``: the support includes ``low`` (uniform ``[low, high)``), else open;
    * ``truncated``: a truncated normal (``params`` hold ``a``/``b`` in std units);
    * ``degenerate``: a single value (its support is not worth stating).
    """

    kind: ClassVar[str]
    statistical: ClassVar[bool] = True
    continuous_part: ClassVar[bool] = True
    zero_atom: ClassVar[bool] = False
    bounded: ClassVar[bool] = False
    closed_low: ClassVar[bool] = False
    truncated: ClassVar[bool] = False
    degenerate: ClassVar[bool] = False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.kind in LAWS:  # pragma: no cover - two classes for one kind
            raise AssertionError(f"law {cls.kind!r} registered twice")
        LAWS[cls.kind] = cls()

    @property
    def has_density(self) -> bool:
        """A density exists (a pile-up bound and a kurtosis test make sense)."""
        return self.continuous_part and not self.zero_atom

    def rv(self, el: ElementDistribution) -> Any:
        """A frozen scipy.stats law of the element, or None."""
        return None

    def cdf(self, el: ElementDistribution, x: Any) -> Any:
        rv = self.rv(el)
        if rv is None:
            raise InitSpecError(f"No CDF for a {el.kind!r} element distribution.")
        return rv.cdf(x)

    def fast_cdf(self, el: ElementDistribution) -> Callable[[np.ndarray], np.ndarray]:
        """Vectorised CDF via ``scipy.special`` (a frozen truncnorm/beta ``cdf`` is an order of
        magnitude slower on 10^5 points); same values as :meth:`cdf`."""
        return el.cdf

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        """Central moments ``mu_0..mu_8``, or None where undefined."""
        return None


class Point(Law):
    kind = "point"
    statistical = False
    continuous_part = False
    degenerate = True

    def cdf(self, el: ElementDistribution, x: Any) -> Any:
        return np.where(np.asarray(x) >= el.mean, 1.0, 0.0)


class Structured(Law):
    """A deterministic pattern (identity, dirac, delta-orthogonal): compare arrays, not moments."""

    kind = "structured"
    statistical = False
    continuous_part = False


class Normal(Law):
    kind = "normal"

    def rv(self, el: ElementDistribution) -> Any:
        return stats.norm(loc=el.params["mean"], scale=el.params["std"])

    def fast_cdf(self, el: ElementDistribution) -> Callable[[np.ndarray], np.ndarray]:
        m, s = el.params["mean"], el.params["std"]
        return lambda x: special.ndtr((_f64(x) - m) / s)

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        return normal_moments(el.params["std"])


class TruncNormal(Law):
    kind = "truncnorm"
    bounded = True
    truncated = True

    def rv(self, el: ElementDistribution) -> Any:
        p = el.params
        return stats.truncnorm(p["a"], p["b"], loc=p["mean"], scale=p["std"])

    def fast_cdf(self, el: ElementDistribution) -> Callable[[np.ndarray], np.ndarray]:
        m, s, a, b = (el.params[k] for k in ("mean", "std", "a", "b"))
        fa, fb = float(special.ndtr(a)), float(special.ndtr(b))
        if fb - fa < 0.5:  # far tail: the CDF difference loses precision, use scipy's
            return el.cdf
        return lambda x: np.clip((special.ndtr((_f64(x) - m) / s) - fa) / (fb - fa), 0.0, 1.0)

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        p = el.params
        return np.array(truncnorm_central_moments(float(p["a"]), float(p["b"]))) * p["std"] ** _K


class Uniform(Law):
    kind = "uniform"
    bounded = True
    closed_low = True

    def rv(self, el: ElementDistribution) -> Any:
        return stats.uniform(loc=el.params["low"], scale=el.params["high"] - el.params["low"])

    def fast_cdf(self, el: ElementDistribution) -> Callable[[np.ndarray], np.ndarray]:
        lo, hi = el.params["low"], el.params["high"]
        return lambda x: np.clip((_f64(x) - lo) / (hi - lo), 0.0, 1.0)

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        h = (el.params["high"] - el.params["low"]) / 2.0
        return np.array([0.0 if k % 2 else h**k / (k + 1) for k in range(MAX_MOMENT + 1)])


class Haar(Law):
    """Entry of a Haar-orthogonal n x n matrix: ``gain * (2 Beta(a, a) - 1)``, ``a = (n - 1)/2``."""

    kind = "haar"

    def rv(self, el: ElementDistribution) -> Any:
        g, a = el.params["gain"], (el.params["n"] - 1.0) / 2.0
        return stats.beta(a, a, loc=-g, scale=2.0 * g)

    def fast_cdf(self, el: ElementDistribution) -> Callable[[np.ndarray], np.ndarray]:
        g, a = el.params["gain"], (el.params["n"] - 1.0) / 2.0
        return lambda x: special.betainc(a, a, np.clip((_f64(x) / g + 1.0) / 2.0, 0.0, 1.0))

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        return haar_moments(float(el.params["n"])) * el.params["gain"] ** _K


class Rademacher(Law):
    """``+-gain`` with probability 1/2 each (the n = 1 Haar case)."""

    kind = "rademacher"
    continuous_part = False

    def cdf(self, el: ElementDistribution, x: Any) -> Any:
        g = el.params["gain"]
        x = np.asarray(x)
        return np.where(x >= g, 1.0, np.where(x >= -g, 0.5, 0.0))

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        g = el.params["gain"]
        return np.array([0.0 if k % 2 else g**k for k in range(MAX_MOMENT + 1)])


class Sparse(Law):
    """``(1 - z) N(0, std^2) + z delta_0`` with ``z = zero_fraction``."""

    kind = "sparse"
    zero_atom = True

    def cdf(self, el: ElementDistribution, x: Any) -> Any:
        z = el.params["zero_fraction"]
        x = np.asarray(x, dtype=float)
        return (1 - z) * stats.norm.cdf(x, scale=el.params["std"]) + z * (x >= 0)

    def central_moments(self, el: ElementDistribution) -> np.ndarray | None:
        z = el.params["zero_fraction"]
        return (1.0 - z) * normal_moments(el.params["std"]) + np.eye(MAX_MOMENT + 1)[0] * z




@dataclass(frozen=True)
class ElementDistribution:
    """Marginal law of one element: its :attr:`kind` (a key of :data:`LAWS`), summary moments,
    support and the parameters its :class:`Law` reads.

    For complex dtypes ``mean``/``var`` are those of ``w`` (``var = E|w - mean|^2``) and
    :meth:`modulus_sq_rv` gives the law of ``|w|^2``.
    """

    kind: str
    mean: float
    var: float
    low: float | None
    high: float | None
    excess_kurtosis: float | None
    params: dict[str, float] = field(default_factory=dict)
    is_complex: bool = False
    complex_rule: str | None = None

    @property
    def law(self) -> Law:
        return LAWS[self.kind]

    @property
    def std(self) -> float:
        return math.sqrt(self.var)

    @property
    def fourth_central_moment(self) -> float | None:
        if self.excess_kurtosis is None:
            return None
        return (self.excess_kurtosis + 3.0) * self.var**2

    def rv(self) -> Any:
        """A frozen scipy.stats distribution of the (real) element, where one exists."""
        if self.is_complex:
            raise InitSpecError("rv() is for real dtypes; use modulus_sq_rv() for complex.")
        return self.law.rv(self)

    def modulus_sq_rv(self) -> Any:
        """Law of ``|w|^2`` for complex elements (scipy frozen)."""
        v, rule = self.var, self.complex_rule
        if rule == "gaussian":
            return stats.expon(scale=v)
        if rule == "disk":
            return stats.uniform(loc=0.0, scale=2.0 * v)
        if rule == "truncated_modulus":
            s2 = self.params["sigma"] ** 2
            return stats.truncexpon(b=self.params["bound"] ** 2, scale=s2)
        return None

    def cdf(self, x: Any) -> Any:
        return self.law.cdf(self, x)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "mean": self.mean, "variance": self.var, "std": self.std,
            "low": self.low, "high": self.high, "excess_kurtosis": self.excess_kurtosis,
            "is_complex": self.is_complex, "complex_rule": self.complex_rule, "params": dict(self.params),
        }
