"""Run one backend's ``bench_cases()``: adapter vs native call, interleaved in one process.

For each :class:`~initspec.backends._bench.BenchCase`: ``warmup`` untimed calls of both, then
``repeats`` rounds that time ``ours`` and ``native`` back to back (alternating which goes first, so
drift and cache effects hit both), each call followed by ``case.sync`` so asynchronous devices are
timed to completion. ``ratio`` is the median over rounds of ``ours / native`` within each round
(paired: a busy phase of the machine slows both calls of a round alike), ``speedup = 1 / ratio``;
the median times are reported too. A case is OK when ``ratio <= target`` (or
``speedup >= min_speedup`` when that is set).

Works with any adapter module of the uniform harness API; ``bench_cases(device=...)`` is called
with the device when the function accepts it, otherwise its cases are filtered by ``case.device``.
Run as ``python -m initspec.backends._bench_runner --backend torch --device cpu --json out.json``
(``initspec bench`` starts one such process per backend so that frameworks never share a process).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from initspec._jsonio import write_atomic

from . import BACKENDS, BackendUnavailable, load
from ._bench import BenchCase

DEFAULT_REPEATS = 7
DEFAULT_WARMUP = 2
DEVICES = ("cpu", "gpu")
SECONDS_TO_MS = 1e3
#: floor for a median time (a timer tick), so that ratios stay finite
MIN_SECONDS = 1e-9


#: ``wall``: elapsed time (what a user waits); ``cpu``: CPU time of the process, all threads
#: summed (immune to being descheduled on a busy machine; comparable to wall with one thread)
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def time_call(fn: Callable[[], Any], sync: Callable[[Any], Any], clock: str = "wall") -> float:
    """Seconds of ``clock`` for ``sync(fn())``."""
    now = CLOCKS[clock]
    start = now()
    sync(fn())
    return now() - start


def verdict(ratio: float, target: float, min_speedup: float | None) -> bool:
    """OK when ``ours / native <= target`` or, with ``min_speedup``, ``native / ours >= min_speedup``."""
    if min_speedup is not None:
        return ratio * min_speedup <= 1.0
    return ratio <= target


def run_case(case: BenchCase, repeats: int = DEFAULT_REPEATS, warmup: int = DEFAULT_WARMUP,
             clock: str = "wall") -> dict[str, Any]:
    """Time one case (see the module docstring); returns a JSON-able record."""
    if clock not in CLOCKS or (clock == "cpu" and case.device != "cpu"):
        raise ValueError(
            f"Argument `clock` must be 'wall', or 'cpu' for CPU cases. Received: clock={clock!r}")
    for _ in range(warmup):
        case.sync(case.ours())
        case.sync(case.native())
    ours: list[float] = []
    native: list[float] = []
    for i in range(repeats):
        pair = [(ours, case.ours), (native, case.native)]
        for times, fn in pair if i % 2 == 0 else pair[::-1]:
            times.append(time_call(fn, case.sync, clock))
    o, n = statistics.median(ours), statistics.median(native)
    ratio = statistics.median(a / max(b, MIN_SECONDS) for a, b in zip(ours, native))
    return {
        "backend": case.backend, "case": case.label, "device": case.device, "clock": clock,
        "native_name": case.native_name, "ours_ms": o * SECONDS_TO_MS, "native_ms": n * SECONDS_TO_MS,
        "ours_all_ms": [t * SECONDS_TO_MS for t in ours],
        "native_all_ms": [t * SECONDS_TO_MS for t in native],
        "ratio": ratio, "speedup": 1.0 / max(ratio, MIN_SECONDS),
        "target": case.target, "min_speedup": case.min_speedup,
        "ok": verdict(ratio, case.target, case.min_speedup), "error": None,
    }


def cases_for(module: Any, device: str) -> list[BenchCase]:
    """``module.bench_cases`` for ``device``: passes ``device=device`` or ``devices=[device]`` when
    the function takes such a parameter (so other devices' inputs are never built), then keeps
    the cases whose ``device`` matches."""
    fn = module.bench_cases
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # callables without a signature
        params = {}
    if "device" in params:
        cases = fn(device=device)
    elif "devices" in params:
        cases = fn(devices=[device])
    else:
        cases = fn()
    return [c for c in cases if c.device == device]


def run_backend(name: str, device: str, repeats: int = DEFAULT_REPEATS,
                warmup: int = DEFAULT_WARMUP, clock: str = "wall") -> dict[str, Any]:
    """All cases of backend ``name`` on ``device``; unavailable frameworks/devices are reported
    with the reason, a failing case with its error (the others still run)."""
    record: dict[str, Any] = {"backend": name, "device": device, "status": "ok", "reason": None,
                              "versions": {}, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                              "cases": []}
    try:
        module = load(name)
    except BackendUnavailable as e:
        return {**record, "status": "unavailable", "reason": str(e)}
    record["versions"] = dict(module.versions())
    available, why = module.device_available(device)
    if not available:
        return {**record, "status": "unavailable", "reason": why}
    for case in cases_for(module, device):
        try:
            record["cases"].append(run_case(case, repeats, warmup, clock))
        except Exception as e:  # noqa: BLE001 - one broken case must not hide the others
            record["cases"].append({
                "backend": name, "case": case.label, "device": device, "native_name": case.native_name,
                "ok": False, "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                "target": case.target, "min_speedup": case.min_speedup,
            })
    if any(c["error"] for c in record["cases"]):
        record["status"] = "error"
    return record


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1. Received: {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: one backend, JSON to ``--json PATH`` (or stdout)."""
    ap = argparse.ArgumentParser(prog="python -m initspec.backends._bench_runner",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--backend", required=True, choices=BACKENDS)
    ap.add_argument("--device", default="cpu", choices=DEVICES)
    ap.add_argument("--repeats", type=_positive_int, default=DEFAULT_REPEATS)
    ap.add_argument("--warmup", type=int, default=DEFAULT_WARMUP)
    ap.add_argument("--clock", default="wall", choices=tuple(CLOCKS))
    ap.add_argument("--json", dest="json_path", default=None, help="write the record here (default: stdout)")
    args = ap.parse_args(argv)
    emit_record(run_backend(args.backend, args.device, args.repeats, max(args.warmup, 0), args.clock),
                args.json_path)
    return 0


def emit_record(record: dict[str, Any], json_path: str | None) -> None:
    """A bench entry point's output: ``record`` written atomically to ``json_path``, else stdout."""
    if json_path:
        write_atomic(json_path, record)
    else:
        json.dump(record, sys.stdout, indent=1)
        sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
