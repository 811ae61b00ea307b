"""The per-tensor bench runner's memory figures (``initspec bench``: peak extra RSS of one call of
each side, relative to its output) and the NumPy reference's bench cases. Deterministic checks of
what is reported, never of a timing."""

from __future__ import annotations

import numpy as np
import pytest

from initspec.backends import _bench_runner as runner
from initspec.backends._bench import BenchCase

#: 16 M float32 values (64 MiB): above glibc's largest mmap threshold (32 MiB), so every such
#: array is fresh memory the RSS sees
N = 1 << 24


def _plain() -> np.ndarray:
    return np.ones(N, dtype=np.float32)


def _hog() -> np.ndarray:
    """A planted wasteful call: four output-sized temporaries alive while the output is made."""
    tmp = [np.ones(N, dtype=np.float32) for _ in range(4)]
    out = np.ones(N, dtype=np.float32)
    del tmp
    return out


def _needs_proc() -> None:
    if runner._rss_bytes() is None:
        pytest.skip("no /proc/self/statm: the memory figures are None here")


def test_peak_memory_of_a_plain_and_a_wasteful_call():
    _needs_proc()
    rec = runner.run_case(BenchCase("fake", "plain", ours=_plain, native=_hog, native_name="hog"), repeats=1,
                          warmup=0)
    assert 0.5 <= rec["ours_peak_x_out"] <= runner.MEMORY_TARGET and rec["memory_ok"]
    assert rec["native_peak_x_out"] >= 4.0  # the hog's temporaries are seen
    swapped = runner.run_case(BenchCase("fake", "hog", ours=_hog, native=_plain, native_name="plain"), repeats=1,
                              warmup=0)
    assert swapped["ours_peak_x_out"] > runner.MEMORY_TARGET and swapped["memory_ok"] is False


def test_in_place_calls_count_only_what_they_allocate():
    _needs_proc()
    buf = np.zeros(N, dtype=np.float32)
    buf += 1  # touched: resident before the call

    def fill() -> np.ndarray:
        buf[:] = 2.0
        return buf

    rec = runner.run_case(BenchCase("fake", "in place", ours=fill, native=_plain, native_name="plain"),
                          repeats=1, warmup=0)
    assert rec["ours_peak_x_out"] < 0.25 and rec["memory_ok"]


def test_gpu_cases_have_no_memory_figures():
    case = BenchCase("fake", "gpu", ours=lambda: None, native=lambda: None, native_name="x", device="gpu")
    assert runner._memory(case) == {"ours_peak_x_out": None, "native_peak_x_out": None, "memory_ok": None}


@pytest.mark.parametrize("value, size", [(np.zeros((3, 4), np.float32), 48), (np.zeros(5, np.float64), 40),
                                         ("text", None), (None, None)])
def test_nbytes(value, size):
    assert runner.nbytes(value) == size


def test_bench_all_ok_counts_memory_misses():
    from initspec.cli.bench import all_ok, memory_text

    ok = {"ok": True, "memory_ok": True, "ours_peak_x_out": 1.2, "native_peak_x_out": 1.0}
    assert all_ok([{"status": "ok", "cases": [ok, {**ok, "memory_ok": None}]}])
    assert not all_ok([{"status": "ok", "cases": [{**ok, "memory_ok": False}]}])
    assert memory_text(ok) == "1.20x / 1.00x" and "MISS" in memory_text({**ok, "memory_ok": False})


def test_numpy_bench_cases(monkeypatch):
    """The NumPy reference's cases (issue 16's targets: within 2x of NumPy's own samplers, the
    portable stream at least half the native speed) run and report memory."""
    from initspec.backends.numpy import bench

    monkeypatch.setattr(bench, "BENCH_SHAPE", (64, 48))
    cases = bench.bench_cases()
    assert [c.label.split(" ")[0] for c in cases] == ["he_normal", "he_uniform", "he_truncated_normal", "portable"]
    assert all(c.target == bench.NUMPY_TARGET for c in cases) and cases[-1].min_speedup == 0.5
    for c in cases:
        ours, native = c.ours(), c.native()
        assert ours.shape == native.shape == (64, 48) and ours.dtype == native.dtype == np.float32
        rec = runner.run_case(c, repeats=1, warmup=0)
        assert set(rec) >= {"ours_peak_x_out", "native_peak_x_out", "memory_ok"}


def test_accounted_peaks_replace_the_rss():
    """A case that knows its calls' memory (XLA's buffer assignment for JAX) reports that."""
    case = BenchCase("fake", "accounted", ours=lambda: np.ones(1000, np.float32), native=_plain, native_name="plain",
                     ours_peak=lambda: 6000, native_peak=lambda: 2000)
    mem = runner._memory(case)
    assert mem["ours_peak_bytes"] == 6000 and mem["ours_peak_x_out"] == 1.5 and mem["memory_ok"]
    assert mem["native_peak_bytes"] == 2000 and mem["native_peak_x_out"] == pytest.approx(2000 / (4 * N))


