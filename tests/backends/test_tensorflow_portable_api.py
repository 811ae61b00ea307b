"""TensorFlow / Keras adapter, portable mode of the idiomatic API: ``stream=`` on the Keras
initializer classes and the TF functions, its serialization, and :func:`init_model`.

Expected values are never hard-coded: they come from ``initspec.backends.tensorflow.portable.sample``
and the NumPy reference ``initspec.backends.portable.sample`` with the same arguments.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from initspec.backends import portable as ref
from initspec.errors import InitSpecError
from initspec.layouts import compute_fans

pytestmark = pytest.mark.tensorflow

SEED = 7


def _want(ptf, scheme, shape, *, layout="keras", dtype="float32", seed=SEED, stream, **params):
    """The TF portable values, after checking they equal the NumPy reference (bit for bit)."""
    got = ptf.sample(scheme, shape, layout=layout, dtype=dtype, seed=seed, stream=stream, **params).numpy()
    np.testing.assert_array_equal(
        got, ref.sample(scheme, shape, layout=layout, dtype=dtype, seed=seed, stream=stream, **params))
    return got


# --------------------------------------------------------------------------------------------
# Keras classes and TF functions
# --------------------------------------------------------------------------------------------
def test_dense_kernel_matches_numpy_reference(tfb):
    """The brief's example: a Dense(16) kernel on 8 inputs, stream "fc.weight"."""
    got = tfb.HeNormal(seed=1, stream="fc.weight")((8, 16)).numpy()
    want = ref.sample("he_normal", (8, 16), layout="keras", seed=1, stream="fc.weight")
    np.testing.assert_array_equal(got, want)


CLASS_CASES = [  # (class, scheme, shape, dtype, params)
    ("HeTruncatedNormal", "he_truncated_normal", (3, 3, 4, 8), "float32", {}),
    ("TruncatedNormal", "truncated_normal", (32, 16), "float32",
     {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 3.0}),
    ("GlorotUniform", "glorot_uniform", (3, 3, 4, 8), "float32", {}),
    ("Uniform", "uniform", (64, 8), "float32", {"low": -1.0, "high": 3.0}),
    ("GlorotNormal", "glorot_normal", (24, 16), "float16", {}),
    ("HeUniform", "he_uniform", (3, 3, 2, 8), "float64", {"groups": 2}),
]


@pytest.mark.parametrize("cls,scheme,shape,dtype,params", CLASS_CASES, ids=[c[0] for c in CLASS_CASES])
def test_class_and_function_match_portable_sample(tfb, ptf, cls, scheme, shape, dtype, params):
    want = _want(ptf, scheme, shape, dtype=dtype, stream="block/conv/kernel", **params)
    init = getattr(tfb, cls)(seed=SEED, stream="block/conv/kernel", **params)
    got = init(shape, dtype)
    assert got.dtype.name == dtype
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(init(shape, dtype).numpy(), want)  # deterministic: same every call
    fn = getattr(tfb, scheme)(shape, dtype, SEED, stream="block/conv/kernel", **params)
    np.testing.assert_array_equal(fn.numpy(), want)
    other = getattr(tfb, scheme)(shape, dtype, SEED, stream="block/conv/bias", **params)
    assert not np.array_equal(other.numpy(), want)  # the stream name matters


def test_orthogonal_matches_portable_sample(tfb, ptf):
    """Structured: bit for bit with the TF portable sampler; the NumPy reference to QR rounding."""
    shape = (16, 24)
    want = ptf.sample("orthogonal", shape, seed=SEED, stream="rnn/kernel", gain=2.0).numpy()
    init = tfb.Orthogonal(gain=2.0, seed=SEED, stream="rnn/kernel")
    np.testing.assert_array_equal(init(shape).numpy(), want)
    fn = tfb.orthogonal(shape, seed=SEED, stream="rnn/kernel", gain=2.0)
    np.testing.assert_array_equal(fn.numpy(), want)
    numpy_ref = ref.sample("orthogonal", shape, seed=SEED, stream="rnn/kernel", gain=2.0)
    np.testing.assert_allclose(want, numpy_ref, atol=1e-6)


