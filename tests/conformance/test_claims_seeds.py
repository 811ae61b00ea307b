"""Seed claims robust by construction: every claim holds for many seeds x {1, 2} BLAS threads.

Each claim of issue 5 (:mod:`initspec.conformance.experiments.claims`) is a predicate with
margins; a margin taken from ONE run can fail on another seed or under another BLAS kernel / thread
count (the chaotic N(0, 1) + tanh net did: docs/measurements/claims-spread.md). This test runs the
experiments at the QUICK config (:data:`initspec.conformance.experiments.QUICK`, what the
frameworks run in CI and ``initspec conform --quick``) for seeds ``0..N-1`` under
``threadpool_limits(threads)`` for ``threads`` in :data:`THREADS`, on the NumPy engine and on each
installed framework, and requires every claim to pass for every (seed, threads). It prints the
spread (min / median / max over the runs) of every measured number, from which the margins in
``claims.py`` are derived.

Thread settings: :data:`RUNNER_BLAS_THREADS` is what the runner's experiment workers use
(``cli/experiments.py`` ``WORKER_ENV``); 2 is the other count a 2-core CI machine gives. Every
engine runs under ``threadpool_limits`` (NumPy's OpenBLAS; torch's and JAX's bundled BLAS where
threadpoolctl sees them); torch additionally runs with ``torch.set_num_threads(threads)`` (the
engine's :data:`~initspec.conformance.experiments.torch.THREADS`), TensorFlow requests
``threads`` intra/inter-op threads (honoured only if its runtime is not yet initialised in the
process: TF fixes its pools at start-up), and JAX has no run-time thread setting (XLA's CPU pool
is fixed when the backend starts).

Run with ``pytest -m slow tests/conformance/test_claims_seeds.py -s``;
``INITSPEC_CLAIM_SEEDS`` (``N`` or ``start:stop``, default ``0:50``) picks the seeds.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initspec.conformance.experiments import QUICK, run_experiments

pytestmark = pytest.mark.slow

#: The BLAS thread count of the runner's experiment workers (cli/experiments.py WORKER_ENV) ...
RUNNER_BLAS_THREADS = 1
#: ... and the thread counts every claim must hold under.
THREADS = (RUNNER_BLAS_THREADS, 2)
#: Engines whose own intra-op thread count is a module constant the engine applies in its session.
_ENGINE_THREADS = {"torch": "initspec.conformance.experiments.torch",
                   "tensorflow": "initspec.conformance.experiments.tensorflow"}


def _seeds() -> range:
    text = os.environ.get("INITSPEC_CLAIM_SEEDS", "0:50").strip()
    start, _, stop = text.rpartition(":")
    return range(int(start or 0), int(stop))


SEEDS = _seeds()
BACKENDS = [pytest.param("numpy", id="numpy"),
            *(pytest.param(b, marks=getattr(pytest.mark, b), id=b) for b in ("torch", "tensorflow", "jax"))]


def _numbers(measured: Any, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a claim's ``measured`` dict, keyed by their path (lists by index)."""
    out: dict[str, float] = {}
    if isinstance(measured, dict):
        for k, v in measured.items():
            out.update(_numbers(v, f"{prefix}{k}/"))
    elif isinstance(measured, (list, tuple)):
        for i, v in enumerate(measured):
            out.update(_numbers(v, f"{prefix}{i}/"))
    elif isinstance(measured, (int, float)) and not isinstance(measured, bool):
        out[prefix.rstrip("/")] = float(measured)
    return out


def spread(runs: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, float, float, int]]:
    """``(claim, quantity) -> (min, median, max, non-finite count)`` over the runs' measured numbers."""
    vals: dict[tuple[str, str], list[float]] = {}
    for res in runs:
        for c in res["claims"]:
            for path, v in _numbers(next(iter(c["per_backend"].values()))["measured"]).items():
                vals.setdefault((c["id"], path), []).append(v)
    out = {}
    for key, vs in vals.items():
        arr = np.asarray(vs)
        fin = arr[np.isfinite(arr)]
        lo, med, hi = (float(np.min(fin)), float(np.median(fin)), float(np.max(fin))) if fin.size else (math.nan,) * 3
        out[key] = (lo, med, hi, int(arr.size - fin.size))
    return out


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_every_claim_holds_for_every_seed(load_backend, monkeypatch, backend: str, threads: int) -> None:
    if backend != "numpy":
        load_backend(backend)  # skip (or fail when required) with the reason if the framework is missing
    if backend in _ENGINE_THREADS:
        monkeypatch.setattr(f"{_ENGINE_THREADS[backend]}.THREADS", threads)
    runs, failing, t0 = [], [], time.perf_counter()
    with threadpool_limits(limits=threads):
        for seed in SEEDS:
            res = run_experiments(backend, QUICK.with_(seed=seed), catch_errors=False)
            runs.append(res)
            failing += [(seed, c["id"], c["per_backend"][backend]["measured"]) for c in res["claims"]
                        if c["per_backend"][backend]["verdict"] != "pass"]
    print(f"\n{backend}, {threads} thread(s), seeds {SEEDS.start}..{SEEDS.stop - 1} at QUICK: "
          f"{len(failing)} failing claim(s), {time.perf_counter() - t0:.0f} s")
    for (cid, path), (lo, med, hi, bad) in sorted(spread(runs).items()):
        print(f"  {cid:36s} {path:48s} min {lo:<11.4g} median {med:<11.4g} max {hi:<11.4g}"
              + (f" non-finite {bad}" if bad else ""))
    assert not failing, "\n".join(f"seed {s}: {cid} failed: {m}" for s, cid, m in failing)
