"""The framework-free model-init core: the spec's roles and logical fans (initspec.models) and the
rules / report machinery (initspec.backends._model) every model helper uses. Table-driven."""

from __future__ import annotations

import json
import math

import pytest
from initspec.backends._model import InitReport, Match, ParamInfo, RuleSet, finish, report_row, rule_error, tie_owner
from initspec.errors import InitSpecError
from initspec.layouts import compute_fans
from initspec.models import dense_general_layout, einsum_kernel_axes


class Linear:  # stand-ins for layer classes (MRO matters, the framework does not)
    pass


class SubLinear(Linear):
    pass


class Norm:
    pass


def info(path: str, role: str = "weight", layer: type | None = Linear, shape=(8, 4), name: str | None = None) -> ParamInfo:
    return ParamInfo(path, name or path.rsplit(".", 1)[-1], tuple(shape), "float32", layer, role)


RULES = {
    "*.in_proj_weight": "glorot_uniform",
    "head.*": "keep",
    SubLinear: {"bias": ("constant", {"value": 0.5}), "w_*": "orthogonal"},
    Linear: ("normal", {"std": 0.02}),
}


@pytest.mark.parametrize("param, want_rule, want_source", [
    (info("enc.in_proj_weight", layer=SubLinear), ("glorot_uniform", {}), "rules['*.in_proj_weight']"),  # path first
    (info("head.weight"), None, "rules['head.*']"),  # keep
    (info("a.w_q", layer=SubLinear), ("orthogonal", {}), "rules[SubLinear]['w_*']"),  # local name pattern
    (info("a.bias", "bias", SubLinear, (8,)), ("constant", {"value": 0.5}), "rules[SubLinear]['bias']"),
    (info("a.weight", layer=SubLinear), ("normal", {"std": 0.02}), "rules[Linear]['weight']"),  # MRO fallback
    (info("b.bias", "bias", Linear, (8,)), ("zeros", {}), "bias="),  # role default
    (info("n.weight", "norm_scale", Norm, (8,)), ("ones", {}), "default norm_scale"),
    (info("e.weight", "embedding", None), ("normal", {"std": 1.0}), "default embedding"),
    (info("cls_token", "other", None, (1, 8)), None, None),  # uncovered
])
def test_precedence(param, want_rule, want_source):
    m = RuleSet("he_normal", "zeros", RULES).match(param)
    assert (m.rule, m.source) == (want_rule, want_source)
    assert m.covered == (want_source is not None)


def test_by_type_is_the_older_spelling_and_cannot_repeat_a_class():
    assert RuleSet("he_normal", "zeros", by_type={Linear: "orthogonal"}).match(info("x.weight")).rule == ("orthogonal", {})
    with pytest.raises(InitSpecError, match="Linear has rules twice"):
        RuleSet("he_normal", "zeros", {Linear: "orthogonal"}, by_type={Linear: "he_uniform"})


@pytest.mark.parametrize("rules, err, match", [
    ({"*.w": "he_nromal"}, InitSpecError, "he_nromal"),  # unknown scheme, suggestion
    ({3: "he_normal"}, TypeError, "keys must be path patterns"),
    ({Linear: {}}, TypeError, "non-empty dict"),
    ({Linear: 5}, TypeError, "scheme name"),
    ("he_normal", TypeError, "must be a mapping"),
])
def test_bad_rules_fail_up_front_naming_them(rules, err, match):
    with pytest.raises(err, match=match):
        RuleSet("he_normal", "zeros", rules)


def test_reserved_params_are_refused():
    with pytest.raises(InitSpecError, match="sets seed"):
        RuleSet(("he_normal", {"seed": 3}), "zeros", reserved=("seed", "stream"))


def test_unused_rules_warn_or_raise_under_strict():
    rs = RuleSet("he_normal", "zeros", {"nothing.*": "zeros", Norm: "ones"})
    rows = [report_row(i, rs.match(i), layout="torch_linear") for i in [info("a.weight")]]
    with pytest.warns(UserWarning, match=r"rules\['nothing\.\*'\], rules\[Norm\]"):
        finish(rows, rs, framework="t", strict=False, dry_run=False, helper="init_x")
    with pytest.raises(InitSpecError, match=r"matched no parameter: rules\['nothing\.\*'\]"):
        finish(rows, rs, framework="t", strict=True, dry_run=False, helper="init_x")


def test_strict_names_every_uncovered_parameter():
    rs = RuleSet("he_normal", "zeros")
    params = [info("a.weight"), info("vit.cls_token", "other", None, (1, 8)), info("pos", "other", None, (4, 8))]
    rows = [report_row(p, m, action="init" if m.covered else "uncovered", layout="torch_linear")
            for p in params for m in [rs.match(p)]]
    rep = finish(rows, rs, framework="t", strict=False, dry_run=False, helper="init_x")
    assert [r.path for r in rep.uncovered] == ["vit.cls_token", "pos"]
    with pytest.raises(InitSpecError, match=r"no rule covers vit\.cls_token \(leaf 1x8\), pos \(leaf 4x8\)"):
        finish(rows, rs, framework="t", strict=True, dry_run=False, helper="init_x")