def test_seed_none_means_zero_and_native_mode_is_unchanged(tfb, keras):
    a = tfb.HeNormal(stream="w")((8, 8)).numpy()
    np.testing.assert_array_equal(a, tfb.HeNormal(seed=0, stream="w")((8, 8)).numpy())
    np.testing.assert_array_equal(a, tfb.he_normal((8, 8), stream="w").numpy())
    np.testing.assert_array_equal(a, tfb.initialize("he_normal", (8, 8), stream="w").numpy())
    np.testing.assert_array_equal(a, ref.sample("he_normal", (8, 8), seed=0, stream="w"))
    native = tfb.HeNormal(seed=0)
    assert native.stream is None and not np.array_equal(native((8, 8)).numpy(), a)
    assert np.array_equal(native((8, 8)).numpy(), tfb.he_normal((8, 8), seed=0).numpy())
    import tensorflow as tf

    shape = tf.TensorShape([8, 8])  # Keras may pass a TensorShape
    np.testing.assert_array_equal(tfb.HeNormal(stream="w")(shape).numpy(), a)


# --------------------------------------------------------------------------------------------
# serialization
# --------------------------------------------------------------------------------------------
def test_config_round_trips_with_stream(tfb, keras):
    init = tfb.VarianceScaling(2.0, "fan_out", "truncated_normal", seed=3, stream="enc/dense/kernel")
    config = init.get_config()
    assert config["stream"] == "enc/dense/kernel" and config["seed"] == 3
    want = init((6, 5)).numpy()
    clone = tfb.VarianceScaling.from_config(json.loads(json.dumps(config)))
    assert clone.stream == "enc/dense/kernel" and clone.get_config() == config
    np.testing.assert_array_equal(clone((6, 5)).numpy(), want)
    again = keras.initializers.deserialize(json.loads(json.dumps(keras.initializers.serialize(init))))
    assert type(again) is tfb.VarianceScaling and again.get_config() == config
    np.testing.assert_array_equal(again((6, 5)).numpy(), want)
    unseeded = tfb.GlorotUniform(stream="x").get_config()
    assert unseeded["seed"] is None and unseeded["stream"] == "x"  # seed=None (means 0) stays None


def test_native_config_has_no_stream_and_old_configs_load(tfb):
    config = tfb.HeNormal(seed=1).get_config()
    assert "stream" not in config  # today's configs are unchanged
    assert tfb.HeNormal.from_config(config).stream is None
    assert tfb.HeNormal.from_config({**config, "stream": None}).stream is None


def test_saved_model_keeps_stream(tfb, keras, tmp_path):
    init = tfb.HeTruncatedNormal(seed=5, stream="fc.weight")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, kernel_initializer=init)])
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(),
                                  ref.sample("he_truncated_normal", (8, 16), seed=5, stream="fc.weight"))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.layers[0].kernel.numpy(), model.layers[0].kernel.numpy())
    again = loaded.layers[0].kernel_initializer
    assert type(again) is tfb.HeTruncatedNormal and again.get_config() == init.get_config()
    assert again.stream == "fc.weight"
    np.testing.assert_array_equal(again((8, 16)).numpy(), model.layers[0].kernel.numpy())


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_stream_must_be_a_string(tfb):
    with pytest.raises(TypeError, match=r"`stream`.*Received: stream=3"):
        tfb.HeNormal(stream=3)
    with pytest.raises(TypeError, match=r"`stream`.*Received: stream=b'x'"):
        tfb.he_normal((4, 4), seed=0, stream=b"x")


def test_seed_generator_or_seed_pair_conflicts_with_stream(tfb, keras):
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed=<.*SeedGenerator.*stream='w'"):
        tfb.HeNormal(seed=keras.random.SeedGenerator(1), stream="w")
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed=\[1, 2\], stream='w'"):
        tfb.he_normal((4, 4), seed=[1, 2], stream="w")
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed='1'"):
        tfb.HeNormal(seed="1", stream="w")
    with pytest.raises(ValueError, match=r"`seed`.*Received: seed=-1"):
        tfb.HeNormal(seed=-1, stream="w")
    with pytest.raises(ValueError, match=r"`seed`.*Received: seed=18446744073709551616"):
        tfb.he_normal((4, 4), seed=2**64, stream="w")
    with pytest.raises(InitSpecError, match="groups"):
        tfb.he_normal((4, 4), stream="w", groups=0)


