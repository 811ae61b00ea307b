"""Issue 13 (part A): porting a model across frameworks with the portable stream and canonical
names. The same CNN+MLP (conv, pooling, grouped conv, flatten, two Dense) and the same
transformer block (LayerNorm + MHA + MLP), each written idiomatically in torch, Keras (its
TensorFlow backend, in-process) and Flax linen, initialized with ONE portable call per framework
(``names="canonical"``, the same seed), give the same forward to 1e-5; planted mismatches (no
flatten declaration, a layer named differently, an unused name) are caught.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.tensorflow, pytest.mark.jax]

SEED = 7
TOL = 1e-5
E, HEADS, SEQ, HIDDEN = 16, 4, 5, 32
#: the same rules in every framework (the frameworks' own defaults differ)
WEIGHT, BIAS = "glorot_uniform", ("normal", {"std": 0.1})
#: LayerNorm eps differs natively (torch 1e-5, Keras 1e-3, Flax 1e-6): set equal, as a porter would
EPS = 1e-6


@pytest.fixture(scope="module")
def frameworks(torch, keras, jax):
    import flax.linen as fnn

    from initspec.backends import jax as ij
    from initspec.backends import keras as ik
    from initspec.backends import torch as it
    return torch, keras, jax, fnn, it, ik, ij


def _nchw(rng):
    return rng.standard_normal((2, 3, 12, 12)).astype(np.float32)


def _torch_cnn(torch):
    nn = torch.nn

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3)
            self.conv2 = nn.Conv2d(8, 8, 3, groups=2)
            self.fc1 = nn.Linear(72, 16)
            self.fc2 = nn.Linear(16, 4)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
            x = torch.relu(self.conv2(x)).flatten(1)  # (C, H, W) order
            return self.fc2(torch.relu(self.fc1(x)))

    return CNN()


def _keras_cnn(keras, fc1="fc1"):
    L = keras.layers
    inp = keras.Input((12, 12, 3))
    x = L.Conv2D(8, 3, activation="relu", name="conv1")(inp)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(8, 3, groups=2, activation="relu", name="conv2")(x)
    x = L.Flatten()(x)  # (H, W, C) order
    x = L.Dense(16, activation="relu", name=fc1)(x)
    return keras.Model(inp, L.Dense(4, name="fc2")(x))


def _flax_cnn(fnn):
    class CNN(fnn.Module):
        @fnn.compact
        def __call__(self, x):
            x = fnn.relu(fnn.Conv(8, (3, 3), padding="VALID", name="conv1")(x))
            x = fnn.max_pool(x, (2, 2), strides=(2, 2))
            x = fnn.relu(fnn.Conv(8, (3, 3), padding="VALID", feature_group_count=2, name="conv2")(x))
            x = x.reshape(x.shape[0], -1)  # (H, W, C) order
            x = fnn.relu(fnn.Dense(16, name="fc1")(x))
            return fnn.Dense(4, name="fc2")(x)

    return CNN()


def _torch_block(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(E, eps=EPS)
            self.attn = nn.MultiheadAttention(E, HEADS, batch_first=True)
            self.ln2 = nn.LayerNorm(E, eps=EPS)
            self.fc1 = nn.Linear(E, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, E)

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.fc2(torch.relu(self.fc1(self.ln2(x))))

    return Block()


def _keras_block(keras):
    L = keras.layers
    inp = keras.Input((SEQ, E))
    h = L.LayerNormalization(epsilon=EPS, name="ln1")(inp)
    x = L.Add()([inp, L.MultiHeadAttention(HEADS, E // HEADS, name="attn")(h, h)])
    h = L.Dense(HIDDEN, activation="relu", name="fc1")(L.LayerNormalization(epsilon=EPS, name="ln2")(x))
    return keras.Model(inp, L.Add()([x, L.Dense(E, name="fc2")(h)]))


def _flax_block(fnn):
    class Block(fnn.Module):
        @fnn.compact
        def __call__(self, x):
            h = fnn.LayerNorm(epsilon=EPS, name="ln1")(x)
            x = x + fnn.MultiHeadDotProductAttention(num_heads=HEADS, qkv_features=E, out_features=E, name="attn")(h)
            h = fnn.relu(fnn.Dense(HIDDEN, name="fc1")(fnn.LayerNorm(epsilon=EPS, name="ln2")(x)))
            return x + fnn.Dense(E, name="fc2")(h)

    return Block()


def _run_torch(torch, it, model, x, **kw):
    report = it.init_module_(model, WEIGHT, BIAS, portable=True, seed=SEED, **{"names": "canonical", **kw})
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy(), report


def _run_keras(ik, model, x, **kw):
    report = ik.init_model(model, WEIGHT, BIAS, portable=True, seed=SEED, **{"names": "canonical", **kw})
    return np.asarray(model(x)), report


def _run_flax(jax, ij, module, x, **kw):
    variables, report = ij.init_linen(module, x, weight=WEIGHT, bias=BIAS, seed=SEED, **{"names": "canonical", **kw})
    return np.asarray(module.apply(variables, x)), report


def test_cnn_mlp_same_forward_in_three_frameworks(frameworks):
    torch, keras, jax, fnn, it, ik, ij = frameworks
    from initspec.backends._names import missing_streams

    x = _nchw(np.random.default_rng(0))
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y_t, r_t = _run_torch(torch, it, _torch_cnn(torch), x, flatten={"fc1": ("chw", (8, 3, 3))})
    y_k, r_k = _run_keras(ik, _keras_cnn(keras), xl, flatten={"fc1": ("hwc", (3, 3, 8))})
    y_f, r_f = _run_flax(jax, ij, _flax_cnn(fnn), xl, flatten={"fc1": ("hwc", (3, 3, 8))})
    assert missing_streams(r_t, r_k, r_f) == {}
    assert r_t.row("conv2.weight").stream == "conv2.weight" == r_k.row("conv2/kernel").stream
    assert r_f.row("params.fc1.kernel").stream == "fc1.weight"
    assert "permuted" in r_k.row("fc1/kernel").note
    assert np.abs(y_t).max() > 0.1
    assert np.abs(y_t - y_k).max() <= TOL
    assert np.abs(y_t - y_f).max() <= TOL


def test_transformer_block_same_forward_in_three_frameworks(frameworks):
    torch, keras, jax, fnn, it, ik, ij = frameworks
    from initspec.backends._names import expand_streams, missing_streams

    x = np.random.default_rng(1).standard_normal((2, SEQ, E)).astype(np.float32)
    y_t, r_t = _run_torch(torch, it, _torch_block(torch), x)
    y_k, r_k = _run_keras(ik, _keras_block(keras), x)
    y_f, r_f = _run_flax(jax, ij, _flax_block(fnn), x)
    assert missing_streams(r_t, r_k, r_f) == {}
    assert expand_streams(r_t.row("attn.in_proj_weight").stream) == ["attn.q.weight", "attn.k.weight", "attn.v.weight"]
    assert r_k.row("attn/attention_output/kernel").stream == "attn.o.weight" == r_t.row("attn.out_proj.weight").stream
    assert r_f.row("params.attn.out.kernel").stream == "attn.o.weight"
    assert r_k.row("ln1/gamma").stream == "ln1.scale" == r_f.row("params.ln1.scale").stream
    assert np.abs(y_t - y_k).max() <= TOL
    assert np.abs(y_t - y_f).max() <= TOL


def test_planted_mismatches_are_caught(frameworks):
    torch, keras, jax, fnn, it, ik, ij = frameworks
    from initspec.backends._names import missing_streams
    from initspec.errors import InitSpecError

    x = _nchw(np.random.default_rng(0))
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    y_t, r_t = _run_torch(torch, it, _torch_cnn(torch), x)
    # no flatten declaration: the same weights, the forwards disagree
    y_k, _ = _run_keras(ik, _keras_cnn(keras), xl)
    assert np.abs(y_t - y_k).max() > 1e-2
    # a layer named differently on one side: the streams say so
    _, r_k = _run_keras(ik, _keras_cnn(keras, fc1="dense_a"), xl)
    missing = missing_streams(r_t, r_k)
    assert missing == {"torch": ["dense_a.bias", "dense_a.weight"],
                       r_k.framework: ["fc1.bias", "fc1.weight"]}
    # ... which names= repairs (a mapping from the framework path)
    _, r_k = _run_keras(ik, _keras_cnn(keras, fc1="dense_a"), xl,
                        names={"dense_a/kernel": "fc1.weight", "dense_a/bias": "fc1.bias"})
    assert missing_streams(r_t, r_k) == {}
    # hooks that name nothing, or a flatten of the wrong size, are errors (nothing changed)
    with pytest.raises(InitSpecError, match="matched no parameter"):
        it.init_module_(_torch_cnn(torch), portable=True, names={"fc9.weight": "x"})
    with pytest.raises(InitSpecError, match="has 36 features"):
        it.init_module_(_torch_cnn(torch), portable=True, names="canonical", flatten={"fc1": ("chw", (4, 3, 3))})


def test_nnx_block_matches_torch(frameworks):
    torch, keras, jax, fnn, it, ik, ij = frameworks
    from flax import nnx

    class Block(nnx.Module):
        def __init__(self, rngs):
            self.ln1 = nnx.LayerNorm(E, epsilon=EPS, rngs=rngs)
            self.attn = nnx.MultiHeadAttention(num_heads=HEADS, in_features=E, qkv_features=E, out_features=E,
                                               decode=False, rngs=rngs)
            self.ln2 = nnx.LayerNorm(E, epsilon=EPS, rngs=rngs)
            self.fc1 = nnx.Linear(E, HIDDEN, rngs=rngs)
            self.fc2 = nnx.Linear(HIDDEN, E, rngs=rngs)

        def __call__(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.fc2(nnx.relu(self.fc1(self.ln2(x))))

    x = np.random.default_rng(1).standard_normal((2, SEQ, E)).astype(np.float32)
    y_t, r_t = _run_torch(torch, it, _torch_block(torch), x)
    model = Block(nnx.Rngs(0))
    r_n = ij.init_nnx_(model, WEIGHT, BIAS, seed=SEED, names="canonical")
    from initspec.backends._names import missing_streams
    assert missing_streams(r_t, r_n) == {}
    assert np.abs(y_t - np.asarray(model(x))).max() <= TOL
