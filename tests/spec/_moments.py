"""Moment assertions for the spec's own tests, with tolerances derived from n and the law's
fourth moment (the full engine with family-wise control lives in initspec.conformance)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

#: two-sided z for a per-assertion false-alarm rate of ~1e-9 (tests are seeded anyway)
Z = 6.1


def moment_errors(x: np.ndarray, dist) -> list[str]:
    """Empty when ``x`` agrees with ``dist`` (an ElementDistribution); else the failures."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    errs = []
    var, mu4 = dist.var, dist.fourth_central_moment
    m = x.mean()
    if abs(m - dist.mean) > Z * math.sqrt(var / n):
        errs.append(f"mean {m:.6g} vs {dist.mean:.6g} (+-{Z * math.sqrt(var / n):.3g})")
    s2 = x.var()
    tol = Z * math.sqrt((mu4 - var * var) / n)
    if abs(s2 - var) > tol:
        errs.append(f"variance {s2:.6g} vs {var:.6g} (+-{tol:.3g}, std ratio {math.sqrt(s2 / var):.4f})")
    if dist.low is not None and x.min() <= dist.low and dist.kind in ("truncnorm",):
        errs.append(f"min {x.min()} at/below bound {dist.low}")
    if dist.high is not None and x.max() >= dist.high and dist.kind in ("truncnorm", "uniform"):
        errs.append(f"max {x.max()} at/above bound {dist.high}")
    if dist.low is not None and x.min() < dist.low:
        errs.append(f"min {x.min()} below support {dist.low}")
    rv = dist.rv() if not dist.is_complex else None
    if rv is not None:
        p = stats.kstest(x, rv.cdf).pvalue
        if p < 1e-9:
            errs.append(f"KS p={p:.3g}")
    return errs
