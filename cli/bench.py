"""``initspec bench [--backends numpy,torch,tensorflow,jax] [--device cpu|gpu] [--repeats N] [--json PATH]``.

``initspec bench --models [--framework ...] [--model ...] [--quick]`` times whole-model init
instead (torch/Keras/Flax default vs initspec's model helpers): :mod:`initspec.cli.bench_models`.

Each backend runs in its own subprocess (``python -m initspec.backends._bench_runner``), so one
framework's threads, allocator or import never slow another's timings; the table shows, per case,
the native call, the median times, ``ratio = ours / native`` and the target (``<= 1.10x`` or
``>= 5x faster``), with OK/MISS. ``--strict`` makes a MISS or an error exit with status 1;
``--threads N`` caps each framework's CPU thread pools and ``--clock cpu`` times process CPU time
instead of wall time (with ``--threads 1``: steady numbers on a busy shared machine).
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional

from initspec import registry
from initspec.backends._bench_runner import DEFAULT_MIN_TIME_S
from initspec.backends._model_bench import FRAMEWORKS as MODEL_FRAMEWORKS
from initspec.backends._zoo import model_names
from ._subprocess import run_json_subprocess
from .bench_models import DEFAULT_COLD_RUNS

#: the models of ``--models`` (these imports are framework-free)
MODEL_NAMES = model_names()

BENCH_SCHEMA = "initspec.bench"
BENCH_SCHEMA_VERSION = 1
MODELS_BENCH_SCHEMA = "initspec.bench.models"
DEFAULT_BACKENDS = ",".join(registry.names())
#: wall-clock limit for one backend's subprocess
DEFAULT_TIMEOUT_S = 1800
#: table width when stdout is not a terminal (rich would use 80 columns and wrap every cell)
PIPE_WIDTH = 180


def parse_backends(text: str) -> list[str]:
    """Comma-separated backend names, validated against :mod:`initspec.registry`."""
    return list(registry.parse_names(text, argument="--backends"))


#: environment variables that cap the CPU threads of the frameworks' pools (``--threads``)
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                   "TF_NUM_INTEROP_THREADS")


def child_env(threads: int | None, keras_backend: str | None = None) -> dict[str, str]:
    """The subprocess environment; with ``threads``, every pool in :data:`THREAD_ENV_VARS` and
    XLA's CPU client are capped at that many threads (best effort for TF/XLA); with
    ``keras_backend``, ``KERAS_BACKEND`` (the worker times the Keras drop-in on its framework)."""
    env = dict(os.environ)
    if keras_backend is not None:
        env["KERAS_BACKEND"] = keras_backend
    if threads is not None:
        env.update({v: str(threads) for v in THREAD_ENV_VARS})
        if threads == 1:
            env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen=false".strip()
    return env


def run_backend_subprocess(name: str, device: str, repeats: int, warmup: int,
                           timeout_s: float = DEFAULT_TIMEOUT_S, threads: int | None = None,
                           clock: str = "wall", min_time: float = DEFAULT_MIN_TIME_S) -> dict[str, Any]:
    """Run the bench of one backend in a fresh interpreter and return its record."""
    base = {"backend": name, "device": device, "versions": {}, "cases": []}
    return run_json_subprocess("initspec.backends._bench_runner",
                               ["--backend", name, "--device", device, "--repeats", str(repeats),
                                "--warmup", str(warmup), "--clock", clock, "--min-time", repr(min_time)],
                               base, timeout_s,
                               child_env(threads, registry.get(name).keras_backend))


def target_text(case: dict[str, Any]) -> str:
    if case.get("min_speedup") is not None:
        return f">= {case['min_speedup']:g}x faster"
    return f"<= {case['target']:.2f}x"


def render(records: list[dict[str, Any]], note: str = "wall clock") -> "Any":
    """A rich Table of every case (and one row per unavailable/broken backend)."""
    from rich.table import Table

    table = Table(title=f"initspec bench: adapter vs native (median times; {note})")
    for col, just in (("backend", "left"), ("case", "left"), ("native call", "left"), ("ours ms", "right"),
                      ("native ms", "right"), ("ratio", "right"), ("target", "right"), ("", "center"),
                      ("peak mem x out: ours / native", "right")):
        table.add_column(col, justify=just)
    for rec in records:
        label = f"{rec['backend']} ({rec['device']})"
        if rec["status"] == "unavailable" or (rec["status"] == "error" and not rec["cases"]):
            mark = "SKIP" if rec["status"] == "unavailable" else "[red]ERROR[/red]"
            table.add_row(label, f"[dim]{rec['status']}: {rec.get('reason')}[/dim]", "", "", "", "", "", mark, "")
            continue
        if not rec["cases"]:
            table.add_row(label, "[dim]no bench cases[/dim]", "", "", "", "", "", "", "")
        if rec.get("keras"):
            table.add_row(label, f"[dim]{rec['keras']}[/dim]", "", "", "", "", "", "SKIP", "")
        for c in rec["cases"]:
            if c.get("error"):
                table.add_row(label, c["case"], c["native_name"], "", "", "", target_text(c),
                              f"[red]ERROR[/red] {c['error']}", "")
                continue
            ratio = f"{c['ratio']:.2f}x" + (f" ({c['speedup']:.1f}x faster)" if c["speedup"] >= 1.5 else "")
            mark = "[green]OK[/green]" if c["ok"] else "[red]MISS[/red]"
            table.add_row(label, c["case"], c["native_name"], f"{c['ours_ms']:.3f}", f"{c['native_ms']:.3f}",
                          ratio, target_text(c), mark, memory_text(c))
    return table


def memory_text(case: dict[str, Any]) -> str:
    """``ours / native`` peak extra memory in multiples of the output, marked against the target
    (:data:`initspec.backends._bench_runner.MEMORY_TARGET`), or ``-`` where not measured; ``= native``
    where a case bound to the native kernel's values holds no more than the native call
    (``memory_bound``, listed under the table)."""
    ours, native = case.get("ours_peak_x_out"), case.get("native_peak_x_out")
    if ours is None:
        return "[dim]-[/dim]"
    if not case.get("memory_ok"):
        mark = " [red]MISS[/red]"
    elif case.get("memory_bound"):  # held to the native call's peak: its values are the native kernel's
        mark = " [yellow]= native[/yellow]"
    else:
        mark = ""
    return f"{ours:.2f}x / " + ("-" if native is None else f"{native:.2f}x") + mark


def bound_notes(records: list[dict[str, Any]]) -> list[str]:
    """One line per case whose memory is held to the native call's (``= native`` in the table)."""
    return [f"= native: {rec['backend']} {c['case']}: {c['memory_bound']}"
            for rec in records for c in rec["cases"] if c.get("memory_bound")]