def test_small_outputs_are_left_unmeasured():
    """Under 32 MiB the allocator serves a call from heap memory the process may already hold:
    no RSS figure (None, shown as ``-``) rather than a misleading 0x; a hog is not a MISS there."""
    _needs_proc()
    small = BenchCase("fake", "small", ours=lambda: np.ones(1 << 16, np.float32),
                      native=lambda: np.ones(1 << 16, np.float32), native_name="small")
    mem = runner._memory(small)
    assert mem["ours_peak_x_out"] is None and mem["native_peak_x_out"] is None and mem["memory_ok"] is None
    assert "not measurable" in mem["memory_note"]
    from initspec.cli.bench import memory_text

    assert "-" in memory_text(mem)
    assert runner.RSS_MIN_BYTES <= 4 * N  # the cases above are measured


def test_keras_cases_are_added_or_their_absence_said(monkeypatch):
    """A framework with a ``keras_backend`` gets the Keras drop-in's cases in its record; where
    Keras cannot run there, the record's ``keras`` entry says why (never a silent omission)."""
    import sys
    import types

    fake = types.ModuleType("initspec.backends.keras.bench")  # no Keras import in this test
    fake.KerasUnavailable = type("KerasUnavailable", (ImportError,), {})

    def refuse(backend, device):
        raise fake.KerasUnavailable(f"Keras runs on 'x', not {backend!r}")

    fake.bench_cases = refuse
    monkeypatch.setitem(sys.modules, "initspec.backends.keras.bench", fake)
    monkeypatch.setitem(sys.modules, "initspec.backends.keras", types.ModuleType("initspec.backends.keras"))
    sys.modules["initspec.backends.keras"].bench = fake
    record: dict = {}
    assert runner._keras_cases("jax", "cpu", record) == [] and "not 'jax'" in record["keras"]
    fake.bench_cases = lambda backend, device: ["case"]
    record = {}
    assert runner._keras_cases("jax", "cpu", record) == ["case"] and "keras" not in record
    monkeypatch.setitem(sys.modules, "initspec.backends.keras", None)  # a package whose import fails (no Keras)
    assert runner._keras_cases("jax", "cpu", record) == [] and "failed to import" in record["keras"]


