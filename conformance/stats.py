"""Statistical primitives of the conformance checks (NumPy + scipy.stats only, framework-free).

Every acceptance interval here is derived from the sample size and the *spec's own* law of one
element (its central moments up to the 8th), never from an arbitrary tolerance:

* mean: ``z``-test with the spec variance, ``se = sigma / sqrt(n)``;
* variance (about the sample mean): asymptotic ``se = sqrt((mu4 - mu2^2) / n)``;
* excess kurtosis ``m4 / m2^2 - 3``: asymptotic ``se = sqrt(E[IF^2] / n)`` with the influence
  function ``IF(x) = (d^4 - mu4 - 4 mu3 d) / mu2^2 - 2 mu4 / mu2^3 (d^2 - mu2)``, ``d = x - mu``
  (needs moments up to 8; for a normal law ``E[IF^2] = 24``). The interval is the normal
  approximation: the sample kurtosis is right-skewed (skewness ~ 6 sqrt(6 / n) for a normal law,
  0.05 at n = 1e5), so by Cornish-Fisher its upper tail at z ~ 4.7 is about 2x its nominal level
  and its lower tail conservative;
* Kolmogorov-Smirnov against the spec CDF, with the CDF of the law *rounded to the dtype grid*
  for float16/bfloat16 (the empirical CDF of rounded values jumps by one cell's mass at each
  grid point; comparing against the continuous CDF would inflate ``D`` by up to ``pdf * ulp / 2``);
* pile-up: the count of the most frequent value, against a union bound over all dtype cells.

Low-precision values (float16, bfloat16) may arrive on a float32 carrier; the grid helpers
(:func:`round_to_dtype`, :func:`grid_neighbours`) work on the carrier's bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from initspec import laws
from initspec.distributions import ElementDistribution
from initspec.dtypes import get_dtype
from scipy import special, stats

#: Highest central moment the kurtosis interval needs.
MAX_MOMENT = laws.MAX_MOMENT

#: Dtypes whose rounding is coarse enough to matter for a KS test (values arrive on a float32
#: or float16 carrier; their CDF is compared with the rounded law's CDF).
ROUNDED_KS_DTYPES = ("float16", "bfloat16")

#: The finest probability mass per value a float32 uniform generator guarantees: 24 random bits
#: (torch ``uniform_``, ``jax.random.uniform`` and TF's Philox float32 path all use 23-24 bits).
#: A conforming adapter may put this much mass on one value, whatever the dtype's grid.
RNG_GRANULARITY = 2.0**-24

#: Safety factor on the largest cell mass of the pile-up bound: a round-to-nearest cell spans at
#: most one ulp of its upper neighbour, and the pdf may vary inside it; 2 covers both.
CELL_MASS_SAFETY = 2.0

#: Points per binade where the pile-up bound evaluates the density.
PDF_POINTS_PER_BINADE = 33

#: Smallest binade examined by the pile-up bound, relative to the law's scale (cells below it
#: are bounded by ``max pdf x`` their spacing, which this floor makes negligible).
PILEUP_MIN_RELATIVE_MAGNITUDE = 2.0**-30

#: Range (in standard deviations) examined for laws with unbounded support.
UNBOUNDED_RANGE_SIGMA = 40.0

# carrier float type, unsigned view type, and bit step of one ulp for each grid dtype
_GRID = {
    "float16": (np.float16, np.uint16, 1, 0x7FFF),
    "bfloat16": (np.float32, np.uint32, 0x10000, 0x7FFFFFFF),
    "float32": (np.float32, np.uint32, 1, 0x7FFFFFFF),
    "float64": (np.float64, np.uint64, 1, 0x7FFFFFFFFFFFFFFF),
}


@dataclass(frozen=True)
class TestResult:
    """Outcome of one statistical test: ``measured`` vs ``expected`` with ``interval`` (the
    acceptance interval for ``measured`` at level ``alpha``) and the p-value."""

    measured: float
    expected: float
    interval: tuple[float, float]
    p_value: float
    alpha: float
    n: int
    se: float | None = None

    @property
    def passed(self) -> bool:
        return bool(self.p_value >= self.alpha)


# ---------------------------------------------------------------------------------------------
# quantiles and simple tests
# ---------------------------------------------------------------------------------------------
def check_alpha(alpha: Any) -> float:
    """Validate a significance level (0 < alpha < 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"Argument `alpha` must be a float in (0, 1). Received: alpha={alpha!r}")
    return float(alpha)


