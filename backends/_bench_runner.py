"""Run one backend's ``bench_cases()``: adapter vs native call, interleaved in one process.

For each :class:`~initspec.backends._bench.BenchCase`: ``warmup`` untimed calls of both, then
``repeats`` rounds that time ``ours`` and ``native`` back to back (alternating which goes first, so
drift and cache effects hit both), each call followed by ``case.sync`` so asynchronous devices are
timed to completion; cases of a few milliseconds run more rounds, until their timed calls add up
to ``min_time`` seconds (``initspec bench --min-time``, at most :data:`MAX_ROUNDS`): a median of 7
pairs of 10 ms calls moved by 10-15% from run to run on this shared 2-core machine (one or two
descheduled calls), one of ~50 pairs does not. ``ratio`` is the median over rounds of ``ours / native`` within each round
(paired: a busy phase of the machine slows both calls of a round alike), ``speedup = 1 / ratio``;
the median times are reported too. A case is OK when ``ratio <= target`` (or
``speedup >= min_speedup`` when that is set).

Memory (CPU cases): after the timing, one more call of each with a thread sampling the process RSS
(:func:`peak_rss_extra`): the peak above the RSS before the call, relative to the bytes of the
result (or, where the case gives ``ours_peak``/``native_peak``, the framework's own figure, e.g.
XLA's buffer assignment) (``ours_peak_x_out``, ``native_peak_x_out``); ``memory_ok`` when ours is at most
:data:`MEMORY_TARGET` (issue 16: no adapter call may hold more than twice its output; plus
:data:`MEMORY_SLACK_BYTES` of vectors and page granularity), or, for a case that declares
``memory_bound`` (its values are by contract the native kernel's, which holds more), at most the
native call's peak (plus the same slack), with ``memory_bound`` in the record saying why. An in-place
call's result already existed, so its extra is what the call itself allocates. RSS figures need
outputs of :data:`RSS_MIN_BYTES` or more; smaller ones are left unmeasured (``None``, with a
``memory_note``) rather than reported as the 0x of reused heap memory.

The Keras drop-in (:mod:`initspec.backends.keras.bench`) is timed in the worker of every framework
that declares a ``keras_backend`` in :mod:`initspec.registry`; where Keras is missing or runs on
another backend, the record's ``keras`` entry says why.

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
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from initspec._jsonio import write_atomic

from initspec import registry

from . import BACKENDS, BackendUnavailable, load
from ._bench import BenchCase

DEFAULT_REPEATS = 7
DEFAULT_WARMUP = 2
#: seconds of timed calls (ours + native) a case runs at least, adding rounds beyond ``repeats``
DEFAULT_MIN_TIME_S = 1.0
#: the most rounds ``min_time`` may add up to
MAX_ROUNDS = 101
DEVICES = ("cpu", "gpu")
SECONDS_TO_MS = 1e3
#: floor for a median time (a timer tick), so that ratios stay finite
MIN_SECONDS = 1e-9
#: the largest peak extra RSS of one adapter call, in multiples of its output's bytes
MEMORY_TARGET = 2.0
#: what a call may hold beyond :data:`MEMORY_TARGET` outputs: the target counts output-sized
#: buffers, not a QR's per-column vectors (Householder scalars and signs, 4 bytes a column: 8 KiB
#: for JAX's 1024x1024 orthogonal, 12 KiB for TF's at 3072x3072) or the RSS's page granularity;
#: the reported figure stays exact (2.002x, 2.0003x)
MEMORY_SLACK_BYTES = 64 << 10
#: seconds between two RSS samples of :func:`peak_rss_extra`
RSS_INTERVAL_S = 0.001
#: outputs from this size up are measured from the RSS: glibc serves them with mmap (its dynamic
#: mmap threshold stops at 32 MiB, ``DEFAULT_MMAP_THRESHOLD_MAX``), so a call's buffers show up
#: in the RSS; smaller ones come from heap memory the process may already hold (shown as ``-``)
RSS_MIN_BYTES = 32 << 20


#: ``wall``: elapsed time (what a user waits); ``cpu``: CPU time of the process, all threads
#: summed (immune to being descheduled on a busy machine; comparable to wall with one thread)
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}


def time_call(fn: Callable[[], Any], sync: Callable[[Any], Any], clock: str = "wall") -> float:
    """Seconds of ``clock`` for ``sync(fn())``."""
    now = CLOCKS[clock]
    start = now()
    sync(fn())
    return now() - start


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_extra(fn: Callable[[], Any], sync: Callable[[Any], Any]) -> tuple[int | None, Any]:
    """``(peak process RSS during sync(fn()) above the RSS just before it, in bytes, or None
    without /proc; the result)``: sampled every :data:`RSS_INTERVAL_S` by a thread, and exact where
    the call raised the process's lifetime peak (``ru_maxrss``). The result is kept until the
    peak is read (it is part of it). Coarse: memory the allocator already holds is not seen."""
    import resource

    before = _rss_bytes()
    if before is None:
        return None, sync(fn())
    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes() or 0)
            done.wait(RSS_INTERVAL_S)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        result = sync(fn())
        peak[0] = max(peak[0], _rss_bytes() or 0)
    finally:
        done.set()
        thread.join()
    max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if max_after > max_before:  # the call set a new lifetime peak: the kernel's own figure (KiB on Linux)
        peak[0] = max(peak[0], max_after * 1024)
    return max(peak[0] - before, 0), result


def nbytes(x: Any) -> int | None:
    """Bytes of a NumPy/JAX array, torch or TF tensor (None for anything else)."""
    if hasattr(x, "element_size") and hasattr(x, "nelement"):  # torch
        return int(x.element_size() * x.nelement())
    if hasattr(x, "nbytes"):  # numpy, jax
        return int(x.nbytes)
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is not None and getattr(dtype, "size", None):  # tf
        return int(shape.num_elements() * dtype.size)
    return None


def _memory(case: BenchCase) -> dict[str, Any]:
    """The peak extra RSS of one call of ``ours`` and of ``native``, relative to the output."""
    if case.device != "cpu":
        return {"ours_peak_x_out": None, "native_peak_x_out": None, "memory_ok": None}
    out: dict[str, Any] = {}
    peaks: dict[str, int | None] = {}
    sides = (("ours", case.ours, case.ours_peak, case.memory_ours),
             ("native", case.native, case.native_peak, case.memory_native))
    for name, fn, accounted, sized in sides:
        if sized is not None:  # the memory call at a measurable size, warmed once
            case.sync(sized())
            fn = sized
        extra, result = peak_rss_extra(fn, case.sync)
        size = nbytes(result)
        del result
        if accounted is not None:
            extra = accounted()
            if extra is None:
                out["memory_note"] = case.memory_note
        elif size is not None and size < RSS_MIN_BYTES:  # heap memory the process holds: the RSS cannot see it
            extra = None
            out["memory_note"] = f"output under {RSS_MIN_BYTES >> 20} MiB: not measurable from the RSS"
        out[f"{name}_peak_bytes"] = extra
        out[f"{name}_peak_x_out"] = None if extra is None or not size else extra / size
        peaks[name] = extra
        if name == "ours":
            ours_size = size
    if out["ours_peak_x_out"] is None:
        out["memory_ok"] = None
    elif memory_ok(peaks["ours"], ours_size):
        out["memory_ok"] = True
    elif case.memory_bound:  # held to the native call's own peak (see BenchCase.memory_bound)
        out["memory_bound"] = case.memory_bound
        out["memory_ok"] = peaks["native"] is not None and peaks["ours"] <= peaks["native"] + MEMORY_SLACK_BYTES
    else:
        out["memory_ok"] = False
    return out


def memory_ok(extra: int, size: int) -> bool:
    """At most :data:`MEMORY_TARGET` outputs plus :data:`MEMORY_SLACK_BYTES`."""
    return extra <= MEMORY_TARGET * size + MEMORY_SLACK_BYTES


def verdict(ratio: float, target: float, min_speedup: float | None) -> bool:
    """OK when ``ours / native <= target`` or, with ``min_speedup``, ``native / ours >= min_speedup``."""
    if min_speedup is not None:
        return ratio * min_speedup <= 1.0
    return ratio <= target


def run_case(case: BenchCase, repeats: int = DEFAULT_REPEATS, warmup: int = DEFAULT_WARMUP,
             clock: str = "wall", min_time: float = 0.0) -> dict[str, Any]:
    """Time one case (see the module docstring): ``repeats`` rounds, then more while the timed
    calls total under ``min_time`` seconds (up to :data:`MAX_ROUNDS`); returns a JSON-able record."""
    if clock not in CLOCKS or (clock == "cpu" and case.device != "cpu"):
        raise ValueError(
            f"Argument `clock` must be 'wall', or 'cpu' for CPU cases. Received: clock={clock!r}")
    if not min_time >= 0.0:
        raise ValueError(f"Argument `min_time` must be >= 0 seconds. Received: min_time={min_time!r}")
    for _ in range(warmup):
        case.sync(case.ours())
        case.sync(case.native())
    ours: list[float] = []
    native: list[float] = []
    i = 0
    while i < repeats or (i < MAX_ROUNDS and sum(ours) + sum(native) < min_time):
        pair = [(ours, case.ours), (native, case.native)]
        for times, fn in pair if i % 2 == 0 else pair[::-1]:
            times.append(time_call(fn, case.sync, clock))
        i += 1
    o, n = statistics.median(ours), statistics.median(native)
    ratio = statistics.median(a / max(b, MIN_SECONDS) for a, b in zip(ours, native))
    return {
        "backend": case.backend, "case": case.label, "device": case.device, "clock": clock,
        "native_name": case.native_name, "rounds": len(ours), "ours_ms": o * SECONDS_TO_MS, "native_ms": n * SECONDS_TO_MS,
        "ours_all_ms": [t * SECONDS_TO_MS for t in ours],
        "native_all_ms": [t * SECONDS_TO_MS for t in native],
        "ratio": ratio, "speedup": 1.0 / max(ratio, MIN_SECONDS),
        "target": case.target, "min_speedup": case.min_speedup,
        "ok": verdict(ratio, case.target, case.min_speedup), "error": None,
        **_memory(case),
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


def _keras_cases(keras_backend: str, device: str, record: dict[str, Any]) -> list[BenchCase]:
    """The Keras drop-in's cases (:mod:`initspec.backends.keras.bench`) on ``keras_backend``;
    where Keras is missing or runs on another backend, none, and ``record["keras"]`` says why."""
    try:
        from initspec.backends.keras import bench as keras_bench
    except Exception as e:  # noqa: BLE001 - the package imports Keras: any failure means unavailable
        record["keras"] = f"keras drop-in not timed: keras failed to import ({type(e).__name__}: {e})"
        return []
    try:
        return keras_bench.bench_cases(keras_backend, device)
    except keras_bench.KerasUnavailable as e:
        record["keras"] = f"keras drop-in not timed: {e}"
        return []


def run_backend(name: str, device: str, repeats: int = DEFAULT_REPEATS,
                warmup: int = DEFAULT_WARMUP, clock: str = "wall",
                min_time: float = DEFAULT_MIN_TIME_S) -> dict[str, Any]:
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
    cases = cases_for(module, device)
    keras_backend = registry.get(name).keras_backend
    if keras_backend is not None:  # the Keras drop-in on this framework (the CLI sets KERAS_BACKEND)
        cases += _keras_cases(keras_backend, device, record)
    for case in cases:
        try:
            record["cases"].append(run_case(case, repeats, warmup, clock, min_time))
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
    ap.add_argument("--min-time", dest="min_time", type=float, default=DEFAULT_MIN_TIME_S,
                    help="seconds of timed calls per case: rounds are added beyond --repeats until then")
    ap.add_argument("--json", dest="json_path", default=None, help="write the record here (default: stdout)")
    args = ap.parse_args(argv)
    emit_record(run_backend(args.backend, args.device, args.repeats, max(args.warmup, 0), args.clock,
                            args.min_time), args.json_path)
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
