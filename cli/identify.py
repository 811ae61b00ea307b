"""``initspec identify MODULE:CALLABLE --layout torch|keras|jax [--seed N] [--json]``.

Fingerprints an initializer (a framework's or your own) with the conformance probes and names
the closest spec scheme and every deviation (see :mod:`initspec.conformance.identify`).
A callable that cannot be loaded, raises, or returns the wrong shape: one-line error, exit 2.
"""

from __future__ import annotations

import json
from typing import Any


def _print(d: dict[str, Any]) -> None:
    from rich.console import Console

    c = Console()
    c.print(f"[bold]{d['callable']}[/bold]  ({d['kind']}; {d['seeding']})", highlight=False)
    c.print(f"layout {d['layout']}  reference shape {tuple(d['shape'])}  dtype {d['dtype']}  seed {d['seed']}")
    for note in d.get("notes", []):
        c.print(f"note: {note}", highlight=False)
    p = d.get("probe")
    if p:
        trunc = f", truncated at +-{p['truncation_sigma']:.3g} sigma" if p.get("truncation_sigma") else ""
        c.print(f"fan probe: variance = {p['scale']:.5g} / {p['mode']}  (gain {p['gain']:.4g}), "
                f"distribution {p['distribution']}{trunc}")
    best = d["closest"]
    tag = "[green]matches[/green]" if best["passes"] else "[yellow]closest[/yellow]"
    c.print(f"{tag}: [bold]{best['label']}[/bold]" + (f"  (std ratio {best['std_ratio']:.4f})"
                                                         if best.get("std_ratio") else ""))
    for line in best["deviations"]:
        c.print(f"  - {line}", highlight=False)
    nn = d.get("nearest_named")
    if nn:
        ratio = f", std ratio {nn['std_ratio']:.4f}" if nn.get("std_ratio") else ""
        c.print(f"nearest named scheme: [bold]{nn['label']}[/bold]{ratio}")
        for line in nn["deviations"][:6]:
            c.print(f"  - {line}", highlight=False)
    for det in d.get("determinism", []):
        if det["verdict"] != "pass":
            c.print(f"[red]{det['check']}[/red]: {det['message']}", highlight=False)
    c.print("candidates: " + "; ".join(
        f"{x['scheme']} ({len(x['failed'])} failed)" for x in d.get("candidates", [])), highlight=False)


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command()
    def identify(
        target: str = typer.Argument(..., help="MODULE:CALLABLE, e.g. torch.nn.init:xavier_normal_"),
        layout: str = typer.Option("keras", "--layout", help="Layout of the shapes passed to it: torch, keras, jax, ..."),
        seed: int = typer.Option(0, "--seed"),
        alpha: float = typer.Option(1e-4, "--alpha", help="Per-test level of the checks"),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON object"),
    ) -> None:
        """Name the spec scheme an initializer really is, and every deviation from it."""
        from initspec.cli import fail
        from initspec.conformance.identify import IdentifyError, identify as run_identify, load_callable

        try:
            obj = load_callable(target)
            result = run_identify(obj, layout, seed=seed, alpha=alpha, label=target)
        except IdentifyError as err:
            raise fail(str(err)) from None
        except (ValueError, TypeError) as err:
            raise fail(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
        if as_json:
            typer.echo(json.dumps(result, indent=1, default=str))
        else:
            _print(result)
