"""The conformance runner: one worker subprocess per backend, merged into ``results.json``.

:func:`run_conformance` starts ``python -m initspec.conformance.worker`` for each backend (each
framework in its own process, so TensorFlow, torch and JAX never share one interpreter and a
crash in one is recorded instead of taking the run down), at most ``jobs`` at a time, the slowest
to import first. Workers report progress as JSON lines (:data:`~initspec.conformance.worker.
PROGRESS_PREFIX`), shown as one rich progress bar per backend. The partial documents are merged
with the representative-layer fan table, the experiments' merged claims, a Bonferroni
budget (each worker gets ``alpha / number of backend processes``), the environment and timings.
``results.json`` and the ``report.html`` that ``initspec.reports`` renders from it (when that
package is present) are written into a fresh staging folder and published as one unit
(:mod:`initspec.conformance._rundir`): ``DIR/results.json`` and ``DIR/report.html`` are links
through ``DIR/latest``, switched to the new pair by one atomic rename, so DIR's report always
belongs to DIR's results and a run that ends early leaves the previous pair untouched.

Workers never outlive the runner (:mod:`initspec.conformance._procs`): each runs in its own
session with a parent-death signal (Linux ``prctl(PR_SET_PDEATHSIG)``), so it dies even when the
runner is SIGKILLed; on SIGINT/SIGTERM the runner stops every worker (SIGTERM, then SIGKILL after
a grace period), removes its temp folder, writes nothing and raises
:class:`~initspec.conformance._procs.RunInterrupted` (``initspec conform`` exits 130 / 143).

Exit status (:func:`exit_code`): 1 when a check of an initspec adapter (subject ``initspec``)
failed or a worker crashed; else 3 when a requested backend is unavailable (its framework did not
import; :func:`unavailable_backends`) unless ``allow_unavailable``; else 0 (native findings,
skips and unavailable *devices* do not count).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from initspec import registry
from initspec.errors import InitSpecError, UnknownNameError, unknown

from . import _rundir
from ._procs import ProcessGroup, RunInterrupted, child_command, run_tempdir  # noqa: F401 - RunInterrupted re-exported
from ._rundir import REPORT_NAME, RESULTS_NAME
from .records import BackendRun, Check
from .results import empty_results, summarize, write_atomic
from .worker import DEVICES, EXPERIMENT_SIZES, PROGRESS_PREFIX, WorkerConfig

DEVICE_CHOICES = ("cpu", "gpu", "all")
DEFAULT_ALPHA = 1e-3
DEFAULT_JOBS = 2
#: exit statuses of ``initspec conform`` (0: every initspec check passed)
EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 1, 2, 3
#: lines of a crashed worker's stderr kept in the results
STDERR_TAIL_LINES = 30
#: a worker that runs longer than this is killed and recorded as an error
WORKER_TIMEOUT_S = 1800


class RunnerError(InitSpecError):
    """Bad runner input (unknown backend/device, unusable output folder): exit code 2."""


@dataclass
class RunConfig:
    """Everything ``initspec conform`` was asked to do."""

    backends: tuple[str, ...] = field(default_factory=registry.names)
    device: str = "cpu"
    out: Path = Path("reports/out")
    seed: int = 0
    alpha: float = DEFAULT_ALPHA
    experiments: bool = True
    quick: bool = False
    natives: bool = True
    probes: bool = True
    jobs: int = DEFAULT_JOBS
    report: bool = True
    #: cross-backend agreement of the portable stream (``initspec portable check``)
    portable: bool = True
    #: exit 0 (not 3) when a requested backend's framework cannot be imported
    allow_unavailable: bool = False
    #: only these schemes of the matrix (None: all)
    schemes: tuple[str, ...] | None = None
    #: "default" or "quick" experiments (None: quick with --quick, else default)
    experiments_size: str | None = None
    command: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def devices(self) -> tuple[str, ...]:
        return DEVICES if self.device == "all" else (self.device,)


# ---------------------------------------------------------------------------- validation
def parse_backends(text: "str | Sequence[str]") -> tuple[str, ...]:
    """``"numpy,torch"`` -> ``("numpy", "torch")``; unknown names raise naming the value."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n and n.strip()]
    if not names:
        raise RunnerError(f"--backends needs at least one of {', '.join(registry.names())}. "
                          f"Received: --backends={text!r}")
    for n in names:
        registry.get(n, argument="--backends")
    return tuple(dict.fromkeys(names))


