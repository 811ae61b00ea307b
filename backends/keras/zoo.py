"""Reference architectures in Keras 3 (any Keras backend; no weights downloaded) for
``initspec bench --models`` and the model tests, on :mod:`initspec.backends._zoo`'s dimensions
(shared with the torch and Flax builders):

* ``resnet50``: ``keras.applications.ResNet50(weights=None)`` (full size); the ``quick`` size is
  the same bottleneck graph (v1: stride in the first 1x1 conv, as ``keras.applications.resnet``'s
  ``residual_block_v1``) built here at a tiny width and depth;
* ``bert``: a BERT-base-shaped encoder (token, position and token-type ``Embedding``, post-LN
  blocks of ``MultiHeadAttention`` + ``Dense`` GELU MLP, ``LayerNormalization`` eps 1e-12, tanh
  pooler on the first token);
* ``gpt2``: a GPT-2-small-shaped decoder (token and position ``Embedding``, pre-LN blocks with a
  causal ``MultiHeadAttention``, final ``LayerNormalization``); the LM head is tied to the token
  embedding in GPT-2 (no parameters of its own), so the graph stops at the final norm.

Each is a functional ``keras.Model`` whose variables exist right after :func:`build`.
"""

from __future__ import annotations

from typing import Any

import keras

from .._zoo import ResNetSize, TransformerSize, size_of

__all__ = ["bert", "build", "gpt2", "resnet50"]

#: BERT's and GPT-2's LayerNorm epsilons (``BertConfig.layer_norm_eps``, ``GPT2Config.layer_norm_epsilon``)
BERT_LN_EPS = 1e-12
GPT2_LN_EPS = 1e-5
BN_EPS = 1.001e-5  # keras.applications.resnet's BatchNormalization epsilon


def _bottleneck(x: Any, width: int, stride: int, expansion: int, name: str) -> Any:
    """``keras.applications.resnet.residual_block_v1``'s graph (projection shortcut when needed)."""
    layers = keras.layers
    out = width * expansion
    if stride != 1 or x.shape[-1] != out:
        shortcut = layers.Conv2D(out, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=BN_EPS, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    h = x
    for i, (filters, kernel, s) in enumerate(((width, 1, stride), (width, 3, 1), (out, 1, 1)), start=1):
        h = layers.Conv2D(filters, kernel, strides=s, padding="same", name=f"{name}_{i}_conv")(h)
        h = layers.BatchNormalization(epsilon=BN_EPS, name=f"{name}_{i}_bn")(h)
        if i < 3:
            h = layers.Activation("relu")(h)
    return layers.Activation("relu")(layers.Add()([shortcut, h]))


def resnet50(size: ResNetSize) -> keras.Model:
    """``keras.applications.ResNet50(weights=None)`` at full size, else the same graph at ``size``."""
    shape = (size.image, size.image, 3)
    if size == size_of("resnet50"):
        return keras.applications.ResNet50(weights=None, input_shape=shape, classes=size.classes)
    layers = keras.layers
    inputs = keras.Input(shape)
    x = layers.Conv2D(size.stem, 7, strides=2, padding="same", name="conv1_conv")(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization(epsilon=BN_EPS, name="conv1_bn")(x))
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for stage, (depth, width) in enumerate(zip(size.depths, size.widths)):
        for block in range(depth):
            stride = 2 if block == 0 and stage > 0 else 1
            x = _bottleneck(x, width, stride, size.expansion, f"conv{stage + 2}_block{block + 1}")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(size.classes, name="predictions")(x), name="resnet")


def _attention(size: TransformerSize, name: str) -> keras.layers.MultiHeadAttention:
    return keras.layers.MultiHeadAttention(size.heads, size.head_dim, name=name)


def _mlp(x: Any, size: TransformerSize, name: str) -> Any:
    h = keras.layers.Dense(size.mlp, activation="gelu", name=f"{name}_fc")(x)
    return keras.layers.Dense(size.d, name=f"{name}_proj")(h)


def _embed(ids: Any, vocab: int, d: int, name: str) -> Any:
    return keras.layers.Embedding(vocab, d, name=name)(ids)


