"""``initspec audit MODULE:FACTORY`` and ``initspec diff A B``: what a model's own init does.

``FACTORY`` is a callable taking no argument that builds the model (torch ``nn.Module``, a built
Keras model) or, for Flax, returns ``(module, *example_inputs)``; it is loaded like
``initspec identify`` loads a callable. ``--html FILE`` also writes a self-contained page
(:mod:`initspec.reports.audit_view`: the audit, or the diff and both audits). Bad input (cannot
load, no parameters, unbuilt Keras model, unmatched tensors in diff, unknown framework): one-line
error, exit 2.
"""

from __future__ import annotations

import json
from typing import Any


def _build(target: str, framework: str | None) -> Any:
    from initspec.conformance.audit_api import audit, detect_framework
    from initspec.conformance.identify import load_callable

    factory = load_callable(target)
    built = factory()
    if isinstance(built, tuple):
        return audit(built[0], *built[1:], framework=framework)
    fw = framework or detect_framework(built)
    return audit(factory if fw == "torch" else built, framework=fw)


def _write_html(docs: list[dict[str, Any]], out: str) -> None:
    import typer
    from initspec.reports.audit_view import write_audit_html

    info = write_audit_html(docs, out)
    typer.echo(f"wrote {info.path} ({info.bytes} bytes)", err=True)


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command("audit")
    def audit_cmd(
        target: str = typer.Argument(..., help="MODULE:FACTORY building the model (Flax: (module, *inputs))"),
        framework: str = typer.Option(None, "--framework", help="torch | keras | flax (default: detected)"),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON object"),
        html: str = typer.Option(None, "--html", help="Also write a self-contained HTML page to this file"),
    ) -> None:
        """Identify every parameter's init in spec terms and its departures from native.py."""
        from initspec.cli import fail
        from initspec.errors import InitSpecError

        try:
            result = _build(target, framework)
            if html:
                _write_html([result.to_dict()], html)
        except (InitSpecError, ValueError, TypeError, OSError) as err:
            raise fail(str(err).splitlines()[0]) from None
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=1, default=str))
        else:
            from rich.console import Console

            Console().print(result.table())

    @app.command("diff")
    def diff_cmd(
        a: str = typer.Argument(..., help="MODULE:FACTORY of the first model"),
        b: str = typer.Argument(..., help="MODULE:FACTORY of the second model"),
        mapping: str = typer.Option(None, "--map", help="JSON file: {a name: b name} (paths or canonical names)"),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON object"),
        html: str = typer.Option(None, "--html", help="Also write a self-contained HTML page (diff + both audits)"),
    ) -> None:
        """Audit two models of the same architecture and compare them tensor by tensor."""
        from initspec.cli import fail
        from initspec.conformance.audit_api import diff
        from initspec.errors import InitSpecError

        try:
            names = json.loads(open(mapping).read()) if mapping else None
            ra, rb = _build(a, None), _build(b, None)
            d = diff(ra, rb, names)
            if html:
                _write_html([d, ra.to_dict(), rb.to_dict()], html)
        except (InitSpecError, ValueError, TypeError, OSError) as err:
            raise fail(str(err).splitlines()[0]) from None
        if as_json:
            typer.echo(json.dumps(d, indent=1, default=str))
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"initspec diff: {d['a']['model']} ({d['a']['framework']}) vs "
                        f"{d['b']['model']} ({d['b']['framework']})")
        for col in ("canonical", "a", "b", "a identified", "b identified", "var b / a (law)", "measured"):
            t.add_column(col)
        for r in d["rows"]:
            t.add_row(r["canonical"] or "-", r["a"], r["b"], r["a_identified"], r["b_identified"], r["law_ratio"],
                      f"{r['variance_ratio']:.4g}")
        Console().print(t)
