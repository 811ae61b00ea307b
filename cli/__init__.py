"""The ``initspec`` command line (typer). Each subcommand lives in its own module exporting
``register(app)``; heavy imports (backends, matplotlib, jinja2) happen inside the commands."""

from __future__ import annotations

import importlib
import sys

#: subcommand modules, in help order
COMMANDS = ("show", "conform", "identify", "audit", "report", "bench", "experiments", "portable")


def build_app():
    import typer

    app = typer.Typer(
        name="initspec", no_args_is_help=True, add_completion=False,
        help="One spec of neural-network weight initialization; adapters; conformance; reports.",
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """initspec: one spec of weight initialization, measured in every framework."""

    for name in COMMANDS:
        importlib.import_module(f"initspec.cli.{name}").register(app)
    return app


def main(argv: list[str] | None = None) -> int:
    """Console entry point. Usage errors exit with code 2 (typer/click's convention)."""
    try:
        import typer  # noqa: F401
    except ImportError:
        print("initspec: the command line needs the 'cli' extra: pip install 'initspec[cli]'", file=sys.stderr)
        return 2
    app = build_app()
    try:
        app(args=argv, prog_name="initspec")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return 0


def fail(message: str, code: int = 2) -> "typer.Exit":  # noqa: F821
    """Print a one-line error and return a typer.Exit to raise."""
    import typer

    typer.echo(f"initspec: error: {message}", err=True)
    return typer.Exit(code)
