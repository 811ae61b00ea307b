"""``initspec.backends.keras.init_model`` (issue 12, Keras side): every variable reported, rules,
strict / dry-run, architecture-aware fans (EinsumDense / MultiHeadAttention logical fans, one
block per RNN gate, LSTM forget bias), all or nothing, bad input; a zoo (ResNet50, MobileNetV2,
a Transformer block, an LSTM model) checked statistically against the report.

The TF Keras backend runs in-process; the same checks (:data:`BACKEND_CHECKS`) run under
``KERAS_BACKEND=jax`` and ``torch`` in subprocesses (this file is the subprocess' script:
``python test_keras_models.py jax`` prints a JSON dict of check -> "ok" or the error).
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

#: sigmas of the statistical checks (each check's tolerance is derived from its n)
SIGMAS = 6.0


# --------------------------------------------------------------------------------------------
# models (any Keras backend)
# --------------------------------------------------------------------------------------------
def transformer_block(keras, vocab=50, seq=8, d=64, heads=4):
    """Embedding + learned positions (a custom layer with a ``pos_embed`` variable, role other) +
    MultiHeadAttention + LayerNormalization + Dense MLP."""

    class PositionEmbedding(keras.layers.Layer):
        def build(self, input_shape):
            self.pos_embed = self.add_weight(name="pos_embed", shape=(input_shape[1], input_shape[2]))

        def call(self, x):
            return x + self.pos_embed

    x = keras.Input((seq,), dtype="int32")
    h = keras.layers.Embedding(vocab, d, name="tok")(x)
    h = PositionEmbedding(name="pos")(h)
    a = keras.layers.MultiHeadAttention(heads, d // heads, name="mha")(h, h)
    h = keras.layers.LayerNormalization(name="ln1")(h + a)
    m = keras.layers.Dense(4 * d, activation="gelu", name="fc1")(h)
    m = keras.layers.Dense(d, name="fc2")(m)
    h = keras.layers.LayerNormalization(name="ln2")(h + m)
    return keras.Model(x, keras.layers.Dense(vocab, name="head")(h), name="block")


def lstm_model(keras):
    x = keras.Input((5, 24))
    h = keras.layers.LSTM(32, return_sequences=True, name="lstm")(x)
    h = keras.layers.GRU(16, name="gru")(h)
    h = keras.layers.Dropout(0.1)(h)
    return keras.Model(x, keras.layers.Dense(4, name="out")(h), name="rnn")


def _variables(model):
    seen, out = set(), []
    for v in model.variables:
        if id(v) not in seen:
            seen.add(id(v))
            out.append(v)
    return out


def _np(keras, v):
    return np.asarray(keras.ops.convert_to_numpy(v.value), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# the assertion helper: values agree with the report
# --------------------------------------------------------------------------------------------
def _blocks(values, row):
    if "gate blocks" not in row.note:
        return [values]
    g = int(row.note.split(" gate blocks")[0].split()[-1])
    return np.split(values, g, axis=-1)


def _check_law(block, row, what):
    """One tensor or gate block against its row: constants exactly; random laws by the sample
    mean and std within SIGMAS standard errors (std error of the sample std ~
    std * sqrt((excess_kurtosis + 2) / (4 n))), the support bounds; orthogonal by Q^T Q = gain^2 I."""
    from initspec.distributions import resolve

    if row.std == 0.0:
        assert (block == row.low).all(), f"{what}: expected the constant {row.low}"
        return
    if row.scheme == "orthogonal":
        m = block.reshape(-1, block.shape[-1])
        m = m if m.shape[0] >= m.shape[1] else m.T
        gain = row.params.get("gain", 1.0)
        np.testing.assert_allclose(m.T @ m, gain**2 * np.eye(m.shape[1]), atol=1e-4 * gain**2, err_msg=what)
        return
    n = block.size
    if n < 64:
        return
    kurt = resolve(row.scheme, block.shape, None, fans=row.fans, **row.params).element.excess_kurtosis or 0.0
    sd = float(block.std())
    tol = SIGMAS * row.std * math.sqrt((kurt + 2.0) / (4.0 * n))
    assert abs(sd - row.std) <= tol, f"{what}: std {sd:.5g} vs spec {row.std:.5g} (tolerance {tol:.3g}, n={n})"
    assert abs(block.mean()) <= SIGMAS * row.std / math.sqrt(n), f"{what}: mean {block.mean():.4g}"
    if row.low is not None:
        assert row.low <= block.min() and block.max() <= row.high, f"{what}: outside [{row.low}, {row.high}]"


def assert_matches_report(keras, model, report):
    """Every variable of ``model`` has exactly one row, and every initialized one holds values of
    the row's law (per gate block; the LSTM forget block holds its value)."""
    variables = _variables(model)
    assert [r.path for r in report] == [v.path for v in variables]
    for v, row in zip(variables, report):
        assert tuple(row.shape) == tuple(v.shape), row.path
        if row.action != "init":
            continue
        blocks = _blocks(_np(keras, v), row)
        for k, block in enumerate(blocks):
            if "forget-gate block set to" in row.note and k == 1:
                value = float(row.note.split("forget-gate block set to ")[1].split()[0])
                assert (block == value).all(), f"{row.path}[{k}]: forget block"
                continue
            _check_law(block, row, f"{row.path}[{k}]")


