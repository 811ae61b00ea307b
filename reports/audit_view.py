"""The HTML page of ``initspec audit --html`` / ``initspec diff --html`` (issue 13).

Rendered from plain data only: an audit document (:meth:`initspec.conformance.audit.AuditResult.
to_dict`, ``kind="audit"``) or a diff document (:func:`initspec.conformance.audit_diff.diff_audits`,
``kind="audit_diff"``), several of them on one page (``initspec diff`` shows the diff, then both
audits). Same rules as the conformance report (:mod:`.render`): one self-contained file, inline
CSS, no script, no network; every string from the documents is escaped by jinja2's autoescape.
Imports no framework and no backend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .fmt import fmt_num

__all__ = ["AUDIT_TEMPLATE", "audit_context", "render_audit_html", "write_audit_html"]

AUDIT_TEMPLATE = "audit.html.j2"
#: an audit verdict -> the report's verdict CSS class (:func:`initspec.reports.fmt.verdict_class`)
VERDICT_CLASS = {"matches": "matches", "departure": "departs", "identified": "pass", "unidentified": "skip"}
#: a diff row whose law variance ratio is this far from 1 (either way) is highlighted
RATIO_NOTABLE = 1.1


@dataclass(frozen=True)
class AuditView:
    """One audit document as the template shows it."""

    title: str
    doc: Mapping[str, Any]
    rows: list[dict[str, Any]]
    counts: dict[str, int]


@dataclass(frozen=True)
class DiffView:
    """One diff document as the template shows it."""

    title: str
    doc: Mapping[str, Any]
    rows: list[dict[str, Any]]


def _check(doc: Any) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping) or doc.get("kind") not in ("audit", "audit_diff"):
        kind = doc.get("kind") if isinstance(doc, Mapping) else type(doc).__name__
        raise ValueError(f"Expected an audit or audit_diff document (a dict with kind='audit' or 'audit_diff'). "
                         f"Received: kind={kind!r}")
    return doc


def _audit_view(doc: Mapping[str, Any]) -> AuditView:
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for f in doc.get("findings") or []:
        idf, m, exp = f.get("identified") or {}, f.get("measured") or {}, f.get("expected")
        counts[f["verdict"]] = counts.get(f["verdict"], 0) + 1
        rows.append({"path": f["path"], "canonical": f.get("canonical") or "", "layer": f.get("layer", ""),
                     "shape": "×".join(map(str, f.get("shape") or [])) or "scalar", "identified": idf.get("label"),
                     "fan": idf.get("fan_text") or "", "std": fmt_num(m.get("std")),
                     "law_std": fmt_num(idf.get("std")) if idf.get("std") is not None else "",
                     "expected": exp.get("label") if exp else "", "source": exp.get("source", "") if exp else "",
                     "verdict": f["verdict"], "cls": VERDICT_CLASS.get(f["verdict"], "none"),
                     "departures": list(f.get("departures") or []), "notes": list(f.get("notes") or []),
                     "resolution": fmt_num(f.get("resolution")) if f.get("resolution") is not None else ""})
    title = f"{doc.get('model', '?')} ({doc.get('framework', '?')})"
    return AuditView(title, doc, rows, counts)


def _notable(r: Any) -> bool:
    return isinstance(r, (int, float)) and (r == 0 or r > RATIO_NOTABLE or r < 1 / RATIO_NOTABLE)


def _diff_view(doc: Mapping[str, Any]) -> DiffView:
    rows = [{**r, "shape_a": "×".join(map(str, r.get("shape_a") or [])),
             "shape_b": "×".join(map(str, r.get("shape_b") or [])),
             "measured": fmt_num(r.get("variance_ratio")), "notable": _notable(r.get("law_variance_ratio"))}
            for r in doc.get("rows") or []]
    a, b = doc.get("a") or {}, doc.get("b") or {}
    title = f"{a.get('model', '?')} ({a.get('framework', '?')}) vs {b.get('model', '?')} ({b.get('framework', '?')})"
    return DiffView(title, doc, rows)


def audit_context(docs: Mapping[str, Any] | Sequence[Mapping[str, Any]], title: str | None = None) -> dict[str, Any]:
    """What the template shows for ``docs`` (one document or several, in page order)."""
    items = [docs] if isinstance(docs, Mapping) else list(docs)
    if not items:
        raise ValueError("Nothing to render: pass at least one audit or audit_diff document.")
    views = [_audit_view(d) if d["kind"] == "audit" else _diff_view(d) for d in map(_check, items)]
    return {"views": views, "title": title or " · ".join(v.title for v in views[:2]),
            "ratio_notable": RATIO_NOTABLE}


def render_audit_html(docs: Mapping[str, Any] | Sequence[Mapping[str, Any]], title: str | None = None) -> str:
    """The page of ``docs`` (audit and/or diff documents) as HTML text."""
    from .render import make_env

    return make_env().get_template(AUDIT_TEMPLATE).render(**audit_context(docs, title))


def write_audit_html(docs: Mapping[str, Any] | Sequence[Mapping[str, Any]], out: str | os.PathLike[str],
                     title: str | None = None) -> Any:
    """Render ``docs`` to ``out`` atomically; returns the :class:`~initspec.reports.render.ReportInfo`."""
    import time

    from .render import ReportInfo, write_atomic

    t0 = time.perf_counter()
    path, size = write_atomic(out, render_audit_html(docs, title).encode("utf-8"))
    return ReportInfo(path, size, time.perf_counter() - t0)
