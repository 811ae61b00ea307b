"""`initspec show` (human and --json output, errors with exit code 2)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("typer", reason="the CLI needs the 'cli' extra (typer)")

from initspec.cli import main  # noqa: E402


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_show_json_glorot_normal_keras(capsys):
    code, out, _ = run(capsys, "show", "glorot_normal", "--shape", "3,3,64,128", "--layout", "keras", "--json")
    assert code == 0
    d = json.loads(out)
    assert (d["fan_in"], d["fan_out"]) == (576, 1152)
    assert d["std"] == pytest.approx((2 / (576 + 1152)) ** 0.5)
    assert d["low"] is None and d["high"] is None
    calls = {f["call"]: f for f in d["frameworks"]}
    assert calls["torch.nn.init.xavier_normal_"]["same_as_spec"] is True
    assert calls["torch.nn.init.xavier_normal_"]["shape"] == [128, 64, 3, 3]
    keras = calls["keras.initializers.GlorotNormal"]
    assert keras["same_as_spec"] is False and keras["distribution"] == "truncnorm"
    assert any("TRUNCATED" in s for s in keras["differences"])


def test_show_uniform_limit_and_human_output(capsys):
    code, out, _ = run(capsys, "show", "he_uniform", "--shape", "128,64", "--layout", "torch_linear")
    assert code == 0
    assert "fan_in 64" in out and "uniform limit +-0.306186" in out


@pytest.mark.parametrize("argv,msg", [
    (["show", "glorot_nrmal", "--shape", "3,3"], "Did you mean 'glorot_normal'"),
    (["show", "he_normal", "--shape", "3,x"], "Received: --shape"),
    (["show", "he_normal", "--shape", "3,3", "--layout", "tourch"], "Did you mean 'torch'"),
    (["show", "he_normal", "--shape", "7"], "fans=(fan_in, fan_out)"),
    (["show", "normal", "--shape", "3,3", "--param", "std=nan"], "Received: std=nan"),
])
def test_show_errors(capsys, argv, msg):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert msg in err and "Traceback" not in err
