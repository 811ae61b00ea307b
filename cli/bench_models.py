"""``initspec bench --models [--framework torch,tensorflow,jax] [--model resnet50,bert,gpt2] [--quick]``.

Whole-model init: for each (framework, model) of the zoo (:mod:`initspec.backends._zoo`), one
FRESH subprocess (``python -m initspec.backends._model_bench``) builds the model and times, paired
and interleaved (median of ``--repeats`` rounds), the framework's own default init against
initspec's whole-model helper in native sampling mode (torch ``init_module_``, Keras
``init_model``) and in portable mode (the same, ``portable=True``; Flax ``init_tree`` on the
``jax.eval_shape`` tree, jitted); the first ("cold") call of each variant in the process, jit
compilation included, as the median over ``--cold-runs`` fresh processes (the full one and
``--cold-only`` ones); and the peak extra RSS of one call relative to the parameter bytes. Each
variant with a target (:data:`initspec.backends._model_bench.TARGETS`: initspec warm <= 1.10x,
portable warm <= 1.5x and cold <= 2x) gets OK or MISS; ``--quick`` records get none.
"""

from __future__ import annotations

import statistics
from typing import Any

from initspec import registry
from initspec.backends._model_bench import FRAMEWORKS, TARGETS, verdicts
from initspec.backends._zoo import model_names
from ._subprocess import run_json_subprocess

#: wall-clock limit for one (framework, model) subprocess
DEFAULT_TIMEOUT_S = 1800
#: how each registry backend's column is labelled (Keras runs in the tensorflow backend, Flax in jax)
FRAMEWORK_LABELS = {name: f.model_bench for name, f in registry.frameworks().items() if f.model_bench}
VARIANT_COLUMNS = ("initspec", "portable")
#: fresh processes whose first calls make each variant's cold time (median)
DEFAULT_COLD_RUNS = 3


