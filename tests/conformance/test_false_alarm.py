"""False-alarm rate of the check engine: the NumPy reference (a correct adapter) over the whole
:data:`~initspec.conformance.checks.DEFAULT_MATRIX` plus the fan probes, for 200 base seeds.

Levels: a conformance run controls the family-wise error over ALL its backends with
``alpha_total = 1e-3`` (Bonferroni); the NumPy backend's share is ``1e-3 / 4``, split over its
statistical tests (:func:`~initspec.conformance.checks.default_budget` with 4 backends, fan probes
included). Each base seed replays that share, so a calibrated engine has <= 200 x 2.5e-4 = 0.05
expected runs with a false alarm; the test requires zero failing checks. It also counts, for
information, the runs that would have alarmed at the 4x looser level of a one-backend run
(``alpha_total = 1e-3`` for NumPy alone: 0.2 expected).

It also checks the *calibration* of every statistical check type over all its p-values (e.g.
200 x 48 for ``variance``): the number below 1e-2 and below 1e-3 must not exceed the binomial
expectation by more than :data:`CALIBRATION_Z` standard deviations (a liberal, miscalibrated
interval would show an excess long before it produces a false alarm at ~1e-6). Conservative checks
(orthogonal entries are negatively dependent; KS on the discrete rounded law; the pile-up union
bound) show fewer. bfloat16 cases use the reference sampler on a float32 carrier rounded to bfloat16
(:func:`~initspec.conformance.checks.reference_draw`). The orthogonal cases include ``haar_signs``
(sign test of the diagonal: Haar, not merely orthogonal); its exact Binomial null is checked apart
on small shapes over 4000 seeds (:func:`test_haar_signs_null_is_exactly_binomial`).

The replay is :func:`~initspec.conformance.checks.reference_run` in worker processes started with
``spawn`` (forking a process that already loaded JAX or torch threads can deadlock).

Run with ``pytest -m slow tests/conformance/test_false_alarm.py -s`` (``tox -e slow``);
``INITSPEC_FALSE_ALARM_SEEDS`` changes the number of base seeds, ``INITSPEC_FALSE_ALARM_WORKERS``
the number of processes (default: 2).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pytest
from initspec.conformance.checks import (
    DEFAULT_MATRIX,
    RUN_BACKENDS,
    Budget,
    fan_probe_cases,
    reference_run,
)

N_SEEDS = int(os.environ.get("INITSPEC_FALSE_ALARM_SEEDS", "200"))
N_WORKERS = int(os.environ.get("INITSPEC_FALSE_ALARM_WORKERS", "2"))
ALPHA_TOTAL = 1e-3
#: p-value levels whose exceedance counts are compared with their binomial expectation ...
CALIBRATION_LEVELS = (1e-2, 1e-3)
#: ... allowing this many standard deviations of excess.
CALIBRATION_Z = 4.0
#: one BLAS thread per worker process (set before the workers import numpy)
_WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

pytestmark = pytest.mark.slow

FAN_CASES = fan_probe_cases()
#: the runner's per-test level for the NumPy backend's share of a 4-backend run
BUDGET = Budget.for_cases(
    DEFAULT_MATRIX,
    n_backends=RUN_BACKENDS,
    alpha_total=ALPHA_TOTAL,
    extra_tests=RUN_BACKENDS * len(FAN_CASES),
)
#: the 4x looser level of a run of the NumPy backend alone (reported, not asserted)
LOOSE = Budget.for_cases(DEFAULT_MATRIX, n_backends=1, alpha_total=ALPHA_TOTAL, extra_tests=len(FAN_CASES))


def _replay(seeds: list[int]) -> list[list[dict[str, Any]]]:
    run = partial(reference_run, alpha=BUDGET.per_test())
    if N_WORKERS <= 1:
        return [run(s) for s in seeds]
    saved = {k: os.environ.get(k) for k in _WORKER_ENV}
    os.environ.update(_WORKER_ENV)
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(N_WORKERS, mp_context=ctx) as pool:
            return list(pool.map(run, seeds, chunksize=1))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _p_values(checks: list[dict[str, Any]]) -> dict[str, list[float]]:
    """p-values per check type (the pile-up's is a union bound, not a p-value: left out)."""
    out: dict[str, list[float]] = {}
    for c in checks:
        if c.get("p_value") is not None and c["check"] != "pileup":
            out.setdefault(c["check"], []).append(float(c["p_value"]))
    return out


def _calibration(pvals: dict[str, list[float]]) -> list[tuple[str, int, float, int, float]]:
    """(check, n, level, observed count below level, allowed count) per check type and level."""
    rows = []
    for name, ps in sorted(pvals.items()):
        arr = np.asarray(ps)
        for level in CALIBRATION_LEVELS:
            exp = arr.size * level
            rows.append(
                (
                    name,
                    arr.size,
                    level,
                    int(np.sum(arr < level)),
                    exp + CALIBRATION_Z * np.sqrt(exp * (1 - level)),
                )
            )
    return rows


def test_reference_has_no_false_alarm_over_200_seeds() -> None:
    t0 = time.perf_counter()
    runs = _replay(list(range(N_SEEDS)))
    elapsed = time.perf_counter() - t0
    alpha = BUDGET.per_test()
    failing = [
        (b, [f"{c['id']}: {c['message']}" for c in run if c["verdict"] != "pass"])
        for b, run in enumerate(runs)
    ]
    failing = [(b, msgs) for b, msgs in failing if msgs]
    min_p = [min(c["p_value"] for c in run if c.get("p_value") is not None) for run in runs]
    loose = [(b, p / alpha) for b, p in enumerate(min_p) if p < LOOSE.per_test()]
    pvals: dict[str, list[float]] = {}
    for run in runs:
        for k, v in _p_values(run).items():
            pvals.setdefault(k, []).extend(v)
    calib = _calibration(pvals)
    for name, n, level, seen, allowed in calib:
        print(
            f"  {name:10s} n={n:6d}  p<{level:g}: {seen:5d} "
            f"(expected {n * level:7.1f}, allowed {allowed:7.1f})"
        )
    n_failing = sum(len(m) for _, m in failing)
    print(
        f"\nfalse-alarm run: {N_SEEDS} base seeds x ({len(DEFAULT_MATRIX)} matrix cases + "
        f"{len(FAN_CASES)} fan probes), {LOOSE.n_tests} statistical tests per run at alpha={alpha:.3g} "
        f"(NumPy's share of alpha_total={ALPHA_TOTAL} over {RUN_BACKENDS} backends); failing runs: "
        f"{len(failing)}, failing checks: {n_failing} "
        f"(expected <= {N_SEEDS * ALPHA_TOTAL / RUN_BACKENDS:.2g}); "
        f"runs alarming at the one-backend level alpha={LOOSE.per_test():.3g}: {len(loose)} "
        f"(expected <= {N_SEEDS * ALPHA_TOTAL:.2g}) {loose}; smallest p/alpha: {min(min_p) / alpha:.3g}; "
        f"time {elapsed:.1f} s ({N_WORKERS} workers)"
    )
    assert not failing, "\n".join(f"base seed {b}: {m}" for b, ms in failing for m in ms)
    over = [row for row in calib if row[3] > row[4]]
    assert not over, f"liberal (miscalibrated) checks: {over}"


#: small orthogonal cases (square, tall, wide, a conv kernel) for the exactness of haar_signs' null
HAAR_CASES = (((4, 4), "keras_dense"), ((6, 3), "keras_dense"), ((2, 5), "keras_dense"),
              ((3, 3, 2, 4), "keras_conv"))
HAAR_SEEDS = 4000


@pytest.mark.parametrize("shape, layout", HAAR_CASES, ids=[str(s) for s, _ in HAAR_CASES])
def test_haar_signs_null_is_exactly_binomial(shape: tuple[int, ...], layout: str) -> None:
    """The null law of ``haar_signs`` (:func:`~initspec.conformance.statistical.check_haar_signs`)
    on the reference: over 4000 seeds, the number of positive diagonal entries of one draw
    (``m = min(rows, cols)`` of them) follows Binomial(m, 1/2) (chi-square goodness of fit at 1e-4),
    and the per-draw p-values are never liberal: P(p <= level) <= level for each attainable level
    (up to CALIBRATION_Z binomial standard deviations)."""
    from initspec import resolve
    from initspec.conformance.checks import reference_draw
    from initspec.conformance.statistical import haar_diagonal
    from scipy import stats

    plan = resolve("orthogonal", shape, layout)
    d = np.concatenate([haar_diagonal(reference_draw("orthogonal", shape, layout, "float64", s)[None], plan)
                        for s in range(HAAR_SEEDS)])
    m = d.shape[1]
    pos = np.count_nonzero(d > 0, axis=1)
    observed = np.bincount(pos, minlength=m + 1)
    expected = HAAR_SEEDS * stats.binom.pmf(np.arange(m + 1), m, 0.5)
    chi2 = stats.chisquare(observed, expected)
    assert chi2.pvalue > 1e-4, (observed, expected.round(1), chi2)
    p = np.minimum(1.0, 2.0 * stats.binom.cdf(np.minimum(pos, m - pos), m, 0.5))
    for level in np.unique(p)[:-1]:
        seen, exp = int(np.sum(p <= level)), HAAR_SEEDS * level
        assert seen <= exp + CALIBRATION_Z * np.sqrt(exp * (1 - level)), (level, seen, exp)