# --------------------------------------------------------------------------------------------
# checks shared by every Keras backend (in-process on TF, subprocesses for jax / torch)
# --------------------------------------------------------------------------------------------
def check_transformer_block(keras):
    from initspec.backends.keras import init_model
    from initspec.errors import InitSpecError

    model = transformer_block(keras)
    with pytest.raises(InitSpecError, match=r"pos/pos_embed"):  # strict names the gap
        init_model(model, strict=True, seed=1)
    rules = {"*pos_embed": ("normal", {"std": 0.02}), keras.layers.Embedding: {"embedding": ("normal", {"std": 0.02})}}
    report = init_model(model, rules=rules, strict=True, seed=1)
    assert report.counts()["uncovered"] == 0
    assert_matches_report(keras, model, report)
    q = report.row("mha/query/kernel")
    assert q.fans == (64, 64) and q.high == pytest.approx(math.sqrt(6 / 128))  # 0.2165, not Keras' 0.0685
    assert report.row("mha/attention_output/kernel").fans == (64, 64)
    assert np.abs(_np(keras, model.get_layer("mha")._query_dense.kernel)).max() > 2 * math.sqrt(6 / 1280)
    assert report.row("ln1/gamma").scheme == "ones" and report.row("tok/embeddings").std == 0.02
    # a planted wrong result (Keras' own fans for the query kernel) is caught
    kernel = model.get_layer("mha")._query_dense.kernel
    kernel.assign(kernel.value * (math.sqrt(6 / 1280) / math.sqrt(6 / 128)))
    with pytest.raises(AssertionError, match=r"query/kernel.*std"):
        assert_matches_report(keras, model, report)


def check_lstm_gates(keras):
    from initspec.backends.keras import init_model
    from initspec.errors import InitSpecError

    model = lstm_model(keras)
    report = init_model(model, rules={keras.layers.LSTM: "orthogonal", "*gru*recurrent_kernel": "orthogonal"},
                        strict=True, seed=2)
    assert_matches_report(keras, model, report)
    cell = model.get_layer("lstm").cell
    for var, rows in ((cell.kernel, 24), (cell.recurrent_kernel, 32)):
        for block in np.split(_np(keras, var), 4, axis=-1):  # each gate block orthogonal
            assert block.shape == (rows, 32)
            gram = block @ block.T if rows < 32 else block.T @ block  # semi-orthogonal (24 x 32): rows
            np.testing.assert_allclose(gram, np.eye(min(rows, 32)), atol=1e-4)
    bias = _np(keras, cell.bias)
    assert (bias[32:64] == 1).all() and not bias[:32].any()  # Keras' unit_forget_bias kept
    assert "unit_forget_bias" in report.row("lstm/lstm_cell/bias").note
    assert "3 gate blocks of 2x16" in report.row("gru/gru_cell/bias").note
    seeds = [r for r in report if r.path.endswith("seed_generator_state")]  # Dropout / RNN dropout state
    assert seeds and all(r.action == "keep" and r.source.startswith("seed-generator") for r in seeds)
    init_model(model, forget_bias=2.5, seed=3)
    assert (_np(keras, cell.bias)[32:64] == 2.5).all()
    # a planted wrong result (one stacked orthogonal matrix instead of one per gate) is caught
    stacked = np.linalg.qr(np.random.default_rng(0).normal(size=(32, 32 * 4)).T)[0].T
    cell.recurrent_kernel.assign(stacked.astype("float32"))
    with pytest.raises(AssertionError):
        assert_matches_report(keras, model, report)
    gru_only = keras.Sequential([keras.Input((3, 4)), keras.layers.GRU(4, name="g")], name="gs")
    with pytest.raises(InitSpecError, match=r"forget_bias.*no LSTM.*g"):
        init_model(gru_only, forget_bias=1.0)


