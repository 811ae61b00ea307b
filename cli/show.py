"""``initspec show SCHEME --shape 3,3,64,128 --layout keras [--json]``."""

from __future__ import annotations

import json
import math
from typing import Any, Optional


def _parse_shape(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.split(",")]
    try:
        return tuple(int(p) for p in parts) if text.strip() else ()
    except ValueError:
        raise ValueError(f"--shape must be comma-separated integers like 3,3,64,128. Received: --shape={text!r}") from None


def _parse_params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"--param must look like name=value. Received: --param={it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = int(v) if v.lstrip("-").isdigit() and k in ("groups",) else float(v)
        except ValueError:
            out[k] = v
    return out


def describe(scheme: str, shape: tuple[int, ...], layout: str, dtype: str = "float32", groups: int = 1,
             params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``show`` prints, as a JSON-able dict."""
    from initspec import resolve
    from initspec.layouts import translate
    from initspec.native import NATIVE, native_params

    plan = resolve(scheme, shape, layout, dtype, groups=groups, **(params or {}))
    e = plan.element
    s = plan.scheme
    out: dict[str, Any] = {
        "scheme": s.name, "summary": s.summary, "family": s.family, "params": plan.params,
        "shape": list(shape), "layout": plan.layout.name if plan.layout else None, "dtype": plan.dtype,
        "groups": groups,
        "fan_in": plan.fans.fan_in if plan.fans else None, "fan_out": plan.fans.fan_out if plan.fans else None,
        "receptive_field": plan.fans.receptive_field if plan.fans else None,
        "mean": e.mean, "std": _num(e.std), "variance": _num(e.var), "low": e.low, "high": e.high,
        "excess_kurtosis": e.excess_kurtosis, "distribution": e.kind,
        "uniform_limit": plan.high if plan.sampler == "uniform" and plan.low == -plan.high else None,
        "pre_truncation_sigma": plan.std if plan.sampler == "truncated_normal" else None,
        "frameworks": [],
    }
    for fw in ("torch", "keras", "jax"):
        try:
            fshape, flay = translate(shape, plan.layout or "keras", fw)
        except ValueError as err:
            out["frameworks"].append({"framework": fw, "error": str(err)})
            continue
        for n in NATIVE:
            if n.kind != "initializer" or n.framework != fw:
                continue
            if n.scheme != s.name and n.name_suggests != s.name:
                continue
            try:
                np_ = native_params(n)
                nplan = resolve(n.scheme, fshape, flay, dtype, **np_)
            except (ValueError, TypeError) as err:
                out["frameworks"].append({"framework": fw, "call": n.name, "error": str(err)})
                continue
            ne = nplan.element
            diffs = list(n.departures)
            if n.scheme != s.name:
                diffs.insert(0, f"{n.name} is the spec's {n.scheme!r}, not {s.name!r}: "
                                f"distribution {ne.kind} vs {e.kind}.")
            out["frameworks"].append({
                "framework": fw, "call": n.name, "equals_scheme": n.scheme, "same_as_spec": n.scheme == s.name,
                "shape": list(fshape), "layout": flay.name,
                "fan_in": nplan.fans.fan_in if nplan.fans else None, "fan_out": nplan.fans.fan_out if nplan.fans else None,
                "std": _num(ne.std), "low": ne.low, "high": ne.high, "distribution": ne.kind,
                "std_ratio_to_spec": (_num(ne.std / e.std) if e.std and math.isfinite(e.std) else None),
                "differences": diffs, "source": n.source,
            })
    return out


def _num(x: float) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def register(app) -> None:  # noqa: ANN001
    import typer

    @app.command()
    def show(
        scheme: str = typer.Argument(..., help="Scheme name or alias, e.g. glorot_normal"),
        shape: str = typer.Option(..., "--shape", help="Weight shape, e.g. 3,3,64,128"),
        layout: str = typer.Option("keras", "--layout", help="Layout name (torch, keras, jax, torch_conv, ...)"),
        dtype: str = typer.Option("float32", "--dtype"),
        groups: int = typer.Option(1, "--groups"),
        param: Optional[list[str]] = typer.Option(None, "--param", help="Scheme parameter name=value (repeatable)"),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON object"),
    ) -> None:
        """Fans, std/limit and support of SCHEME for one weight, and what each framework's
        native call gives the same logical layer."""
        from initspec.cli import fail

        try:
            d = describe(scheme, _parse_shape(shape), layout, dtype, groups, _parse_params(param or []))
        except (ValueError, TypeError) as err:
            raise fail(str(err)) from None
        if as_json:
            typer.echo(json.dumps(d, indent=1))
            return
        from rich.console import Console

        c = Console(soft_wrap=True)
        c.print(f"[bold]{d['scheme']}[/bold] ({d['family']}) - {d['summary']}")
        c.print(f"shape {tuple(d['shape'])}  layout {d['layout']}  dtype {d['dtype']}  params {d['params']}")
        c.print(f"fan_in {_fmt(d['fan_in'])}  fan_out {_fmt(d['fan_out'])}  receptive field {_fmt(d['receptive_field'])}")
        line = f"distribution {d['distribution']}  mean {_fmt(d['mean'])}  std {_fmt(d['std'])}  variance {_fmt(d['variance'])}"
        if d["uniform_limit"] is not None:
            line += f"  uniform limit +-{_fmt(d['uniform_limit'])}"
        if d["pre_truncation_sigma"] is not None:
            line += f"  pre-truncation sigma {_fmt(d['pre_truncation_sigma'])}"
        c.print(line)
        c.print(f"support [{_fmt(d['low'])}, {_fmt(d['high'])}]  excess kurtosis {_fmt(d['excess_kurtosis'])}")
        c.print("\n[bold]Same logical layer, each framework's native call[/bold]")
        for f in d["frameworks"]:
            if "error" in f:
                c.print(f"- {f.get('call', f['framework'])}: {f['error']}")
                continue
            tag = "[green]same as spec[/green]" if f["same_as_spec"] else f"[yellow]= spec {f['equals_scheme']!r}[/yellow]"
            c.print(f"- [bold]{f['call']}[/bold] {tag}: shape {tuple(f['shape'])} ({f['layout']}), "
                    f"fan_in {_fmt(f['fan_in'])}, fan_out {_fmt(f['fan_out'])}, {f['distribution']}, "
                    f"std {_fmt(f['std'])} ({_fmt(f['std_ratio_to_spec'])} x spec), "
                    f"support [{_fmt(f['low'])}, {_fmt(f['high'])}]")
            for line in f["differences"]:
                c.print(f"    {line}", highlight=False)
