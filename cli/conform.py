"""``initspec conform --backends numpy,torch,tensorflow,jax --device cpu|gpu|all --out DIR``.

Runs each backend in its own process (see :mod:`initspec.conformance.runner`), publishes
``DIR/results.json`` and ``DIR/report.html`` together (links through ``DIR/latest``), prints a
summary. Exit status: 0 when every initspec adapter check passed (native findings do not count),
1 when one failed, 2 on bad input, 3 when a requested backend is unavailable (its framework does
not import; one line per backend names it and the reason) unless ``--allow-unavailable``, and
130 / 143 when interrupted by SIGINT / SIGTERM (workers stopped, the previous pair untouched).
"""

from __future__ import annotations

import shlex
import sys
from typing import Optional

from initspec import registry


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command()
    def conform(
        backends: str = typer.Option(",".join(registry.names()), "--backends",
                                     help=f"Comma-separated backends: {', '.join(registry.names())}"),
        device: str = typer.Option("cpu", "--device", help="cpu, gpu or all"),
        schemes: Optional[str] = typer.Option(None, "--schemes", help="Only these schemes of the matrix (comma-separated)"),
        out: str = typer.Option("reports/out", "--out", help="Output folder (results.json, report.html)"),
        seed: int = typer.Option(0, "--seed", help="Base seed; every case's seed derives from it"),
        alpha: float = typer.Option(1e-3, "--alpha", help="Family-wise false-alarm level of the whole run"),
        no_experiments: bool = typer.Option(False, "--no-experiments", help="Skip the seed-claim experiments"),
        experiments_size: Optional[str] = typer.Option(
            None, "--experiments-size", help="default (50 x 256 deep nets) or quick (default with --quick)"),
        quick: bool = typer.Option(False, "--quick", help="float32 only, one case per scheme, no fan probes"),
        no_natives: bool = typer.Option(False, "--no-natives", help="Skip the native audit"),
        no_report: bool = typer.Option(False, "--no-report", help="Write results.json only"),
        no_portable: bool = typer.Option(False, "--no-portable", help="Skip the portable-stream cross-check"),
        jobs: int = typer.Option(2, "--jobs", help="Backend processes run at the same time"),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bars"),
        allow_unavailable: bool = typer.Option(
            False, "--allow-unavailable", help="Exit 0 (not 3) when a requested backend's framework is unavailable"),
    ) -> None:
        """Measure every initspec adapter (and each framework's own initializers) against the spec."""
        from initspec.cli import fail
        from initspec.conformance.runner import (
            EXIT_UNAVAILABLE, RunConfig, RunInterrupted, print_summary, run_conformance, unavailable_backends)

        cfg = RunConfig(backends=backends, device=device, out=out, seed=seed, alpha=alpha, schemes=schemes,  # type: ignore[arg-type]
                        experiments_size=experiments_size,
                        experiments=not no_experiments, quick=quick, natives=not no_natives, jobs=jobs,
                        portable=not no_portable, allow_unavailable=allow_unavailable,
                        report=not no_report, command="initspec " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
        try:
            doc, code = run_conformance(cfg, progress=not no_progress and sys.stderr.isatty(), log=typer.echo)
        except (ValueError, TypeError) as err:
            raise fail(str(err)) from None
        except RunInterrupted as err:
            raise fail(f"conform {err}; {out} unchanged", err.exit_code) from None
        print_summary(doc)
        if code == EXIT_UNAVAILABLE:
            for name, reason in unavailable_backends(doc).items():
                what = reason if repr(name) in reason else f"backend {name!r} is unavailable: {reason}"
                typer.echo(f"initspec: error: {what} (pass --allow-unavailable to exit 0)", err=True)
        raise typer.Exit(code)
