"""The HTML report: content, escaping, self-containment, isolation from frameworks, size."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from initspec.conformance.results import empty_results, load, write_atomic
from initspec.reports import experiments_view, model, render_html, write_report
from initspec.reports.plots import ks_halfwidth, thin

from .fake_results import FAILING, large_results

FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "flax")
#: The issue's limit on a full 4-backend CPU report.
MAX_REPORT_BYTES = 5_000_000
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SECTION_IDS = ("run", "summary", "summary-matrix", "schemes", "fans", "native", "claims", "portable", "failures")


def _ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


# ---------------------------------------------------------------------------------------------
# the view model
# ---------------------------------------------------------------------------------------------
def test_combine_is_worst_verdict():
    assert model.combine(["pass", "skip", "fail"]) == "fail"
    assert model.combine(["pass", "skip"]) == "pass"
    assert model.combine(["skip"]) == "skip"
    assert model.combine([]) == "none"


def test_worst_ratio_is_farthest_from_one():
    assert model.worst_ratio([1.01, 0.95, None, 1.03]) == 0.95
    assert model.worst_ratio([None]) is None


def test_matrix_cells(small_doc):
    m = model.summary_matrix(small_doc)
    keys = [c.key for c in m.columns]
    assert ("torch", "gpu") in keys and ("numpy", "cpu") in keys
    for (backend, scheme) in FAILING:
        cell = m.cells[scheme][(backend, "cpu")]
        assert cell.verdict == "fail"
        assert abs(cell.std_ratio - 1.0) > 0.05  # the injected scale shows in the ratio
    assert m.cells["normal"][("torch", "gpu")].verdict == "unavailable"
    assert "CUDA" in m.cells["normal"][("torch", "gpu")].title
    assert m.cells["normal"][("numpy", "cpu")].verdict == "pass"


def test_matrix_rows_follow_spec_order(small_doc):
    from initspec.schemes import SCHEMES

    rows = model.summary_matrix(small_doc).schemes
    order = list(SCHEMES)
    assert rows == sorted(rows, key=order.index)


def test_thin_keeps_extremes_and_limit():
    import numpy as np

    x = np.arange(10_000.0)
    y = np.sin(x / 300.0)
    y[4321], y[777] = 7.0, -9.0
    tx, ty = thin(x, y, max_points=200)
    assert len(tx) <= 200
    assert 7.0 in ty and -9.0 in ty
    assert np.all(np.diff(tx) > 0)  # x order kept


def test_ks_halfwidth_matches_exact_kolmogorov_quantile():
    from scipy import stats

    for n in (500, 20_000):
        for alpha in (1e-2, 1e-4):
            exact = float(stats.kstwo.ppf(1 - alpha, n))
            approx = ks_halfwidth(n, alpha)
            # the asymptotic law's first correction is O(1/sqrt(n)) relative
            assert abs(approx / exact - 1) < 1 / math.sqrt(n)


def test_symmetry_cells_per_layer_or_flat():
    per_layer = {"backend": "torch", "init": "zeros", "layers": [
        {"units": 64, "distinct_units": 1, "rank": 1}, {"units": 32, "distinct_units": 1, "rank": 1}]}
    flat = {"backend": "jax", "scheme": "normal", "units": 64, "distinct_units": 64, "rank": 60}
    assert experiments_view.symmetry_cell(per_layer) == ("1/64, 1/32", "1, 1")
    assert experiments_view.symmetry_cell(flat) == ("64/64", "60")
    inits, backends, cells = experiments_view.symmetry_pivot([per_layer, flat])
    assert inits == ["zeros", "normal"] and backends == ["torch", "jax"]
    assert experiments_view.symmetry_pivot([{"backend": "x"}]) is None


def test_scalar_table_drops_constant_and_repeated_columns():
    rows = [{"backend": "torch", "weights_from": "torch", "init": "a", "label": "a", "lr": 0.1, "final_loss": 1.0},
            {"backend": "jax", "weights_from": "jax", "init": "b", "label": "b", "lr": 0.1, "final_loss": 2.0}]
    t = experiments_view.scalar_table(rows)
    assert t.columns == ["backend", "init", "final_loss"]
    assert t.constants == {"lr": 0.1}
    p = experiments_view.metric_pivot(rows, "final_loss")
    assert p.cells[("a", "torch")] == 1.0 and p.backends == ["torch", "jax"]
    assert experiments_view.metric_pivot(rows, "missing") is None


def test_loss_curves_need_a_list():
    rows = [{"backend": "torch", "init": "he", "loss": 0.5},  # a signal row: the loss is a number
            {"backend": "jax", "init": "he", "loss_curve": [2.0, 1.0, None, 0.5]}]
    (curve,) = experiments_view.loss_curves(rows)
    assert curve.color_key == "he" and curve.style_key == "jax"
    assert curve.x == [1.0, 2.0, 3.0, 4.0] and math.isnan(curve.y[2])


# ---------------------------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------------------------
def test_sections_and_counts(small_html, small_doc):
    ids = set(_ids(small_html))
    for sid in SECTION_IDS:
        assert sid in ids, sid
    for verdict, n in small_doc["summary"].items():
        assert re.search(rf'<b>{n}</b><span>{verdict}</span>', small_html), verdict
    assert small_html.count('<svg') >= len(model.sample_groups(small_doc))


def _esc(text: str) -> str:
    """``text`` as the template's autoescape writes it."""
    from markupsafe import escape

    return str(escape(text))


