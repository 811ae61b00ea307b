"""``initspec report A.json --against B.json``: what changed between two runs."""

from __future__ import annotations

import copy

from initspec.reports import render_html
from initspec.reports.diff import diff_results

from .fake_results import make_results


def _flip_first_pass(doc: dict) -> str:
    c = next(c for c in doc["checks"] if c["verdict"] == "pass" and c.get("std_ratio") is not None)
    c["verdict"] = "fail"
    c["std_ratio"] = 1.25
    return c["id"]


def test_same_run_has_no_changes(small_doc):
    d = diff_results(small_doc, copy.deepcopy(small_doc))
    assert d.empty
    assert "No changes" in render_html(small_doc, against=copy.deepcopy(small_doc))


def test_verdict_ratio_and_version_changes(small_doc):
    base = copy.deepcopy(small_doc)
    cid = _flip_first_pass(small_doc)
    small_doc["backends"][1]["versions"]["torch"] = "2.14.0"
    d = diff_results(small_doc, base)
    assert not d.device_paired
    assert [c.what for c in d.checks] == [cid]
    assert (d.checks[0].before, d.checks[0].after) == ("pass", "fail")
    cell = d.cells[0]  # verdict changes come first
    assert (cell.before, cell.after) == ("pass", "fail") and cell.notable
    assert cell.delta is not None and cell.delta > 0.2
    assert any(v.what == "torch/cpu: torch" and v.after == "2.14.0" for v in d.versions)
    html = render_html(small_doc, against=base)
    assert 'id="changes"' in html and "2.14.0" in html


def test_cpu_run_against_gpu_run_pairs_by_backend(small_doc):
    gpu = make_results(device="gpu", unavailable=(), versions={"jax": {"jax": "0.10.3", "flax": "0.12.8"}}, seed=7)
    d = diff_results(small_doc, gpu)
    assert d.device_paired
    # every initspec check of an available backend finds its partner across devices
    assert d.added == 3  # only the unavailable torch/gpu checks of the CPU run are new
    assert d.removed == 0
    assert any("jax / cpu vs jax / gpu" in c.what for c in d.cells)
    assert any(v.what == "jax: jax" and (v.before, v.after) == ("0.10.3", "0.10.2") for v in d.versions)
    assert any(v.what == "jax: device name" for v in d.versions)


def test_claim_and_native_changes(small_doc):
    base = copy.deepcopy(small_doc)
    claim = small_doc["experiments"]["claims"][0]
    backend = next(iter(claim["per_backend"]))
    claim["per_backend"][backend]["verdict"] = "fail"
    claim["verdict"] = "fail"
    small_doc["native"][0]["verdict"] = "departs" if base["native"][0]["verdict"] != "departs" else "matches"
    d = diff_results(small_doc, base)
    assert {c.what for c in d.claims} == {claim["id"], f"{claim['id']} · {backend}"}
    assert len(d.native) == 1
