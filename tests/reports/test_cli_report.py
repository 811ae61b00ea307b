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


def _doc(**change) -> dict:
    """A small valid version-2 document with top-level fields replaced by ``change``."""
    return {"schema": "initspec.results", "version": 2, "backends": [], "checks": [], "samples": {}, **change}


_CHECK = {"id": "numpy/cpu/initspec/normal/-[2]/float32/ks", "group": "numpy/cpu/initspec/normal/-[2]/float32",
          "backend": "numpy", "device": "cpu", "subject": "initspec", "scheme": "normal", "check": "ks",
          "tier": "statistical", "verdict": "pass"}
_SAMPLE = {"group": "g", "backend": "numpy", "device": "cpu", "subject": "initspec", "scheme": "normal",
           "dtype": "float32", "n": 10, "hist_edges": [0.0, 1.0], "hist_counts": [10]}
_FAN = {"layer": "Dense", "framework": "torch", "layout": "torch", "shape": [2, 3], "fan_in": 3.0, "fan_out": 2.0,
        "spec_fan_in": 3.0, "spec_fan_out": 2.0}
_DEEP = "[" * 100_000 + "]" * 100_000


def _nested(depth: int) -> object:
    x: object = 1
    for _ in range(depth):
        x = [x]
    return x


#: (name, file content, needle): every malformed file is one line naming the file and the path.
CORRUPT = [
    ("empty", "", "is not JSON"),
    ("truncated", "{", "is not JSON"),
    ("text", "hello", "is not JSON"),
    ("nan-bytes", b"\xff\xfe{}", "not UTF-8"),
    ("array", "[]", "`$` must be an object"),
    ("null", "null", "`$` must be an object"),
    ("string", json.dumps("results"), "`$` must be an object"),
    ("number", "42", "`$` must be an object"),
    ("deep-junk", _DEEP, "nested too deeply"),
    ("empty-object", "{}", "not an initspec results document"),
    ("other-schema", json.dumps({"schema": "other"}), "not an initspec results document"),
    ("version-99", json.dumps(_doc(version=99)), "version 99"),
    ("version-str", json.dumps(_doc(version="2")), "version '2'"),
    ("version-bool", json.dumps(_doc(version=True)), "version True"),
    ("no-checks", json.dumps({"schema": "initspec.results", "version": 2, "backends": [], "samples": {}}),
     "at `$`: 'checks' is a required property"),
    ("checks-str", json.dumps(_doc(checks="x")), "at `$.checks`"),
    ("v1-checks-str", json.dumps(_doc(version=1, checks="x")), "at `$.checks`"),
    ("check-not-object", json.dumps(_doc(checks=[3])), "at `$.checks[0]`"),
    ("check-no-verdict", json.dumps(_doc(checks=[{k: v for k, v in _CHECK.items() if k != "verdict"}])),
     "at `$.checks[0]`: 'verdict' is a required property"),
    ("check-bad-verdict", json.dumps(_doc(checks=[{**_CHECK, "verdict": "maybe"}])), "at `$.checks[0].verdict`"),
    ("check-bad-shape", json.dumps(_doc(checks=[{**_CHECK, "shape": ["a"]}])), "at `$.checks[0].shape[0]`"),
    ("check-unknown-field", json.dumps(_doc(checks=[{**_CHECK, "colour": 1}])), "at `$.checks[0]`"),
    ("check-deep-junk", json.dumps(_doc(checks=[_nested(400)])), "at `$.checks[0]`"),
    ("samples-list", json.dumps(_doc(samples=[])), "at `$.samples`"),
    ("sample-number", json.dumps(_doc(samples={"k": 3})), "at `$.samples.k`"),
    ("sample-no-n", json.dumps(_doc(samples={"k": {k: v for k, v in _SAMPLE.items() if k != "n"}})),
     "at `$.samples.k`: 'n' is a required property"),
    ("sample-bad-counts", json.dumps(_doc(samples={"k": {**_SAMPLE, "hist_counts": ["x"]}})),
     "at `$.samples.k.hist_counts[0]`"),
    ("backend-bad-status", json.dumps(_doc(backends=[{"backend": "numpy", "device": "cpu", "status": "meh"}])),
     "at `$.backends[0].status`"),
    ("fan-bad-number", json.dumps(_doc(fans=[{**_FAN, "fan_in": "x"}])), "at `$.fans[0].fan_in`"),
    ("native-missing-name", json.dumps(_doc(native=[{"framework": "torch", "verdict": "matches"}])),
     "at `$.native[0]`: 'name' is a required property"),
    ("experiments-str", json.dumps(_doc(experiments="x")), "at `$.experiments`"),
    ("experiments-signal-str", json.dumps(_doc(experiments={"signal": "x"})), "at `$.experiments"),
    ("summary-negative", json.dumps(_doc(summary={"pass": -1})), "at `$.summary.pass`"),
]


def _write(p, content) -> None:
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")


@pytest.mark.parametrize("against", [False, True], ids=["results", "against"])
@pytest.mark.parametrize("name, content, needle", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_file_is_one_line_exit_2(tmp_path, capsys, results_path, name, content, needle, against):
    bad = tmp_path / "bad.json"
    _write(bad, content)
    args = (["report", str(results_path), "--against", str(bad)] if against
            else ["report", str(bad)]) + ["--out", str(tmp_path / "r.html")]
    assert main(args) == USAGE_ERROR
    err = capsys.readouterr()
    assert "Traceback" not in err.err + err.out
    lines = err.err.strip().splitlines()
    assert len(lines) == 1, err.err
    line = lines[0]
    assert line.startswith("initspec: error: " + ("--against: " if against else "results: ")), line
    assert str(bad) in line and needle in line, line
    assert not (tmp_path / "r.html").exists()


def test_load_raises_results_error_naming_file_and_path(tmp_path):
    from initspec.conformance.results import ResultsError, load

    p = tmp_path / "x.json"
    p.write_text(json.dumps(_doc(checks=[{**_CHECK, "verdict": "maybe"}])))
    with pytest.raises(ResultsError, match=r"x\.json.*at `\$\.checks\[0\]\.verdict`"):
        load(p)


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