def test_every_failure_listed_with_reproduction(small_html, small_doc):
    fails = [c for c in small_doc["checks"] if c["verdict"] == "fail"]
    assert fails
    assert f"Failures ({len(fails)})" in small_html
    for c in fails:
        assert _esc(c["id"]) in small_html
        assert _esc(c["reproduce"]) in small_html


def test_native_departures_and_fans_shown(small_html, small_doc):
    departs = [f for f in small_doc["native"] if f["verdict"] == "departs"]
    assert departs
    for f in departs[:5]:
        assert _esc(f["departures"][0]) in small_html
    assert 'class="depart"' in small_html  # highlighted rows (fans and natives)
    assert "DepthwiseConv2D" in small_html


def test_claims_and_experiment_plots(small_html, small_doc):
    for c in small_doc["experiments"]["claims"]:
        assert c["id"] in small_html or c["claim"][:30] in small_html
    assert "activation std vs depth" in small_html
    assert "Symmetry breaking: training loss" in small_html


def test_internal_links_resolve_and_ids_unique(small_html):
    ids = _ids(small_html)
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert dupes == []
    targets = set(re.findall(r'href="#([^"]+)"', small_html))
    assert targets - set(ids) == set()
    # SVG internal references (clip paths, markers) point at ids in the page
    refs = set(re.findall(r'url\(#([^)]+)\)', small_html)) | set(re.findall(r'xlink:href="#([^"]+)"', small_html))
    assert refs - set(ids) == set()


def test_self_contained(small_html):
    assert "<script" not in small_html.lower()
    assert "<link" not in small_html.lower()
    assert "@import" not in small_html
    for attr in re.findall(r'\s(?:src|href|xlink:href|action|poster|data)="([^"]*)"', small_html):
        assert attr.startswith(("#", "data:")), attr
    assert not re.search(r'url\((?!#)', small_html)


def test_strings_from_results_are_escaped(small_doc):
    doc = small_doc
    doc["checks"][0]["message"] = EVIL
    fail = next(c for c in doc["checks"] if c["verdict"] == "fail")
    fail["message"] = EVIL
    fail["reproduce"] = EVIL
    doc["native"][0]["name"] = EVIL
    doc["native"][0]["departures"] = [EVIL]
    doc["fans"][0]["note"] = EVIL
    doc["experiments"]["claims"][0]["claim"] = EVIL
    doc["config"]["note"] = EVIL
    doc["command"] = EVIL
    for s in doc["samples"].values():  # reaches the SVG legends
        s["backend"] = EVIL
        break
    html = render_html(doc)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;" in html


