"""The audit / diff HTML page (issue 13), rendered from plain documents: no framework."""

from __future__ import annotations

import re

import pytest
from initspec.reports.audit_view import render_audit_html, write_audit_html

from .fake_audit import documents


@pytest.fixture(scope="module")
def html() -> str:
    return render_audit_html(documents())


def test_sections_and_rows(html):
    assert html.count("<section") == 3
    assert "Diff: MLP (torch) vs MLP (flax)" in html and "Audit: MLP (torch)" in html and "Audit: MLP (flax)" in html
    for text in ("fc1.kernel", "variance_scaling(1/3, fan_in, uniform)", "variance_scaling(1, fan_in, truncated_normal)",
                 "only in MLP (torch): <code>only_torch.weight</code>", "only in MLP (flax): <code>only_flax.kernel</code>"):
        assert text in html
    row = re.search(r"<tr class=\"depart\">\s*<td><code>fc1\.weight</code>.*?</tr>", html, re.S)
    assert row is not None and ">3</td>" in row.group(0)  # law variance ratio flax / torch = 3


def test_self_contained_and_escaped(html):
    assert "<script" not in html and "http://" not in html and "https://" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;src&lt;/b&gt;" in html


def test_write_and_bad_input(tmp_path):
    info = write_audit_html(documents()[1], tmp_path / "sub" / "audit.html")
    assert info.path.read_text(encoding="utf-8").startswith("<!doctype html>") and info.bytes > 1000
    with pytest.raises(ValueError, match="audit or audit_diff"):
        render_audit_html({"kind": "results"})
    with pytest.raises(ValueError, match="at least one"):
        render_audit_html([])
