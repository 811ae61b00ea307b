"""What :func:`initspec.backends.keras.models.init_model` knows about Keras layers, as data: the
role of each variable (:data:`initspec.models.ROLES`), its spec layout, the gate blocks of
recurrent cells, and the walk that finds every variable of a model with its owner layers.

Keras facts encoded here (Keras 3, ``keras/src``):

* ``layers/normalization/{batch,layer,group}_normalization.py``: ``gamma``/``beta`` (and
  BatchNormalization's ``moving_mean``/``moving_variance``); ``rms_normalization.py``: ``scale``;
  ``layers/core/embedding.py::Embedding.build``: ``embeddings``.
* ``layers/core/einsum_dense.py::EinsumDense``: a kernel of any rank, contracted by its
  ``equation``; Keras' initializers take its fans from ``initializers/random_initializers.py::
  compute_fans``, which treats every leading axis as a receptive field (a ``MultiHeadAttention``
  query kernel ``(64, 4, 16)`` gets fans ``(256, 1024)``). initspec gives it the logical fans
  (:func:`initspec.models.dense_general_layout` over :func:`initspec.models.einsum_kernel_axes`).
* ``layers/rnn/lstm.py::LSTMCell.build`` / ``gru.py::GRUCell.build`` (``conv_lstm.py::
  ConvLSTMCell.build``: ``(*k, in, 4H)``): ``kernel (in, G*H)``,
  ``recurrent_kernel (H, G*H)``, ``bias (G*H,)`` (GRU ``reset_after``: ``(2, G*H)``), gates
  stacked along the last axis (LSTM i, f, c, o; GRU z, r, h).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import keras
from initspec.errors import InitSpecError
from initspec.layouts import Layout
from initspec.models import RNN_GATES, dense_general_layout, einsum_kernel_axes

__all__ = ["LSTM_CELLS", "VariableEntry", "gate_count", "groups_of", "layout_for_variable", "variable_role", "walk_variables"]

_NORMS = tuple(getattr(keras.layers, n) for n in (
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization")
    if hasattr(keras.layers, n))
#: local variable name of a normalization layer -> role
NORM_ROLES = {"gamma": "norm_scale", "scale": "norm_scale", "beta": "norm_shift",
              "moving_mean": "norm_mean", "moving_variance": "norm_var"}
_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_CONV_TRANSPOSE = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)
try:  # keras/src/layers/rnn/conv_lstm.py::ConvLSTMCell (not exported): kernels (*k, in, 4H), LSTM gates
    from keras.src.layers.rnn.conv_lstm import ConvLSTMCell as _ConvLSTMCell

    LSTM_CELLS: tuple[type, ...] = (keras.layers.LSTMCell, _ConvLSTMCell)
except ImportError:  # pragma: no cover - another Keras layout
    LSTM_CELLS = (keras.layers.LSTMCell,)
#: recurrent cells whose kernels stack one block per gate along the last axis
_GATED = ((LSTM_CELLS, RNN_GATES["LSTM"]), (keras.layers.GRUCell, RNN_GATES["GRU"]))
#: the variables of a gated cell that are split into gate blocks
GATED_VARIABLES = ("kernel", "recurrent_kernel", "bias")


def variable_role(layer: keras.layers.Layer | None, name: str) -> str:
    """The role of ``layer``'s variable ``name`` (module docstring): kernels -> ``weight``,
    ``bias`` -> ``bias``, normalization and embedding variables by name, anything else ``other``."""
    if isinstance(layer, _NORMS) and name in NORM_ROLES:
        return NORM_ROLES[name]
    if isinstance(layer, keras.layers.Embedding) and name == "embeddings":
        return "embedding"
    if name == "kernel" or name.endswith("_kernel"):
        return "weight"
    return "bias" if name == "bias" else "other"


def layout_for_variable(layer: keras.layers.Layer, name: str) -> str | Layout:
    """The spec layout of ``layer``'s kernel ``name``: depthwise kernels (``DepthwiseConv*``,
    ``SeparableConv*.depthwise_kernel``) -> ``keras_depthwise``, ``Conv*Transpose`` kernels ->
    ``keras_conv_transpose``, ``EinsumDense`` kernels (so ``MultiHeadAttention``'s projections) ->
    the logical dense-general layout of its equation, anything else (Dense, Conv, recurrent
    kernels...) -> ``keras``."""
    if name == "depthwise_kernel" or (name == "kernel" and isinstance(layer, _DEPTHWISE)):
        return "keras_depthwise"
    if name == "kernel" and isinstance(layer, _CONV_TRANSPOSE):
        return "keras_conv_transpose"
    if name == "kernel" and isinstance(layer, keras.layers.EinsumDense):
        ins, outs = einsum_kernel_axes(layer.equation)
        return dense_general_layout(len(layer.kernel.shape), ins, outs, framework="keras")
    return "keras"


def gate_count(layer: keras.layers.Layer | None) -> int:
    """Gate blocks stacked in ``layer``'s kernels (LSTMCell/ConvLSTMCell 4, GRUCell 3, else 1)."""
    for cls, gates in _GATED:
        if isinstance(layer, cls):
            return gates
    return 1


def groups_of(layer: keras.layers.Layer | None) -> int:
    """The layer's ``groups`` (grouped convolutions), 1 if it has none."""
    g = getattr(layer, "groups", 1)
    return int(g) if isinstance(g, int) and not isinstance(g, bool) and g > 0 else 1


@dataclass(frozen=True)
class VariableEntry:
    """One variable of the model: its owner layers (several when layers share it; empty for
    state that no layer owns as a weight, e.g. a ``SeedGenerator``'s), the owners' enclosing
    layers (nearest first, for rules inherited from e.g. an ``LSTM`` by its cell) and whether it
    is random-seed state."""

    variable: Any
    owners: tuple[keras.layers.Layer, ...]
    ancestors: tuple[keras.layers.Layer, ...]
    seed_state: bool


def _children(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    return list(layer._flatten_layers(include_self=False, recursive=False))


def _own_weights(layer: keras.layers.Layer, children: list[keras.layers.Layer]) -> list[Any]:
    """The variables ``layer`` tracks itself (Keras' ``_trainable_variables`` and
    ``_non_trainable_variables``, what ``keras/src/layers/layer.py::Layer.variables`` starts from),
    so a layer holding another layer's variable (tied weights) is one of its owners; else its
    weights less its sublayers'."""
    own = getattr(layer, "_trainable_variables", None), getattr(layer, "_non_trainable_variables", None)
    if isinstance(own[0], list) and isinstance(own[1], list):
        return own[0] + own[1]
    nested = {id(v) for child in children for v in child.weights}
    return [v for v in layer.weights if id(v) not in nested]


def walk_variables(model: keras.layers.Layer) -> Iterator[VariableEntry]:
    """Every variable of ``model.variables`` once (by identity, in Keras' order) with its owners.
    Raises, naming the layer, if ``model`` or a sublayer is not built."""
    parents: dict[int, keras.layers.Layer] = {}
    owners: dict[int, list[keras.layers.Layer]] = {}
    seeds: set[int] = set()
    stack, seen = [model], set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if not layer.built:
            raise InitSpecError(
                f"Layer {layer.name!r} ({type(layer).__name__}) is not built, so its weights do not exist "
                "yet; build the model first (keras.Input, model.build(input_shape) or one call on data). "
                f"Received: model={model.name!r}")
        children = _children(layer)
        for v in _own_weights(layer, children):
            owners.setdefault(id(v), []).append(layer)
        seeds.update(id(sg.state) for sg in getattr(layer, "_seed_generators", ()))
        for child in children:
            parents.setdefault(id(child), layer)
            stack.append(child)
    done: set[int] = set()
    for var in model.variables:
        if id(var) in done:
            continue
        done.add(id(var))
        # the creating layer first (``variable.path`` is ``<its name scope>/<name>``), then sharers
        scope = var.path.rsplit("/", 1)[0]
        own = tuple(sorted(owners.get(id(var), ()), key=lambda layer: not scope.endswith(layer.name)))
        chain: list[keras.layers.Layer] = []
        node = own[0] if own else None
        while node is not None and id(node) in parents:
            node = parents[id(node)]
            chain.append(node)
        yield VariableEntry(var, own, tuple(chain), id(var) in seeds)