def test_report_row_has_the_spec_std_and_bounds():
    rs = RuleSet("glorot_uniform", "zeros")
    p = info("attn.in_proj_weight", shape=(96, 32))
    row = report_row(p, rs.match(p), layout="torch_linear", block_shape=(32, 32), note="3 blocks")
    bound = math.sqrt(6 / 64)  # the logical 32 -> 32 layer
    assert row.fans == (32.0, 32.0) and row.high == pytest.approx(bound) and row.std == pytest.approx(bound / math.sqrt(3))
    rep = InitReport([row], framework="torch")
    back = json.loads(rep.to_json())
    assert back["parameters"][0]["shape"] == [96, 32] and back["counts"]["init"] == 1
    assert "attn.in_proj_weight" in rep.table() and "3 blocks" in str(rep)


def test_a_rule_of_the_wrong_rank_names_the_parameter_and_the_rule():
    rs = RuleSet("he_normal", "zeros", {Norm: {"norm_scale": "orthogonal"}})
    p = info("ln.weight", "norm_scale", Norm, (8,))
    with pytest.raises(InitSpecError, match=r"'ln\.weight' \(shape \(8,\), Norm.*rules\[Norm\]\['norm_scale'\]"):
        with rule_error(p, rs.match(p)):
            report_row(p, rs.match(p), layout="torch")


def test_tied_parameters_take_the_explicit_rule_and_refuse_two():
    wte, head = info("wte.weight", "embedding"), info("lm_head.weight")
    default, mine = Match(("normal", {"std": 1.0}), "default embedding"), Match(("normal", {"std": 0.02}), "rules['*']", True)
    assert tie_owner([(wte, default), (head, Match(("he_normal", {}), "weight="))]) == 0  # defaults: first name
    assert tie_owner([(wte, default), (head, mine)]) == 1
    with pytest.raises(InitSpecError, match="conflicting rules: wte.weight"):
        tie_owner([(wte, Match(("zeros", {}), "rules['wte*']", True)), (head, mine)])
    assert tie_owner([(wte, Match(None, "rules['wte*']", True)), (head, mine)]) == 1  # keep on one name yields


def test_a_plain_layer_rule_sets_the_main_tensor_of_any_layer():
    rs = RuleSet("he_normal", "zeros", {Linear: "orthogonal", Norm: "zeros"})
    emb = info("emb.embeddings", "embedding", Linear, name="embeddings")
    assert rs.match(emb).rule == ("orthogonal", {})
    assert rs.match(info("ln.gamma", "norm_scale", Norm, (8,))).rule == ("zeros", {})
    assert rs.match(info("ln.beta", "norm_shift", Norm, (8,))).source == "default norm_shift"
    assert rs.match(info("b.bias", "bias", Linear, (8,))).source == "bias="
    # an exact local name key comes before a role key
    rs = RuleSet("he_normal", "zeros", {Norm: {"norm_scale": "ones", "weight": ("constant", {"value": 2.0})}})
    assert rs.match(info("ln.weight", "norm_scale", Norm, (8,))).rule == ("constant", {"value": 2.0})


@pytest.mark.parametrize("equation, shape, fans", [
    ("abc,cde->abde", (64, 4, 16), (64, 64)),  # Keras MHA query/key/value
    ("abcd,cde->abe", (4, 16, 64), (64, 64)),  # Keras MHA output
    ("...b,bc->...c", (32, 8), (32, 8)),  # a Dense as EinsumDense
    ("ab,bcd->acd", (16, 2, 8), (16, 16)),
])
def test_dense_general_fans_are_the_logical_matrix(equation, shape, fans):
    ins, outs = einsum_kernel_axes(equation)
    lay = dense_general_layout(len(shape), ins, outs)
    f = compute_fans(shape, lay)
    assert (f.fan_in, f.fan_out) == fans
    # Keras' own compute_fans (layout "keras") differs for rank 3: the leading axes are a receptive field
    if len(shape) == 3:
        assert (compute_fans(shape, "keras").fan_in, compute_fans(shape, "keras").fan_out) != fans


@pytest.mark.parametrize("bad", ["abc,cd", "abc->cd", ""])
def test_einsum_equation_must_be_well_formed(bad):
    with pytest.raises(InitSpecError, match="einsum equation"):
        einsum_kernel_axes(bad)


def test_dense_general_layout_needs_disjoint_axes():
    with pytest.raises(InitSpecError, match="disjoint"):
        dense_general_layout(3, (0,), (0, 1))