def all_ok(records: list[dict[str, Any]]) -> bool:
    """No MISS (speed, or memory where measured) and no error (unavailable backends do not count)."""
    return all(rec["status"] != "error" and all(c.get("ok") and c.get("memory_ok") is not False for c in rec["cases"])
               for rec in records)


def bench_document(records: list[dict[str, Any]], config: dict[str, Any], command: str,
                   duration_s: float, schema: str = BENCH_SCHEMA, key: str = "backends",
                   ok: bool | None = None) -> dict[str, Any]:
    """The JSON document of a run: ``records`` under ``key`` (``backends``; ``models`` for
    ``--models``), ``all_ok`` = ``ok`` or :func:`all_ok` of the records."""
    import platform

    from initspec import __version__

    return {
        "schema": schema, "version": BENCH_SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": duration_s, "command": command,
        "environment": {"python": platform.python_version(), "platform": platform.platform(),
                        "processor": platform.processor(), "initspec": __version__},
        "config": config, key: records, "all_ok": all_ok(records) if ok is None else ok,
    }


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command()
    def bench(
        backends: str = typer.Option(DEFAULT_BACKENDS, "--backends", help="Comma-separated backends"),
        device: str = typer.Option("cpu", "--device", help="cpu or gpu"),
        repeats: int = typer.Option(7, "--repeats", min=1, help="Timed rounds per case (median)"),
        min_time: float = typer.Option(
            DEFAULT_MIN_TIME_S, "--min-time", min=0.0,
            help="Seconds of timed calls per case: short cases run more rounds than --repeats until then"),
        warmup: int = typer.Option(2, "--warmup", min=0, help="Untimed calls of each before timing"),
        json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the results as JSON here"),
        strict: bool = typer.Option(False, "--strict", help="Exit 1 on any MISS or error"),
        timeout_s: float = typer.Option(DEFAULT_TIMEOUT_S, "--timeout", help="Seconds per backend"),
        threads: Optional[int] = typer.Option(
            None, "--threads", min=1, help="Cap CPU threads (OMP/MKL/TF pools, XLA) in each backend process"),
        clock: str = typer.Option("wall", "--clock", help="wall, or cpu (process CPU time; CPU device only)"),
        models: bool = typer.Option(False, "--models", help="Time whole-model init (zoo models) instead"),
        model: str = typer.Option(",".join(MODEL_NAMES), "--model", help="With --models: comma-separated models"),
        framework: str = typer.Option(",".join(MODEL_FRAMEWORKS), "--framework",
                                      help="With --models: comma-separated frameworks (Keras runs in tensorflow)"),
        quick: bool = typer.Option(False, "--quick", help="With --models: tiny configs of the same architectures"),
        cold_runs: int = typer.Option(
            DEFAULT_COLD_RUNS, "--cold-runs", min=1,
            help="With --models: fresh processes per model whose first calls give the cold times (median)"),
    ) -> int:
        """Time each adapter against its framework's native initializer (one subprocess per backend);
        with --models, whole-model init of the zoo models (one subprocess per framework and model)."""
        from rich.console import Console

        from initspec.cli import fail

        try:
            names = parse_backends(backends)
        except ValueError as e:
            raise fail(str(e)) from None
        if device not in ("cpu", "gpu"):
            raise fail(f"--device must be 'cpu' or 'gpu'. Received: --device={device!r}")
        if clock not in ("wall", "cpu") or (clock == "cpu" and device != "cpu"):
            raise fail(f"--clock must be 'wall', or 'cpu' with --device cpu. Received: --clock={clock!r}")
        if models and (device != "cpu" or clock != "wall"):
            raise fail("--models times CPU models by wall clock: drop --device/--clock. "
                       f"Received: --device={device!r} --clock={clock!r}")
        if models and min_time != DEFAULT_MIN_TIME_S:
            raise fail("--min-time applies to per-tensor cases; --models runs --repeats rounds. "
                       f"Received: --min-time={min_time!r}")
        if not models and cold_runs != DEFAULT_COLD_RUNS:
            raise fail(f"--cold-runs applies with --models only. Received: --cold-runs={cold_runs!r}")
        console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
        start = time.perf_counter()
        if models:
            return bench_models_command(console, framework, model, quick, repeats, warmup, timeout_s, threads,
                                        json_path, strict, start, cold_runs)
        records = []
        for name in names:
            with console.status(f"bench {name} on {device}..."):
                records.append(
                    run_backend_subprocess(name, device, repeats, warmup, timeout_s, threads, clock, min_time))
        console.print(render(records, f"{clock} clock" + (f", {threads} thread(s)" if threads else "")))
        for line in bound_notes(records):
            console.print(line, markup=False, highlight=False)
        if json_path is not None:
            from initspec.conformance.results import write_atomic

            config = {"backends": names, "device": device, "repeats": repeats, "min_time_s": min_time,
                      "warmup": warmup, "threads": threads, "clock": clock}
            doc = bench_document(records, config, " ".join(["initspec", *sys.argv[1:]]),
                                 time.perf_counter() - start)
            write_atomic(json_path, doc)
            console.print(f"wrote {json_path}")
        code = 1 if strict and not all_ok(records) else 0
        if code:
            raise typer.Exit(code)
        return 0