def parse_list(text: str, known: tuple[str, ...], option: str) -> list[str]:
    """Comma-separated names, each one of ``known`` (``ValueError`` naming the unknown ones)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in known]
    if bad or not names:
        raise ValueError(f"{option} must be a comma-separated list of {', '.join(known)}. Received: {option}={text!r}")
    return names


def run_model_subprocess(framework: str, model: str, quick: bool, repeats: int, warmup: int,
                         timeout_s: float = DEFAULT_TIMEOUT_S, env: dict[str, str] | None = None,
                         cold_only: bool = False) -> dict[str, Any]:
    """One (framework, model) bench in a fresh interpreter; its record (``status`` error on a crash
    or timeout, with the tail of stderr). ``cold_only``: the first calls only."""
    base = {"framework": framework, "model": model, "quick": quick, "versions": {}, "variants": []}
    args = ["--framework", framework, "--model", model, "--repeats", str(repeats), "--warmup", str(warmup),
            *(["--quick"] if quick else []), *(["--cold-only"] if cold_only else [])]
    return run_json_subprocess("initspec.backends._model_bench", args, base, timeout_s, env,
                               prefix="initspec-bench-models-")


def _ms(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _variant_cell(v: dict[str, Any] | None) -> str:
    if v is None:
        return "[dim]-[/dim]"
    return f"{_ms(v['median_ms'])} ({v['ratio']:.2f}x)"


def _rss_cell(variants: dict[str, dict[str, Any]]) -> str:
    parts = [f"{name} {v['peak_rss_extra_x_params']:.2f}x" for name, v in variants.items()
             if v.get("peak_rss_extra_x_params") is not None]
    return ", ".join(parts) or "[dim]n/a[/dim]"


def render(records: list[dict[str, Any]]) -> Any:
    """A rich Table: one row per (framework, model); times are medians in ms, ``(r x)`` the paired
    ratio to the native default, cold = first call in a fresh process."""
    from rich.table import Table

    table = Table(title="initspec bench --models: whole-model init (median ms; ratio to the native default)")
    for col, just in (("framework", "left"), ("model", "left"), ("params", "right"), ("native ms", "right"),
                      ("initspec ms", "right"), ("portable ms", "right"), ("cold ms: portable / initspec / native", "right"),
                      ("portable cold / native cold", "right"), ("peak extra RSS (x param bytes)", "left"),
                      ("targets", "left")):
        table.add_column(col, justify=just)
    for rec in records:
        fw = FRAMEWORK_LABELS.get(rec["framework"], rec["framework"])
        if rec["status"] != "ok":
            mark = "SKIP" if rec["status"] == "unavailable" else "[red]ERROR[/red]"
            table.add_row(fw, rec["model"], "", f"{mark} [dim]{rec.get('reason')}[/dim]", "", "", "", "", "", "")
            continue
        by_name = {v["variant"]: v for v in rec["variants"]}
        cold = " / ".join(_ms(by_name[n]["cold_ms"]) if n in by_name else "-" for n in ("portable", "initspec", "native"))
        verdict = verdict_text(by_name)
        color = "green" if verdict == "OK" else "red" if verdict.startswith("MISS") else "dim"
        table.add_row(fw, f"{rec['label']} [dim]{rec['description']}[/dim]", f"{rec['n_params'] / 1e6:.3g} M",
                      _ms(by_name["native"]["median_ms"]), *(_variant_cell(by_name.get(n)) for n in VARIANT_COLUMNS),
                      cold, _cold_ratio_cell(by_name), _rss_cell(by_name), f"[{color}]{verdict}[/{color}]")
    return table


def _cold_ratio_cell(variants: dict[str, dict[str, Any]]) -> str:
    v = variants.get("portable")
    if v is None or v.get("cold_ratio") is None:
        return "-"
    runs = len(v.get("cold_all_ms") or [v["cold_ms"]])
    return f"{v['cold_ratio']:.2f}x" + (f" (median of {runs})" if runs > 1 else "")


def markdown(records: list[dict[str, Any]]) -> str:
    """The table of :func:`render` as GitHub markdown (for ``docs/measurements``)."""
    head = ("framework", "model", "params", "native ms", "initspec ms (ratio)", "portable ms (ratio)",
            "cold ms: portable / initspec / native", "portable cold / native cold", "peak extra RSS (x param bytes)",
            "targets")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for rec in records:
        fw = FRAMEWORK_LABELS.get(rec["framework"], rec["framework"])
        if rec["status"] != "ok":
            lines.append(f"| {fw} | {rec['model']} | | {rec['status']}: {rec.get('reason')} | | | | | | |")
            continue
        by_name = {v["variant"]: v for v in rec["variants"]}
        cells = [fw, f"{rec['label']} (`{rec['description']}`)", f"{rec['n_params'] / 1e6:.3g} M",
                 _ms(by_name["native"]["median_ms"]),
                 *(_variant_cell(by_name.get(n)).replace("[dim]-[/dim]", "-") for n in VARIANT_COLUMNS),
                 " / ".join(_ms(by_name[n]["cold_ms"]) if n in by_name else "-" for n in ("portable", "initspec", "native")),
                 _cold_ratio_cell(by_name), _rss_cell(by_name), verdict_text(by_name)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def calls(records: list[dict[str, Any]]) -> list[str]:
    """``framework variant: call`` once per framework and variant (the table's legend)."""
    seen: dict[tuple[str, str], str] = {}
    for rec in records:
        for v in rec.get("variants", ()):
            seen.setdefault((rec["framework"], v["variant"]), v["call"])
    return [f"{FRAMEWORK_LABELS.get(fw, fw)} {name}: {call}" for (fw, name), call in seen.items()]


def merge_cold(record: dict[str, Any], extra: list[dict[str, Any]]) -> dict[str, Any]:
    """``record`` (a full run) with the first calls of the ``--cold-only`` runs ``extra`` merged in:
    per variant ``cold_all_ms`` (one per process), ``cold_ms`` their median and ``cold_ratio`` the
    median of the processes' own ratios to the native variant's first call (paired within each
    process). A failed extra run makes the record an error naming it (never a silently smaller
    sample)."""
    if record["status"] != "ok":
        return record
    runs = [record, *extra]
    for i, run in enumerate(extra, start=2):
        if run["status"] != "ok":
            return {**record, "status": "error",
                    "reason": f"cold run {i} of {len(runs)}: {run['status']}: {run.get('reason')}"}
    rows = [{v["variant"]: v for v in run["variants"]} for run in runs]
    for v in record["variants"]:
        name = v["variant"]
        v["cold_all_ms"] = [r[name]["cold_ms"] for r in rows]
        v["cold_ms"] = statistics.median(v["cold_all_ms"])
        v["cold_ratio"] = statistics.median(r[name]["cold_ratio"] for r in rows)
    return record


def run_all(frameworks: list[str], models: list[str], quick: bool, repeats: int, warmup: int,
            timeout_s: float, env: dict[str, str] | None, console: Any,
            cold_runs: int = DEFAULT_COLD_RUNS) -> list[dict[str, Any]]:
    """Every (framework, model): one full process, ``cold_runs - 1`` cold-only ones (merged with
    :func:`merge_cold`), then :func:`~initspec.backends._model_bench.verdicts`."""
    if cold_runs < 1:
        raise ValueError(f"Argument `cold_runs` must be >= 1. Received: cold_runs={cold_runs!r}")
    records = []
    for fw in frameworks:
        for model in models:
            with console.status(f"bench --models: {fw} {model}{' (quick)' if quick else ''}..."):
                record = run_model_subprocess(fw, model, quick, repeats, warmup, timeout_s, env)
                extra = []
                if record["status"] == "ok":
                    extra = [run_model_subprocess(fw, model, quick, repeats, warmup, timeout_s, env, cold_only=True)
                             for _ in range(cold_runs - 1)]
                record = merge_cold(record, extra)
                verdicts(record)
                records.append(record)
    return records


def all_ok(records: list[dict[str, Any]]) -> bool:
    """No error and no variant outside its target (unavailable frameworks and quick records do not count)."""
    return all(r["status"] != "error" and all(v.get("ok") is not False for v in r.get("variants", ()))
               for r in records)


def verdict_text(variants: dict[str, dict[str, Any]]) -> str:
    """``OK``, ``MISS`` with what missed (e.g. ``portable cold 2.08x > 2x``), or ``-`` (no target
    applies: ``--quick``)."""
    oks = [v["ok"] for v in variants.values() if "ok" in v]
    if not oks or all(ok is None for ok in oks):
        return "-"
    misses = [f"{name} {miss}" for name, v in variants.items() for miss in v.get("missed", ())]
    return "MISS: " + ", ".join(misses) if misses else "OK"


__all__ = ["DEFAULT_COLD_RUNS", "FRAMEWORKS", "TARGETS", "all_ok", "calls", "markdown", "merge_cold", "model_names",
           "parse_list", "render", "run_all", "run_model_subprocess", "verdict_text"]
