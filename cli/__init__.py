"""The ``initspec`` command line (typer). Each subcommand lives in its own module exporting
``register(app)``; heavy imports (backends, matplotlib, jinja2) happen inside the commands."""

from __future__ import annotations

import importlib
import sys

#: subcommand modules, in help order
COMMANDS = ("show", "conform", "identify", "report", "bench", "experiments", "portable")


def build_app():
    import typer

    app = typer.Typer(
        name="initspec", no_args_is_help=True, add_completion=False,
        help="One spec of neural-network weight initialization; adapters; conformance; reports.",
        pretty_exceptions_enable=False,
    )
    for name in COMMANDS:
        importlib.import_module(f"initspec.cli.{name}").register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    try:
        import typer  # noqa: F401
    except ImportError:
        print("initspec: the command line needs the 'cli' extra: pip install 'initspec[cli]'", file=sys.stderr)
        return 2
    app = build_app()
    try:
        rv = app(args=argv, standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except SystemExit as e:  # pragma: no cover - typer exits on --help
        return int(e.code or 0)
    except Exception as e:  # noqa: BLE001
        import click

        if isinstance(e, click.exceptions.Exit):
            return int(e.exit_code or 0)
        if isinstance(e, click.ClickException):
            e.show()
            return 2
        if isinstance(e, click.exceptions.Abort):
            print("Aborted.", file=sys.stderr)
            return 130
        raise
    return 0


def fail(message: str, code: int = 2) -> "typer.Exit":  # noqa: F821
    """Print a one-line error and return a typer.Exit to raise."""
    import typer

    typer.echo(f"initspec: error: {message}", err=True)
    return typer.Exit(code)
