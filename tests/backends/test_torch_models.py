"""``init_module_`` on whole architectures (issue 12): every parameter gets a report row; strict mode
passes with a complete rule set and names the gap otherwise; the measured std of every big
initialized tensor (per q/k/v or gate block) matches the report's std within a tolerance derived
from n; MultiheadAttention q/k/v blocks, RNN gate blocks (orthogonal per gate, forget bias),
parametrizations, tied weights, padding_idx, HF Conv1D; bad input; all or nothing; dry run.

Zoo: small ``transformers`` configs on CPU (BERT, GPT-2 with tied embeddings, ViT, ResNet,
MobileNetV2), ``nn.Transformer``, ``nn.LSTM``/``nn.GRU``, ``nn.ConvTranspose2d(groups=2)``."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from initspec.backends import portable as ref
from initspec.distributions import resolve
from initspec.errors import InitSpecError

pytestmark = pytest.mark.torch

SIGMAS = 6.0  # of the sample std's standard error: a false alarm is < 1e-8 per tensor


# -- helpers -----------------------------------------------------------------------------------------
def _value(model, path):
    """The (logical) tensor at ``path``: parametrized tensors through their parametrization."""
    mod, _, name = path.rpartition(".")
    return getattr(model.get_submodule(mod) if mod else model, name)


def _kurtosis(row) -> float:
    """Excess kurtosis of the row's element law (it does not depend on the shape or fans)."""
    return resolve(row.scheme, (4, 4), "torch", "float32", fans=(1.0, 1.0), **row.params).element.excess_kurtosis


def assert_std(x, std: float, kurtosis: float, what: str = "") -> None:
    """``x``'s sample std equals ``std`` within SIGMAS standard errors of the sample std,
    ``std * sqrt((kurtosis + 2) / (4 n))`` (delta method); no fixed atol."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    tol = SIGMAS * std * math.sqrt((kurtosis + 2.0) / (4.0 * n))
    got = float(x.std())
    assert abs(got - std) <= tol, f"{what}: measured std {got:.6g}, spec {std:.6g}, n={n}, tolerance {tol:.3g}"


def _blocks(row) -> tuple[int, int]:
    """``(count, axis)`` of the row's blocks from its note ("3 blocks q,k,v of 32x32"): stacked
    along axis 1 when the block has the tensor's rows (HF Conv1D ``c_attn`` (E, 3E)), else 0."""
    m = re.match(r"(\d+) (?:gate )?blocks \S+ of ([\dx]+)", row.note)
    if not m:
        return 1, 0
    block = tuple(int(d) for d in m.group(2).split("x"))
    return int(m.group(1)), int(len(row.shape) > 1 and block[0] == row.shape[0] and block[1] != row.shape[1])


def check_stds(tb, model, report, min_n: int = 200) -> int:
    """Every initialized random tensor (each block) with at least ``min_n`` elements has the
    report's std; returns how many tensors were checked."""
    checked = 0
    for row in report.initialized:
        if not row.std or row.scheme in ("orthogonal", "delta_orthogonal", "identity", "dirac", "sparse"):
            continue
        x = tb.to_numpy(_value(model, row.path).detach()).astype(np.float64)
        pad = re.search(r"padding_idx row (\d+)", row.note)
        if pad:
            x = np.delete(x, int(pad.group(1)), axis=0)
        count, axis = _blocks(row)
        for k, block in enumerate(np.split(x, count, axis=axis)):
            if block.size >= min_n:
                assert_std(block, row.std, _kurtosis(row), f"{row.path}[{k}]")
                checked += 1
    return checked


def _gap(torch):
    class Gap(torch.nn.Module):  # a custom layer whose parameter no default rule covers
        def __init__(self):
            super().__init__()
            self.alpha = torch.nn.Parameter(torch.zeros(3))

    return Gap()