def z_two_sided(alpha: float) -> float:
    """``z`` with ``P(|Z| > z) = alpha``."""
    return float(stats.norm.isf(check_alpha(alpha) / 2.0))


def z_test(measured: float, expected: float, se: float, alpha: float, n: int) -> TestResult:
    """Two-sided normal test of ``measured`` against ``expected`` with standard error ``se``."""
    z_crit = z_two_sided(alpha)
    if se > 0:
        p = float(2.0 * stats.norm.sf(abs(measured - expected) / se))
    else:  # a degenerate law: only the exact value passes
        p = 1.0 if measured == expected else 0.0
    if not math.isfinite(measured):
        p = 0.0
    return TestResult(
        float(measured),
        float(expected),
        (expected - z_crit * se, expected + z_crit * se),
        p,
        alpha,
        int(n),
        float(se),
    )


def chi2_test(statistic: float, dof: int, alpha: float, n: int) -> TestResult:
    """Upper-tail chi-square test; the interval is ``[0, chi2_{1-alpha}(dof)]``."""
    crit = float(stats.chi2.isf(check_alpha(alpha), dof))
    p = float(stats.chi2.sf(statistic, dof)) if math.isfinite(statistic) else 0.0
    return TestResult(float(statistic), float(dof), (0.0, crit), p, alpha, int(n))


# ---------------------------------------------------------------------------------------------
# moments of the spec's element law
# ---------------------------------------------------------------------------------------------
def central_moments(element: ElementDistribution) -> np.ndarray | None:
    """Central moments ``mu_0..mu_8`` of a real element law, or None where undefined
    (point masses, structured patterns, complex laws): :meth:`initspec.laws.Law.central_moments`."""
    return None if element.is_complex else element.law.central_moments(element)


def variance_of_variance(mu: np.ndarray) -> float:
    """``n * Var(m2)`` asymptotically: ``mu4 - mu2^2``."""
    return float(mu[4] - mu[2] ** 2)


def variance_of_kurtosis(mu: np.ndarray) -> float:
    """``n * Var(m4 / m2^2)`` asymptotically: ``E[IF^2]`` (see module docstring)."""
    m2, m3, m4 = mu[2], mu[3], mu[4]
    a, b = 1.0 / m2**2, 2.0 * m4 / m2**3
    # IF(d) = c0 + c1 d + c2 d^2 + c4 d^4
    c = np.zeros(5)
    c[0], c[1], c[2], c[4] = -a * m4 + b * m2, -4.0 * a * m3, -b, a
    return float(sum(c[i] * c[j] * mu[i + j] for i in range(5) for j in range(5)))


def sample_moments(x: np.ndarray) -> tuple[float, float, float]:
    """Mean, variance (about the sample mean, divisor n) and excess kurtosis of ``x``."""
    x = np.asarray(x, dtype=np.float64).ravel()
    mean = float(x.mean())
    d2 = (x - mean) ** 2
    m2 = float(d2.mean())
    m4 = float((d2 * d2).mean())
    kurt = m4 / m2**2 - 3.0 if m2 > 0 else float("nan")
    return mean, m2, kurt


def fast_cdf(element: ElementDistribution) -> Callable[[np.ndarray], np.ndarray]:
    """Vectorised CDF of a real element law (:meth:`initspec.laws.Law.fast_cdf`)."""
    return element.law.fast_cdf(element)


# ---------------------------------------------------------------------------------------------
# dtype grids
# ---------------------------------------------------------------------------------------------
def _grid(dtype: str) -> tuple[Any, Any, int, int]:
    name = get_dtype(dtype).real if get_dtype(dtype).is_complex else get_dtype(dtype).name
    return _GRID[name]


def round_to_dtype(x: Any, dtype: str) -> np.ndarray:
    """``x`` rounded to nearest-even on ``dtype``'s grid, returned on a float64 array
    (bfloat16 is emulated from float32 bits; complex rounds each component)."""
    dt = get_dtype(dtype)
    arr = np.asarray(x)
    if dt.is_complex:
        real = round_to_dtype(arr.real, dt.real)
        imag = round_to_dtype(np.imag(arr), dt.real)
        return real + 1j * imag
    arr = arr.astype(np.float64)
    if dt.name != "bfloat16":
        return arr.astype(_GRID[dt.name][0]).astype(np.float64)
    bits = arr.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = bits.astype(np.uint32).view(np.float32).astype(np.float64)
    return np.where(np.isfinite(arr), out, arr)


