"""Whole-model init in Flax (issue 12): ``init_tree`` on eval_shape trees, ``init_linen`` and
``init_nnx_`` on small linen / nnx models: every leaf reported, the result applies, strict and
dry-run, logical attention fans, per-gate RNN blocks, the measured std against the report (a
tolerance from n), and bad input (all or nothing)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.jax

flax = pytest.importorskip("flax", reason="Flax is not installed (pip install 'initspec[jax]')")

SIGMAS = 6.0  # a std off by more than 6 of its own standard errors fails


def _np(x):
    return np.asarray(x, dtype=np.float64)


def assert_matches_row(values, row) -> None:
    """``values`` agree with the report ``row``: inside its support; a constant law exactly; else
    the sample std within SIGMAS standard errors of the spec's std, the standard error of a sample
    std being ``std * sqrt((kurtosis_excess + 2) / (4 n))`` (kurtosis from the sample), and the
    mean within SIGMAS * std / sqrt(n) of 0."""
    x = _np(values).ravel()
    n = x.size
    if row.low is not None and row.high is not None:
        slack = 1e-6 * max(1.0, abs(row.low), abs(row.high))
        assert x.min() >= row.low - slack and x.max() <= row.high + slack, (row.path, x.min(), x.max())
    if row.std is None:
        return
    if row.std == 0.0:
        np.testing.assert_array_equal(x, np.full_like(x, x[0]), err_msg=row.path)
        return
    centred = x - x.mean()
    kurt = max((centred**4).mean() / max((centred**2).mean() ** 2, 1e-300) - 3.0, -1.99)
    se = row.std * math.sqrt((kurt + 2.0) / (4.0 * n))
    assert abs(x.std() - row.std) <= SIGMAS * se, (row.path, x.std(), row.std, se)
    assert abs(x.mean()) <= SIGMAS * row.std / math.sqrt(n), (row.path, x.mean())


def _leaf(tree, path: str):
    for k in path.split("."):
        tree = tree[int(k)] if isinstance(tree, (list, tuple)) else tree[k]
    return tree


def _no_abstract(jax, tree) -> None:
    assert not any(isinstance(leaf, jax.ShapeDtypeStruct) for leaf in jax.tree_util.tree_leaves(tree))


def _every_leaf_reported(jax, variables, report) -> None:
    from initspec.backends.jax._walk import path_names

    paths = {".".join(path_names(p)) for p, _ in jax.tree_util.tree_flatten_with_path(variables)[0]}
    assert paths == {r.path for r in report}, paths ^ {r.path for r in report}


# -- models -------------------------------------------------------------------------------------


def _linen_models():
    import flax.linen as nn

    class CNN(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool = False):
            x = nn.Conv(16, (3, 3))(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.relu(x).reshape(x.shape[0], -1)
            return nn.Dense(10)(x)

    class Block(nn.Module):
        vocab: int = 100
        d: int = 64

        @nn.compact
        def __call__(self, tokens):
            x = nn.Embed(self.vocab, self.d)(tokens)
            x = nn.LayerNorm()(x + nn.MultiHeadDotProductAttention(num_heads=4)(x))
            h = nn.Dense(4 * self.d)(x)
            return nn.LayerNorm()(x + nn.Dense(self.d)(nn.gelu(h)))

    class WithCustom(nn.Module):
        @nn.compact
        def __call__(self, x):
            pos = self.param("pos", nn.initializers.normal(0.02), (x.shape[-1],))
            return nn.Dense(8)(x + pos)

    return nn, CNN, Block, WithCustom


def _nnx_model():
    from flax import nnx

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.embed = nnx.Embed(100, 64, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(num_heads=4, in_features=64, decode=False, rngs=rngs)
            self.ln = nnx.LayerNorm(64, rngs=rngs)
            self.fc = nnx.Linear(64, 256, rngs=rngs)
            self.conv = nnx.Conv(3, 16, (3, 3), rngs=rngs)
            self.bn = nnx.BatchNorm(16, rngs=rngs)

        def __call__(self, tokens, img):
            x = self.embed(tokens)
            x = self.ln(x + self.attn(x))
            y = self.bn(self.conv(img), use_running_average=True)
            return self.fc(x).mean() + y.mean()

    return nnx, Net


# -- init_tree ----------------------------------------------------------------------------------


def test_init_tree_eval_shape_of_a_cnn_is_complete_and_applies(ij, jax):
    import jax.numpy as jnp

    nn, CNN, _, _ = _linen_models()
    x = jnp.ones((2, 8, 8, 3))
    abstract = jax.eval_shape(CNN().init, jax.random.key(0), x)
    out, report = ij.init_tree(abstract, seed=1, report=True)
    _no_abstract(jax, out)
    _every_leaf_reported(jax, out, report)
    assert {r.role for r in report} == {"weight", "bias", "norm_scale", "norm_shift", "norm_mean", "norm_var"}
    assert CNN().apply(out, x).shape == (2, 10)
    k = report.row("params.Dense_0.kernel")
    assert_matches_row(_leaf(out, k.path), k)
    assert json_ok(report)


def json_ok(report) -> bool:
    import json

    d = json.loads(report.to_json())
    return len(d["parameters"]) == len(report) and "parameter" in report.table()


def test_init_tree_rules_dry_run_and_errors(ij, jax):
    import jax.numpy as jnp

    nn, _, _, WithCustom = _linen_models()
    x = jnp.ones((2, 8))
    abstract = jax.eval_shape(WithCustom().init, jax.random.key(0), x)
    # "pos" has no role: an uncovered ShapeDtypeStruct cannot come back
    with pytest.raises(ValueError, match=r"'params.pos'.*ShapeDtypeStruct.*init_linen"):
        ij.init_tree(abstract)
    with pytest.raises(ValueError, match=r"strict=True.*params\.pos"):
        ij.init_tree(abstract, strict=True)
    rules = {"*.pos": ("normal", {"std": 0.02})}
    out, report = ij.init_tree(abstract, rules=rules, seed=2, report=True, strict=True)
    assert report.row("params.pos").source == "rules['*.pos']"
    assert WithCustom().apply(out, x).shape == (2, 8)
    same, dry = ij.init_tree(abstract, rules=rules, dry_run=True, report=True)
    assert same is abstract and dry.dry_run and [r.std for r in dry] == [r.std for r in report]
    with pytest.raises(TypeError, match=r"no layer classes.*init_linen.*init_nnx_"):
        ij.init_tree(abstract, rules={nn.Dense: "zeros"})
    with pytest.warns(UserWarning, match=r"matched no parameter.*nothing\*"):
        ij.init_tree(abstract, rules={**rules, "nothing*": "zeros"})
    with pytest.raises(ValueError, match=r"strict=True.*nothing\*"):
        ij.init_tree(abstract, rules={**rules, "nothing*": "zeros"}, strict=True)
    with pytest.raises(ValueError, match=r"'params.pos'.*rules\['\*.pos'\].*orthogonal"):
        ij.init_tree(abstract, rules={"*.pos": "orthogonal"})
    with pytest.raises(TypeError, match=r"keys must be path patterns"):
        ij.init_tree(abstract, rules={3: "zeros"})
    with pytest.raises(Exception, match=r"he_nromal"):
        ij.init_tree(abstract, rules={"*.pos": "he_nromal"})


# -- init_linen ---------------------------------------------------------------------------------


def test_init_linen_cnn(ij, jax):
    import jax.numpy as jnp

    nn, CNN, _, _ = _linen_models()
    x = jnp.ones((2, 8, 8, 3))
    rules = {nn.Conv: ("glorot_uniform", {}), nn.BatchNorm: {"norm_scale": ("constant", {"value": 0.5})}}
    variables, report = ij.init_linen(CNN(), x, rules=rules, seed=3, strict=True)
    _no_abstract(jax, variables)
    _every_leaf_reported(jax, variables, report)
    assert report.counts()["init"] == len(report)
    conv = report.row("params.Conv_0.kernel")
    assert conv.layer == "Conv" and conv.scheme == "glorot_uniform" and conv.fans == (27.0, 144.0)
    np.testing.assert_array_equal(_np(variables["params"]["BatchNorm_0"]["scale"]), np.full(16, 0.5))
    assert report.row("batch_stats.BatchNorm_0.var").role == "norm_var"
    y, _ = CNN().apply(variables, x, train=True, mutable=["batch_stats"])
    assert y.shape == (2, 10)
    for path in ("params.Conv_0.kernel", "params.Dense_0.kernel"):
        assert_matches_row(_leaf(variables, path), report.row(path))


def test_init_linen_transformer_block_logical_attention_fans(ij, jax):
    import jax.numpy as jnp

    nn, _, Block, _ = _linen_models()
    tokens = jnp.zeros((2, 5), jnp.int32)
    rules = {nn.DenseGeneral: "glorot_uniform", "*.Embed_0.embedding": ("normal", {"std": 0.02})}
    variables, report = ij.init_linen(Block(), tokens, rules=rules, seed=4, strict=True)
    _every_leaf_reported(jax, variables, report)
    bound = math.sqrt(6.0 / (64 + 64))  # the logical 64 -> 64 layer, not 64*4*16 fans
    for proj in ("query", "key", "value", "out"):
        row = report.row(f"params.MultiHeadDotProductAttention_0.{proj}.kernel")
        assert row.fans == (64.0, 64.0) and row.high == pytest.approx(bound) and row.layer == "DenseGeneral"
    q = report.row("params.MultiHeadDotProductAttention_0.query.kernel")
    assert q.shape == (64, 4, 16)
    for row in report.initialized:
        if math.prod(row.shape) >= 4096:
            assert_matches_row(_leaf(variables, row.path), row)
    assert Block().apply(variables, tokens).shape == (2, 5, 64)
    # the same leaf, rule and seed give the same values through init_tree on the eval_shape tree
    abstract = jax.eval_shape(Block().init, jax.random.key(0), tokens)
    tree = ij.init_tree(abstract, rules={"*.embedding": ("normal", {"std": 0.02})}, seed=4)
    for path in ("params.Dense_0.kernel", "params.Embed_0.embedding"):
        np.testing.assert_array_equal(_np(_leaf(tree, path)), _np(_leaf(variables, path)))


def test_init_linen_native_fallback_and_strict(ij, jax):
    import jax.numpy as jnp

    _, _, _, WithCustom = _linen_models()
    x = jnp.ones((2, 8))
    variables, report = ij.init_linen(WithCustom(), x, seed=5)
    row = report.row("params.pos")
    assert row.action == "uncovered" and row.note == "module's own initializer"
    native = WithCustom().init(jax.random.key(5), x)
    np.testing.assert_array_equal(_np(variables["params"]["pos"]), _np(native["params"]["pos"]))
    assert WithCustom().apply(variables, x).shape == (2, 8)
    with pytest.raises(ValueError, match=r"init_linen\(strict=True\).*params\.pos"):
        ij.init_linen(WithCustom(), x, strict=True)
    kept, rep = ij.init_linen(WithCustom(), x, rules={"*.pos": "keep"}, strict=True, seed=5)
    assert rep.row("params.pos").action == "keep"
    abstract, dry = ij.init_linen(WithCustom(), x, dry_run=True)
    _leaf(abstract, "params.pos").shape  # noqa: B018 - abstract leaves, nothing drawn
    assert dry.dry_run and isinstance(_leaf(abstract, "params.pos"), jax.ShapeDtypeStruct)


def test_init_linen_lstm_forget_bias(ij, jax):
    import flax.linen as nn
    import jax.numpy as jnp

    for cell_cls in (nn.LSTMCell, nn.OptimizedLSTMCell):
        cell = cell_cls(8)
        x = jnp.ones((2, 4))
        carry = cell.initialize_carry(jax.random.key(0), x.shape)
        variables, report = ij.init_linen(cell, carry, x, forget_bias=1.0,
                                          rules={"params.h?.kernel": "orthogonal"}, strict=True)
        np.testing.assert_array_equal(_np(variables["params"]["hf"]["bias"]), np.ones(8))
        np.testing.assert_array_equal(_np(variables["params"]["hi"]["bias"]), np.zeros(8))
        assert report.row("params.hf.bias").source == "forget_bias="
        for gate in "ifgo":
            k = _np(variables["params"][f"h{gate}"]["kernel"])
            np.testing.assert_allclose(k.T @ k, np.eye(8), atol=1e-5)
        cell.apply(variables, carry, x)


# -- init_nnx_ ----------------------------------------------------------------------------------


def _nnx_values(nnx, model):
    return {".".join(map(str, p)): np.array(v.get_value()) for p, v in nnx.iter_graph(model)
            if isinstance(v, (nnx.Param, nnx.BatchStat))}


def test_init_nnx_model(ij, jax):
    import jax.numpy as jnp

    nnx, Net = _nnx_model()
    model = Net(nnx.Rngs(0))
    rules = {nnx.LinearGeneral: "glorot_uniform", nnx.Embed: {"embedding": ("normal", {"std": 0.02})},
             nnx.Conv: "he_uniform"}
    report = ij.init_nnx_(model, rules=rules, seed=6, strict=True)
    values = _nnx_values(nnx, model)
    assert set(values) == {r.path for r in report}
    assert report.counts()["init"] == len(report)
    bound = math.sqrt(6.0 / (64 + 64))
    for proj in ("query", "key", "value", "out"):
        row = report.row(f"attn.{proj}.kernel")
        assert row.fans == (64.0, 64.0) and row.high == pytest.approx(bound)
    assert report.row("bn.var").role == "norm_var" and report.row("ln.bias").role == "norm_shift"
    for row in report.initialized:
        if math.prod(row.shape) >= 4096:
            assert_matches_row(values[row.path], row)
    out = model(jnp.zeros((2, 5), jnp.int32), jnp.ones((2, 8, 8, 3)))
    assert np.isfinite(float(out))


def test_init_nnx_per_gate_blocks(ij, jax):
    from flax import nnx

    cell = nnx.OptimizedLSTMCell(4, 8, rngs=nnx.Rngs(0))
    report = ij.init_nnx_(cell, rules={"dense_h.kernel": "orthogonal"}, forget_bias=1.0, strict=True)
    k = np.asarray(cell.dense_h.kernel.get_value())
    for g in range(4):  # i, f, g, o: each gate block its own orthogonal matrix
        block = k[:, 8 * g:8 * (g + 1)]
        np.testing.assert_allclose(block.T @ block, np.eye(8), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(cell.dense_h.bias.get_value()),
                                  np.r_[np.zeros(8), np.ones(8), np.zeros(16)])
    assert "4 gate blocks" in report.row("dense_h.kernel").note
    # a bias whose scheme uses fans takes the fans of one gate block of its kernel
    report = ij.init_nnx_(nnx.OptimizedLSTMCell(4, 8, rngs=nnx.Rngs(0)), bias="he_uniform", strict=True)
    assert report.row("dense_h.bias").fans == (8.0, 8.0)


def test_init_nnx_bad_input_leaves_the_model_unchanged(ij, jax):
    nnx, Net = _nnx_model()
    model = Net(nnx.Rngs(0))
    before = _nnx_values(nnx, model)

    def unchanged():
        after = _nnx_values(nnx, model)
        for k, v in before.items():
            np.testing.assert_array_equal(after[k], v, err_msg=k)

    # a wrong-rank rule on a later parameter: the error names it and the rule; nothing assigned
    with pytest.raises(ValueError, match=r"'ln.scale'.*rules\['ln.scale'\].*orthogonal"):
        ij.init_nnx_(model, rules={"ln.scale": "orthogonal"})
    unchanged()
    with pytest.raises(ValueError, match=r"strict=True.*nothing\*"):
        ij.init_nnx_(model, rules={"nothing*": "zeros"}, strict=True)
    unchanged()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = ij.init_nnx_(model, dry_run=True, seed=1)
    assert report.dry_run and len(report) == len(before)
    unchanged()
    with pytest.raises(TypeError, match=r"nnx.State.*nnx.merge"):
        ij.init_nnx_(nnx.state(model))
    with pytest.raises(TypeError, match=r"keys must be path patterns"):
        ij.init_nnx_(model, rules={("tuple",): "zeros"})
    unchanged()


def test_assertion_helper_catches_a_planted_error(ij, jax):
    nnx, Net = _nnx_model()
    model = Net(nnx.Rngs(0))
    report = ij.init_nnx_(model, seed=7)
    row = report.row("fc.kernel")
    values = np.asarray(model.fc.kernel.get_value())
    assert_matches_row(values, row)
    with pytest.raises(AssertionError):
        assert_matches_row(values * 1.1, row)  # 10% too wide
    with pytest.raises(AssertionError):
        assert_matches_row(values + 0.05 * row.std * 10, row)  # shifted mean


# -- native sampling (key=) ---------------------------------------------------------------------
def test_native_key_mode_linen_tree_and_nnx(ij, jax):
    """``key=`` draws with jax.random (the JAX adapters' laws) instead of the portable stream: the
    std matches the report on every large leaf; a leaf's values depend on the key and its name
    only (init_tree and init_linen agree, inside and outside jit); the linen fallback runs
    ``module.init`` with that key; nnx too."""
    import jax.numpy as jnp

    from initspec.backends.jax._walk import leaf_key

    nn, _, Block, WithCustom = _linen_models()
    tokens = jnp.zeros((2, 5), jnp.int32)
    key = jax.random.key(21)
    rules = {nn.DenseGeneral: "glorot_uniform", "*.Embed_0.embedding": ("normal", {"std": 0.02})}
    variables, report = ij.init_linen(Block(), tokens, rules=rules, key=key, strict=True)
    _every_leaf_reported(jax, variables, report)
    assert all(r.stream is None for r in report)
    for row in report.initialized:
        if math.prod(row.shape) >= 4096:
            assert_matches_row(_leaf(variables, row.path), row)
    abstract = jax.eval_shape(Block().init, jax.random.key(0), tokens)
    tree = jax.jit(lambda k: ij.init_tree(abstract, rules={"*.embedding": ("normal", {"std": 0.02})}, key=k))(key)
    for path in ("params.Dense_0.kernel", "params.Embed_0.embedding"):
        np.testing.assert_array_equal(_np(_leaf(tree, path)), _np(_leaf(variables, path)))
    # the leaf's own key, and a different value from another key / the portable stream
    want = ij.initializer("he_normal")(leaf_key(key, "params.Dense_0.kernel"), (64, 256), jnp.float32)
    np.testing.assert_array_equal(_np(_leaf(variables, "params.Dense_0.kernel")), _np(want))
    other = ij.init_tree(abstract, rules={"*.embedding": "zeros"}, key=jax.random.key(22))
    portable = ij.init_tree(abstract, rules={"*.embedding": "zeros"}, seed=0)
    for t in (other, portable):
        assert not np.array_equal(_np(_leaf(t, "params.Dense_0.kernel")), _np(want))
    # the linen fallback (a leaf no rule covers) is module.init with the same key
    x = jnp.ones((2, 8))
    fallback, rep = ij.init_linen(WithCustom(), x, key=key)
    np.testing.assert_array_equal(_np(fallback["params"]["pos"]), _np(WithCustom().init(key, x)["params"]["pos"]))
    nnx, Net = _nnx_model()
    model = Net(nnx.Rngs(0))
    nrules = {nnx.LinearGeneral: "glorot_uniform", nnx.Embed: {"embedding": ("normal", {"std": 0.02})},
              nnx.Conv: "he_uniform"}
    nrep = ij.init_nnx_(model, rules=nrules, key=key, strict=True)
    values = _nnx_values(nnx, model)
    for row in nrep.initialized:
        if math.prod(row.shape) >= 4096:
            assert_matches_row(values[row.path], row)


@pytest.mark.parametrize(("kw", "exc", "match"), [
    ({"key": 3}, TypeError, r"`key` must be one jax.random key.*key=3"),
    ({"key": "k"}, TypeError, r"`key`"),
    ({"seed": 1, "key": "KEY"}, ValueError, r"`seed`.*`key`.*pass one"),
    ({"key": "SPLIT"}, TypeError, r"`key` must be one"),
])
def test_native_key_bad_input(ij, jax, kw, exc, match):
    import jax.numpy as jnp

    nn, Cnn, _, _ = _linen_models()
    subst = {"KEY": jax.random.key(0), "SPLIT": jax.random.split(jax.random.key(0), 2)}
    kw = {k: subst.get(v, v) if isinstance(v, str) and v in subst else v for k, v in kw.items()}
    abstract = jax.eval_shape(lambda: {"params": {"Dense_0": {"kernel": jnp.zeros((4, 4))}}})
    with pytest.raises(exc, match=match):
        ij.init_tree(abstract, **kw)
