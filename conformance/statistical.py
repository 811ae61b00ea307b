"""The statistical tier of the check engine: one budgeted test per check at level ``alpha``.

Real laws: ``pileup`` (count of the most frequent value vs a union bound over the dtype's
cells); ``mean``, ``variance``, ``kurtosis`` against the spec's exact values with intervals from
``n`` and the law's own moments (:mod:`initspec.conformance.stats`); ``ks`` against the spec CDF
(rounded-law CDF for float16/bfloat16). Complex laws: ``mean`` (chi-square, 2 dof),
``variance`` of ``|w - mean|^2``, ``ks`` of ``|w - mean|^2`` against ``modulus_sq_rv()`` and
``phase`` (KS against uniform). The ``orthogonal`` sampler adds ``haar_signs``
(:func:`check_haar_signs`: an exact sign test that the draw is Haar, not merely orthogonal).

:data:`REAL_TESTS` and :data:`COMPLEX_TESTS` name the tests each law gets; they are the single
source of the run's Bonferroni count (:func:`initspec.conformance.budget.tests_per_plan`, the
native audit's ``NATIVE_TESTS_PER_CALL``) and are checked against the records in the tests; :data:`HAAR_TESTS` is what the
``orthogonal`` sampler adds to its law's tests.
"""

from __future__ import annotations

import math

import numpy as np
from initspec.distributions import ElementDistribution, Plan
from scipy import stats

from . import stats as S
from .exact import check_complex_support, check_support
from .recorder import Recorder

__all__ = [
    "COMPLEX_TESTS", "HAAR_TESTS", "MAX_TESTS_PER_LAW", "REAL_TESTS", "check_complex", "check_haar_signs",
    "check_ks", "check_moments", "check_pileup", "check_real_continuous", "haar_diagonal", "nonzero_law",
]

#: The budgeted statistical tests :func:`check_real_continuous` runs on a real law (a Rademacher
#: law: no pile-up, no kurtosis) ...
REAL_TESTS = ("pileup", "mean", "variance", "kurtosis", "ks")
#: ... and :func:`check_complex` on a complex one.
COMPLEX_TESTS = ("mean", "variance", "ks", "phase")
#: ... and :func:`check_haar_signs` on the draw of the ``orthogonal`` sampler (on top of its
#: element law's :data:`REAL_TESTS`).
HAAR_TESTS = ("haar_signs",)
#: The most statistical tests one law gets from ``check_draw`` (an orthogonal draw: its law's
#: real tests plus :data:`HAAR_TESTS`).
MAX_TESTS_PER_LAW = max(len(REAL_TESTS) + len(HAAR_TESTS), len(COMPLEX_TESTS))


def nonzero_law(el: ElementDistribution) -> ElementDistribution:
    s = el.params["std"]
    return ElementDistribution("normal", 0.0, s * s, None, None, 0.0, {"mean": 0.0, "std": s})


def check_pileup(rec: Recorder, x: np.ndarray, el: ElementDistribution) -> None:
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


def check_moments(rec: Recorder, x: np.ndarray, el: ElementDistribution, *, kurtosis: bool = True) -> None:
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


