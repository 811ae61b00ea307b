"""Render a results document to one self-contained HTML file.

The page has inline CSS and inline SVG figures only: no script, no external fetch, so it opens
from disk offline and prints. Every string taken from the results is escaped by jinja2's
autoescape; figures are produced here (:mod:`initspec.reports.plots`) and marked safe.
Imports: jinja2, markupsafe, matplotlib, numpy and the spec tables; never a framework.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import experiments_view, model
from .fmt import fmt_bounds, fmt_num, fmt_ratio, fmt_seconds, fmt_value, verdict_class
from .diff import RATIO_CHANGE_NOTABLE, diff_results

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE = "report.html.j2"


# ---------------------------------------------------------------------------------------------
# template
# ---------------------------------------------------------------------------------------------
def make_env() -> Any:
    """The jinja2 environment: autoescape on for everything, undefined names are errors."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(slug=model.slug, num=fmt_num, bounds=fmt_bounds, value=fmt_value, ratio=fmt_ratio,
                       seconds=fmt_seconds, vclass=verdict_class)
    return env


# ---------------------------------------------------------------------------------------------
# context
# ---------------------------------------------------------------------------------------------
@dataclass
class Figures:
    """SVG strings keyed for the template (marked safe there)."""

    distribution: dict[str, str]
    depth: list[tuple[str, str]]
    symmetry: str | None
    trainability: str | None


def _safe_figure(make: Callable[[], str], what: str) -> Any:
    """A figure as Markup, or an escaped note when its data cannot be drawn: one odd record
    must not cost the whole report (the note names the error, so it is still seen)."""
    from markupsafe import Markup, escape

    try:
        return Markup(make())
    except Exception as e:  # noqa: BLE001 - a view: report the problem in place
        return Markup('<p class="figerror">Figure unavailable ({}): {}: {}</p>').format(
            what, type(e).__name__, escape(str(e).splitlines()[0] if str(e) else ""))


def build_figures(results: Mapping[str, Any], sections: list[model.SchemeSection]) -> Figures:
    """Every figure of the report, reusing one matplotlib figure per kind."""
    from .plots import Plotter

    p = Plotter()
    dist = {g.key: _safe_figure(lambda g=g: p.distribution(g), g.title) for s in sections for g in s.groups}
    exp = results.get("experiments") or {}
    depth = [(act, _safe_figure(lambda act=act, a=a, g=g: p.depth(act, a, g), act))
             for act, a, g in experiments_view.signal_panels(exp)]
    sym_curves = experiments_view.loss_curves(exp.get("symmetry") or [])
    tr_curves = experiments_view.loss_curves(exp.get("trainability") or [])
    sym = _safe_figure(lambda: p.loss("Symmetry breaking: training loss", sym_curves), "symmetry") \
        if sym_curves else None
    tr = _safe_figure(lambda: p.loss("Trainability: training loss", tr_curves), "trainability") \
        if tr_curves else None
    p.close()
    return Figures(dist, depth, sym, tr)


def seeds(results: Mapping[str, Any]) -> tuple[list[Any], int]:
    """The run's configured seed(s) and how many distinct per-check seeds the checks used."""
    cfg = results.get("config") or {}
    given = [s for k in ("seed", "seeds") for s in (cfg.get(k) if isinstance(cfg.get(k), list) else [cfg.get(k)])
             if s is not None]
    per_check = {c.get("seed") for c in results.get("checks") or [] if c.get("seed") is not None} - set(given)
    return given, len(per_check)


def context(results: Mapping[str, Any], against: Mapping[str, Any] | None = None,
            source: str | None = None) -> dict[str, Any]:
    """Everything the template shows."""
    sections = model.scheme_sections(results)
    exp = results.get("experiments") or None
    claims = list((exp or {}).get("claims") or [])
    return {
        "r": results,
        "source": source,
        "counts": model.counts(results),
        "columns": model.columns(results),
        "matrix": model.summary_matrix(results),
        "sections": sections,
        "moment_tables": {g.key: model.moment_table(g) for s in sections for g in s.groups},
        "figures": build_figures(results, sections),
        "fans": model.fan_tables(results),
        "native": model.native_by_framework(results),
        "failures": model.failures(results),
        "skips": model.skips(results),
        "portable": model.portable_table(results),
        "experiments": exp,
        "claims": claims,
        "claim_backends": experiments_view.claim_backends(claims),
        "sym_table": experiments_view.scalar_table((exp or {}).get("symmetry") or []),
        "sym_pivot": experiments_view.symmetry_pivot((exp or {}).get("symmetry") or []),
        "tr_table": experiments_view.scalar_table((exp or {}).get("trainability") or []),
        "sym_loss": experiments_view.metric_pivot((exp or {}).get("symmetry") or [], model.PIVOT_METRIC),
        "tr_loss": experiments_view.metric_pivot((exp or {}).get("trainability") or [], model.PIVOT_METRIC),
        "seeds": seeds(results),
        "diff": diff_results(results, against) if against is not None else None,
        "ratio_notable": RATIO_CHANGE_NOTABLE,
        "config_json": json.dumps(results.get("config") or {}, indent=1, sort_keys=True, default=str),
    }


def render_html(results: Mapping[str, Any], against: Mapping[str, Any] | None = None,
                source: str | None = None) -> str:
    """The report of ``results`` (optionally with the changes since ``against``) as HTML text."""
    if not isinstance(results, Mapping):
        raise TypeError(f"Argument `results` must be a results dict. Received: results={type(results).__name__}")
    if against is not None and not isinstance(against, Mapping):
        raise TypeError(f"Argument `against` must be a results dict. Received: against={type(against).__name__}")
    return make_env().get_template(TEMPLATE).render(**context(results, against, source))


@dataclass(frozen=True)
class ReportInfo:
    """What :func:`write_report` wrote."""

    path: Path
    bytes: int
    seconds: float


def write_report(results: "Mapping[str, Any] | str | os.PathLike[str]", out: "str | os.PathLike[str]",
                 against: "Mapping[str, Any] | str | os.PathLike[str] | None" = None,
                 source: str | None = None) -> ReportInfo:
    """Render ``results`` (a dict or a results.json path) to ``out`` atomically (temp file in the
    same folder, then ``os.replace``; missing parent folders are created). ``source`` names the
    results file in the page. Documents are validated against the results JSON Schema (version 1
    upgraded). Raises ``FileNotFoundError``/``ValueError`` for a bad results file
    and ``OSError`` when ``out`` cannot be written."""
    from initspec.conformance.results import load

    from .validate import validate

    t0 = time.perf_counter()
    if not isinstance(results, Mapping):
        source = source or str(results)
        results = load(results)
    else:
        results = validate(results, source or "results")
    if against is not None:
        against = validate(against, "against") if isinstance(against, Mapping) else load(against)
    path, size = write_atomic(out, render_html(results, against, source).encode("utf-8"))
    return ReportInfo(path, size, time.perf_counter() - t0)


def write_atomic(out: "str | os.PathLike[str]", data: bytes) -> tuple[Path, int]:
    """Write ``data`` to ``out`` atomically (temp file in the same folder, then ``os.replace``;
    missing parent folders are created); raises ``OSError`` when ``out`` cannot be written."""
    out = Path(out)
    if out.is_dir():
        raise IsADirectoryError(f"{str(out)!r} is a folder, not a file name")
    for parent in (out.parent, *out.parent.parents):
        if parent.exists() and not parent.is_dir():
            raise NotADirectoryError(f"{str(parent)!r} is a file, not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out, len(data)
