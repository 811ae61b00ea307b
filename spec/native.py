"""Each framework's native initializers and layer defaults, described in spec terms.

Every entry says what a framework call *is* as a spec scheme with parameters (plus its layout),
cites the framework function it comes from, and spells out where it departs from what its name
suggests or from the other frameworks. The native audit of the conformance runner measures each
entry; ``initspec show`` prints them for a given logical layer.

Sources (read from the frameworks' own code):
torch ``torch/nn/init.py`` and ``torch/nn/modules/{linear,conv,sparse}.py::reset_parameters``;
Keras 3 ``keras/src/initializers/{random_initializers,constant_initializers}.py`` and
``keras/src/layers/...`` constructor defaults; JAX ``jax/_src/nn/initializers.py``; Flax
``flax/linen/linear.py`` (``default_kernel_init = lecun_normal()``) and ``flax/linen/linear.py::Embed``
(``default_embed_init = variance_scaling(1.0, 'fan_in', 'normal', out_axis=0)``); Haiku
``haiku/_src/basic.py::Linear`` (``TruncatedNormal(stddev=1/sqrt(fan_in))``, uncorrected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .constants import TRUNCATED_NORMAL_STD_CORRECTION
from .errors import unknown


@dataclass(frozen=True)
class NativeInit:
    """One native initializer or layer default, in spec terms."""

    framework: str  # torch | keras | jax | flax | haiku
    name: str  # the user-facing call, e.g. "torch.nn.init.xavier_normal_"
    scheme: str  # spec scheme it equals
    params: dict[str, Any] = field(default_factory=dict)
    layout: str = "keras"
    #: spec scheme the *name* suggests (for "departs from its name" findings), if different
    name_suggests: str | None = None
    departures: tuple[str, ...] = ()
    source: str = ""
    #: which weight this is for layer defaults ("weight", "bias", "kernel")
    role: str = "weight"
    #: the fan the params depend on, when a parameter is a function of the fans (layer biases)
    bias_of: str | None = None
    kind: str = "initializer"  # initializer | layer_default
    #: False for whole-model facts (attention, RNN gates) that the per-tensor native audit does not
    #: draw: they are measured by the model tests (tests/backends/test_*_models.py)
    audit: bool = True

    @property
    def key(self) -> str:
        return f"{self.framework}:{self.name}"


_TI = "torch/nn/init.py"
_KR = "keras/src/initializers/random_initializers.py"
_KC = "keras/src/initializers/constant_initializers.py"
_JX = "jax/_src/nn/initializers.py"

_TORCH_TRUNC = (
    "Bounds a, b are ABSOLUTE values, not multiples of std: trunc_normal_(w, std=0.02) keeps the "
    "default a=-2, b=2, i.e. +-100 sigma, so it is practically an untruncated normal.",
)
_KERAS_TRUNC_NAME = (
    "Keras' {n} is a TRUNCATED normal (+-2 sigma, std corrected by 0.8796...), while torch's "
    "{t} is an untruncated normal with the same variance: same name, different distribution."
)

NATIVE: list[NativeInit] = [
    # ---------------- torch.nn.init ----------------
    NativeInit("torch", "torch.nn.init.zeros_", "zeros", layout="torch", source=f"{_TI}::zeros_"),
    NativeInit("torch", "torch.nn.init.ones_", "ones", layout="torch", source=f"{_TI}::ones_"),
    NativeInit("torch", "torch.nn.init.normal_", "normal", {"mean": 0.0, "std": 1.0}, "torch",
               source=f"{_TI}::normal_"),
    NativeInit("torch", "torch.nn.init.uniform_", "uniform", {"low": 0.0, "high": 1.0}, "torch",
               source=f"{_TI}::uniform_"),
    NativeInit("torch", "torch.nn.init.trunc_normal_", "truncated_normal_abs",
               {"mean": 0.0, "std": 1.0, "low": -2.0, "high": 2.0}, "torch", name_suggests="truncated_normal",
               departures=_TORCH_TRUNC, source=f"{_TI}::trunc_normal_"),
    NativeInit("torch", "torch.nn.init.xavier_normal_", "glorot_normal", {}, "torch",
               departures=("Untruncated normal; Keras GlorotNormal / jax glorot_normal are truncated.",),
               source=f"{_TI}::xavier_normal_"),
    NativeInit("torch", "torch.nn.init.xavier_uniform_", "glorot_uniform", {}, "torch", source=f"{_TI}::xavier_uniform_"),
    NativeInit("torch", "torch.nn.init.kaiming_normal_", "he_normal", {}, "torch",
               departures=("Default nonlinearity='leaky_relu' with a=0 gives gain sqrt(2) (= relu). "
                           "Untruncated; Keras HeNormal / jax he_normal are truncated.",),
               source=f"{_TI}::kaiming_normal_"),
    NativeInit("torch", "torch.nn.init.kaiming_uniform_", "he_uniform", {}, "torch",
               departures=("Default nonlinearity='leaky_relu' with a=0 gives gain sqrt(2) (= relu).",),
               source=f"{_TI}::kaiming_uniform_"),
    NativeInit("torch", "torch.nn.init.orthogonal_", "orthogonal", {"gain": 1.0}, "torch",
               departures=("Flattens to (shape[0], prod(shape[1:])): rows are output units.",),
               source=f"{_TI}::orthogonal_"),
    NativeInit("torch", "torch.nn.init.eye_", "identity", {"gain": 1.0}, "torch", source=f"{_TI}::eye_"),
    NativeInit("torch", "torch.nn.init.dirac_", "dirac", {"groups": 1}, "torch", source=f"{_TI}::dirac_"),
    NativeInit("torch", "torch.nn.init.sparse_", "sparse", {"sparsity": 0.1, "std": 0.01}, "torch",
               departures=("Zero positions come from torch.randperm on the global RNG, not from the "
                           "`generator` argument: not reproducible from a generator alone.",),
               source=f"{_TI}::sparse_"),
    # torch layer defaults: _ConvNd / Linear reset_parameters: kaiming_uniform_(a=sqrt(5))
    NativeInit("torch", "torch.nn.Linear.weight", "variance_scaling",
               {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"}, "torch_linear",
               name_suggests="he_uniform",
               departures=("kaiming_uniform_(a=sqrt(5)) has gain sqrt(2/(1+5)) = sqrt(1/3): "
                           "U(+-1/sqrt(fan_in)), std 1/sqrt(3*fan_in), a third of He's variance "
                           "(not He, not Glorot).",),
               source="torch/nn/modules/linear.py::Linear.reset_parameters", kind="layer_default"),
    NativeInit("torch", "torch.nn.Linear.bias", "uniform", {}, "torch_linear", role="bias", bias_of="fan_in",
               departures=("Bias is random U(+-1/sqrt(fan_in)), not zeros as in Keras and Flax.",),
               source="torch/nn/modules/linear.py::Linear.reset_parameters", kind="layer_default"),
    NativeInit("torch", "torch.nn.Conv2d.weight", "variance_scaling",
               {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"}, "torch_conv",
               name_suggests="he_uniform",
               departures=("Same a=sqrt(5) rule as Linear: U(+-1/sqrt(fan_in)), fan_in = in/groups*kh*kw.",),
               source="torch/nn/modules/conv.py::_ConvNd.reset_parameters", kind="layer_default"),
    NativeInit("torch", "torch.nn.Conv2d.bias", "uniform", {}, "torch_conv", role="bias", bias_of="fan_in",
               source="torch/nn/modules/conv.py::_ConvNd.reset_parameters", kind="layer_default"),
    NativeInit("torch", "torch.nn.ConvTranspose2d.weight", "variance_scaling",
               {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"}, "torch_conv_transpose",
               name_suggests="he_uniform",
               departures=("Weight is (in, out/groups, kh, kw); torch's fan_in is read from axis 1, the "
                           "layer's OUTPUT channels per group (the convention Keras shares).",),
               source="torch/nn/modules/conv.py::_ConvNd.reset_parameters", kind="layer_default"),
    NativeInit("torch", "torch.nn.Embedding.weight", "normal", {"mean": 0.0, "std": 1.0}, "torch",
               departures=("N(0, 1) regardless of embedding size (Flax Embed: std 1/sqrt(features); "
                           "Keras Embedding: U(+-0.05)).",),
               source="torch/nn/modules/sparse.py::Embedding.reset_parameters", kind="layer_default"),
    # whole-model facts (the spec's rules: initspec.models), not drawn by the per-tensor audit
    NativeInit("torch", "torch.nn.MultiheadAttention.in_proj_weight", "glorot_uniform", {}, "torch",
               departures=("xavier_uniform_ on the stacked (3E, E) q/k/v matrix: fan_out = 3E, so each "
                           "projection gets the bound sqrt(6/(4E)) instead of the logical E x E layer's "
                           "sqrt(6/(2E)) (std 0.71x; spec: three blocks, fans (E, E) each).",
                           "in_proj_bias and out_proj.bias are zeros (constant_(0.)), unlike Linear's "
                           "random bias; out_proj.weight keeps Linear's a=sqrt(5) default.",),
               source="torch/nn/modules/activation.py::MultiheadAttention._reset_parameters",
               kind="layer_default", audit=False),
    NativeInit("torch", "torch.nn.LSTM.weight_hh_l0", "uniform", {}, "torch",
               departures=("Every weight AND bias of RNN/LSTM/GRU is U(+-1/sqrt(hidden_size)) "
                           "(RNNBase.reset_parameters), independent of the input size; no gate block "
                           "is orthogonal and there is no forget-gate bias (spec: per-gate blocks, "
                           "optional forget_bias).",),
               source="torch/nn/modules/rnn.py::RNNBase.reset_parameters", kind="layer_default", audit=False),
    # ---------------- Keras 3 ----------------
    NativeInit("keras", "keras.initializers.Zeros", "zeros", source=f"{_KC}::Zeros"),
    NativeInit("keras", "keras.initializers.Ones", "ones", source=f"{_KC}::Ones"),
    NativeInit("keras", "keras.initializers.RandomNormal", "normal", {"mean": 0.0, "std": 0.05},
               departures=("Default stddev is 0.05 (torch normal_: 1.0, jax normal: 0.01).",), source=f"{_KR}::RandomNormal"),
    NativeInit("keras", "keras.initializers.RandomUniform", "uniform", {"low": -0.05, "high": 0.05},
               source=f"{_KR}::RandomUniform"),
    NativeInit("keras", "keras.initializers.TruncatedNormal", "truncated_normal",
               {"mean": 0.0, "std": 0.05, "a": -2.0, "b": 2.0},
               departures=(f"`stddev` is the PRE-truncation sigma (bounds +-2 stddev, no correction): "
                           f"the actual std is {TRUNCATED_NORMAL_STD_CORRECTION:.4f} x stddev. "
                           "jax truncated_normal(stddev) does not correct it either; torch trunc_normal_ "
                           "uses absolute bounds.",),
               source=f"{_KR}::TruncatedNormal"),
    NativeInit("keras", "keras.initializers.VarianceScaling", "variance_scaling",
               {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}, source=f"{_KR}::VarianceScaling"),
    NativeInit("keras", "keras.initializers.GlorotNormal", "glorot_truncated_normal", name_suggests="glorot_normal",
               departures=(_KERAS_TRUNC_NAME.format(n="GlorotNormal", t="xavier_normal_"),), source=f"{_KR}::GlorotNormal"),
    NativeInit("keras", "keras.initializers.GlorotUniform", "glorot_uniform", source=f"{_KR}::GlorotUniform"),
    NativeInit("keras", "keras.initializers.HeNormal", "he_truncated_normal", name_suggests="he_normal",
               departures=(_KERAS_TRUNC_NAME.format(n="HeNormal", t="kaiming_normal_"),), source=f"{_KR}::HeNormal"),
    NativeInit("keras", "keras.initializers.HeUniform", "he_uniform", source=f"{_KR}::HeUniform"),
    NativeInit("keras", "keras.initializers.LecunNormal", "lecun_truncated_normal", name_suggests="lecun_normal",
               departures=("Truncated (+-2 sigma, corrected), like the other Keras *Normal variance-scaling "
                           "initializers.",), source=f"{_KR}::LecunNormal"),
    NativeInit("keras", "keras.initializers.LecunUniform", "lecun_uniform", source=f"{_KR}::LecunUniform"),
    NativeInit("keras", "keras.initializers.Orthogonal", "orthogonal", {"gain": 1.0},
               departures=("Flattens to (prod(shape[:-1]), shape[-1]): columns are output units "
                           "(torch: rows); the same logical property, transposed storage.",),
               source=f"{_KR}::Orthogonal"),
    NativeInit("keras", "keras.initializers.Identity", "identity", {"gain": 1.0}, source=f"{_KC}::Identity"),
    NativeInit("keras", "keras.layers.Dense.kernel", "glorot_uniform", layout="keras_dense",
               source="keras/src/layers/core/dense.py::Dense (kernel_initializer='glorot_uniform')",
               kind="layer_default"),
    NativeInit("keras", "keras.layers.Dense.bias", "zeros", layout="keras_dense", role="bias",
               source="keras/src/layers/core/dense.py::Dense (bias_initializer='zeros')", kind="layer_default"),
    NativeInit("keras", "keras.layers.Conv2D.kernel", "glorot_uniform", layout="keras_conv",
               source="keras/src/layers/convolutional/base_conv.py::BaseConv", kind="layer_default"),
    NativeInit("keras", "keras.layers.Conv2DTranspose.kernel", "glorot_uniform", layout="keras_conv_transpose",
               departures=("Kernel is (kh, kw, out, in); fan_in is read from axis -2, the layer's OUTPUT "
                           "channels (same convention as torch ConvTranspose).",),
               source="keras/src/layers/convolutional/base_conv_transpose.py", kind="layer_default"),
    NativeInit("keras", "keras.layers.DepthwiseConv2D.depthwise_kernel", "glorot_uniform", layout="keras",
               departures=("Kernel (kh, kw, channels, multiplier) goes through compute_fans as if channels "
                           "were inputs: fan_in = channels*kh*kw, although each output sees only kh*kw "
                           "inputs (spec layout keras_depthwise: fan_in = kh*kw).",),
               source="keras/src/layers/convolutional/base_depthwise_conv.py", kind="layer_default"),
    NativeInit("keras", "keras.layers.Embedding.embeddings", "uniform", {"low": -0.05, "high": 0.05},
               source="keras/src/layers/core/embedding.py (embeddings_initializer='uniform')", kind="layer_default"),
    NativeInit("keras", "keras.layers.EinsumDense.kernel", "glorot_uniform", layout="keras",
               departures=("compute_fans on the raw kernel: a MultiHeadAttention query kernel (d_model, heads, "
                           "head_dim) gets receptive field d_model, fan_in = heads*d_model, fan_out = "
                           "head_dim*d_model; for (64, 4, 16) the Glorot bound is 0.0685 instead of the "
                           "logical 64->64 layer's 0.2165 (spec: dense_general fans, initspec.models).",),
               source="keras/src/layers/core/einsum_dense.py::EinsumDense.build + "
                      "keras/src/initializers/random_initializers.py::compute_fans",
               kind="layer_default", audit=False),
    NativeInit("keras", "keras.layers.LSTM.recurrent_kernel", "orthogonal", {"gain": 1.0}, layout="keras",
               departures=("Orthogonal over the stacked (H, 4H) recurrent kernel: its H rows are orthonormal "
                           "across all four gates, so no single H x H gate block is orthogonal (spec: one "
                           "orthogonal matrix per gate).",
                           "unit_forget_bias=True (default) sets the forget-gate block of the bias to ones "
                           "after bias_initializer (LSTMCell.build).",),
               source="keras/src/layers/rnn/lstm.py::LSTMCell.build", kind="layer_default", audit=False),
    # ---------------- jax.nn.initializers ----------------
    NativeInit("jax", "jax.nn.initializers.zeros", "zeros", layout="jax", source=f"{_JX}::zeros"),
    NativeInit("jax", "jax.nn.initializers.ones", "ones", layout="jax", source=f"{_JX}::ones"),
    NativeInit("jax", "jax.nn.initializers.normal", "normal", {"mean": 0.0, "std": 0.01}, "jax",
               departures=("Default stddev 0.01.",), source=f"{_JX}::normal"),
    NativeInit("jax", "jax.nn.initializers.uniform", "uniform", {"low": 0.0, "high": 0.01}, "jax",
               departures=("U[0, scale) with scale=0.01: NOT centred at 0 (Keras RandomUniform is "
                           "symmetric).",), source=f"{_JX}::uniform"),
    NativeInit("jax", "jax.nn.initializers.truncated_normal", "truncated_normal",
               {"mean": 0.0, "std": 0.01, "a": -2.0, "b": 2.0}, "jax",
               departures=("`stddev` is the PRE-truncation sigma (random.truncated_normal(lower, upper) * "
                           "stddev, no correction), as in Keras TruncatedNormal: actual std 0.8796 x stddev.",
                           "The underlying jax.random.truncated_normal (inverse erf in float32) puts mass ON "
                           "the far bound when the bounds lie beyond about +-5.4 sigma (e.g. torch-style "
                           "absolute bounds +-2 with std 0.02): values there are not strictly inside.",),
               source=f"{_JX}::truncated_normal"),
    NativeInit("jax", "jax.nn.initializers.variance_scaling", "variance_scaling",
               {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}, "jax",
               departures=("Complex truncated normal uses 0.95311164 = sqrt(1 - 5e^-4) as its std "
                           "correction; the exact value is 0.96196, so complex variance is 1.87% too "
                           "high (real dtypes are exact).",),
               source=f"{_JX}::variance_scaling"),
    NativeInit("jax", "jax.nn.initializers.glorot_normal", "glorot_truncated_normal", {}, "jax",
               name_suggests="glorot_normal",
               departures=("Truncated (+-2 sigma, corrected), as in Keras; torch xavier_normal_ is not.",),
               source=f"{_JX}::glorot_normal"),
    NativeInit("jax", "jax.nn.initializers.glorot_uniform", "glorot_uniform", {}, "jax", source=f"{_JX}::glorot_uniform"),
    NativeInit("jax", "jax.nn.initializers.he_normal", "he_truncated_normal", {}, "jax", name_suggests="he_normal",
               departures=("Truncated (+-2 sigma, corrected); torch kaiming_normal_ is not.",), source=f"{_JX}::he_normal"),
    NativeInit("jax", "jax.nn.initializers.he_uniform", "he_uniform", {}, "jax", source=f"{_JX}::he_uniform"),
    NativeInit("jax", "jax.nn.initializers.lecun_normal", "lecun_truncated_normal", {}, "jax",
               name_suggests="lecun_normal", departures=("Truncated (+-2 sigma, corrected).",),
               source=f"{_JX}::lecun_normal"),
    NativeInit("jax", "jax.nn.initializers.lecun_uniform", "lecun_uniform", {}, "jax", source=f"{_JX}::lecun_uniform"),
    NativeInit("jax", "jax.nn.initializers.orthogonal", "orthogonal", {"gain": 1.0}, "jax",
               departures=("column_axis=-1: columns are output units, like Keras.",), source=f"{_JX}::orthogonal"),
    NativeInit("jax", "jax.nn.initializers.delta_orthogonal", "delta_orthogonal", {"gain": 1.0}, "jax",
               departures=("Centre index (k-1)//2 per spatial dim; torch dirac_ uses k//2 (they differ "
                           "for even kernel sizes).",), source=f"{_JX}::delta_orthogonal"),
    NativeInit("flax", "flax.linen.Dense.kernel", "lecun_truncated_normal", {}, "flax_dense",
               departures=("Flax's default kernel init is LeCun (variance 1/fan_in), truncated; Keras "
                           "uses glorot_uniform, torch U(+-1/sqrt(fan_in)).",),
               source="flax/linen/linear.py::default_kernel_init", kind="layer_default"),
    NativeInit("flax", "flax.linen.Dense.bias", "zeros", {}, "flax_dense", role="bias",
               source="flax/linen/linear.py::Dense (bias_init=zeros)", kind="layer_default"),
    NativeInit("flax", "flax.linen.Conv.kernel", "lecun_truncated_normal", {}, "flax_conv",
               source="flax/linen/linear.py::default_kernel_init", kind="layer_default"),
    NativeInit("flax", "flax.linen.Embed.embedding", "variance_scaling",
               {"scale": 1.0, "mode": "fan_in", "distribution": "normal"}, "torch",
               departures=("variance_scaling(1, 'fan_in', 'normal', out_axis=0) on (num_embeddings, "
                           "features): in_axis=-2 and out_axis=0 name the same axis, and _compute_fans' "
                           "receptive field then makes fan_in = features, so std = 1/sqrt(features) "
                           "(spec terms: layout (out=axis 0, in=axis 1)).",),
               source="flax/linen/linear.py::default_embed_init", kind="layer_default"),
    NativeInit("flax", "flax.linen.DenseGeneral.kernel", "lecun_truncated_normal", {}, "flax_dense",
               departures=("kernel_init_wrap draws the flattened (prod(batch)*prod(in), prod(features)) matrix "
                           "and reshapes it: the logical fans, as the spec's dense_general rule (so "
                           "MultiHeadDotProductAttention's projections agree with the spec).",),
               source="flax/linen/linear.py::DenseGeneral.__call__ (kernel_init_wrap)",
               kind="layer_default", audit=False),
    NativeInit("haiku", "haiku.Linear.w", "truncated_normal", {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
               "keras_dense",
               departures=("TruncatedNormal(stddev=1/sqrt(fan_in)) WITHOUT the 0.8796 correction: actual "
                           "std 0.88/sqrt(fan_in), 12% below LeCun.",),
               source="haiku/_src/basic.py::Linear (w_init default)", bias_of="haiku_linear", kind="layer_default"),
]

NATIVE_BY_KEY: dict[str, NativeInit] = {n.key: n for n in NATIVE}


def native_params(entry: NativeInit, fan_in: float | None = None) -> dict[str, Any]:
    """Parameters of ``entry``, filling in those that depend on the layer's fan_in
    (torch layer biases ``U(+-1/sqrt(fan_in))``, Haiku ``stddev = 1/sqrt(fan_in)``)."""
    p = dict(entry.params)
    if entry.bias_of == "fan_in":
        if fan_in is None:
            raise ValueError(f"{entry.name} needs the weight's fan_in. Received: fan_in=None")
        b = 1.0 / math.sqrt(fan_in)
        p.update(low=-b, high=b)
    elif entry.bias_of == "haiku_linear":
        if fan_in is None:
            raise ValueError(f"{entry.name} needs the weight's fan_in. Received: fan_in=None")
        p.update(std=1.0 / math.sqrt(fan_in))
    return p


def natives_for(framework: str | None = None) -> list[NativeInit]:
    if framework is None:
        return list(NATIVE)
    out = [n for n in NATIVE if n.framework == framework]
    if not out:
        raise unknown("framework", "framework", framework, {n.framework for n in NATIVE})
    return out


def natives_equivalent_to(scheme: str) -> list[NativeInit]:
    """Native initializers whose name suggests ``scheme`` or that equal it."""
    return [n for n in NATIVE if n.kind == "initializer" and (n.scheme == scheme or n.name_suggests == scheme)]
