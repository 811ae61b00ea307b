"""Child processes of the conformance runner that never outlive it.

Three guarantees, one per way a run can end early:

* **SIGINT / SIGTERM to the runner** - :class:`ProcessGroup` installs handlers (main thread only)
  that only record the signal; the runner's wait loop (:meth:`ProcessGroup.wait_all`, polled every
  :data:`POLL_S`) then stops every child - ``SIGTERM`` to its process group, :data:`GRACE_S` to
  exit, then ``SIGKILL`` - refuses to start new ones and raises :class:`RunInterrupted`
  (exit status ``128 + signal``: 130 / 143). Each child runs in its own session
  (``start_new_session``), so a terminal's Ctrl-C reaches the runner alone and the runner
  decides; a child's own children die with its process group.
* **SIGKILL of the runner** - nothing in the runner can run, so each child asks the kernel for a
  parent-death signal: it is started as ``python -c BOOTSTRAP TARGET ARGS...``
  (:data:`BOOTSTRAP`), which calls ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` (Linux, see
  ``man 2 prctl``) before importing anything heavy, exits at once if the runner already died in
  between (``getppid()`` is no longer :data:`PARENT_PID_ENV`), then runs ``TARGET``. The
  signal fires when the *thread* that forked the child exits; the runner forks from its pool
  threads (and the main thread), which live until every child they started has exited.
  No ``preexec_fn`` is used: it is unsafe in a process with threads.
* **Temp folders** - :func:`run_tempdir` names its folder after the runner's pid and removes it on
  every exit but ``SIGKILL``; a later run's :func:`sweep_stale_tempdirs` removes folders whose
  runner is gone (the one leak ``SIGKILL`` makes unavoidable).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

#: environment variable carrying the runner's pid to its children
PARENT_PID_ENV = "INITSPEC_PARENT_PID"
#: seconds between the runner's checks for a received signal
POLL_S = 0.1
#: seconds a child gets to exit after SIGTERM before SIGKILL
GRACE_S = 3.0
#: prefix of the runner's temp folders: ``initspec-conform-<pid>-XXXX``
TEMP_PREFIX = "initspec-conform-"
#: signals the runner forwards to its children
FORWARDED = (signal.SIGINT, signal.SIGTERM)
_PR_SET_PDEATHSIG = 1


class RunInterrupted(Exception):
    """The run was stopped by ``signum``; every child is gone and nothing was written."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        name = signal.Signals(self.signum).name
        super().__init__(f"interrupted by {name}: workers stopped, no results written")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: ``128 + signum``."""
        return 128 + self.signum


# ---------------------------------------------------------------------------- child side
#: what a child runs first, as ``python -c BOOTSTRAP TARGET ARGS...``: arm the parent-death
#: signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``, Linux), exit if the runner already died, then run
#: ``TARGET`` - a module as ``__main__``, or ``module:function`` whose return is the exit status.
#: Plain source, not a module of this package: importing ``initspec`` takes seconds (SciPy), and
#: the signal must be armed before that.
BOOTSTRAP = f"""\
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    try:
        ctypes.CDLL(None).prctl({_PR_SET_PDEATHSIG}, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
_parent = os.environ.get("{PARENT_PID_ENV}", "")
if _parent.isdigit() and os.getppid() != int(_parent):
    os._exit(128 + signal.SIGTERM)
target, sys.argv = sys.argv[1], sys.argv[1:]
if ":" in target:
    import importlib
    module, func = target.split(":", 1)
    rc = getattr(importlib.import_module(module), func)()
    sys.exit(rc if isinstance(rc, int) else 0)
import runpy
runpy.run_module(target, run_name="__main__", alter_sys=True)
"""


def child_command(target: str, args: Sequence[str]) -> list[str]:
    """The command that runs ``target`` (a module run as ``__main__``, or ``module:function``
    whose return value is the exit status) as a child that dies with the runner
    (:data:`BOOTSTRAP`)."""
    return [sys.executable, "-c", BOOTSTRAP, target, *args]


# ---------------------------------------------------------------------------- parent side
class ProcessGroup:
    """The runner's live children, and the signal trap that stops them all.

    Use as a context manager around the whole run: on exit every child still alive is stopped and
    the previous signal handlers come back."""

    def __init__(self, *, trap: bool = True, grace_s: float = GRACE_S) -> None:
        self.grace_s = grace_s
        self.signum: int | None = None
        self._trap = trap
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[Any]] = {}
        self._closed = False
        self._saved: dict[int, Any] = {}

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> "ProcessGroup":
        if self._trap and threading.current_thread() is threading.main_thread():
            for sig in FORWARDED:
                self._saved[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.stop()
        finally:
            for sig, handler in self._saved.items():
                signal.signal(sig, handler)
            self._saved.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        # only record: the wait loop stops the children outside the handler (no locks taken here)
        if self.signum is None:
            self.signum = signum

    # -- children -------------------------------------------------------------------------
    def popen(self, cmd: Sequence[str], *, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[Any]:
        """Start a child in its own session, tracked until :meth:`forget`; refuses (raising
        :class:`RunInterrupted`) once the group is stopping."""
        env = dict(os.environ if env is None else env)
        env[PARENT_PID_ENV] = str(os.getpid())
        with self._lock:
            if self._closed:
                raise RunInterrupted(self.signum or signal.SIGTERM)
            proc = subprocess.Popen(list(cmd), env=env, start_new_session=True, **kw)
            self._procs[proc.pid] = proc
        return proc

    def forget(self, proc: subprocess.Popen[Any]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def pids(self) -> list[int]:
        with self._lock:
            return list(self._procs)

    @staticmethod
    def kill(proc: subprocess.Popen[Any], sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to ``proc``'s whole process group (it leads its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)

    def stop(self) -> None:
        """Refuse new children; SIGTERM every live one, SIGKILL those alive after the grace."""
        with self._lock:
            self._closed = True
            procs = list(self._procs.values())
        live = [p for p in procs if p.poll() is None]
        for p in live:
            self.kill(p, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        for p in live:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(p, signal.SIGKILL)
                p.wait()

    def check(self) -> None:
        """Raise :class:`RunInterrupted` (after stopping every child) once a signal was received."""
        if self.signum is not None:
            self.stop()
            raise RunInterrupted(self.signum)

    # -- waiting --------------------------------------------------------------------------
    def wait_all(self, futures: Sequence[concurrent.futures.Future[Any]]) -> list[Any]:
        """The futures' results in order, checking for a signal every :data:`POLL_S`."""
        pending = set(futures)
        while pending:
            self.check()
            _, pending = concurrent.futures.wait(pending, timeout=POLL_S)
        self.check()
        return [f.result() for f in futures]

    def run(self, cmd: Sequence[str], *, timeout_s: float, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        """``subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)`` that a signal
        interrupts within :data:`POLL_S`; the child's group is killed on timeout."""
        proc = self.popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                self.check()
                try:
                    out, err = proc.communicate(timeout=min(POLL_S, max(0.0, deadline - time.monotonic())))
                    return subprocess.CompletedProcess(list(cmd), proc.returncode, out, err)
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        self.kill(proc)
                        proc.communicate()
                        raise subprocess.TimeoutExpired(list(cmd), timeout_s) from None
        finally:
            self.forget(proc)


# ---------------------------------------------------------------------------- temp folders
def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_tempdirs(base: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove this user's runner temp folders whose runner process no longer exists."""
    removed = []
    root = Path(base or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for p in root.glob(TEMP_PREFIX + "*-*"):
            pid = p.name[len(TEMP_PREFIX):].split("-", 1)[0]
            try:
                mine = p.is_dir() and not p.is_symlink() and p.stat().st_uid == os.getuid()
            except (OSError, AttributeError):
                mine = False
            if mine and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    return removed


@contextlib.contextmanager
def run_tempdir() -> Iterator[Path]:
    """A temp folder ``initspec-conform-<pid>-XXXX`` removed on exit (after sweeping stale ones)."""
    sweep_stale_tempdirs()
    path = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

