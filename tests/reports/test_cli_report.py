"""``initspec report``: exit codes and one-line errors."""

from __future__ import annotations

import copy
import json

import pytest

from initspec.cli import main
from initspec.conformance.results import write_atomic

from .fake_results import make_results

USAGE_ERROR = 2


@pytest.fixture(scope="module")
def tiny_doc() -> dict:
    """A quick document: one scheme, no experiments (these tests are about the command line)."""
    return make_results(schemes=("glorot_uniform",), experiments=False, n=500)


@pytest.fixture
def results_path(tmp_path, tiny_doc):
    return write_atomic(tmp_path / "results.json", tiny_doc)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("initspec: error: ")
    return err


def test_writes_report(tmp_path, results_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(results_path), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "wrote" in capsys.readouterr().out


def test_default_out_next_to_results(results_path):
    assert main(["report", str(results_path)]) == 0
    assert results_path.with_suffix(".html").is_file()


def test_against(tmp_path, results_path, tiny_doc):
    base_doc = copy.deepcopy(tiny_doc)
    base_doc["backends"][0]["versions"]["numpy"] = "9.9.9"
    base = write_atomic(tmp_path / "base.json", base_doc)
    out = tmp_path / "diff.html"
    assert main(["report", str(results_path), "--against", str(base), "--out", str(out)]) == 0
    assert "9.9.9" in out.read_text(encoding="utf-8")


def test_missing_results(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json")]) == USAGE_ERROR
    assert "not found" in _one_line_error(capsys)


@pytest.mark.parametrize("text, needle", [
    ("{", "not a valid results document"),
    (json.dumps({"schema": "other"}), "not an initspec results document"),
    (json.dumps({"schema": "initspec.results", "version": 99}), "version"),
    (json.dumps({"schema": "initspec.results", "version": 1, "checks": "x"}), "`checks` must be a list"),
])
def test_invalid_results(tmp_path, capsys, text, needle):
    p = tmp_path / "bad.json"
    p.write_text(text)
    assert main(["report", str(p), "--out", str(tmp_path / "r.html")]) == USAGE_ERROR
    assert needle in _one_line_error(capsys)


def test_invalid_against(tmp_path, results_path, capsys):
    assert main(["report", str(results_path), "--against", str(tmp_path / "no.json")]) == USAGE_ERROR
    assert "--against file not found" in _one_line_error(capsys)


def test_unwritable_out_parent_is_a_file(tmp_path, results_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["report", str(results_path), "--out", str(blocker / "report.html")]) == USAGE_ERROR
    assert "cannot write --out" in _one_line_error(capsys)


def test_out_is_a_directory(tmp_path, results_path, capsys):
    assert main(["report", str(results_path), "--out", str(tmp_path)]) == USAGE_ERROR
    assert "is a folder" in _one_line_error(capsys)