# -- the zoo ------------------------------------------------------------------------------------------
def _hf(name):
    import transformers as T

    T.logging.set_verbosity_error()
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    if name == "bert":
        return T.BertModel(T.BertConfig(vocab_size=200, max_position_embeddings=32, **small)), {}
    if name == "gpt2":
        cfg = T.GPT2Config(vocab_size=200, n_positions=32, n_embd=32, n_layer=2, n_head=4, bos_token_id=0,
                           eos_token_id=0)
        return T.GPT2LMHeadModel(cfg), {}
    if name == "vit":
        cfg = T.ViTConfig(image_size=16, patch_size=4, **small)
        return T.ViTModel(cfg), {"*.cls_token": ("truncated_normal", {"std": 0.02}),
                                 "*.position_embeddings": ("truncated_normal", {"std": 0.02})}
    if name == "resnet":
        cfg = T.ResNetConfig(embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], layer_type="bottleneck")
        return T.ResNetModel(cfg), {}
    if name == "mobilenet_v2":
        return T.MobileNetV2Model(T.MobileNetV2Config(depth_multiplier=0.35, image_size=32)), {}
    raise AssertionError(name)


def _torch_model(torch, name):
    nn = torch.nn
    if name == "transformer":
        return nn.Transformer(d_model=64, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                              dim_feedforward=128), {}
    if name == "lstm":
        return nn.LSTM(24, 48, num_layers=2, bidirectional=True, proj_size=16), {}
    if name == "gru":
        return nn.GRU(24, 48, num_layers=2), {}
    if name == "conv_transpose":
        return nn.Sequential(nn.ConvTranspose2d(8, 12, 3, groups=2), nn.BatchNorm2d(12)), {}
    raise AssertionError(name)


ZOO = ["bert", "gpt2", "vit", "resnet", "mobilenet_v2", "transformer", "lstm", "gru", "conv_transpose"]


def _build(torch, name):
    torch.manual_seed(0)
    return _hf(name) if name in ("bert", "gpt2", "vit", "resnet", "mobilenet_v2") else _torch_model(torch, name)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_every_parameter_reported_strict_and_std(tb, torch, name):
    model, extra_rules = _build(torch, name)
    names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    if extra_rules:  # ViT: cls_token/position_embeddings are role other: strict names them
        with pytest.raises(InitSpecError, match=r"cls_token.*position_embeddings"):
            tb.init_module_(model, strict=True)
    report = tb.init_module_(model, rules=extra_rules or None, strict=True, generator=torch.Generator().manual_seed(1))
    assert [r.path for r in report] == names  # one row per name, in the model's order
    assert not report.uncovered and report.counts()["init"] + report.counts()["tied"] == len(names)
    assert check_stds(tb, model, report) > 0
    # a gap: a custom layer with a parameter no rule covers; strict names it, and changes nothing
    model.add_module("gap", _gap(torch))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InitSpecError, match=r"no rule covers gap\.alpha \(Gap 3\)"):
        tb.init_module_(model, rules=extra_rules or None, strict=True)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert tb.init_module_(model, rules=extra_rules or None).row("gap.alpha").action == "uncovered"


def test_std_helper_catches_planted_errors(tb, torch):
    """The assertion helper must catch the old behaviour (in_proj kept: torch's xavier_uniform_
    over the stacked (3E, E) matrix) and one q/k/v block 2 % off."""
    mha = torch.nn.MultiheadAttention(256, 8)
    report = tb.init_module_(mha, generator=torch.Generator().manual_seed(0), dry_run=True)
    with pytest.raises(AssertionError, match="in_proj_weight"):
        check_stds(tb, mha, report)  # dry run: still torch's own values
    report = tb.init_module_(mha, generator=torch.Generator().manual_seed(0))
    assert check_stds(tb, mha, report) == 4  # q, k, v blocks and out_proj
    with torch.no_grad():
        mha.in_proj_weight[256:512] *= 1.02
    with pytest.raises(AssertionError, match=r"in_proj_weight\[1\]"):
        check_stds(tb, mha, report)


