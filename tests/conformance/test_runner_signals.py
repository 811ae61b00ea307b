"""Runner faults (issue 15): workers never outlive ``initspec conform``, its temp folder goes
with it, ``results.json`` + ``report.html`` are replaced as one unit, and a requested backend that
cannot be imported makes the exit status 3 unless ``--allow-unavailable``.

Framework-free: the runs use the NumPy backend, and the unavailable backend is a ``torch`` whose
import fails (a fake ``torch.py`` on ``PYTHONPATH``), so no framework is imported here."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from initspec.conformance import _procs, _rundir, runner
from initspec.conformance.results import load

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and prctl are Linux-only")

CLI = [sys.executable, "-c", "from initspec.cli import main; raise SystemExit(main())", "conform"]
#: a run whose NumPy worker takes long enough to be interrupted (the full matrix, nothing else)
SLOW = ["--backends", "numpy", "--no-experiments", "--no-natives", "--no-portable", "--no-progress"]
FAST = ["--quick", "--no-experiments", "--no-natives", "--no-portable", "--no-progress", "--no-report"]
OLD = {_rundir.RESULTS_NAME: '{"old": "results"}', _rundir.REPORT_NAME: "<html>old report</html>"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmpdir), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0", **extra}


def _old_pair(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for name, text in OLD.items():
        (out / name).write_text(text)
    return out


def _workers_of(ppid: int) -> list[int]:
    """Pids of the conformance workers whose parent is ``ppid`` (a /proc scan)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            cmd = Path(f"/proc/{d}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == ppid and b"initspec.conformance.worker" in cmd:
            pids.append(int(d))
    return pids


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie has exited (a container's pid 1 may never reap it)


def _wait_for(pred, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _start_slow_run(tmp_path: Path, out: Path) -> tuple[subprocess.Popen[str], list[int]]:
    proc = subprocess.Popen([*CLI, *SLOW, "--out", str(out)], env=_env(tmp_path), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        workers = _wait_for(lambda: _workers_of(proc.pid) or proc.poll() is not None, 60, "the numpy worker")
    except AssertionError:
        proc.kill()
        raise
    assert workers is not True, f"the run ended before its worker was seen: {proc.communicate()}"
    return proc, workers


def _run_tempdirs(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").glob(_procs.TEMP_PREFIX + "*"))


# ---------------------------------------------------------------------------- signals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_runner_stops_its_workers_and_writes_nothing(tmp_path, sig):
    out = _old_pair(tmp_path)
    proc, workers = _start_slow_run(tmp_path, out)
    time.sleep(0.3)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=_procs.GRACE_S + 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the runner was still running 10 s after {sig.name}")
    finally:
        for pid in workers:  # never leave a worker behind, even when the test fails
            if not _dead(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 128 + sig, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"interrupted by {sig.name}" in lines[0], err
    assert all(_dead(pid) for pid in workers)
    assert _run_tempdirs(tmp_path) == []
    assert {p.name for p in out.iterdir()} == set(OLD)  # no run-*, no staging, no links
    assert {name: (out / name).read_text() for name in OLD} == OLD


def test_sigkill_of_the_runner_kills_its_workers(tmp_path):
    """A SIGKILLed runner can clean nothing: its workers die by their parent-death signal; its
    temp folder is the one unavoidable leak, which the next run's sweep removes."""
    out = _old_pair(tmp_path)
    proc, workers = _start_slow_run(tmp_path, out)
    time.sleep(0.5)  # the bootstrap arms the parent-death signal within milliseconds of the start
    proc.kill()
    proc.communicate()
    try:
        _wait_for(lambda: all(_dead(pid) for pid in workers), 5, "the orphaned worker to die")
    finally:
        for pid in workers:
            if not _dead(pid):
                os.kill(pid, signal.SIGKILL)
    assert {name: (out / name).read_text() for name in OLD} == OLD
    leaked = _run_tempdirs(tmp_path)
    assert len(leaked) <= 1
    assert [p.name for p in _procs.sweep_stale_tempdirs(tmp_path / "tmp")] == leaked
    assert _run_tempdirs(tmp_path) == []


def test_a_child_whose_runner_died_before_it_started_exits_at_once(tmp_path):
    """The race the bootstrap closes: the runner died between fork and prctl."""
    cmd = _procs.child_command("initspec.conformance.worker", ["--help"])
    r = subprocess.run(cmd, env={**os.environ, _procs.PARENT_PID_ENV: "1"}, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 128 + signal.SIGTERM and r.stdout == ""
    r = subprocess.run(_procs.child_command("initspec.cli:main", ["--help"]), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "conform" in r.stdout


# ---------------------------------------------------------------------------- unavailable backends


@pytest.mark.parametrize("allow", [False, True], ids=["default", "allow-unavailable"])
def test_an_unavailable_requested_backend_exits_3_unless_allowed(tmp_path, allow):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "torch.py").write_text('raise ImportError("torch is broken in this test")\n')
    env = _env(tmp_path, PYTHONPATH=os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")]))
    args = [*CLI, "--backends", "torch", *FAST, "--out", str(tmp_path / "out")]
    r = subprocess.run(args + (["--allow-unavailable"] if allow else []), env=env, capture_output=True, text=True,
                       timeout=120)
    errors = [line for line in r.stderr.splitlines() if line.startswith("initspec: error:")]
    if allow:
        assert r.returncode == 0 and errors == [], r.stderr
    else:
        assert r.returncode == runner.EXIT_UNAVAILABLE, r.stdout + r.stderr
        assert len(errors) == 1 and "'torch'" in errors[0] and "torch is broken in this test" in errors[0]
        assert "--allow-unavailable" in errors[0]
    assert list(runner.unavailable_backends(load(tmp_path / "out" / "results.json"))) == ["torch"]


def test_a_missing_device_is_not_an_unavailable_backend():
    doc = {"backends": [
        {"backend": "numpy", "device": "cpu", "status": "ok", "versions": {"numpy": "2"}},
        {"backend": "numpy", "device": "gpu", "status": "unavailable", "reason": "no GPU", "versions": {"numpy": "2"}},
        {"backend": "jax", "device": "cpu", "status": "unavailable", "reason": "Backend 'jax' is\nunavailable"},
        {"backend": "jax", "device": "gpu", "status": "unavailable", "reason": "Backend 'jax' is\nunavailable"},
    ], "checks": []}
    assert runner.unavailable_backends(doc) == {"jax": "Backend 'jax' is unavailable"}
    assert runner.exit_code(doc, allow_unavailable=False) == runner.EXIT_UNAVAILABLE
    assert runner.exit_code(doc, allow_unavailable=True) == 0
    doc["checks"] = [{"id": "x", "verdict": "fail", "subject": "initspec"}]
    assert runner.exit_code(doc, allow_unavailable=False) == runner.EXIT_FAILED  # a failure outranks it


# ---------------------------------------------------------------------------- the published pair


def _publish(out: Path, results: str, report: str | None) -> Path:
    with _rundir.staging(out) as staged:
        (staged / _rundir.RESULTS_NAME).write_text(results)
        if report is not None:
            (staged / _rundir.REPORT_NAME).write_text(report)
        return _rundir.publish(out, staged)


def _shown(out: Path) -> dict[str, str | None]:
    return {n: (out / n).read_text() if (out / n).exists() else None for n in _rundir.NAMES}


def test_publishing_migrates_an_old_pair_then_switches_both_files_at_once(tmp_path):
    out = _old_pair(tmp_path)
    run = _publish(out, "new results", "new report")
    assert _shown(out) == {_rundir.RESULTS_NAME: "new results", _rundir.REPORT_NAME: "new report"}
    assert _rundir.current(out) == run
    assert all(os.readlink(out / n) == os.path.join(_rundir.LATEST, n) for n in _rundir.NAMES)
    assert sorted(p.name for p in out.iterdir()) == sorted([*_rundir.NAMES, _rundir.LATEST, run.name])
    # the next run replaces the pair and removes the previous run's folder
    run2 = _publish(out, "newer results", None)
    assert _shown(out) == {_rundir.RESULTS_NAME: "newer results", _rundir.REPORT_NAME: None}  # never a stale report
    assert not run.exists() and _rundir.current(out) == run2


def test_a_run_that_fails_before_publishing_leaves_the_old_pair(tmp_path):
    out = _old_pair(tmp_path)
    with pytest.raises(KeyboardInterrupt), _rundir.staging(out) as staged:
        (staged / _rundir.RESULTS_NAME).write_text("new results")
        raise KeyboardInterrupt  # killed between the two files
    assert _shown(out) == OLD and {p.name for p in out.iterdir()} == set(OLD)


def test_a_users_report_over_the_link_is_kept_until_the_next_switch(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    _publish(out, "r1", "p1")
    (out / _rundir.REPORT_NAME).unlink()
    (out / _rundir.REPORT_NAME).write_text("user's report")  # e.g. initspec report ... --out DIR/report.html
    with _rundir.staging(out) as staged:
        (staged / _rundir.RESULTS_NAME).write_text("r2")
        (staged / _rundir.REPORT_NAME).write_text("p2")
        _rundir._migrate(out)  # the step before the switch keeps what DIR shows
        assert _shown(out) == {_rundir.RESULTS_NAME: "r1", _rundir.REPORT_NAME: "user's report"}
        _rundir.publish(out, staged)
    assert _shown(out) == {_rundir.RESULTS_NAME: "r2", _rundir.REPORT_NAME: "p2"}


def test_sweep_removes_only_temp_folders_of_dead_runners(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"{_procs.TEMP_PREFIX}{gone.pid}-abc"
    live = tmp_path / f"{_procs.TEMP_PREFIX}{os.getpid()}-abc"
    other = tmp_path / "unrelated-1-abc"
    for p in (stale, live, other):
        p.mkdir()
    assert _procs.sweep_stale_tempdirs(tmp_path) == [stale]
    assert live.exists() and other.exists()