def test_run_messages_shown(small_doc):
    small_doc["messages"] = ["jax: 2 cases skipped <slow>"]
    assert "jax: 2 cases skipped &lt;slow&gt;" in render_html(small_doc)


def test_deterministic(small_doc, small_html):
    assert render_html(small_doc) == small_html


def test_minimal_document_renders():
    html = render_html(empty_results("initspec conform"))
    assert "No initspec adapter checks in this run." in html
    assert "No seed-claim experiments in this run" in html
    assert "Failures (0)" in html


def test_nulls_from_nan_render(tmp_path, small_doc):
    doc = small_doc
    doc["checks"][5]["std_ratio"] = float("nan")
    sample = next(iter(doc["samples"].values()))
    sample["pdf_y"][3] = float("nan")
    sample["cdf_diff_y"][0] = float("inf")
    p = write_atomic(tmp_path / "r.json", doc)  # NaN/inf -> null, as a real run stores them
    html = render_html(load(p))
    assert 'id="summary-matrix"' in html


def test_malformed_sample_arrays_are_skipped(small_doc):
    sample = next(iter(small_doc["samples"].values()))
    sample["hist_edges"] = [[1, 2], "x"]  # nonsense a broken run could write
    sample["cdf_diff_y"] = "oops"
    html = render_html(small_doc)
    assert html.count("<svg") >= len(model.sample_groups(small_doc))


def test_a_failing_figure_costs_one_figure_not_the_report(small_doc, monkeypatch):
    from initspec.reports import plots

    original = plots.Plotter.distribution
    calls = []

    def flaky(self, group):
        calls.append(group.key)
        if len(calls) == 1:
            raise ValueError("<b>bad data</b>")
        return original(self, group)

    monkeypatch.setattr(plots.Plotter, "distribution", flaky)
    html = render_html(small_doc)
    assert "Figure unavailable" in html and "&lt;b&gt;bad data&lt;/b&gt;" in html
    assert html.count("<svg") >= len(calls) - 1


def test_bad_argument_types():
    with pytest.raises(TypeError, match="Received: results=list"):
        render_html([])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="against"):
        render_html(empty_results(), against="b.json")  # type: ignore[arg-type]


def test_validate_names_the_json_path(small_doc):
    from initspec.reports.validate import validate

    small_doc["checks"] = {"a": 1}
    with pytest.raises(ValueError, match=r"at `\$\.checks`"):
        validate(small_doc)
    with pytest.raises(ValueError, match=r"at `\$\.samples\.k`"):
        validate({**small_doc, "checks": [], "samples": {"k": 3}})
    with pytest.raises(ValueError, match=r"at `\$\.experiments"):
        validate({**small_doc, "checks": [], "experiments": {"signal": "x"}})
    with pytest.raises(ValueError, match="must be an object"):
        validate([])


def test_write_report_is_atomic_and_reports_size(tmp_path, small_doc):
    out = tmp_path / "sub" / "report.html"
    info = write_report(small_doc, out)
    assert info.path == out and out.stat().st_size == info.bytes
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temp file left


def test_no_framework_imported_when_rendering(tmp_path, small_doc):
    path = write_atomic(tmp_path / "r.json", small_doc)
    code = (
        "import sys\n"
        "from initspec.reports import write_report\n"
        f"write_report({str(path)!r}, {str(tmp_path / 'r.html')!r})\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert (tmp_path / "r.html").stat().st_size > 0


# ---------------------------------------------------------------------------------------------
# size limit on a full run (30 sample groups x 4 backends, 20 000 draws each)
# ---------------------------------------------------------------------------------------------
def test_large_report_under_size_limit(tmp_path):
    doc = large_results()
    assert len(doc["samples"]) == 30 * 4
    info = write_report(doc, tmp_path / "large.html")
    assert info.bytes < MAX_REPORT_BYTES, f"{info.bytes / 1e6:.2f} MB"
    html = Path(info.path).read_text(encoding="utf-8")
    assert html.count("<svg") >= 30