# -- architecture-aware handling ------------------------------------------------------------------------
def test_mha_in_proj_blocks_have_logical_fans_and_portable_streams(tb, torch):
    nn = torch.nn
    model = nn.Sequential()
    model.add_module("attn", nn.MultiheadAttention(32, 4))
    report = tb.init_module_(model, "glorot_uniform", "he_uniform", portable=True, seed=4)
    row = report.row("attn.in_proj_weight")
    assert row.fans == (32.0, 32.0) and row.note == "3 blocks q,k,v of 32x32" and row.layout == "torch_linear"
    assert report.row("attn.in_proj_bias").fans == (32.0, 32.0)
    want = np.concatenate([ref.sample("glorot_uniform", (32, 32), layout="torch_linear", seed=4,
                                      stream=f"attn.in_proj_weight[{k}]") for k in range(3)])
    np.testing.assert_array_equal(tb.to_numpy(model.attn.in_proj_weight), want)
    bias = np.concatenate([ref.sample("he_uniform", (32,), layout="torch_linear", seed=4, fans=(32, 32),
                                      stream=f"attn.in_proj_bias[{k}]") for k in range(3)])
    np.testing.assert_array_equal(tb.to_numpy(model.attn.in_proj_bias), bias)


def test_hf_fused_c_attn_is_three_blocks_along_its_output_axis(tb, torch, monkeypatch):
    """GPT-2's ``c_attn`` (HF Conv1D, weight (E, 3E) = (in, out)) splits q, k, v along the output
    axis (GPT2Attention.forward): three E x E blocks with fans (E, E), each its own stream. (The
    compiled kernel writes each transposed block straight into the strided view; the reference
    values come from the NumPy generator.)"""
    model, _ = _hf("gpt2")
    report = tb.init_module_(model, "glorot_uniform", portable=True, seed=2)
    row = report.row("transformer.h.0.attn.c_attn.weight")
    assert row.fans == (32.0, 32.0) and row.note == "3 blocks q,k,v of 32x32" and row.high == pytest.approx(math.sqrt(6 / 64))
    w = tb.to_numpy(model.transformer.h[0].attn.c_attn.weight.detach())
    monkeypatch.setenv("INITSPEC_PORTABLE_KERNEL", "numpy")
    for k in range(3):
        want = ref.sample("glorot_uniform", (32, 32), layout="keras", seed=2, stream=f"{row.path}[{k}]")
        np.testing.assert_array_equal(w[:, 32 * k:32 * (k + 1)], want)
    assert report.row("transformer.h.0.attn.c_proj.weight").note == ""  # not fused


def test_mha_separate_qkv_and_bias_kv(tb, torch):
    mha = torch.nn.MultiheadAttention(16, 2, kdim=8, vdim=12, add_bias_kv=True)
    report = tb.init_module_(mha, bias="he_uniform")
    assert report.row("k_proj_weight").fans == (8.0, 16.0) and report.row("v_proj_weight").fans == (12.0, 16.0)
    assert report.row("bias_k").fans == (8.0, 16.0) and report.row("bias_v").fans == (12.0, 16.0)
    assert not report.uncovered


@pytest.mark.parametrize("kind,gates", [("LSTM", 4), ("GRU", 3)])
def test_rnn_orthogonal_per_gate_block(tb, torch, kind, gates):
    rnn = getattr(torch.nn, kind)(8, 16, num_layers=2)
    report = tb.init_module_(rnn, rules={getattr(torch.nn, kind): {"weight": "orthogonal"}}, strict=True)
    for name, p in rnn.named_parameters():
        if name.startswith("weight"):
            assert report.row(name).note.startswith(f"{gates} gate blocks")
            for q in p.detach().double().chunk(gates):
                eye = torch.eye(min(q.shape), dtype=torch.float64)
                gram = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
                assert torch.allclose(gram, eye, atol=1e-5), name
            # the stacked matrix is not orthogonal (the old behaviour)
            stacked = p.detach().double()
            assert not torch.allclose(stacked.T @ stacked, torch.eye(stacked.shape[1], dtype=torch.float64),
                                      atol=1e-3)


