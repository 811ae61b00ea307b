"""``initspec report RESULTS.json [--out report.html] [--against BASELINE.json]``: the HTML report.

Errors (missing or invalid results file, unwritable ``--out``) print one line and exit with 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: Exit status of a usage/input error (as click's).
EXIT_USAGE = 2
#: Suffix of the default output file, next to the results file.
DEFAULT_SUFFIX = ".html"


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def _load(path: str, what: str) -> dict[str, Any]:
    """Read and validate (JSON Schema) a results document; any error becomes one CLI line naming
    the file and the first offending JSON path, with exit status 2."""
    from initspec.cli import fail
    from initspec.conformance.results import load

    try:
        return load(path)
    except FileNotFoundError:
        raise fail(f"{what} file not found: {path!r}", EXIT_USAGE) from None
    except ValueError as e:  # ResultsError: not JSON, wrong shape, unknown version
        raise fail(f"{what}: {e}", EXIT_USAGE) from None
    except OSError as e:
        raise fail(f"cannot read {what} file {path!r}: {e.strerror or e}", EXIT_USAGE) from None


def run(results: str, out: str | None, against: str | None) -> int:
    """Render ``results`` (and the diff against ``against``) to ``out``; returns the exit code."""
    import typer

    from initspec.cli import fail
    from initspec.reports import write_report

    doc = _load(results, "results")
    base = _load(against, "--against") if against else None
    target = Path(out) if out else Path(results).with_suffix(DEFAULT_SUFFIX)
    try:
        info = write_report(doc, target, base, source=results)
    except OSError as e:
        raise fail(f"cannot write --out {str(target)!r}: {e.strerror or e}", EXIT_USAGE) from None
    typer.echo(f"initspec: wrote {info.path} ({_mb(info.bytes)}, rendered in {info.seconds:.1f} s)")
    return 0


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command("report")
    def report(
        results: str = typer.Argument(..., help="results.json written by `initspec conform`."),
        out: str = typer.Option(None, "--out", "-o", help="HTML file to write (default: RESULTS with .html)."),
        against: str = typer.Option(None, "--against", help="baseline results.json: show what changed since it."),
    ) -> int:
        """Render the self-contained HTML report (summary matrix, plots, native audit, claims, diff)."""
        return run(results, out, against)
