"""The typed results contract: record types vs the published JSON Schema (no drift), version-1
files upgraded on load, and round trips write -> load -> render."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from initspec.conformance import records
from initspec.conformance.records import RECORD_TYPES, Check, SampleSummary
from initspec.conformance.results import SCHEMA_VERSION, load, schema, validate, write_atomic
from initspec.reports import model, render_html, write_report

from .fake_results import make_results

V1_FIXTURE = Path(__file__).parent / "data" / "results_v1.json"


@pytest.mark.parametrize("name", sorted(RECORD_TYPES))
def test_record_fields_equal_schema_properties(name):
    part = schema()["$defs"][name]
    rtype = RECORD_TYPES[name]
    assert set(part["properties"]) == set(rtype.field_names())
    assert set(part["required"]) == set(rtype.required_names())
    assert part["additionalProperties"] is False


def test_top_level_record_lists_point_at_the_records():
    props = schema()["properties"]
    assert props["checks"]["items"] == {"$ref": "#/$defs/Check"}
    assert props["samples"]["additionalProperties"] == {"$ref": "#/$defs/SampleSummary"}
    assert props["backends"]["items"] == {"$ref": "#/$defs/BackendRun"}
    assert props["fans"]["items"] == {"$ref": "#/$defs/FanRow"}
    assert props["native"]["items"] == {"$ref": "#/$defs/NativeFinding"}
    assert props["version"] == {"const": SCHEMA_VERSION}


def test_one_id_function():
    c = Check.make(backend="torch", device="gpu", subject="native", native_name="torch.nn.Linear.weight",
                   scheme="he_uniform", params={"gain": 2.0}, layout="torch", shape=(128, 256), dtype="float32",
                   check="ks", tier="statistical", verdict="finding", case=3)
    assert c.group == records.group_id(backend="torch", device="gpu", subject="native",
                                       native_name="torch.nn.Linear.weight", scheme="he_uniform",
                                       params={"gain": 2.0}, layout="torch", shape=[128, 256], dtype="float32", case=3)
    assert c.id == records.check_id(c.group, "ks") == c.group + "/ks"
    assert c.group == "torch/gpu/native:torch.nn.Linear.weight/he_uniform(gain=2.0)/torch[128x256]/float32#3"
    assert Check.from_dict(c.as_dict()) == c
    with pytest.raises(ValueError, match="no field"):
        Check.from_dict({**c.as_dict(), "bogus": 1})


def test_records_round_trip_through_a_written_file(tmp_path):
    doc = make_results(schemes=("he_normal", "orthogonal"), experiments=False, n=400)
    on_disk = load(write_atomic(tmp_path / "results.json", doc))
    def same(rtype, r):  # every field present survives; absent optional fields get their defaults
        d = rtype.from_dict(r).as_dict()
        return {k: d[k] for k in r} == r and rtype.from_dict(d).as_dict() == d

    assert all(same(Check, c) for c in on_disk["checks"])
    for key, s in on_disk["samples"].items():
        assert same(SampleSummary, s) and s["group"] == key
    for name, part in (("backends", "BackendRun"), ("fans", "FanRow"), ("native", "NativeFinding")):
        assert all(same(RECORD_TYPES[part], r) for r in on_disk[name])
    html = render_html(on_disk)
    assert html == render_html(doc)
    info = write_report(tmp_path / "results.json", tmp_path / "r.html")
    assert info.bytes > 0


def test_samples_join_checks_by_declared_group(small_doc):
    groups = {c["group"] for c in small_doc["checks"]}
    for key, s in small_doc["samples"].items():
        assert s["group"] == key and key in groups


def test_v1_file_is_upgraded_on_load(tmp_path):
    raw = json.loads(V1_FIXTURE.read_text())
    assert raw["version"] == 1
    doc = load(V1_FIXTURE)
    assert doc["version"] == SCHEMA_VERSION == 2
    (s,) = doc["samples"].values()
    gid = "numpy/cpu/initspec/he_normal/keras[256x128]/float32"
    assert s["group"] == gid and s["n"] == 32768 and s["alpha"] == 0.00025
    assert all(c["group"] == c["id"].rsplit("/", 1)[0] for c in doc["checks"])
    (g,) = model.sample_groups(doc)["he_normal"]
    assert g.n == 32768 and g.alpha == 0.00025
    assert "he_normal" in render_html(doc)
    out = write_report(V1_FIXTURE, tmp_path / "v1.html")
    assert out.bytes > 0
    assert validate(raw) == doc  # dicts are upgraded the same way


def test_v1_sample_without_a_ks_check_counts_its_histogram():
    raw = json.loads(V1_FIXTURE.read_text())
    raw["checks"] = [c for c in raw["checks"] if c["check"] != "ks"]
    (s,) = validate(raw)["samples"].values()
    assert s["n"] == sum(s["hist_counts"]) and s["alpha"] is None