def check_ks(rec: Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    bounded = el.law.bounded
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


def check_real_continuous(rec: Recorder, x: np.ndarray, el: ElementDistribution) -> None:
    x = np.sort(x)  # once, for the pile-up and KS checks
    if el.low is not None and el.high is not None and el.law.bounded:
        check_support(rec, x, el)
    if x.size == 0:
        rec.add("moments", "statistical", False, "no finite values to measure", n=0)
        return
    if el.law.has_density:  # a discrete law (Rademacher): no pile-up bound, degenerate kurtosis
        check_pileup(rec, x, el)
    check_moments(rec, x, el, kurtosis=el.law.has_density)
    check_ks(rec, x, el)


def check_complex(rec: Recorder, w: np.ndarray, el: ElementDistribution) -> None:
    mean = complex(el.params.get("mean", 0.0))
    d = w - mean
    n = d.size
    r2 = np.abs(d) ** 2
    if el.complex_rule == "disk":
        check_complex_support(rec, np.sqrt(r2), el.params["radius"])
    elif el.complex_rule == "truncated_modulus":
        check_complex_support(rec, np.sqrt(r2), el.params["bound"] * el.params["sigma"])
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


def haar_diagonal(stack: np.ndarray, plan: Plan) -> np.ndarray:
    """The diagonal entries ``Q_ii`` (``i < min(rows, cols)``) of every ``(rows, cols)`` matrix
    of a stack of orthogonal draws ``(draws, *plan.shape)``, under the layout's flattening
    (:meth:`initspec.layouts.Layout.orthogonal_matrix`); shape ``(draws * n_batch, min)``."""
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    mats = np.transpose(stack, (0, *(p + 1 for p in perm))).reshape(-1, rows, cols)
    return np.diagonal(mats, axis1=1, axis2=2)


def check_haar_signs(rec: Recorder, stack: np.ndarray) -> None:
    """``haar_signs``: the signs of the diagonal entries of a Haar draw are fair coins.

    Why: QR of a Gaussian matrix gives a Haar-distributed ``Q`` only after the columns are
    multiplied by ``sign(diag R)`` (F. Mezzadri, *How to generate random matrices from the
    classical compact groups*, Notices AMS 54(5), 2007, sec. 5). Without it ``Q`` is still exactly
    orthogonal and its entries' marginal barely changes (only ``min(rows, cols)`` of
    ``rows * cols`` entries are affected), so the orthogonality and moment/KS checks pass; but
    LAPACK's Householder QR (``R_ii = -sign(alpha_i) ||x_i||``, used by NumPy, torch, TF and JAX)
    then makes ``Q_ii`` negative about 75-90% of the time (measured: 82% for 384 x 256).

    Null distribution (exact, distribution-free): the spec's ``Q`` (``n x m``, ``n >= m``,
    orthonormal columns; a wide matrix is its transpose) is uniform on the Stiefel manifold,
    whose law is invariant under ``Q -> D Q`` for every sign matrix ``D = diag(+-1)`` (Haar
    invariance of O(n), e.g. R. J. Muirhead, *Aspects of Multivariate Statistical Theory*, 1982,
    thm. 2.2.1). ``D`` flips ``Q_ii`` alone, so given the magnitudes ``|Q_ii|`` the signs of
    ``Q_11 .. Q_mm`` are i.i.d. fair coins (each ``Q_ii`` has the continuous density
    ``prop. to (1 - x^2)^((n-3)/2)``, so it is nonzero almost surely), and independent across the
    batch and the draws. Scaling by ``gain > 0`` and round-to-nearest into the dtype (an odd
    function) keep this; entries that round to 0 are dropped (conditioning on them). So the
    number ``k`` of positive entries among the ``K`` nonzero ones is exactly Binomial(K, 1/2),
    and the two-sided p-value is ``min(1, 2 P[Bin(K, 1/2) <= min(k, K - k)])``.
    """
    d = haar_diagonal(stack, rec.plan)
    pos, neg = int(np.count_nonzero(d > 0)), int(np.count_nonzero(d < 0))
    k = pos + neg
    binom = stats.binom(k, 0.5)
    p = float(min(1.0, 2.0 * binom.cdf(min(pos, neg)))) if k else 1.0
    c = int(binom.ppf(rec.alpha / 2.0)) if k else 0  # smallest min(k, K - k) that passes
    interval = (c / k, 1.0 - c / k) if k else (0.0, 1.0)
    res = S.TestResult(pos / k if k else 0.5, 0.5, interval, p, rec.alpha, k)
    rec.test("haar_signs", res, "fraction of positive diagonal entries Q_ii (sign test: Haar, not just "
             "orthogonal)", fmt=".4f")
