"""``initspec.backends._names`` (issue 13 part A), framework-free: canonical parameter names,
the names hook, flatten permutations, stream comparison of reports."""

from __future__ import annotations

import numpy as np
import pytest

from initspec.backends._model import InitReport, ParamReport
from initspec.backends._names import Namer, canonical_param, expand_streams, flatten_permutation, missing_streams
from initspec.errors import InitSpecError


@pytest.mark.parametrize(("role", "local", "out"), [
    ("weight", "weight", "weight"), ("weight", "kernel", "weight"), ("bias", "bias", "bias"),
    ("norm_scale", "gamma", "scale"), ("norm_scale", "weight", "scale"), ("norm_scale", "scale", "scale"),
    ("norm_shift", "beta", "shift"), ("norm_shift", "bias", "shift"), ("norm_mean", "moving_mean", "mean"),
    ("norm_var", "var", "var"), ("embedding", "embeddings", "embedding"), ("embedding", "weight", "embedding"),
    ("weight", "weight_ih_l0", "weight_ih_l0"), ("weight", "recurrent_kernel", "recurrent_kernel"),
    ("other", "cls_token", "cls_token"),
])
def test_canonical_param(role, local, out):
    assert canonical_param(role, local) == out


def test_flatten_permutation_hwc_to_chw():
    c, h, w = 3, 2, 4
    chw = np.arange(c * h * w).reshape(c, h, w)  # the canonical index of each feature
    perm = flatten_permutation("hwc", (h, w, c))
    assert np.array_equal(perm, chw.transpose(1, 2, 0).reshape(-1))
    # a weight defined channels-first, permuted, reads an (H, W, C)-flattened map the same way
    rng = np.random.default_rng(0)
    weight, fmap = rng.standard_normal((5, c * h * w)), rng.standard_normal((c, h, w))
    assert np.allclose(weight @ fmap.reshape(-1), weight[:, perm] @ fmap.transpose(1, 2, 0).reshape(-1))
    assert flatten_permutation("chw", (c, h, w)) is None
    assert flatten_permutation("lc", (4, 3)).tolist() == np.arange(12).reshape(3, 4).T.reshape(-1).tolist()


@pytest.mark.parametrize("bad", [("hw", (2, 2)), ("hwcc", (1, 2, 3, 4)), ("hwc", (2, 2)), ("hwc", (0, 2, 2))])
def test_flatten_permutation_refuses(bad):
    with pytest.raises(InitSpecError, match="flatten declaration"):
        flatten_permutation(*bad)


def test_namer_hooks():
    off = Namer(helper="h")
    assert not off.canonical and off.name("conv1/kernel", "conv1.weight") == "conv1/kernel"
    assert Namer("canonical", helper="h").name("conv1/kernel", "conv1.weight") == "conv1.weight"
    mapped = Namer({"dense_a/kernel": "fc1.weight"}, helper="h")
    assert mapped.name("dense_a/kernel", "dense_a.weight") == "fc1.weight"
    assert mapped.name("conv1/kernel", "conv1.weight") == "conv1.weight"  # the built-in for the rest
    mapped.check_used()
    call = Namer(lambda p: "x.weight" if p.startswith("x") else None, helper="h")
    assert call.name("x/kernel", "a.weight") == "x.weight" and call.name("b/kernel", "b.weight") == "b.weight"


def test_namer_errors():
    with pytest.raises(TypeError, match="names"):
        Namer("torch", helper="h")
    with pytest.raises(TypeError, match="flatten"):
        Namer("canonical", ["fc1"], helper="h")  # type: ignore[arg-type]
    unused = Namer({"fc9.weight": "x"}, {"fc2": ("hwc", (1, 1, 4))}, helper="h")
    with pytest.raises(InitSpecError, match=r"'fc9.weight', \"flatten\['fc2'\]\" matched no parameter.*fc1"):
        unused.check_used(["fc1"])
    twice = Namer("canonical", helper="h")
    twice.name("a.kernel", "a.weight")
    with pytest.raises(InitSpecError, match="both have the canonical name"):
        twice.name("b.kernel", "a.weight")
    with pytest.raises(TypeError, match="non-empty str"):
        Namer(lambda p: 3, helper="h").name("a", "a")  # type: ignore[arg-type,return-value]
    sized = Namer("canonical", {"fc1": ("hwc", (2, 2, 3))}, helper="h")
    with pytest.raises(InitSpecError, match="has 12 features; the layer's input has 10"):
        sized.permutation("fc1", 10)
    assert sized.permutation("fc1", 12) is not None and sized.permutation("fc2", 7) is None


def _report(framework, streams):
    rows = [ParamReport(s, (2,), "float32", "", "weight", "init", stream=s) for s in streams]
    return InitReport(rows, framework=framework)


def test_streams_of_reports():
    assert expand_streams("p.attn.{q,k,v}.weight") == ["p.attn.q.weight", "p.attn.k.weight", "p.attn.v.weight"]
    assert expand_streams("fc1.weight") == ["fc1.weight"] and expand_streams(None) == []
    a = _report("torch", ["attn.{q,k,v}.weight", "fc1.weight"])
    b = _report("keras", ["attn.q.weight", "attn.k.weight", "attn.v.weight", "fc1.weight"])
    assert missing_streams(a, b) == {}
    c = _report("flax", ["attn.q.weight", "fc1.weight", "fc2.weight"])
    assert missing_streams(a, c) == {"torch": ["fc2.weight"], "flax": ["attn.k.weight", "attn.v.weight"]}