def test_lstm_forget_bias(tb, torch):
    lstm = torch.nn.LSTM(4, 5)
    report = tb.init_module_(lstm, bias=("uniform", {"low": -0.1, "high": 0.1}), forget_bias=1.0)
    ih, hh = lstm.bias_ih_l0.detach(), lstm.bias_hh_l0.detach()
    assert torch.all(ih[5:10] == 1) and torch.all(hh[5:10] == 0)
    assert torch.all(ih[:5].abs() <= 0.1) and bool((ih[:5] != 0).any())
    assert "forget gate block set to 1" in report.row("bias_ih_l0").note
    with pytest.raises(InitSpecError, match=r"forget_bias.*GRU has none"):
        tb.init_module_(torch.nn.GRU(4, 5), forget_bias=1.0)
    with pytest.raises(TypeError, match="Received: forget_bias=True"):
        tb.init_module_(lstm, forget_bias=True)


def test_parametrizations_set_through_their_logical_name(tb, torch):
    nn, P = torch.nn, torch.nn.utils.parametrizations
    model = nn.Sequential(P.weight_norm(nn.Linear(8, 16)), P.spectral_norm(nn.Conv2d(3, 4, 3)))
    report = tb.init_module_(model, generator=torch.Generator().manual_seed(3), strict=True)
    assert [r.path for r in report] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert "_WeightNorm" in report.row("0.weight").note and "_SpectralNorm" in report.row("1.weight").note
    g = torch.Generator().manual_seed(3)
    w0 = tb.he_normal_(torch.empty(16, 8), layout="torch_linear", generator=g)
    w1 = tb.he_normal_(torch.empty(4, 3, 3, 3), layout="torch_conv", generator=g)
    assert torch.allclose(model[0].weight, w0, rtol=1e-5, atol=1e-6)  # g * v / ||v|| == value
    assert torch.equal(model[1].parametrizations.weight.original, w1)  # spectral_norm keeps the original


def test_tied_embeddings_initialized_once(tb, torch):
    model, _ = _build(torch, "gpt2")
    report = tb.init_module_(model)
    row = report.row("lm_head.weight")
    assert row.action == "tied" and row.note == "tied to transformer.wte.weight"
    assert report.row("transformer.wte.weight").role == "embedding"
    assert model.lm_head.weight is model.transformer.wte.weight
    # an explicit rule on one name wins; conflicting explicit rules are refused
    report = tb.init_module_(model, rules={"lm_head.weight": ("normal", {"std": 0.02})})
    assert report.row("transformer.wte.weight").action == "tied" and report.row("lm_head.weight").std == 0.02
    with pytest.raises(InitSpecError, match=r"conflicting rules.*lm_head\.weight"):
        tb.init_module_(model, rules={"lm_head.weight": "zeros", "*.wte.weight": "ones"})


def test_hf_conv1d_layout_and_padding_idx(tb, torch):
    model, _ = _build(torch, "bert")
    report = tb.init_module_(model, rules={torch.nn.Embedding: ("normal", {"std": 0.02})})
    assert torch.all(model.embeddings.word_embeddings.weight[0] == 0)
    row = report.row("embeddings.word_embeddings.weight")  # a plain class rule sets the local `weight`
    assert "padding_idx row 0" in row.note and row.std == 0.02 and row.source == "rules[Embedding]['weight']"
    gpt, _ = _build(torch, "gpt2")
    row = tb.init_module_(gpt).row("transformer.h.0.mlp.c_fc.weight")  # stored (in, out) = (32, 4*32)
    assert row.layout == "hf_conv1d" and row.fans == (32.0, 128.0)


def test_groups_enter_the_fans(tb, torch):
    for name in ("conv_transpose", "mobilenet_v2"):
        model, _ = _build(torch, name)
        report = tb.init_module_(model)
        grouped = [(r, m) for r in report.initialized for m in [model.get_submodule(r.path.rpartition(".")[0])]
                   if r.role == "weight" and getattr(m, "groups", 1) > 1]
        assert grouped, name
        for r, m in grouped:
            want = tb.plan_for("he_normal", r.shape, r.layout, groups=m.groups).fans
            assert r.fans == (want.fan_in, want.fan_out), r.path