# --------------------------------------------------------------------------------------------
# init_model
# --------------------------------------------------------------------------------------------
def _conv_model(keras, name="net"):
    inner = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8, name="head")], name="inner")
    x = keras.Input((8, 8, 4))
    y = keras.layers.Conv2D(6, 3, groups=2, name="conv")(x)
    y = keras.layers.Conv2DTranspose(4, 3, name="deconv")(y)
    y = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(y)
    y = keras.layers.SeparableConv2D(4, 3, name="sep")(y)
    y = keras.layers.Flatten()(y)
    y = keras.layers.Dense(16, name="fc")(y)
    return keras.Model(x, inner(y), name=name)


#: variable path -> (layout, groups) the portable values are computed with
_LAYOUTS = {"conv/kernel": ("keras", 2), "deconv/kernel": ("keras_conv_transpose", 1),
            "dw/kernel": ("keras_depthwise", 1), "sep/depthwise_kernel": ("keras_depthwise", 1),
            "sep/pointwise_kernel": ("keras", 1), "fc/kernel": ("keras", 1),
            "inner/head/kernel": ("keras", 1)}


@pytest.fixture(scope="module")
def conv_model(keras, tfb):
    model = _conv_model(keras)
    tfb.init_model(model, "he_truncated_normal", "zeros", portable=True, seed=SEED)
    return model


def test_init_model_matches_reference(conv_model):
    kernels = {v.path: v for v in conv_model.weights if v.name.endswith("kernel")}
    assert set(kernels) == set(_LAYOUTS)
    for path, var in kernels.items():
        layout, groups = _LAYOUTS[path]
        want = ref.sample("he_truncated_normal", tuple(var.shape), layout=layout, seed=SEED, stream=path,
                          groups=groups)
        np.testing.assert_array_equal(var.numpy(), want, err_msg=path)
    for var in conv_model.weights:
        if var.name == "bias":
            assert not var.numpy().any(), var.path


def test_init_model_order_independent(keras, tfb, conv_model):
    """A layer initialised alone (or a nested model) gets the values the whole model gives it."""
    want = {v.path: v.numpy() for v in conv_model.weights}
    fresh = _conv_model(keras)  # same layer names, so the same variable paths
    assert {v.path for v in fresh.weights} == set(want)
    for name in ("sep", "inner", "conv"):  # any order, one layer at a time
        tfb.init_model(fresh.get_layer(name), "he_truncated_normal", "zeros", portable=True, seed=SEED)
        for v in fresh.get_layer(name).weights:
            np.testing.assert_array_equal(v.numpy(), want[v.path], err_msg=v.path)
    assert not np.array_equal(fresh.get_layer("fc").kernel.numpy(), want["fc/kernel"])  # not touched


def test_init_model_prefix_and_bias_fans(keras, tfb):
    model = keras.Sequential([keras.Input((6, 6, 4)), keras.layers.Conv2D(8, 3, groups=2, name="c1")],
                             name="seq")
    tfb.init_model(model, ("lecun_uniform", {"gain": 3.0}), "he_uniform", portable=True, seed=2**64 - 1,
                   prefix="enc.")
    conv = model.layers[0]
    assert conv.kernel.path == "seq/c1/kernel"
    np.testing.assert_array_equal(conv.kernel.numpy(), ref.sample(
        "lecun_uniform", (3, 3, 2, 8), layout="keras", seed=2**64 - 1, stream="enc.seq/c1/kernel", groups=2,
        gain=3.0))
    f = compute_fans((3, 3, 2, 8), "keras", groups=2)  # the bias gets the grouped kernel's fans
    np.testing.assert_array_equal(conv.bias.numpy(), ref.sample(
        "he_uniform", (8,), seed=2**64 - 1, stream="enc.seq/c1/bias", fans=(f.fan_in, f.fan_out)))