def check_portable_blocks(keras):
    """Portable values are the reference's, per gate block stream ``path[k]``, on every backend."""
    from initspec.backends import portable
    from initspec.backends.keras import init_model

    model = keras.Sequential([keras.Input((3, 6)), keras.layers.LSTM(4, name="l"),
                              keras.layers.EinsumDense("ab,bcd->acd", (2, 8), name="e")], name="p")
    init_model(model, rules={"*recurrent_kernel": "orthogonal"}, portable=True, seed=7)
    cell = model.get_layer("l").cell
    want = np.concatenate([portable.sample("glorot_uniform", (6, 4), seed=7, stream=f"{cell.kernel.path}[{k}]")
                           for k in range(4)], -1)
    np.testing.assert_array_equal(_np(keras, cell.kernel), want)
    from initspec.models import dense_general_layout

    e = model.get_layer("e")
    want = portable.sample("glorot_uniform", (4, 2, 8), layout=dense_general_layout(3, (0,), (1, 2)), seed=7,
                           stream=e.kernel.path)
    np.testing.assert_array_equal(_np(keras, e.kernel), want)


def check_all_or_nothing(keras):
    from initspec.backends.keras import init_model
    from initspec.errors import InitSpecError

    model = lstm_model(keras)
    before = {v.path: _np(keras, v) for v in _variables(model)}
    with pytest.raises(InitSpecError, match=r"'out/bias'.*rules\['\*out/bias'\].*orthogonal"):
        init_model(model, rules={"*out/bias": "orthogonal"}, seed=1)  # wrong rank, last variable
    with pytest.raises(InitSpecError, match=r"strict=True.*rules\['\*nothing\*'\]"):
        init_model(model, rules={"*nothing*": "zeros"}, strict=True)
    report = init_model(model, "he_normal", dry_run=True)
    assert report.dry_run and len(report) == len(before) and report.row("out/kernel").scheme == "he_normal"
    for v in _variables(model):
        np.testing.assert_array_equal(_np(keras, v), before[v.path], err_msg=v.path)


def check_seed_sequence(keras):
    """init_model hands out a SeedGenerator's seeds without its per-draw state update
    (``_seeds.SeedSequence``): the same values and final generator state as ``gen.next()`` per draw."""
    from initspec.backends.keras import init_model
    from initspec.backends.keras import models as keras_models
    from initspec.backends.keras._seeds import SeedSequence

    fast, slow = transformer_block(keras), transformer_block(keras)
    g_fast, g_slow = keras.random.SeedGenerator(11), keras.random.SeedGenerator(11)
    g_fast.next(), g_slow.next()  # a generator already used elsewhere: the sequence continues from its state
    report = init_model(fast, seed=g_fast)
    real = keras_models.SeedSequence
    keras_models.SeedSequence = lambda gen: gen  # the plain path: gen.next() for every draw
    try:
        init_model(slow, seed=g_slow)
    finally:
        keras_models.SeedSequence = real
    done = {r.path for r in report.initialized}
    assert len(done) > 5
    for a, b in zip(_variables(fast), _variables(slow)):
        if a.path in done:
            np.testing.assert_array_equal(_np(keras, a), _np(keras, b), err_msg=a.path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(g_fast.state.value),
                                  keras.ops.convert_to_numpy(g_slow.state.value))
    seq = SeedSequence(keras.random.SeedGenerator(3))
    first = keras.ops.convert_to_numpy(seq.next())
    assert list(first) == [3, 0] and list(keras.ops.convert_to_numpy(seq.next())) == [3, 1]
    with pytest.raises(NotImplementedError):
        seq.next(ordered=False)


BACKEND_CHECKS = {f.__name__: f for f in (check_transformer_block, check_lstm_gates, check_portable_blocks,
                                          check_all_or_nothing, check_seed_sequence)}


# --------------------------------------------------------------------------------------------
# TF backend, in-process
# --------------------------------------------------------------------------------------------
@pytest.mark.tensorflow
@pytest.mark.parametrize("check", sorted(BACKEND_CHECKS))
def test_backend_checks_tensorflow(keras, check):
    assert keras.backend.backend() == "tensorflow"
    BACKEND_CHECKS[check](keras)


@pytest.mark.tensorflow
def test_zoo_resnet50(keras):
    from initspec.backends.keras import init_model
    from initspec.errors import InitSpecError

    model = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)
    report = init_model(model, "he_normal", rules={keras.layers.Dense: "glorot_uniform"}, strict=True, seed=0)
    assert_matches_report(keras, model, report)
    conv = report.row("conv1_conv/kernel")
    assert conv.fans == (3 * 49, 64 * 49) and conv.std == pytest.approx(math.sqrt(2 / 147))
    assert {r.role for r in report} >= {"weight", "bias", "norm_scale", "norm_shift", "norm_mean", "norm_var"}
    with pytest.raises(InitSpecError, match=r"rules\['\*attention\*'\]"):
        init_model(model, rules={"*attention*": "zeros"}, strict=True, dry_run=True)


