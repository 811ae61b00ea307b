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
(:func:`~initspec.conformance.checks.reference_draw`).

Run with ``pytest -m slow tests/conformance/test_false_alarm.py -s`` (``tox -e slow``);
``INITSPEC_FALSE_ALARM_SEEDS`` changes the number of base seeds, ``INITSPEC_FALSE_ALARM_WORKERS``
the number of processes (default: 2).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest
from initspec import resolve
from initspec.conformance.checks import (
    DEFAULT_MATRIX,
    RUN_BACKENDS,
    Budget,
    case_plan,
    check_draw,
    reference_draw,
)
from initspec.conformance.fanprobe import expected_fan_terms, fan_check, probe_fans, probe_shapes

N_SEEDS = int(os.environ.get("INITSPEC_FALSE_ALARM_SEEDS", "200"))
N_WORKERS = int(os.environ.get("INITSPEC_FALSE_ALARM_WORKERS", "2"))
ALPHA_TOTAL = 1e-3
#: base seed b, case i -> seed b * SEED_STRIDE + i (distinct for every draw of the whole test)
SEED_STRIDE = 10_000
#: p-value levels whose exceedance counts are compared with their binomial expectation ...
CALIBRATION_LEVELS = (1e-2, 1e-3)
#: ... allowing this many standard deviations of excess.
CALIBRATION_Z = 4.0

pytestmark = pytest.mark.slow


def _fan_cases() -> list[tuple[str, str, dict[str, Any]]]:
    """One fan probe per (scheme, layout, params) of the float32 matrix cases where it applies."""
    out, seen = [], set()
    for c in DEFAULT_MATRIX:
        key = (c.scheme, c.layout, repr(sorted(c.params.items())))
        if c.dtype == "float32" and key not in seen and expected_fan_terms(case_plan(c)) is not None:
            seen.add(key)
            out.append((c.scheme, c.layout, dict(c.params)))
    return out


FAN_CASES = _fan_cases()
#: the runner's per-test level for the NumPy backend's share of a 4-backend run
BUDGET = Budget.for_cases(
    DEFAULT_MATRIX,
    n_backends=RUN_BACKENDS,
    alpha_total=ALPHA_TOTAL,
    extra_tests=RUN_BACKENDS * len(FAN_CASES),
)
#: the 4x looser level of a run of the NumPy backend alone (reported, not asserted)
LOOSE = Budget.for_cases(DEFAULT_MATRIX, n_backends=1, alpha_total=ALPHA_TOTAL, extra_tests=len(FAN_CASES))


def _run_seed(base: int) -> tuple[int, list[str], float, dict[str, list[float]]]:
    """One full run; returns (base seed, failing check messages, min p/alpha, p-values per check)."""
    alpha = BUDGET.per_test()
    bad, worst = [], float("inf")
    pvals: dict[str, list[float]] = {}
    for i, case in enumerate(DEFAULT_MATRIX):
        seed = base * SEED_STRIDE + i
        x = reference_draw(case.scheme, case.shape, case.layout, case.dtype, seed, **case.params)
        checks = check_draw(x, case_plan(case), alpha=alpha, meta={"backend": "numpy", "seed": seed})
        bad += [f"{c['id']}: {c['message']}" for c in checks if c["verdict"] != "pass"]
        worst = min([worst] + [c["p_value"] / alpha for c in checks if c.get("p_value") is not None])
        _collect(pvals, checks)
    for j, (scheme, layout, params) in enumerate(FAN_CASES):
        seed = base * SEED_STRIDE + len(DEFAULT_MATRIX) + 100 * j

        def draw(shape, s, scheme=scheme, layout=layout, params=params):
            return reference_draw(scheme, shape, layout, "float32", s, **params)

        result = probe_fans(draw, layout, seed=seed)
        plan = resolve(scheme, probe_shapes(layout)[0], layout, **params)
        checks = fan_check(result, plan, {"backend": "numpy", "seed": seed}, alpha=alpha)
        bad += [f"{c['id']}: {c['message']}" for c in checks if c["verdict"] != "pass"]
        worst = min([worst] + [c["p_value"] / alpha for c in checks if c.get("p_value") is not None])
        _collect(pvals, checks)
    return base, bad, worst, pvals


def _collect(pvals: dict[str, list[float]], checks: list[dict[str, Any]]) -> None:
    for c in checks:
        if c.get("p_value") is not None and c["check"] != "pileup":  # pile-up p is a bound, not a p-value
            pvals.setdefault(c["check"], []).append(float(c["p_value"]))


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


def _limit_blas_threads() -> None:
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - optional
        pass


def test_reference_has_no_false_alarm_over_200_seeds() -> None:
    t0 = time.perf_counter()
    seeds = list(range(N_SEEDS))
    if N_WORKERS > 1:
        with ProcessPoolExecutor(N_WORKERS, initializer=_limit_blas_threads) as pool:
            results = list(pool.map(_run_seed, seeds, chunksize=1))
    else:
        results = [_run_seed(s) for s in seeds]
    elapsed = time.perf_counter() - t0
    failing_runs = [(b, msgs) for b, msgs, _, _ in results if msgs]
    loose = [(b, w) for b, _, w, _ in results if w * BUDGET.per_test() < LOOSE.per_test()]
    n_checks = sum(1 for _ in DEFAULT_MATRIX)
    min_ratio = min(r[2] for r in results)
    pvals: dict[str, list[float]] = {}
    for *_, pv in results:
        for k, v in pv.items():
            pvals.setdefault(k, []).extend(v)
    calib = _calibration(pvals)
    for name, n, level, seen, allowed in calib:
        print(
            f"  {name:10s} n={n:6d}  p<{level:g}: {seen:5d} "
            f"(expected {n * level:7.1f}, allowed {allowed:7.1f})"
        )
    print(
        f"\nfalse-alarm run: {N_SEEDS} base seeds x ({n_checks} matrix cases + {len(FAN_CASES)} fan probes), "
        f"{LOOSE.n_tests} statistical tests per run at alpha={BUDGET.per_test():.3g} (NumPy's share of "
        f"alpha_total={ALPHA_TOTAL} over {RUN_BACKENDS} backends); failing runs: {len(failing_runs)}, "
        f"failing checks: {sum(len(m) for _, m in failing_runs)} "
        f"(expected <= {N_SEEDS * ALPHA_TOTAL / RUN_BACKENDS:.2g}); "
        f"runs alarming at the one-backend level alpha={LOOSE.per_test():.3g}: {len(loose)} "
        f"(expected <= {N_SEEDS * ALPHA_TOTAL:.2g}) {loose}; smallest p/alpha: {min_ratio:.3g}; "
        f"time {elapsed:.1f} s ({N_WORKERS} workers)"
    )
    assert not failing_runs, "\n".join(f"base seed {b}: {m}" for b, ms in failing_runs for m in ms)
    assert np.isfinite(min_ratio)
    over = [row for row in calib if row[3] > row[4]]
    assert not over, f"liberal (miscalibrated) checks: {over}"
