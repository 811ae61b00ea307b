"""Benchmark case description shared by the adapters (framework-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

#: issue 16's large-tensor portable case: a portable normal of this shape (float32) against the
#: framework's own normal sampler (:func:`portable_normal_cases`)
PORTABLE_BENCH_SHAPE = (4096, 4096)
#: at least half the native speed (``native_time / ours_time >= 0.5``)
PORTABLE_MIN_SPEEDUP = 0.5
#: the devices a portable bench looks at when none is asked for
PORTABLE_BENCH_DEVICES = ("cpu", "gpu")


@dataclass(frozen=True)
class BenchCase:
    """One timed comparison: ``ours()`` vs ``native()`` producing the same distribution/shape.

    ``sync(result)`` must block until the result is computed (e.g. ``torch.cuda.synchronize``,
    ``jax.block_until_ready``); ``target`` is the maximum allowed ratio ours/native (or, with
    ``min_speedup``, the minimum native/ours speed-up). ``ours_peak``/``native_peak``, where given,
    return a call's peak memory in bytes from the framework's own accounting (XLA's buffer
    assignment: the process RSS does not show memory XLA's runtime reuses); otherwise the runner
    samples the RSS. ``memory_ours``/``memory_native``, where given, are the calls whose memory is
    measured instead: the same law at a size the RSS sees (>= 32 MiB) where the timed size is
    smaller (a QR at 3072x3072 costs seconds; the timing stays at 1024x1024). An accounted peak of
    None means "not measurable here", with ``memory_note`` saying why. ``memory_bound``, where
    set, says why ``ours`` cannot hold less than ``native`` (its values are, by contract, those of
    the native call's own kernel): the case's memory is then held to the native call's peak
    instead of :data:`~initspec.backends._bench_runner.MEMORY_TARGET` outputs, and reported as
    bound, not as within the target.
    """

    backend: str
    label: str  # e.g. "he_normal 4096x4096 float32"
    ours: Callable[[], Any]
    native: Callable[[], Any]
    native_name: str  # e.g. "torch.nn.init.kaiming_normal_"
    sync: Callable[[Any], Any] = lambda r: r
    target: float = 1.10
    min_speedup: float | None = None
    device: str = "cpu"
    ours_peak: Callable[[], int] | None = None
    native_peak: Callable[[], int] | None = None
    memory_ours: Callable[[], Any] | None = None
    memory_native: Callable[[], Any] | None = None
    memory_note: str = ""  # why an accounted peak is None (not measurable for this case)
    memory_bound: str = ""  # why ours cannot hold less than the native call (its kernel's values)


#: ``make(device, shape) -> (ours, native, sync)``: one framework's calls for the portable case
PortableCalls = Callable[[str, tuple[int, ...]], tuple[Callable[[], Any], Callable[[], Any], Callable[[Any], Any]]]


def portable_normal_cases(framework: str, native_name: str, device: str | None,
                          available: Callable[[str], tuple[bool, str]], make: PortableCalls) -> list[BenchCase]:
    """The portable bench's cases of ``framework`` (``initspec portable bench``): on ``device``, or
    on each of :data:`PORTABLE_BENCH_DEVICES` that ``available`` accepts, a portable normal of
    :data:`PORTABLE_BENCH_SHAPE` against ``native_name``, required to reach
    :data:`PORTABLE_MIN_SPEEDUP` of the native speed. ``make`` binds the framework's calls."""
    shape = PORTABLE_BENCH_SHAPE
    cases = []
    for where in PORTABLE_BENCH_DEVICES if device is None else (device,):
        if not available(where)[0]:
            continue
        ours, native, sync = make(where, shape)
        cases.append(BenchCase(
            backend=f"portable-{framework}",
            label=f"portable normal {shape[0]}x{shape[1]} float32 (min_speedup={PORTABLE_MIN_SPEEDUP:g})",
            ours=ours, native=native, native_name=native_name, sync=sync, target=2.0,
            min_speedup=PORTABLE_MIN_SPEEDUP, device=where,
        ))
    return cases