def test_init_model_by_type(keras, tfb):
    class Special(keras.layers.Dense):
        pass

    x = keras.Input((4, 6))
    y = keras.layers.LSTM(8, name="lstm")(x)
    y = keras.layers.Dense(8, name="d1")(y)
    y = Special(8, name="d2")(y)
    model = keras.Model(x, y)
    lstm_bias, d2_kernel = model.get_layer("lstm").cell.bias.numpy(), model.get_layer("d2").kernel.numpy()
    tfb.init_model(model, "zeros", "ones", portable=True, by_type={
        keras.layers.Dense: "he_normal", Special: {"bias": ("constant", {"value": 3.0})},
        keras.layers.LSTM: {"weight": ("orthogonal", {"gain": 2.0}), "bias": None}})
    d1, d2, cell = model.get_layer("d1"), model.get_layer("d2"), model.get_layer("lstm").cell
    want = ref.sample("he_normal", (8, 8), seed=0, stream="d1/kernel")  # portable=True, seed None -> 0
    np.testing.assert_array_equal(d1.kernel.numpy(), want)
    assert (d1.bias.numpy() == 1).all()  # a plain by_type rule keeps the default bias rule
    assert (d2.bias.numpy() == 3).all()  # the most specific class wins: Special, not Dense
    # no "weight" key in Special's entry: the next class of the MRO (Dense) sets the kernel
    np.testing.assert_array_equal(d2.kernel.numpy(), ref.sample("he_normal", (8, 8), seed=0, stream="d2/kernel"))
    assert not np.array_equal(d2_kernel, d2.kernel.numpy())
    for var in (cell.kernel, cell.recurrent_kernel):  # the LSTM's entry covers its cell, one block per gate
        shape = tuple(var.shape)
        want = np.concatenate([ref.sample("orthogonal", shape[:-1] + (shape[-1] // 4,), seed=0,
                                          stream=f"{var.path}[{k}]", gain=2.0) for k in range(4)], -1)
        np.testing.assert_array_equal(var.numpy(), want, err_msg=var.path)
    np.testing.assert_array_equal(cell.bias.numpy(), lstm_bias)  # None: left alone


def test_init_model_native(keras, tfb):
    def build():
        return keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras.layers.Dense(8)])

    a, b = build(), build()
    tfb.init_model(a, "he_normal", seed=4)
    tfb.init_model(b, "he_normal", seed=4)
    ka = [layer.kernel.numpy() for layer in a.layers]
    np.testing.assert_array_equal(ka[0], b.layers[0].kernel.numpy())  # reproducible from the seed
    assert not np.array_equal(ka[0], ka[1])  # one generator: distinct values per variable
    assert not np.array_equal(ka[0], ref.sample("he_normal", (8, 8), seed=4, stream=a.layers[0].kernel.path))
    assert 0.3 < ka[0].std() < 0.7  # he_normal on fan_in 8: std 0.5
    tfb.init_model(a, "he_normal")  # seed=None: native random seeds
    assert not np.array_equal(a.layers[0].kernel.numpy(), ka[0])


def test_init_model_errors(keras, tfb):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    before = model.layers[0].kernel.numpy()
    with pytest.raises(InitSpecError, match=r"not built.*Received: model="):
        tfb.init_model(keras.Sequential([keras.layers.Dense(3)]))
    with pytest.raises(TypeError, match=r"`model`.*Received: model="):
        tfb.init_model(np.zeros(3))
    with pytest.raises(TypeError, match=r"`portable`.*Received: portable=1"):
        tfb.init_model(model, portable=1)
    with pytest.raises(TypeError, match=r"`prefix`.*Received: prefix=3"):
        tfb.init_model(model, portable=True, prefix=3)
    with pytest.raises(InitSpecError, match=r"`prefix`.*Received: prefix='a/', names=None, portable=False"):
        tfb.init_model(model, prefix="a/")
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed=<.*SeedGenerator.*portable=True"):
        tfb.init_model(model, portable=True, seed=keras.random.SeedGenerator(1))
    with pytest.raises(ValueError, match=r"`seed`.*Received: seed=-3"):
        tfb.init_model(model, portable=True, seed=-3)
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed='s'"):
        tfb.init_model(model, seed="s")
    with pytest.raises(TypeError, match=r"`weight`.*Received: weight=\['he_normal'\]"):
        tfb.init_model(model, ["he_normal"])
    with pytest.raises(TypeError, match=r"`by_type`.*Received: by_type="):
        tfb.init_model(model, by_type={"Dense": "he_normal"})
    with pytest.raises(TypeError, match=r"by_type\[Dense\].*Received: \{1: 'he_normal'\}"):
        tfb.init_model(model, by_type={keras.layers.Dense: {1: "he_normal"}})
    with pytest.raises(InitSpecError, match=r"sets seed.*Received: weight="):
        tfb.init_model(model, ("he_normal", {"seed": 1}))
    with pytest.raises(InitSpecError, match="Received"):
        tfb.init_model(model, "he_nromal")
    with pytest.raises(InitSpecError, match="Received"):  # a bad parameter fails before any change
        tfb.init_model(model, "he_normal", ("uniform", {"low": 1.0, "high": 0.0}), portable=True)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), before)