def test_frameworks_declare_their_keras_backend():
    from initspec import registry

    declared = {n: registry.get(n).keras_backend for n in ("numpy", "torch", "tensorflow", "jax")}
    assert declared == {"numpy": None, "torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}
    from initspec.cli.bench import child_env

    assert child_env(None, "jax")["KERAS_BACKEND"] == "jax"


def test_memory_calls_at_a_measurable_size():
    """A case timed at a small size measures its memory on ``memory_ours``/``memory_native`` (the
    same law where the RSS sees it): the planted hog is caught there."""
    _needs_proc()
    small = lambda: np.ones(1 << 10, np.float32)  # noqa: E731
    case = BenchCase("fake", "sized", ours=small, native=small, native_name="small", memory_ours=_hog,
                     memory_native=_plain)
    mem = runner._memory(case)
    assert mem["ours_peak_x_out"] > runner.MEMORY_TARGET and mem["memory_ok"] is False
    assert 0.5 <= mem["native_peak_x_out"] <= runner.MEMORY_TARGET


def test_memory_verdict_counts_output_sized_buffers():
    """2x the output plus :data:`MEMORY_SLACK_BYTES` (a QR's per-column vectors, page noise) is
    OK; one more page-rounded vector of a large tensor is not."""
    size = 36 << 20
    assert runner.memory_ok(2 * size, size) and runner.memory_ok(2 * size + (12 << 10), size)
    assert not runner.memory_ok(2 * size + runner.MEMORY_SLACK_BYTES + 1, size)
    assert not runner.memory_ok(int(2.01 * size), size)
    none = BenchCase("fake", "unmeasured", ours=_plain, native=_plain, native_name="plain",
                     ours_peak=lambda: None, native_peak=lambda: None, memory_note="why not")
    mem = runner._memory(none)
    assert mem["ours_peak_x_out"] is None and mem["memory_ok"] is None and mem["memory_note"] == "why not"


def _small() -> np.ndarray:
    return np.ones(4, dtype=np.float32)


@pytest.mark.parametrize(("repeats", "min_time", "max_rounds", "rounds"), [
    (3, 0.0, 101, 3),     # no minimum: exactly ``repeats``
    (3, 0.05, 101, 3),    # 3 rounds of 2 x 10 ms already make 0.06 s
    (3, 0.5, 101, 25),    # 0.5 s of 20 ms rounds
    (3, 100.0, 9, 9),     # capped at MAX_ROUNDS
    (12, 100.0, 9, 12),   # ``repeats`` above the cap wins
])
def test_short_cases_run_rounds_until_min_time(monkeypatch, repeats, min_time, max_rounds, rounds):
    """Each (fake) call takes 10 ms: rounds are added beyond ``repeats`` until the timed calls sum
    to ``min_time``, at most ``MAX_ROUNDS``; ``rounds`` says how many ran."""
    monkeypatch.setattr(runner, "time_call", lambda fn, sync, clock="wall": 0.01)
    monkeypatch.setattr(runner, "MAX_ROUNDS", max_rounds)
    rec = runner.run_case(BenchCase("fake", "small", ours=_small, native=_small, native_name="small"),
                          repeats=repeats, warmup=0, min_time=min_time)
    assert rec["rounds"] == len(rec["ours_all_ms"]) == len(rec["native_all_ms"]) == rounds


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_min_time_is_validated(bad):
    with pytest.raises(ValueError, match=r"min_time.*Received: min_time="):
        runner.run_case(BenchCase("fake", "small", ours=_small, native=_small, native_name="small"),
                        repeats=1, warmup=0, min_time=bad)


@pytest.mark.parametrize(("bound", "ours_x", "native_x", "ok", "reported_bound"), [
    ("", 5.0, 5.0, False, False),              # undeclared: 5x is a MISS whatever the native holds
    ("kernel", 5.0, 5.0, True, True),          # declared, as much as the native call: bound, OK
    ("kernel", 5.0, 4.0, False, True),         # declared, but more than the native call: MISS
    ("kernel", 1.0, 5.0, True, False),         # declared, within the target anyway: plain OK
])
def test_a_native_bound_case_is_held_to_the_native_peak(bound, ours_x, native_x, ok, reported_bound):
    """``memory_bound`` (a drop-in whose values are the native kernel's) replaces the 2x target by
    the native call's own peak, and the record says why; a planted hog above its native is caught."""
    from initspec.cli.bench import all_ok, bound_notes, memory_text

    size = N * 4
    case = BenchCase("fake", "bound", ours=_plain, native=_plain, native_name="plain", memory_bound=bound,
                     ours_peak=lambda: int(ours_x * size), native_peak=lambda: int(native_x * size))
    rec = {**runner._memory(case), "ok": True, "case": "bound"}
    assert rec["memory_ok"] is ok and ("memory_bound" in rec) is reported_bound
    assert all_ok([{"status": "ok", "cases": [rec]}]) is ok
    text = memory_text(rec)
    assert ("MISS" in text) is (not ok) and ("= native" in text) is (ok and reported_bound)
    notes = bound_notes([{"backend": "fake", "cases": [rec]}])
    assert notes == ([f"= native: fake bound: {bound}"] if reported_bound else [])


def test_portable_bench_frameworks_come_from_the_registry():
    """``initspec portable bench``'s worker accepts every registered framework with a portable
    module (no names spelled in it); one without bench cases (the NumPy reference) is reported."""
    from initspec import registry
    from initspec.backends.portable import _bench_main

    assert set(_bench_main.FRAMEWORKS) == {n for n, f in registry.frameworks().items() if f.portable}
    rec = _bench_main.run("numpy", "cpu", 1, 0)
    assert rec["status"] == "unavailable" and "no portable bench cases on cpu" in rec["reason"] and rec["cases"] == []


def test_portable_normal_cases_bind_each_available_device():
    """The shared portable case: one per available device (or the one asked for), issue 16's shape
    and speed target, the framework's calls as ``make`` returns them."""
    from initspec.backends import _bench

    made = []

    def make(where, shape):
        made.append((where, shape))
        return (lambda: "ours"), (lambda: "native"), (lambda r: r)

    cpu_only = lambda d: (d == "cpu", "" if d == "cpu" else "no gpu")  # noqa: E731
    cases = _bench.portable_normal_cases("fake", "fake.normal", None, cpu_only, make)
    assert made == [("cpu", _bench.PORTABLE_BENCH_SHAPE)] and [c.device for c in cases] == ["cpu"]
    (c,) = cases
    assert (c.backend, c.native_name, c.min_speedup) == ("portable-fake", "fake.normal", 0.5)
    assert c.label == "portable normal 4096x4096 float32 (min_speedup=0.5)" and (c.ours(), c.native()) == ("ours", "native")
    assert _bench.portable_normal_cases("fake", "fake.normal", "gpu", cpu_only, make) == []
