"""Sample summaries: a small histogram/CDF record of a draw against its law, for the report.

Shared by the adapter checks (:mod:`.worker`) and the native audit (:mod:`.native_audit`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from initspec._jsonio import jsonable
from initspec.distributions import Plan

from .records import SampleSummary

__all__ = ["CDF_POINTS", "HIST_BINS", "HIST_COVERAGE", "sample_summary"]

HIST_BINS = 60
CDF_POINTS = 60
#: the histogram range of unbounded laws: spec quantiles (1 - HIST_COVERAGE)/2 .. (1 + HIST_COVERAGE)/2
HIST_COVERAGE = 0.999


def sample_summary(values: np.ndarray, plan: Plan, checks: list[dict[str, Any]], meta: dict[str, Any]
                   ) -> dict[str, Any] | None:
    """A small ``SampleSummary`` (60-bin histogram, spec density, empirical - spec CDF at 60
    points, moments from ``checks``) for real continuous laws; None otherwise."""
    e = plan.element
    if e.is_complex:
        return None
    rv = e.rv()
    if rv is None:
        return None
    x = np.asarray(values, dtype=np.float64).ravel()
    tail = (1.0 - HIST_COVERAGE) / 2.0
    lo = e.low if e.low is not None else float(rv.ppf(tail))
    hi = e.high if e.high is not None else float(rv.ppf(1.0 - tail))
    counts, edges = np.histogram(x, bins=HIST_BINS, range=(lo, hi))
    grid = np.linspace(lo, hi, 2 * HIST_BINS + 1)
    q = rv.ppf(np.linspace(0.5 / CDF_POINTS, 1 - 0.5 / CDF_POINTS, CDF_POINTS))
    xs = np.sort(x)
    ecdf = np.searchsorted(xs, q, side="right") / max(xs.size, 1)
    stat = [c for c in checks if c.get("tier") == "statistical"]
    moments = {c["check"]: {k: c.get(k) for k in ("measured", "expected", "interval", "p_value", "verdict")}
               for c in stat}
    ks_alpha = [c["alpha"] for c in stat if c.get("check") == "ks" and c.get("alpha") is not None]
    return SampleSummary(
        group=(stat or checks)[0]["group"], backend=meta["backend"], device=meta["device"],
        subject=meta.get("subject", "initspec"), scheme=plan.scheme.name, dtype=plan.dtype, n=int(x.size),
        hist_edges=edges.tolist(), hist_counts=counts.astype(int).tolist(), alpha=min(ks_alpha, default=None),
        native_name=meta.get("native_name"), layout=plan.layout.name if plan.layout is not None else None,
        shape=tuple(plan.shape), params=jsonable(dict(plan.params)), pdf_x=grid.tolist(),
        pdf_y=rv.pdf(grid).tolist(), cdf_diff_x=q.tolist(), cdf_diff_y=(ecdf - rv.cdf(q)).tolist(),
        moments=moments, bounds=(e.low, e.high),
    ).as_dict()