def test_custom_layer_roles(tb, torch):
    class Scale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(4, 4))
            self.bias_extra = torch.nn.Parameter(torch.ones(4))

    class FancyRMSNorm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(4))

    model = torch.nn.Sequential(Scale(), FancyRMSNorm())
    report = tb.init_module_(model)
    assert report.row("0.weight").action == "uncovered" and report.row("1.weight").role == "norm_scale"
    assert torch.all(model[1].weight == 1)
    report = tb.init_module_(model, by_type={Scale: ("normal", {"std": 3.0})}, strict=True)  # roles by name
    assert report.row("0.weight").role == "weight" and report.row("0.bias_extra").scheme == "zeros"
    assert torch.all(model[0].bias_extra == 0) and float(model[0].weight.detach().std()) > 1


# -- report, dry run, bad input, all or nothing -----------------------------------------------------------
def test_report_table_json_and_dry_run(tb, torch):
    model, _ = _build(torch, "transformer")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    state, gstate = torch.get_rng_state(), g.get_state()
    dry = tb.init_module_(model, generator=g, dry_run=True)
    assert torch.equal(torch.get_rng_state(), state) and torch.equal(g.get_state(), gstate)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert "dry run" in str(dry) and '"dry_run": true' in dry.to_json()
    real = tb.init_module_(model, generator=g)
    assert [r.to_dict() for r in real] == [r.to_dict() for r in dry]
    assert "encoder.layers.0.self_attn.in_proj_weight" in real.table()


def test_bad_rules_name_the_parameter_and_rule(tb, torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    with pytest.raises(InitSpecError, match=r"'wieght'.*Linear"):
        tb.init_module_(model, rules={nn.Linear: {"wieght": "zeros"}})
    with pytest.raises(InitSpecError, match=r"'1\.weight'.*LayerNorm.*orthogonal"):
        tb.init_module_(model, rules={nn.LayerNorm: {"norm_scale": "orthogonal"}})
    with pytest.warns(UserWarning, match=r"matched no parameter: rules\['\*nothing\*'\]"):
        tb.init_module_(model, rules={"*nothing*": "zeros"})
    with pytest.raises(InitSpecError, match=r"strict=True.*rules\['\*nothing\*'\]"):
        tb.init_module_(model, rules={"*nothing*": "zeros"}, strict=True)
    with pytest.raises(ValueError, match="not_a_scheme"):
        tb.init_module_(model, rules={"*": "not_a_scheme"})


def test_failed_call_leaves_the_model_unchanged(tb, torch, monkeypatch):
    """Every input error (a rule that does not fit, a tensor initialize_ refuses) is found before
    any parameter changes; a runtime failure while sampling (after validation) names the
    parameters already re-initialized."""
    from initspec.backends.torch import models

    model, _ = _build(torch, "transformer")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InitSpecError, match="orthogonal"):  # the last parameters cannot take it
        tb.init_module_(model, rules={"*norm*.weight": "orthogonal"})
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    # a tensor initialize_ refuses (overlapping memory), found by the pre-sampling check
    model.register_parameter("shared", torch.nn.Parameter(torch.zeros(7).as_strided((4, 4), (1, 1))))
    with pytest.raises(InitSpecError, match=r"'shared'.*overlapping memory"):
        tb.init_module_(model, rules={"shared": "he_normal"})
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items() if k in before)
    del model.shared
    calls = []

    def failing(*a, **k):  # sampling fails at the 5th tensor, after 4 were sampled
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("device lost")
        return real(*a, **k)

    real = models.initialize_
    monkeypatch.setattr(models, "initialize_", failing)
    with pytest.raises(InitSpecError, match=r"device lost.*1 parameter\(s\) were already re-initialized: "
                                            r"encoder\.layers\.0\.self_attn\.in_proj_weight; 'encoder\.layers\.0"
                                            r"\.self_attn\.in_proj_bias' may be partly changed"):
        tb.init_module_(model)
