"""``diff_audits`` matching rules (issue 13), on plain findings: no framework."""

from __future__ import annotations

import pytest
from initspec.backends._audit import AuditError
from initspec.conformance.audit import AuditResult, Finding
from initspec.conformance.audit_diff import diff_audits, ratio_text


def _f(path: str, canonical: str = "", std: float = 0.5) -> Finding:
    idf = {"label": f"normal(std={std})", "std": std}
    return Finding(path, "L", "weight", [4, 4], 16, idf, {"mean": 0.0, "std": std}, None, "identified",
                   canonical=canonical)


def _r(fw: str, *findings: Finding) -> AuditResult:
    return AuditResult(fw, "M", "", 1, 1e-3, 1e-4, list(findings))


def test_canonical_then_mapping_then_path():
    a = _r("torch", _f("attn.in_proj_weight[0]", "attn.q.weight", 0.5), _f("fc.weight", "fc.weight"),
           _f("x.w", "x.weight"), _f("Same/Path"))
    b = _r("flax", _f("attn.query.kernel", "attn.q.weight", 1.0), _f("fc.kernel", "fc.weight"),
           _f("y.kernel", "y.weight"), _f("params.same.path"))
    with pytest.raises(AuditError, match=r"Unmatched in M \(torch\): \['x.w'\]; unmatched in M \(flax\): \['y.kernel'\]"):
        diff_audits(a, b)
    d = diff_audits(a, b, {"x.weight": "y.kernel"})  # keys/values: paths or canonical names
    rows = {r["a"]: r for r in d["rows"]}
    assert [rows[p]["match"] for p in ("attn.in_proj_weight[0]", "fc.weight", "x.w", "Same/Path")] == [
        "canonical", "canonical", "mapping", "path"]
    assert rows["attn.in_proj_weight[0]"]["b"] == "attn.query.kernel"
    assert rows["attn.in_proj_weight[0]"]["law_ratio"] == "4" and d["unmatched_a"] == d["unmatched_b"] == []


def test_mapping_errors_and_loose():
    a, b = _r("torch", _f("w", "w")), _r("keras", _f("k", "k"))
    with pytest.raises(AuditError, match=r"'nope' \(not a tensor of M\)"):
        diff_audits(a, b, {"nope": "k"})
    d = diff_audits(a, b, strict=False)
    assert d["rows"] == [] and d["unmatched_a"] == ["w"] and d["unmatched_b"] == ["k"]


def test_ratio_text():
    assert [ratio_text(x) for x in (3.0, 1 / 3, 0.03125, 2.0004, 0.0, None)] == ["3", "1/3", "1/32", "2", "0", "-"]
