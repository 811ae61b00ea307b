"""``initspec portable``: the portable, shard-invariant stream across frameworks.

* ``initspec portable check [--backends numpy,torch,tensorflow,jax] [--device cpu|gpu]
  [--seed 0] [--out FILE]``: sample every scheme through each backend's portable module and
  compare with the NumPy reference; prints, per backend and case, the maximum ulp distance and
  absolute difference, and whether the raw 32-bit words are identical. ``--out`` writes the
  ``portable`` section of the results document (JSON). Exit status 1 with ``--strict`` when an
  element-wise case differs or words are not identical.
* ``initspec portable bench [--backends torch,jax] [--device cpu|gpu]``: portable normal vs the
  framework's native normal (4096x4096 float32; target: at least 0.5x the native speed), one
  subprocess per backend.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from initspec import registry

DEFAULT_BACKENDS = ",".join(f.name for f in registry.frameworks().values() if f.portable)
BENCH_BACKENDS = ",".join(f.name for f in registry.frameworks().values() if f.portable_bench)
#: cases whose values come from a framework's QR and so agree only to rounding
ROUNDING_CASES = ("orthogonal", "delta_orthogonal")
BENCH_TIMEOUT_S = 1800
PIPE_WIDTH = 160


def parse_backends(text: str, allowed: tuple[str, ...]) -> list[str]:
    """Comma-separated backend names, each in ``allowed``."""
    from initspec.errors import unknown

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"--backends must name at least one backend. Received: --backends={text!r}")
    for n in names:
        if n not in allowed:
            raise unknown("backend", "--backends", n, allowed)
    return names


def exact_failures(section: dict[str, Any]) -> list[str]:
    """Element-wise cases that are not bit-identical, and backends whose words differ."""
    bad = [f"{b}: words differ" for b, ok in section["bit_identical_words"].items() if not ok]
    for b, ulps in section["max_ulp"].items():
        bad += [f"{b}/{case}: {u} ulp" for case, u in ulps.items() if u and case not in ROUNDING_CASES]
    return bad


def render(section: dict[str, Any]) -> Any:
    """A rich table: one row per case, one column per backend ("=" when bit-identical)."""
    from rich.markup import escape
    from rich.table import Table

    backends = list(section["max_ulp"])
    device = section["config"]["device"]
    table = Table(title=f"initspec portable check ({device}): max ulp / max |diff| vs NumPy")
    table.add_column("case")
    for b in backends:
        table.add_column(b, justify="right")
    table.add_row("words bit-identical", *("yes" if section["bit_identical_words"][b] else "[red]NO[/red]"
                                          for b in backends))
    for case in section["config"]["cases"]:
        cells = []
        for b in backends:
            if case not in section["max_ulp"][b]:
                cells.append("[dim]skipped[/dim]")
                continue
            u, d = section["max_ulp"][b][case], section["max_abs_diff"][b][case]
            cells.append("=" if u == 0 else f"{u} ulp / {d:.2g}")
        table.add_row(escape(case), *cells)
    for b, why in section["unavailable"].items():
        table.add_row(f"[dim]{b}: unavailable[/dim]", *([""] * len(backends)))
        table.add_row(f"[dim]  {escape(why[:120])}[/dim]", *([""] * len(backends)))
    return table


def bench_backend(name: str, device: str, repeats: int, warmup: int) -> dict[str, Any]:
    """Run one backend's portable bench cases in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="initspec-portable-bench-") as tmp:
        out = Path(tmp) / "bench.json"
        cmd = [sys.executable, "-m", "initspec.backends.portable._bench_main", "--backend", name,
               "--device", device, "--repeats", str(repeats), "--warmup", str(warmup), "--json", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S)
        if proc.returncode != 0 or not out.is_file():
            return {"backend": name, "device": device, "status": "error", "cases": [],
                    "reason": (proc.stderr or proc.stdout)[-2000:].strip()}
        return json.loads(out.read_text(encoding="utf-8"))


def register(app) -> None:  # noqa: ANN001
    import typer

    sub = typer.Typer(help="The portable, shard-invariant stream: cross-backend agreement and speed.",
                      no_args_is_help=True)
    app.add_typer(sub, name="portable")

    @sub.command("check")
    def check(
        backends: str = typer.Option(DEFAULT_BACKENDS, "--backends", help="Comma-separated backends"),
        device: str = typer.Option("cpu", "--device", help="cpu or gpu"),
        seed: int = typer.Option(0, "--seed", min=0, help="Seed of the compared streams"),
        out: Optional[Path] = typer.Option(None, "--out", help="Write the results' `portable` section here"),
        strict: bool = typer.Option(False, "--strict",
                                    help="Exit 1 unless every element-wise case is bit-identical"),
    ) -> int:
        """Compare every scheme's portable values across backends with the NumPy reference."""
        from rich.console import Console

        from initspec.backends.portable._check import cross_check
        from initspec.cli import fail

        try:
            names = parse_backends(backends, tuple(f.name for f in registry.frameworks().values() if f.portable))
        except ValueError as e:
            raise fail(str(e)) from None
        if device not in ("cpu", "gpu"):
            raise fail(f"--device must be 'cpu' or 'gpu'. Received: --device={device!r}")
        console = Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
        section = cross_check(names, device=device, seed=seed)
        console.print(render(section))
        if out is not None:
            from initspec.conformance.results import write_atomic

            write_atomic(out, section)
            console.print(f"wrote {out}")
        bad = exact_failures(section)
        if bad:
            console.print("[yellow]not bit-identical:[/yellow] " + "; ".join(bad))
        if strict and bad:
            raise typer.Exit(1)
        return 0

    @sub.command("bench")
    def bench(
        backends: str = typer.Option(BENCH_BACKENDS, "--backends", help=f"Comma-separated ({BENCH_BACKENDS.replace(',', ', ')})"),
        device: str = typer.Option("cpu", "--device", help="cpu or gpu"),
        repeats: int = typer.Option(5, "--repeats", min=1, help="Timed rounds per case (median)"),
        warmup: int = typer.Option(1, "--warmup", min=0, help="Untimed calls first (the first compiles)"),
    ) -> int:
        """Portable normal vs the native normal generator (target: >= 0.5x native speed)."""
        from initspec.cli import fail

        try:
            names = parse_backends(backends, tuple(f.name for f in registry.frameworks().values()
                                                   if f.portable and f.name != "numpy"))
        except ValueError as e:
            raise fail(str(e)) from None
        if device not in ("cpu", "gpu"):
            raise fail(f"--device must be 'cpu' or 'gpu'. Received: --device={device!r}")
        for name in names:
            rec = bench_backend(name, device, repeats, warmup)
            if rec["status"] != "ok" and not rec["cases"]:
                typer.echo(f"{name} ({device}): {rec['status']}: {rec.get('reason')}")
            for c in rec["cases"]:
                if c.get("error"):
                    typer.echo(f"{name} ({device}) {c['case']}: ERROR {c['error']}")
                    continue
                typer.echo(f"{name} ({device}) {c['case']}: ours {c['ours_ms']:.1f} ms, {c['native_name']} "
                           f"{c['native_ms']:.1f} ms, speed {c['speedup']:.2f}x native "
                           f"({'OK' if c['ok'] else 'MISS'}, target >= {c['min_speedup']:g}x)")
        return 0
