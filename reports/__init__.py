"""The HTML comparison report: one self-contained file rendered from a results document alone.

``render_html(results, against=None)`` returns the page; ``write_report(results_or_path, out,
against=None)`` writes it atomically and returns a :class:`ReportInfo` (path, bytes, seconds).
Importing this package imports no deep-learning framework (rendering needs jinja2, markupsafe,
matplotlib and numpy only); ``initspec report RESULTS.json --out report.html`` is the CLI.
"""

from __future__ import annotations

from .render import ReportInfo, render_html, write_report

__all__ = ["ReportInfo", "render_html", "write_report"]