def bench_models_command(console: Any, framework: str, model: str, quick: bool, repeats: int, warmup: int,
                         timeout_s: float, threads: int | None, json_path: Path | None, strict: bool,
                         start: float, cold_runs: int = DEFAULT_COLD_RUNS) -> int:
    """``initspec bench --models``: see :mod:`initspec.cli.bench_models`."""
    import typer

    from initspec.cli import fail

    from . import bench_models

    try:
        frameworks = bench_models.parse_list(framework, MODEL_FRAMEWORKS, "--framework")
        names = bench_models.parse_list(model, MODEL_NAMES, "--model")
    except ValueError as e:
        raise fail(str(e)) from None
    records = bench_models.run_all(frameworks, names, quick, repeats, warmup, timeout_s, child_env(threads), console,
                                   cold_runs)
    console.print(bench_models.render(records))
    for line in bench_models.calls(records):
        console.print(f"  {line}", highlight=False)
    ok = bench_models.all_ok(records)
    if json_path is not None:
        from initspec.conformance.results import write_atomic

        config = {"frameworks": frameworks, "models": names, "quick": quick, "repeats": repeats, "warmup": warmup,
                  "cold_runs": cold_runs, "threads": threads, "targets": bench_models.TARGETS}
        write_atomic(json_path, bench_document(records, config, " ".join(["initspec", *sys.argv[1:]]),
                                               time.perf_counter() - start, MODELS_BENCH_SCHEMA, "models", ok))
        console.print(f"wrote {json_path}")
    if strict and not ok:
        raise typer.Exit(1)
    return 0