def parse_schemes(text: "str | Sequence[str] | None") -> tuple[str, ...] | None:
    """``"he_normal,xavier_uniform"`` -> canonical scheme names (aliases accepted); None: all."""
    from initspec.schemes import get_scheme

    if text is None:
        return None
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n and n.strip()]
    if not names:
        raise RunnerError(f"--schemes needs at least one scheme name. Received: --schemes={text!r}")
    out = []
    for n in names:
        try:
            out.append(get_scheme(n).name)
        except UnknownNameError as e:
            raise unknown("scheme", "--schemes", n, _scheme_names()) from e
    return tuple(dict.fromkeys(out))


def _scheme_names() -> list[str]:
    from initspec.schemes import SCHEMES

    return list(SCHEMES)


def check_device(device: str) -> str:
    if device not in DEVICE_CHOICES:
        raise unknown("device", "--device", device, DEVICE_CHOICES)
    return device


def check_out_dir(out: "str | os.PathLike[str]") -> Path:
    """Create ``out`` if needed and prove it is a writable folder (one-line errors)."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise RunnerError(f"--out must be a folder, but it is a file. Received: --out={str(out)!r}")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".initspec-write-test.", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise RunnerError(f"--out is not writable ({e.strerror or e}). Received: --out={str(out)!r}") from None
    return p


def validate(cfg: RunConfig) -> RunConfig:
    cfg.backends = parse_backends(cfg.backends)
    cfg.schemes = parse_schemes(cfg.schemes)
    check_device(cfg.device)
    if cfg.experiments_size not in (None, *EXPERIMENT_SIZES):
        raise unknown("experiments size", "--experiments-size", cfg.experiments_size, EXPERIMENT_SIZES)
    if isinstance(cfg.seed, bool) or not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise RunnerError(f"--seed must be a non-negative int. Received: --seed={cfg.seed!r}")
    if not 0 < cfg.alpha < 1:
        raise RunnerError(f"--alpha must be in (0, 1). Received: --alpha={cfg.alpha!r}")
    if isinstance(cfg.jobs, bool) or not isinstance(cfg.jobs, int) or cfg.jobs < 1:
        raise RunnerError(f"--jobs must be an int >= 1. Received: --jobs={cfg.jobs!r}")
    cfg.out = check_out_dir(cfg.out)
    return cfg


# ---------------------------------------------------------------------------- workers
@dataclass
class WorkerResult:
    backend: str
    part: dict[str, Any] | None
    returncode: int
    stderr_tail: str
    duration_s: float


def worker_configs(cfg: RunConfig) -> list[WorkerConfig]:
    """One :class:`WorkerConfig` per backend; each gets an equal share of the run's alpha."""
    share = cfg.alpha / max(1, len(cfg.backends) * len(cfg.devices))
    order = sorted(cfg.backends, key=lambda b: -registry.get(b).startup_s)  # slowest import first
    return [WorkerConfig(backend=b, devices=cfg.devices, seed=cfg.seed, alpha=share, quick=cfg.quick,
                         experiments=cfg.experiments, natives=cfg.natives, probes=cfg.probes, schemes=cfg.schemes,
                         experiments_size=cfg.experiments_size)
            for b in order]


def jax_cache_dir() -> Path | None:
    """Where the JAX worker keeps XLA's persistent compilation cache: ``$INITSPEC_JAX_CACHE`` (a
    folder; ``0`` disables it), else ``$XDG_CACHE_HOME/initspec/jax`` (``~/.cache/...``). JAX
    compiles one program per scheme x shape x dtype; on a 2-core machine that is most of the JAX
    run, and the cache (keyed by JAX version, device and flags) makes every later run reuse it."""
    val = os.environ.get("INITSPEC_JAX_CACHE")
    if val == "0":
        return None
    if val:
        return Path(val)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "initspec" / "jax"


