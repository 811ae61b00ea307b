"""Family-wise error control and sample sizes of a conformance run.

:class:`Budget` splits a run's family-wise error rate over its statistical tests (Bonferroni,
re-judged with Holm's step-down: S. Holm, *A simple sequentially rejective multiple test
procedure*, Scand. J. Statist. 6, 1979). :func:`plan_n` gives the ``n`` at which the variance test
detects a 2% error in the standard deviation with power 99.9%; :data:`DEFAULT_MATRIX` shapes are
sized so one draw suffices at the default run budget (:func:`draws_needed` otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from initspec import registry
from initspec.distributions import Plan
from scipy import stats

from . import stats as S
from .matrix import DEFAULT_MATRIX, Case, case_plan
from .statistical import COMPLEX_TESTS, HAAR_TESTS, REAL_TESTS, nonzero_law

__all__ = [
    "DEFAULT_ALPHA_TOTAL", "RUN_BACKENDS", "STD_POWER", "STD_REL_ERROR", "Budget", "default_budget",
    "draws_needed", "plan_n", "tests_per_plan",
]

#: Family-wise error rate of one whole run (all backends, all cases).
DEFAULT_ALPHA_TOTAL = 1e-3
#: Relative error of the standard deviation the variance test must detect ...
STD_REL_ERROR = 0.02
#: ... with this power.
STD_POWER = 0.999
#: Backends of a full conformance run (the budget is split over all of them).
#: Backends of a full run: the registered ones (initspec.registry), counted when the module loads.
RUN_BACKENDS = len(registry.names())


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
        cases: Iterable[Case],
        *,
        n_backends: int = 1,
        alpha_total: float = DEFAULT_ALPHA_TOTAL,
        extra_tests: int = 0,
    ) -> Budget:
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
    if el.law.zero_atom:
        mu = S.central_moments(nonzero_law(el))
        return S.variance_of_variance(mu) / mu[2] ** 2 / (1.0 - el.params["zero_fraction"])
    mu = S.central_moments(el)
    if mu is None or not el.law.has_density:  # a discrete law: no variance-of-variance rule
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
    return math.ceil(need)


def draws_needed(plan: Plan, alpha: float, **kw: Any) -> int:
    """How many independent draws of ``plan.shape`` reach :func:`plan_n`."""
    return max(1, math.ceil(plan_n(plan, alpha=alpha, **kw) / max(plan.size, 1)))


def tests_per_plan(plan: Plan) -> int:
    """Number of budgeted statistical tests :func:`check_draw` runs for ``plan``: its element
    law's tests, plus :data:`HAAR_TESTS` for the ``orthogonal`` sampler."""
    el = plan.element
    haar = len(HAAR_TESTS) if plan.family.structure == "orthogonality" else 0
    if not el.law.statistical:
        return haar
    if el.is_complex:
        return len(COMPLEX_TESTS) + haar
    tested = nonzero_law(el) if el.law.zero_atom else el  # what check_real_continuous measures
    if not tested.law.has_density:
        return len(REAL_TESTS) - 2 + haar  # no pile-up, no kurtosis
    return len(REAL_TESTS) + haar


def default_budget(
    n_backends: int | None = None, alpha_total: float = DEFAULT_ALPHA_TOTAL, extra_tests: int = 0
) -> Budget:
    """Budget of a full run of :data:`DEFAULT_MATRIX` over ``n_backends`` backends (default: every
    registered backend, :func:`initspec.registry.names`)."""
    if n_backends is None:
        n_backends = len(registry.names())
    return Budget.for_cases(
        DEFAULT_MATRIX, n_backends=n_backends, alpha_total=alpha_total, extra_tests=extra_tests
    )

