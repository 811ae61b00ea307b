"""``initspec experiments --backends numpy,torch,tensorflow,jax --out DIR``: the seed-claim
experiments (symmetry breaking, signal propagation, trainability) on each backend.

Each backend runs in its own process (``python -m initspec.conformance.experiments``; one BLAS/
OpenMP thread each unless the environment says otherwise); the per-backend sections are merged
and written as a results document ``DIR/experiments.json`` (``initspec report`` renders it).
Exit status: 0 when every claim holds on every backend that ran, 1 when a claim failed or the
backends disagree, 2 on bad input.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Exit status when a claim failed (or backends disagreed).
EXIT_CLAIM_FAILED = 1
#: Exit status of a usage/input error (as click's).
EXIT_USAGE = 2
#: Environment of the per-backend processes (set only where the caller did not): one BLAS/OpenMP
#: thread - the experiments' matrices are small and a busy machine made 2 threads ~90x slower.
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "2"}
#: Longest a backend's process may run (seconds) before it is stopped and reported as an error.
WORKER_TIMEOUT_S = 1800


def parse_backends(text: str) -> list[str]:
    """``"numpy,torch"`` -> ``["numpy", "torch"]``; unknown or repeated names raise ValueError."""
    from initspec import registry

    return list(registry.parse_names(text, argument="backends"))


def build_config(quick: bool, **overrides: Any) -> Any:
    """DEFAULT (or QUICK) with the given non-None fields replaced (validated)."""
    from initspec.conformance.experiments import DEFAULT, QUICK

    return (QUICK if quick else DEFAULT).with_(**{k: v for k, v in overrides.items() if v is not None})


def run_backend(backend: str, config: Any, in_process: bool) -> dict[str, Any]:
    """One backend's experiments section, from a child process (or this one)."""
    from initspec.conformance.experiments import run_experiments
    from initspec.conformance.experiments.driver import failed_result

    if in_process:
        return run_experiments(backend, config)
    env = {**WORKER_ENV, **os.environ}
    with tempfile.TemporaryDirectory(prefix="initspec-exp-") as tmp:
        out = Path(tmp) / f"{backend}.json"
        cmd = [sys.executable, "-m", "initspec.conformance.experiments", backend,
               "--config", json.dumps(config.as_dict()), "--out", str(out)]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return failed_result(backend, config, f"the experiments process ran past {WORKER_TIMEOUT_S} s")
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            return failed_result(backend, config, f"the experiments process exited with {proc.returncode}: "
                                 + " | ".join(tail))
        return json.loads(out.read_text(encoding="utf-8"))


def results_document(merged: dict[str, Any], config: Any, command: str, duration_s: float) -> dict[str, Any]:
    """A results document holding only the experiments (plus one BackendRun per backend)."""
    from initspec.conformance.results import empty_results

    doc = empty_results(command, {"experiments": config.as_dict(), "backends": list(merged["backends"]),
                                  "device": "cpu", "seed": config.seed})
    doc["experiments"] = merged
    doc["duration_s"] = round(duration_s, 3)
    doc["backends"] = [{"backend": b, "device": "cpu", "status": info.get("status", "error"),
                        "reason": info.get("reason") or _first_error(info),
                        "versions": info.get("versions", {}),
                        "duration_s": (info.get("duration_s") or {}).get("total")}
                       for b, info in merged["backends"].items()]
    return doc


def _first_error(info: dict[str, Any]) -> str | None:
    errors = info.get("errors") or {}
    return next((f"{k}: {v.splitlines()[0]}" for k, v in errors.items()), None)


def summary_lines(merged: dict[str, Any]) -> list[str]:
    """One line per backend (status, times) and per claim (verdict per backend)."""
    lines = []
    for b, info in merged["backends"].items():
        wall, cpu = (info.get("duration_s") or {}).get("total"), (info.get("cpu_s") or {}).get("total")
        times = f" {wall:.1f} s wall, {cpu:.1f} s CPU" if wall is not None and cpu is not None else ""
        note = f" ({info.get('weights_from')} weights)" if info.get("weights_from") else ""
        why = f": {info.get('reason') or _first_error(info)}" if info.get("status") != "ok" else ""
        lines.append(f"{b:10s} {info.get('status', '?')}{times}{note}{why}")
    for c in merged["claims"]:
        per = "  ".join(f"{b}={e['verdict']}" for b, e in c["per_backend"].items())
        lines.append(f"{c['verdict'].upper():11s} {c['id']:36s} {per}")
    return lines


def run(backends: str, out: str, quick: bool, in_process: bool, command: str, **overrides: Any) -> int:
    """The command's body; returns the exit status."""
    import typer

    from initspec.cli import fail
    from initspec.conformance.experiments import merge_experiments
    from initspec.conformance.results import write_atomic

    try:
        names = parse_backends(backends)
        config = build_config(quick, **overrides)
    except (ValueError, TypeError) as e:
        raise fail(str(e), EXIT_USAGE) from None
    start = time.perf_counter()
    parts = []
    for b in names:
        typer.echo(f"initspec: experiments on {b} ...", err=True)
        parts.append(run_backend(b, config, in_process))
    merged = merge_experiments(parts)
    doc = results_document(merged, config, command, time.perf_counter() - start)
    target = Path(out) / "experiments.json"
    try:
        write_atomic(target, doc)
    except OSError as e:
        raise fail(f"cannot write --out {str(target)!r}: {e.strerror or e}", EXIT_USAGE) from None
    for line in summary_lines(merged):
        typer.echo(line)
    typer.echo(f"initspec: wrote {target}")
    return EXIT_CLAIM_FAILED if any(c["verdict"] == "fail" for c in merged["claims"]) else 0


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command("experiments")
    def experiments(
        backends: str = typer.Option("numpy,torch,tensorflow,jax", "--backends",
                                     help="Comma-separated backends: numpy, torch, tensorflow, jax"),
        out: str = typer.Option("reports/out", "--out", help="Output folder (experiments.json)"),
        quick: bool = typer.Option(False, "--quick",
                                   help="Reduced sizes (20-layer nets): same verdicts, faster"),
        seed: int = typer.Option(None, "--seed", help="Seed of the weights (0..2000)"),
        depth: int = typer.Option(None, "--depth", help="Layers of the signal-propagation nets (2..200)"),
        width: int = typer.Option(None, "--width", help="Units per layer of the signal nets (16..2048)"),
        steps: int = typer.Option(None, "--steps", help="SGD steps of the trainability runs (1..10000)"),
        in_process: bool = typer.Option(False, "--in-process", help="Run every backend in this process"),
    ) -> None:
        """Seed-claim experiments: symmetry breaking, signal propagation and trainability, per backend."""
        command = "initspec " + " ".join(shlex.quote(a) for a in sys.argv[1:])
        raise typer.Exit(run(backends, out, quick, in_process, command,
                             seed=seed, depth=depth, width=width, steps=steps))