def worker_env(backend: str) -> dict[str, str]:
    """The environment of one worker: quiet TensorFlow, a fixed hash seed, and for JAX the
    persistent compilation cache (unless the user configured their own)."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONHASHSEED", "0")
    # two workers share the cores; oversubscribed BLAS/OpenMP threads make small matmuls ~90x slower
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    entry = registry.frameworks().get(backend)  # "portable" (the cross-check process) is no backend
    cache = jax_cache_dir() if entry is not None and entry.xla_compile_cache else None
    if cache is not None and "JAX_COMPILATION_CACHE_DIR" not in env:
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache)
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
        env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    return env


def run_worker(wc: WorkerConfig, workdir: Path, on_event: Callable[[dict[str, Any]], None],
               timeout_s: float = WORKER_TIMEOUT_S, group: ProcessGroup | None = None) -> WorkerResult:
    """Run one worker subprocess to completion (killed after ``timeout_s``), forwarding its
    progress events. The worker belongs to ``group`` (a private one when None): it dies with the
    runner (:mod:`initspec.conformance._procs`)."""
    if group is None:
        with ProcessGroup(trap=False) as own:
            return run_worker(wc, workdir, on_event, timeout_s, own)
    part_path = workdir / f"part-{wc.backend}.json"
    cmd = child_command("initspec.conformance.worker", ["--config", json.dumps(asdict(wc)), "--out", str(part_path)])
    t0 = time.perf_counter()
    stderr_lines: list[str] = []
    proc = group.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=worker_env(wc.backend),
                       bufsize=1)

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_lines.append(line.rstrip("\n"))
            del stderr_lines[:-STDERR_TAIL_LINES * 4]

    t_err = threading.Thread(target=pump_err, daemon=True)
    t_err.start()
    killed = threading.Event()

    def kill() -> None:
        killed.set()
        group.kill(proc)

    watchdog = threading.Timer(timeout_s, kill)
    watchdog.start()
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith(PROGRESS_PREFIX):
                try:
                    on_event(json.loads(line[len(PROGRESS_PREFIX):]))
                except json.JSONDecodeError:
                    pass
        rc = proc.wait()
    finally:
        watchdog.cancel()
        group.forget(proc)
    t_err.join(timeout=5)
    if killed.is_set():
        stderr_lines.append(f"killed after {timeout_s} s (worker timeout)")
    part = None
    if part_path.is_file():
        try:
            part = json.loads(part_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            part = None
    return WorkerResult(wc.backend, part, rc, "\n".join(stderr_lines[-STDERR_TAIL_LINES:]),
                        round(time.perf_counter() - t0, 3))


# ---------------------------------------------------------------------------- merging
def crashed_part(res: WorkerResult, devices: Sequence[str]) -> dict[str, Any]:
    """The partial document of a worker that died: an ``error`` backend run and a failing check."""
    reason = f"worker exited with status {res.returncode}: {res.stderr_tail.strip().splitlines()[-1:] or ['?']}"
    part: dict[str, Any] = {"backends": [], "checks": [], "samples": {}, "native": [], "experiments": None,
                            "messages": [reason]}
    for dev in devices:
        part["backends"].append(BackendRun(backend=res.backend, device=dev, status="error", reason=reason,
                                           duration_s=res.duration_s).as_dict())
        part["checks"].append(Check.make(
            backend=res.backend, device=dev, scheme="*", check="worker", tier="exact", verdict="fail",
            measured=res.returncode, expected=0, message=f"{reason}\n{res.stderr_tail}",
        ).as_dict())
    return part


def dedupe_ids(checks: list[dict[str, Any]]) -> None:
    """Make check ids unique (``#2``, ``#3`` suffixes) without reordering."""
    seen: dict[str, int] = {}
    for c in checks:
        cid = c.get("id") or "?"
        if cid in seen:
            seen[cid] += 1
            c["id"] = f"{cid}#{seen[cid]}"
        else:
            seen[cid] = 1


def merge(cfg: RunConfig, results: list[WorkerResult], started: float) -> dict[str, Any]:
    """The full results document from the workers' partial documents."""
    from .fans_table import fan_rows

    doc = empty_results(cfg.command, {
        "seed": cfg.seed, "alpha": cfg.alpha, "backends": list(cfg.backends), "device": cfg.device,
        "devices": list(cfg.devices), "quick": cfg.quick, "experiments": cfg.experiments, "natives": cfg.natives,
        "probes": cfg.probes, "jobs": cfg.jobs, "schemes": list(cfg.schemes) if cfg.schemes else None,
        "experiments_size": cfg.experiments_size or ("quick" if cfg.quick else "default"),
        "family_wise": "Bonferroni: alpha split equally over backend processes, then over each process's planned "
                       "statistical tests", **cfg.extra,
    })
    experiments: list[dict[str, Any]] = []
    messages: list[str] = []
    for res in results:
        part = res.part if res.part is not None and res.returncode == 0 else crashed_part(res, cfg.devices)
        doc["backends"] += part.get("backends", [])
        doc["checks"] += part.get("checks", [])
        doc["samples"].update(part.get("samples") or {})
        doc["native"] += part.get("native", [])
        messages += part.get("messages", [])
        if part.get("experiments"):
            experiments.append(part["experiments"])
    dedupe_ids(doc["checks"])
    doc["fans"] = fan_rows()
    doc["experiments"] = merge_experiments(experiments, messages) if experiments else None
    doc["messages"] = messages
    doc["environment"]["workers"] = {r.backend: {"duration_s": r.duration_s, "returncode": r.returncode}
                                     for r in results}
    summarize(doc)
    doc["duration_s"] = round(time.perf_counter() - started, 3)
    return doc


def merge_experiments(parts: list[dict[str, Any]], messages: list[str]) -> dict[str, Any] | None:
    try:
        from initspec.conformance.experiments import merge_experiments as merge_fn
    except ImportError as e:
        messages.append(f"experiments not merged: {e}")
        return None
    try:
        return merge_fn(parts)
    except Exception as e:  # noqa: BLE001 - never lose the conformance results over the experiments
        messages.append(f"merging the experiments failed: {type(e).__name__}: {e}")
        return None


def exit_code(doc: dict[str, Any], *, allow_unavailable: bool = True) -> int:
    """:data:`EXIT_FAILED` if an initspec adapter failed a check (or a worker crashed); else
    :data:`EXIT_UNAVAILABLE` if a requested backend is unavailable and not ``allow_unavailable``;
    else 0."""
    if any(c.get("verdict") == "fail" and c.get("subject", "initspec") != "native" for c in doc.get("checks", [])):
        return EXIT_FAILED
    if not allow_unavailable and unavailable_backends(doc):
        return EXIT_UNAVAILABLE
    return 0


def unavailable_backends(doc: dict[str, Any]) -> dict[str, str]:
    """``{backend: reason}`` for each backend whose framework could not be imported: every one of
    its runs is ``unavailable`` and none recorded a framework version (the worker records the
    versions as soon as the adapter loads, so a missing *device*, e.g. no GPU, is not listed)."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in doc.get("backends", []):
        runs.setdefault(run.get("backend", "?"), []).append(run)
    return {b: " ".join(str(rs[0].get("reason") or "unavailable").split()) for b, rs in runs.items()
            if all(r.get("status") == "unavailable" and not r.get("versions") for r in rs)}


def render_report(doc: dict[str, Any], out_dir: Path, shown: Path | None = None) -> tuple[Path | None, str]:
    """Render ``out_dir/report.html`` with ``initspec.reports`` when present: ``(path, message)``;
    the message names ``shown`` (the path users open) when given."""
    try:
        import initspec.reports as reports
    except ImportError as e:
        return None, f"HTML report skipped: initspec.reports is not available ({e})"
    write = getattr(reports, "write_report", None)
    if not callable(write):
        return None, "HTML report skipped: initspec.reports exports no write_report() yet"
    path = out_dir / REPORT_NAME
    t0 = time.perf_counter()
    try:
        write(doc, path)
    except Exception as e:  # noqa: BLE001 - the JSON is the product; the report is a view of it
        return None, f"HTML report failed: {type(e).__name__}: {e}"
    return path, f"report: {shown or path} ({time.perf_counter() - t0:.1f} s)"


# ---------------------------------------------------------------------------- progress UI
class _Progress:
    """One rich progress bar per backend (a no-op when ``enabled`` is false)."""

    def __init__(self, enabled: bool, backends: Sequence[str]) -> None:
        self.enabled = enabled
        self.lock = threading.Lock()
        self.tasks: dict[str, Any] = {}
        self.bar = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]{task.fields[backend]:<10}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.description}"), transient=False)
            for b in backends:
                self.tasks[b] = self.bar.add_task("waiting", total=None, backend=b)

    def __enter__(self) -> "_Progress":
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.stop()

    def event(self, ev: dict[str, Any]) -> None:
        if self.bar is None:
            return
        with self.lock:
            task = self.tasks.get(ev.get("backend", ""))
            if task is None:
                return
            kind = ev.get("event")
            if kind == "start":
                self.bar.update(task, total=ev.get("total") or None, description="running")
            elif kind == "step":
                self.bar.update(task, advance=1, description=str(ev.get("label", ""))[:60])
            elif kind == "done":
                t = self.bar.tasks[task].total
                self.bar.update(task, completed=t or 0, description="done")


# ---------------------------------------------------------------------------- entry
def run_conformance(cfg: RunConfig, *, progress: bool = True, log: Callable[[str], None] | None = None
                    ) -> tuple[dict[str, Any], int]:
    """Run every backend's worker, publish ``results.json`` and the report; ``(doc, exit code)``.
    Raises :class:`RunInterrupted` on SIGINT/SIGTERM up to the publishing rename (workers
    stopped, temp and staging folders removed, the previous pair untouched)."""
    cfg = validate(cfg)
    started = time.perf_counter()
    with ProcessGroup() as group:
        results, portable = _run_children(cfg, group, progress)
        doc = merge(cfg, results, started)
        if portable is not None:
            section, note = portable
            doc["portable"] = section
            if note:
                doc.setdefault("messages", []).append(note)
        with _rundir.staging(cfg.out) as staged:
            write_atomic(staged / RESULTS_NAME, doc)
            msg = render_report(doc, staged, shown=cfg.out / REPORT_NAME)[1] if cfg.report else None
            group.check()  # a signal received while rendering: still nothing published
            _rundir.publish(cfg.out, staged)
    if log:
        log(f"results: {cfg.out / RESULTS_NAME}")
    if msg:
        doc.setdefault("messages", []).append(msg)
        if log:
            log(msg)
    return doc, exit_code(doc, allow_unavailable=cfg.allow_unavailable)


def _run_children(cfg: RunConfig, group: ProcessGroup, progress: bool
                  ) -> tuple[list[WorkerResult], tuple[dict[str, Any] | None, str | None] | None]:
    """The workers (at most ``cfg.jobs`` at a time) and the portable check, in a temp folder that
    is gone on return; every child is stopped before anything waits on it when this raises."""
    wcs = worker_configs(cfg)
    with run_tempdir() as tmp:
        try:
            with _Progress(progress, [w.backend for w in wcs]) as bar, \
                    ThreadPoolExecutor(max_workers=min(cfg.jobs, len(wcs))) as pool:
                futures = [pool.submit(run_worker, wc, tmp, bar.event, WORKER_TIMEOUT_S, group) for wc in wcs]
                try:
                    results = group.wait_all(futures)
                finally:
                    for f in futures:
                        f.cancel()
            portable = run_portable_check(cfg, tmp, group) if cfg.portable else None
        except BaseException:
            group.stop()  # before the pool and the temp folder wait on the children
            raise
    return results, portable


#: seconds the portable cross-check may take (it imports every framework in one process)
PORTABLE_TIMEOUT_S = 600


def run_portable_check(cfg: RunConfig, tmp: Path, group: ProcessGroup | None = None
                       ) -> tuple[dict[str, Any] | None, str | None] | None:
    """``initspec portable check`` for the run's backends on each requested device, in its own
    process (a child of ``group``); returns the results' ``portable`` section (per device) and a
    note when it failed (None when no backend of the run has a portable stream)."""
    if group is None:
        with ProcessGroup(trap=False) as own:
            return run_portable_check(cfg, tmp, own)
    sections: dict[str, Any] = {}
    notes = []
    backends = [b for b in cfg.backends if registry.get(b).portable is not None]
    if not backends:
        return None
    for device in cfg.devices:
        out = tmp / f"portable-{device}.json"
        cmd = child_command("initspec.cli:main", ["portable", "check", "--backends", ",".join(backends),
                                                  "--device", device, "--seed", str(cfg.seed), "--out", str(out)])
        try:
            proc = group.run(cmd, timeout_s=PORTABLE_TIMEOUT_S, env=worker_env("portable"))
        except subprocess.TimeoutExpired:
            notes.append(f"portable check on {device} timed out after {PORTABLE_TIMEOUT_S} s")
            continue
        if not out.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            notes.append(f"portable check on {device} failed (exit {proc.returncode}): {tail[0][:300]}")
            continue
        sections[device] = json.loads(out.read_text())
    if not sections:
        return None, "; ".join(notes) or None
    # one device: the section itself (the report's format); several: keyed by device
    section = next(iter(sections.values())) if len(sections) == 1 else {"by_device": sections,
                                                                          **sections[next(iter(sections))]}
    return section, "; ".join(notes) or None


# ---------------------------------------------------------------------------- terminal summary
def print_summary(doc: dict[str, Any], console: Any = None, max_failures: int = 20) -> None:
    """Per backend/device verdict counts, native findings, and the failing checks."""
    from rich.console import Console
    from rich.table import Table

    c = console or Console()
    t = Table(title="initspec conformance", show_lines=False)
    for col in ("backend", "device", "status", "pass", "fail", "finding", "skip", "unavailable", "time s"):
        t.add_column(col, justify="right" if col not in ("backend", "device", "status") else "left")
    for run in doc.get("backends", []):
        cs = [x for x in doc["checks"] if x.get("backend") == run["backend"] and x.get("device") == run["device"]]
        n = {v: sum(1 for x in cs if x.get("verdict") == v) for v in ("pass", "fail", "finding", "skip", "unavailable")}
        t.add_row(run["backend"], run["device"], str(run.get("status", "?")), *(str(n[v]) for v in n),
                  f"{run.get('duration_s', 0):.1f}")
    c.print(t)
    for run in doc.get("backends", []):
        if run.get("status") != "ok":
            c.print(f"{run['backend']}/{run['device']} {run.get('status')}: {str(run.get('reason'))[:300]}",
                    highlight=False)
    departs = [f for f in doc.get("native", []) if f.get("verdict") == "departs"]
    if doc.get("native"):
        c.print(f"native audit: {len(doc['native'])} natives, {len(departs)} depart from their name or description")
        for f in departs:
            first = (f.get("departures") or [""])[0]
            c.print(f"  [yellow]{f['name']}[/yellow]: {first[:160]}", highlight=False)
    bad = [x for x in doc["checks"] if x.get("verdict") == "fail"]
    for x in bad[:max_failures]:
        c.print(f"[red]FAIL[/red] {x['id']}: {x.get('message', '')[:300]}", highlight=False)
        if x.get("reproduce"):
            c.print(f"     reproduce: {x['reproduce']}", highlight=False, soft_wrap=True)
    if len(bad) > max_failures:
        c.print(f"... and {len(bad) - max_failures} more failures (see results.json)")
    for m in doc.get("messages", []):
        c.print(f"note: {m}", highlight=False)
    s = doc.get("summary", {})
    c.print(f"[bold]summary[/bold]: {s}  in {doc.get('duration_s', 0):.1f} s")