def on_dtype_grid(x: np.ndarray, dtype: str) -> np.ndarray:
    """Elementwise: is ``x`` exactly representable in ``dtype``?"""
    x = np.asarray(x)
    rounded = round_to_dtype(x, dtype)
    with np.errstate(invalid="ignore"):
        return (rounded == x.astype(rounded.dtype)) | ~np.isfinite(x)


def grid_neighbours(x: np.ndarray, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Next representable value below and above each ``x`` (which must lie on ``dtype``'s grid),
    as float64 arrays. Zero's neighbours are the smallest subnormals."""
    carrier, uint, step, mag_mask = _grid(dtype)
    v = np.asarray(x, dtype=np.float64).astype(carrier)
    bits = v.view(uint)
    mag = bits & uint(mag_mask)
    sign_bit = bits & ~uint(mag_mask)
    up_mag = (mag + uint(step)).view(carrier).astype(np.float64)
    safe = np.where(mag >= step, mag - uint(step), 0).astype(uint)
    down_mag = safe.view(carrier).astype(np.float64)
    neg = sign_bit != 0
    zero = mag == 0
    xv = v.astype(np.float64)
    up = np.where(neg, -down_mag, up_mag)
    down = np.where(neg, -up_mag, down_mag)
    up = np.where(zero, up_mag, up)
    down = np.where(zero, -up_mag, down)
    return np.where(np.isfinite(xv), down, xv), np.where(np.isfinite(xv), up, xv)


# ---------------------------------------------------------------------------------------------
# goodness of fit
# ---------------------------------------------------------------------------------------------
def ks_statistic(
    x: np.ndarray,
    cdf: Callable[[np.ndarray], np.ndarray],
    *,
    dtype: str | None = None,
    low: float | None = None,
    high: float | None = None,
    presorted: bool = False,
) -> tuple[float, int]:
    """Kolmogorov-Smirnov distance ``sup |F_n - G|`` and ``n``.

    ``G = cdf`` for float32/float64 values. For ``dtype`` in :data:`ROUNDED_KS_DTYPES`, ``G`` is the
    CDF of the spec law rounded to nearest on the dtype grid: ``P(X <= g) = F(mid(g, g+))`` and
    ``P(X < g) = F(mid(g-, g))``; cells at the edges of a bounded support take the clipped mass
    (values are clipped to the dtype's inner bounds, see ``initspec.dtypes.inner_bounds``).
    """
    xs = np.asarray(x, dtype=np.float64).ravel()
    if not presorted:
        xs = np.sort(xs)
    n = xs.size
    if n == 0:
        return float("nan"), 0
    if dtype is not None and get_dtype(dtype).name in ROUNDED_KS_DTYPES:
        down, up = grid_neighbours(xs, dtype)
        g_hi = np.asarray(cdf((xs + up) / 2.0), dtype=np.float64)
        g_lo = np.asarray(cdf((xs + down) / 2.0), dtype=np.float64)
        if high is not None:
            g_hi = np.where(up >= high, 1.0, g_hi)
        if low is not None:
            g_lo = np.where(down <= low, 0.0, g_lo)
    else:
        g_hi = g_lo = np.asarray(cdf(xs), dtype=np.float64)
    i = np.arange(1, n + 1, dtype=np.float64)
    d_plus = float(np.max(i / n - g_hi))
    d_minus = float(np.max(g_lo - (i - 1.0) / n))
    return max(d_plus, d_minus, 0.0), n


#: Above this asymptotic p-value the KS p-value is reported from the Stephens-corrected
#: asymptotic law (decisions happen far below it); at or below, scipy's exact ``kstwo``.
KS_EXACT_BELOW = 0.01


def ks_p_value(d: float, n: int) -> float:
    """P(D_n >= d) for the one-sample two-sided KS statistic: ``scipy.stats.kstwo.sf`` where it
    matters (small p), else Stephens' ``kolmogorov((sqrt(n) + 0.12 + 0.11/sqrt(n)) d)``."""
    rn = math.sqrt(n)
    approx = float(special.kolmogorov((rn + 0.12 + 0.11 / rn) * d))
    return float(stats.kstwo.sf(d, n)) if approx <= KS_EXACT_BELOW else approx


@lru_cache(maxsize=4096)
def ks_critical(n: int, alpha: float) -> float:
    """``d`` with ``P(D_n >= d) = alpha`` (exact ``kstwo``; cached per ``(n, alpha)``)."""
    return float(stats.kstwo.isf(check_alpha(alpha), n))


def ks_test(
    x: np.ndarray,
    cdf: Callable[[np.ndarray], np.ndarray],
    alpha: float,
    *,
    dtype: str | None = None,
    low: float | None = None,
    high: float | None = None,
    presorted: bool = False,
) -> TestResult:
    """KS test against ``cdf`` (conservative for the discrete rounded law); see :func:`ks_statistic`."""
    d, n = ks_statistic(x, cdf, dtype=dtype, low=low, high=high, presorted=presorted)
    if n == 0 or not math.isfinite(d):
        return TestResult(d, 0.0, (0.0, 0.0), 0.0, alpha, n)
    return TestResult(d, 0.0, (0.0, ks_critical(n, alpha)), ks_p_value(d, n), alpha, n)


# ---------------------------------------------------------------------------------------------
# pile-up
# ---------------------------------------------------------------------------------------------
def _binade_spacing(magnitude: np.ndarray, nmant: int) -> np.ndarray:
    """Grid spacing of ``dtype`` for values of the given magnitude (above the subnormals)."""
    _, e = np.frexp(magnitude)
    return np.ldexp(1.0, e - nmant - 1)


def max_cell_mass(element: ElementDistribution, dtype: str) -> float | None:
    """Upper bound on the probability that one draw equals any single value, for a continuous
    law stored in ``dtype``: ``max(pdf x cell width over the dtype grid, RNG_GRANULARITY)`` times
    :data:`CELL_MASS_SAFETY`. None where the law has atoms (nothing to bound)."""
    if not element.law.has_density or element.is_complex:
        return None
    return _max_cell_mass(
        element.kind,
        tuple(sorted(element.params.items())),
        element.mean,
        element.std,
        element.low,
        element.high,
        get_dtype(dtype).name,
    )


@lru_cache(maxsize=1024)
def _max_cell_mass(
    kind: str,
    params: tuple[tuple[str, float], ...],
    mean: float,
    std: float,
    low: float | None,
    high: float | None,
    dtype: str,
) -> float:
    element = ElementDistribution(kind, mean, std * std, low, high, None, dict(params))
    rv = element.rv()
    nmant = get_dtype(dtype).nmant
    lo = element.low if element.low is not None else element.mean - UNBOUNDED_RANGE_SIGMA * element.std
    hi = element.high if element.high is not None else element.mean + UNBOUNDED_RANGE_SIGMA * element.std
    top = max(abs(lo), abs(hi))
    floor = max(top * PILEUP_MIN_RELATIVE_MAGNITUDE, np.finfo(np.float64).tiny)
    e_top, e_floor = math.frexp(top)[1], math.frexp(floor)[1]
    best = 0.0
    for e in range(e_floor, e_top + 1):
        a, b = 2.0 ** (e - 1), 2.0**e
        h = 2.0 ** (e - 1 - nmant)
        grid = np.linspace(a - h, b + h, PDF_POINTS_PER_BINADE)
        dens = np.maximum(rv.pdf(grid), rv.pdf(-grid))
        best = max(best, float(dens.max()) * h)
    # below the floor: every cell is narrower than the floor's spacing
    peak = float(np.max(rv.pdf(np.linspace(lo, hi, 4097))))
    best = max(best, peak * 2.0 ** (e_floor - 1 - nmant))
    return CELL_MASS_SAFETY * max(best, RNG_GRANULARITY)


def pileup_limit(n: int, p_max: float, alpha: float) -> int:
    """Largest admissible count of the most frequent value among ``n`` draws.

    Union bound over all cells ``c`` of masses ``p_c <= p_max``:
    ``P(max_c N_c >= k) <= sum_c P(Bin(n, p_c) >= k) <= P(Bin(n, p_max) >= k) / p_max``
    (``p -> P(Bin(n, p) >= k)`` is convex below the Beta mode, so its ratio to ``p`` grows).
    Returns the largest ``k - 1`` with that bound ``<= alpha``.
    """
    q = check_alpha(alpha) * p_max
    return int(stats.binom.isf(q, n, p_max))


def most_frequent(x: np.ndarray, *, presorted: bool = False) -> tuple[float, int]:
    """The most frequent value of ``x`` and its count."""
    xs = np.asarray(x).ravel()
    if not presorted:
        xs = np.sort(xs)
    if xs.size == 0:
        return float("nan"), 0
    starts = np.flatnonzero(np.concatenate(([True], xs[1:] != xs[:-1], [True])))
    runs = np.diff(starts)
    i = int(np.argmax(runs))
    return float(xs[starts[i]]), int(runs[i])
