"""initspec audit on torch models (issue 13): native behaviour identified, planted departures found."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
nn = torch.nn

from initspec.backends._audit import AuditError  # noqa: E402
from initspec.conformance.audit_api import audit, diff  # noqa: E402


def _labels(r):
    return {f.path: (f.identified["label"], f.verdict) for f in r.findings}


def test_native_layers_identified():
    r = audit(nn.Linear(32, 48))
    assert _labels(r)["weight"] == ("variance_scaling(1/3, fan_in, uniform)", "matches")
    assert _labels(r)["bias"] == ("variance_scaling(1/3, fan_in, uniform)", "matches")
    assert r.finding("weight").expected["native"] == "torch:torch.nn.Linear.weight"
    assert any("1/6 of he_uniform" in n for n in r.finding("weight").notes)
    r = audit(nn.Conv2d(8, 16, 3))
    assert _labels(r)["weight"] == ("variance_scaling(1/3, fan_in, uniform)", "matches")
    r = audit(nn.Embedding(100, 16, padding_idx=0))
    assert _labels(r)["weight"] == ("normal(std=1)", "matches")
    r = audit(nn.LSTM(12, 16))
    assert all(f.verdict == "matches" and f.identified["distribution"] == "uniform" for f in r.findings)
    assert len(r.findings) == 16  # 4 gate blocks x (ih, hh) x (weight, bias)
    assert not audit(nn.MultiheadAttention(32, 4)).departures


def test_bert_is_normal_002():
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=37, max_position_embeddings=16)
    r = audit(lambda: transformers.BertModel(cfg))
    assert not r.departures
    assert _labels(r)["encoder.layer.0.attention.self.query.weight"][0] == "normal(std=0.02)"
    assert _labels(r)["embeddings.LayerNorm.weight"][0] == "ones"


class _Off(nn.Linear):
    def reset_parameters(self):
        b = 1.02 / math.sqrt(self.in_features)
        nn.init.uniform_(self.weight, -b, b)
        nn.init.zeros_(self.bias)


class _FanOut(nn.Linear):
    def reset_parameters(self):
        b = 1 / math.sqrt(self.out_features)
        nn.init.uniform_(self.weight, -b, b)
        nn.init.uniform_(self.bias, -1 / math.sqrt(self.in_features), 1 / math.sqrt(self.in_features))


def test_planted_departures():
    f = audit(_Off(64, 64)).finding("weight")
    assert f.verdict == "departure" and "1.02" in f.departures[0]
    f = audit(_FanOut(16, 64)).finding("weight")
    assert f.verdict == "departure"
    assert f.identified["label"] == "variance_scaling(1/3, fan_out, uniform)"
    assert any("fan taken from fan_out" in d for d in f.departures)


@pytest.mark.parametrize("n_seeds", [pytest.param(50, marks=pytest.mark.slow), 10])
def test_no_false_departure(n_seeds):
    m = nn.Sequential(nn.Linear(16, 24), nn.Conv1d(4, 8, 3), nn.Embedding(20, 8))
    assert [s for s in range(n_seeds) if audit(m, seed=s).departures] == []


def test_bad_inputs():
    with pytest.raises(AuditError, match="no parameters"):
        audit(nn.ReLU())
    with pytest.raises(AuditError, match="framework"):
        audit(object())
    a, b = audit(nn.Linear(4, 4)), audit(nn.Sequential(nn.Linear(4, 4)))
    with pytest.raises(AuditError, match=r"Unmatched in Linear .*'weight'.*unmatched in Sequential .*'0.weight'"):
        diff(a, b)
    d = diff(a, b, {"weight": "0.weight", "bias": "0.bias"})
    assert len(d["rows"]) == 2 and abs(d["rows"][0]["variance_ratio"] - 1) < 0.2


def test_cli_audit(capsys):
    from initspec.cli import main

    assert main(["audit", "torch.nn:ReLU"]) == 2
    assert main(["audit", "tests.conformance.test_audit_torch:_small", "--json"]) == 0
    assert '"verdict": "matches"' in capsys.readouterr().out


def _small():
    return nn.Linear(8, 8)