@pytest.mark.tensorflow
def test_zoo_mobilenet_v2(keras):
    from initspec.backends.keras import init_model

    model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=10)
    report = init_model(model, "he_uniform", strict=True, seed=0)
    assert_matches_report(keras, model, report)
    dw = report.row("block_1_depthwise/kernel")
    assert dw.layout == "keras_depthwise" and dw.fans == (9, 9)


@pytest.mark.tensorflow
def test_report_table_json_and_rules(keras):
    from initspec.backends import tensorflow as tfb
    from initspec.backends.keras import init_model, layout_for_variable
    from initspec.errors import InitSpecError

    assert tfb.init_model is init_model and tfb.layout_for_variable is layout_for_variable
    model = transformer_block(keras)
    report = init_model(model, rules={"*pos_embed": "keep"}, seed=0)
    data = json.loads(report.to_json())
    assert data["counts"]["keep"] == 1 and len(data["parameters"]) == len(_variables(model))
    assert "mha/query/kernel" in str(report) and report.row("pos/pos_embed").action == "keep"
    with pytest.warns(UserWarning, match=r"rules\[Dense\]"):  # a misspelt role key matches nothing
        init_model(model, rules={keras.layers.Dense: {"wieght": "zeros"}}, dry_run=True)
    with pytest.warns(UserWarning, match=r"rules\['\*nope\*'\]"):
        init_model(model, rules={"*nope*": "zeros"}, dry_run=True)
    with pytest.raises(InitSpecError, match=r"Received"):
        init_model(model, rules={"*kernel": "he_nromal"})
    with pytest.raises(InitSpecError, match=r"'ln1/gamma'.*rules\[LayerNormalization\]"):
        init_model(model, rules={keras.layers.LayerNormalization: {"gamma": "orthogonal"}})
    with pytest.raises(InitSpecError, match=r"not built"):
        init_model(keras.Sequential([keras.layers.Dense(3)]))
    with pytest.raises(TypeError, match=r"`strict`"):
        init_model(model, strict=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a complete, used rule set: no warning
        init_model(model, rules={"*pos_embed": "zeros"}, dry_run=True)


@pytest.mark.tensorflow
def test_tied_variable(keras):
    """A variable two layers track (a GPT-2 style tied output head) is one row, initialized once
    by its creating layer's rule; conflicting explicit rules are refused naming both."""
    from initspec.backends.keras import init_model
    from initspec.errors import InitSpecError

    class TiedHead(keras.layers.Layer):
        def __init__(self, emb, **kw):
            super().__init__(**kw)
            self.emb = emb

        def build(self, input_shape):
            self.table = self.emb.embeddings

        def call(self, h):
            return keras.ops.matmul(h, keras.ops.transpose(self.table))

    x = keras.Input((4,), dtype="int32")
    emb = keras.layers.Embedding(10, 8, name="wte")
    model = keras.Model(x, TiedHead(emb, name="lm_head")(emb(x)))
    report = init_model(model, rules={keras.layers.Embedding: {"embedding": ("normal", {"std": 0.02})}},
                        strict=True, seed=0)
    row = report.row("wte/embeddings")
    assert len(report) == 1 and row.std == 0.02 and "shared by layers wte, lm_head" in row.note
    with pytest.raises(InitSpecError, match=r"conflicting rules.*Embedding.*TiedHead"):
        init_model(model, rules={keras.layers.Embedding: {"embedding": "zeros"}, TiedHead: {"other": "ones"}})


# --------------------------------------------------------------------------------------------
# jax / torch Keras backends, in subprocesses
# --------------------------------------------------------------------------------------------
@pytest.mark.tensorflow
@pytest.mark.parametrize("backend", [pytest.param("jax", marks=pytest.mark.jax),
                                     pytest.param("torch", marks=pytest.mark.torch)])
def test_backend_checks(backend):
    from tests.backends._keras_backends import run_under_keras_backend  # not importable in the script run

    pytest.importorskip(backend)
    results = run_under_keras_backend(__file__, backend)
    assert results == {k: "ok" for k in BACKEND_CHECKS}, results


if __name__ == "__main__":  # subprocess entry: python test_keras_models.py <keras backend>
    from _keras_backends import run_checks_main  # this folder is sys.path[0] in the script run

    run_checks_main(BACKEND_CHECKS, tail=2000)
