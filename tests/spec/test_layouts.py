"""Fan rules for every layout: hand values, the frameworks' own fan functions, and bad input."""

from __future__ import annotations

import importlib.util

import pytest

from initspec import InitSpecError, compute_fans, get_layout
from initspec.layouts import LAYOUTS, translate

# (layout, shape, groups, fan_in, fan_out, receptive)
HAND = [
    ("torch_linear", (128, 64), 1, 64, 128, 1),
    ("torch_conv", (128, 64, 3, 3), 1, 576, 1152, 9),
    ("torch_conv", (128, 16, 3, 3), 4, 144, 288, 9),  # grouped: in/groups stored; fan_out / groups
    ("torch_conv", (64, 1, 3, 3), 64, 9, 9, 9),  # depthwise in torch = groups=in_channels
    ("torch_conv", (8, 4, 5), 1, 20, 40, 5),  # Conv1d
    ("torch_conv", (8, 4, 3, 3, 3), 1, 108, 216, 27),  # Conv3d
    ("torch_conv_transpose", (64, 128, 3, 3), 1, 1152, 576, 9),  # (in=64, out=128): fan_in from axis 1
    ("torch", (10, 20, 2), 1, 40, 20, 2),
    ("keras_dense", (64, 128), 1, 64, 128, 1),
    ("keras_conv", (3, 3, 64, 128), 1, 576, 1152, 9),
    ("keras_conv", (3, 3, 16, 128), 4, 144, 288, 9),
    ("keras_conv_transpose", (3, 3, 128, 64), 1, 1152, 576, 9),  # (k, out=128, in=64)
    ("keras_depthwise", (3, 3, 64, 2), 1, 9, 18, 9),
    ("jax", (3, 3, 64, 128), 1, 576, 1152, 9),
    ("flax_dense", (64, 128), 1, 64, 128, 1),
]


@pytest.mark.parametrize("layout,shape,groups,fi,fo,rf", HAND, ids=lambda v: str(v))
def test_fans_hand_values(layout, shape, groups, fi, fo, rf):
    f = compute_fans(shape, layout, groups=groups)
    assert (f.fan_in, f.fan_out, f.receptive_field) == (fi, fo, rf)


def test_fan_modes():
    f = compute_fans((3, 3, 64, 128), "keras")
    assert f.fan("fan_in") == 576 and f.fan("fan_out") == 1152
    assert f.fan("fan_avg") == (576 + 1152) / 2
    assert f.fan("fan_geo_avg") == pytest.approx((576 * 1152) ** 0.5)
    with pytest.raises(ValueError, match="Received: mode='fan_sum'"):
        f.fan("fan_sum")


def test_jax_axes_override():
    lay = get_layout("jax").with_axes(in_axis=0, out_axis=1, batch_axis=2)
    f = lay.fans((4, 6, 5, 3))  # batch axis 2 excluded, receptive = axis 3
    assert (f.fan_in, f.fan_out, f.receptive_field) == (12, 18, 3)


def test_translate_same_logical_layer():
    assert translate((3, 3, 64, 128), "keras_conv", "torch")[0] == (128, 64, 3, 3)
    assert translate((128, 64), "torch_linear", "keras")[0] == (64, 128)
    # torch ConvTranspose (in=64, out=128) <-> keras (k, out=128, in=64)
    assert translate((64, 128, 3, 3), "torch_conv_transpose", "keras")[0] == (3, 3, 128, 64)
    for fw in ("torch", "keras", "jax"):
        s, lay = translate((3, 3, 64, 128), "keras", fw)
        assert compute_fans(s, lay) == compute_fans((3, 3, 64, 128), "keras")
    with pytest.raises(ValueError, match="No jax equivalent"):
        translate((64, 128, 3, 3), "torch_conv_transpose", "jax")


@pytest.mark.parametrize("shape", [(), (7,)])
def test_rank_below_two_raises_with_fix(shape):
    with pytest.raises(InitSpecError, match=r"fans=\(fan_in, fan_out\)"):
        compute_fans(shape, "keras")
    assert compute_fans(shape, "keras", fans=(7, 7)).fan_in == 7


@pytest.mark.parametrize(
    "shape,layout,groups,match",
    [
        ((3, 3, 0, 128), "keras", 1, "fan would be 0"),
        ((3, 64), "keras_conv_transpose", 1, r"needs rank 3..5"),
        ((128, 64, 3), "torch_linear", 1, "needs rank 2"),
        ((3, -1), "keras", 1, "non-negative"),
        ((128, 64, 3, 3), "torch_conv", 3, "not divisible by groups=3"),
        ((128, 64), "torch", 0, "groups"),
    ],
)
def test_bad_shapes(shape, layout, groups, match):
    with pytest.raises(ValueError, match=match or "Received"):
        compute_fans(shape, layout, groups=groups)


def test_non_integer_dims_and_unknown_layout():
    with pytest.raises(TypeError, match=r"Received: shape=\(3, 2.0\)"):
        compute_fans((3, 2.0), "keras")
    with pytest.raises(ValueError, match="Did you mean 'keras'"):
        compute_fans((3, 2), "kears")


# -- against the frameworks' own fan functions (where installed) ---------------------------
SHAPES = [(5, 7), (4, 3, 2), (8, 4, 3, 3), (6, 5, 2, 3, 2)]


@pytest.mark.torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
@pytest.mark.parametrize("shape", SHAPES)
def test_against_torch_fan_function(shape):
    import torch
    from torch.nn.init import _calculate_fan_in_and_fan_out

    fi, fo = _calculate_fan_in_and_fan_out(torch.empty(shape))
    f = compute_fans(shape, "torch")
    assert (f.fan_in, f.fan_out) == (fi, fo)


@pytest.mark.tensorflow
@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras not installed")
@pytest.mark.parametrize("shape", SHAPES)
def test_against_keras_compute_fans(shape):
    from keras.src.initializers.random_initializers import compute_fans as kfans

    f = compute_fans(shape, "keras")
    assert (f.fan_in, f.fan_out) == kfans(shape)


@pytest.mark.tensorflow
@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras not installed")
def test_keras_rank_0_1_rule_is_recorded():
    """Keras uses (1, 1) for scalars and (n, n) for vectors; the spec raises instead."""
    from keras.src.initializers.random_initializers import compute_fans as kfans

    assert kfans(()) == (1, 1) and kfans((7,)) == (7, 7)


@pytest.mark.jax
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
@pytest.mark.parametrize("shape", SHAPES)
def test_against_jax_compute_fans(shape):
    from jax._src.nn.initializers import _compute_fans

    fi, fo = _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=())
    f = compute_fans(shape, "jax")
    assert (f.fan_in, f.fan_out) == (fi, fo)


def test_every_named_layout_resolves():
    for name, lay in LAYOUTS.items():
        shape = (2,) * max(lay.min_rank, 2 if lay.max_rank is None else lay.min_rank)
        f = lay.fans(shape)
        assert f.fan_in > 0 and f.fan_out > 0, name