def bert(size: TransformerSize) -> keras.Model:
    """A BERT-base-shaped encoder: inputs ``(token ids, position ids, token type ids)``, outputs
    ``(sequence, pooled)``."""
    layers = keras.layers
    tokens, positions, types = (keras.Input((size.seq,), dtype="int32", name=n)
                                for n in ("input_ids", "position_ids", "token_type_ids"))
    x = layers.Add()([_embed(tokens, size.vocab, size.d, "word_embeddings"),
                      _embed(positions, size.max_len, size.d, "position_embeddings"),
                      _embed(types, size.type_vocab, size.d, "token_type_embeddings")])
    x = layers.LayerNormalization(epsilon=BERT_LN_EPS, name="embeddings_ln")(x)
    for i in range(size.layers):
        x = layers.LayerNormalization(epsilon=BERT_LN_EPS, name=f"layer{i}_attention_ln")(
            x + _attention(size, f"layer{i}_attention")(x, x))
        x = layers.LayerNormalization(epsilon=BERT_LN_EPS, name=f"layer{i}_output_ln")(x + _mlp(x, size, f"layer{i}"))
    pooled = layers.Dense(size.d, activation="tanh", name="pooler")(x[:, 0])
    return keras.Model([tokens, positions, types], [x, pooled], name="bert")


def gpt2(size: TransformerSize) -> keras.Model:
    """A GPT-2-small-shaped decoder: inputs ``(token ids, position ids)``, output the final
    normed hidden states (the tied LM head adds no parameters)."""
    layers = keras.layers
    tokens, positions = (keras.Input((size.seq,), dtype="int32", name=n) for n in ("input_ids", "position_ids"))
    x = layers.Add()([_embed(tokens, size.vocab, size.d, "wte"), _embed(positions, size.max_len, size.d, "wpe")])
    for i in range(size.layers):
        h = layers.LayerNormalization(epsilon=GPT2_LN_EPS, name=f"h{i}_ln_1")(x)
        x = x + _attention(size, f"h{i}_attn")(h, h, use_causal_mask=True)
        x = x + _mlp(layers.LayerNormalization(epsilon=GPT2_LN_EPS, name=f"h{i}_ln_2")(x), size, f"h{i}_mlp")
    return keras.Model([tokens, positions], layers.LayerNormalization(epsilon=GPT2_LN_EPS, name="ln_f")(x),
                       name="gpt2")


BUILDERS = {"resnet50": resnet50, "bert": bert, "gpt2": gpt2}


def build(model: str, quick: bool = False) -> keras.Model:
    """The built Keras model ``model`` (a name of :data:`initspec.backends._zoo.SIZES`)."""
    return BUILDERS[model](size_of(model, quick))  # type: ignore[operator]


#: a variable's short name -> the layer attributes that may hold its initializer, in order
#: (``DepthwiseConv2D`` stores its ``kernel`` with ``depthwise_initializer``: Keras 3
#: ``keras/src/layers/convolutional/base_depthwise_conv.py``, ``BaseDepthwiseConv.build``)
INITIALIZER_ATTRS: dict[str, tuple[str, ...]] = {"kernel": ("kernel_initializer", "depthwise_initializer")}


def _own_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """Every layer of ``model`` (itself, nested models and sublayers such as
    ``MultiHeadAttention``'s ``EinsumDense``), innermost first, so that a variable is claimed by
    the layer that created it. Uses ``Layer._flatten_layers``, Keras 3's own traversal."""
    return list(model._flatten_layers(include_self=True, recursive=True))[::-1]


def initializer_plan(model: keras.layers.Layer) -> list[tuple[Any, Any]]:
    """``(variable, initializer)`` for every variable of ``model``: the initializer its layer was
    configured with (``kernel_initializer``, ``gamma_initializer``, ``moving_variance_initializer``,
    ``embeddings_initializer``...: attribute ``<variable name>_initializer``, see
    :data:`INITIALIZER_ATTRS`). Raises ``ValueError`` naming any variable without one."""
    plan: list[tuple[Any, Any]] = []
    seen: set[int] = set()
    for layer in _own_layers(model):
        for v in layer.weights:
            if id(v) in seen:
                continue
            attrs = INITIALIZER_ATTRS.get(v.name, (f"{v.name}_initializer",))
            init = next((getattr(layer, a) for a in attrs if getattr(layer, a, None) is not None), None)
            if init is None:
                raise ValueError(f"No configured initializer found for variable {v.path!r} of layer "
                                 f"{type(layer).__name__} {layer.name!r} (looked for {', '.join(attrs)})")
            seen.add(id(v))
            plan.append((v, keras.initializers.get(init)))
    return plan


def native_reinit(plan: list[tuple[Any, Any]]) -> None:
    """Keras's own default init again: ``v.assign(initializer(v.shape, v.dtype))`` for each
    ``(variable, initializer)`` of :func:`initializer_plan` (what building the layers did)."""
    for v, init in plan:
        v.assign(init(v.shape, v.dtype))
