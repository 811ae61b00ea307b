"""Reference architectures as Flax linen modules (no weights downloaded) for ``initspec bench
--models`` and the model tests, on :mod:`initspec.backends._zoo`'s dimensions (shared with the
torch and Keras builders):

* ``resnet50``: :class:`ResNet`, bottleneck blocks ``[3, 4, 6, 3]`` (v1.5: stride in the 3x3
  conv, as ``transformers``' ResNet and the Flax examples' ``imagenet`` ResNet), bias-free convs
  with ``BatchNorm``, a ``Dense`` head: 25.6 M parameters at full size;
* ``bert``: :class:`Bert`, a BERT-base-shaped encoder (token, position and token-type ``Embed``,
  post-LN blocks of ``MultiHeadDotProductAttention`` + GELU MLP, LayerNorm eps 1e-12, tanh pooler);
* ``gpt2``: :class:`GPT2`, a GPT-2-small-shaped decoder (pre-LN, causal attention, final
  LayerNorm, LM head tied to the token embedding through ``Embed.attend``).

:func:`build` returns ``(module, example inputs)``: ``module.init(key, *inputs)`` builds the
variables (``params``, and ``batch_stats`` for the ResNet).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from .._zoo import ResNetSize, TransformerSize, size_of

__all__ = ["GPT2", "Bert", "Bottleneck", "ResNet", "build"]

BERT_LN_EPS = 1e-12
GPT2_LN_EPS = 1e-5


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 (``expansion * width``) convs with BatchNorm, projection
    shortcut when the shape changes."""

    width: int
    stride: int = 1
    expansion: int = 4

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        norm = lambda: nn.BatchNorm(use_running_average=not train)  # noqa: E731
        out = self.width * self.expansion
        y = nn.relu(norm()(nn.Conv(self.width, (1, 1), use_bias=False)(x)))
        y = nn.relu(norm()(nn.Conv(self.width, (3, 3), strides=self.stride, use_bias=False)(y)))
        y = norm()(nn.Conv(out, (1, 1), use_bias=False)(y))
        if x.shape[-1] != out or self.stride != 1:
            x = norm()(nn.Conv(out, (1, 1), strides=self.stride, use_bias=False)(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    size: ResNetSize

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        s = self.size
        x = nn.Conv(s.stem, (7, 7), strides=2, padding=[(3, 3), (3, 3)], use_bias=False)(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train)(x))
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        for stage, (depth, width) in enumerate(zip(s.depths, s.widths)):
            for block in range(depth):
                x = Bottleneck(width, 2 if block == 0 and stage > 0 else 1, s.expansion)(x, train)
        return nn.Dense(s.classes)(jnp.mean(x, axis=(1, 2)))


class Mlp(nn.Module):
    size: TransformerSize

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.Dense(self.size.d)(nn.gelu(nn.Dense(self.size.mlp)(x)))


def _attention(size: TransformerSize) -> nn.MultiHeadDotProductAttention:
    return nn.MultiHeadDotProductAttention(num_heads=size.heads, qkv_features=size.d)


class Bert(nn.Module):
    size: TransformerSize

    @nn.compact
    def __call__(self, tokens: jax.Array, positions: jax.Array, types: jax.Array) -> tuple[jax.Array, jax.Array]:
        s = self.size
        ln = lambda: nn.LayerNorm(epsilon=BERT_LN_EPS)  # noqa: E731
        x = nn.Embed(s.vocab, s.d)(tokens) + nn.Embed(s.max_len, s.d)(positions) + nn.Embed(s.type_vocab, s.d)(types)
        x = ln()(x)
        for _ in range(s.layers):
            x = ln()(x + _attention(s)(x))
            x = ln()(x + Mlp(s)(x))
        return x, nn.tanh(nn.Dense(s.d)(x[:, 0]))


class GPT2(nn.Module):
    size: TransformerSize

    @nn.compact
    def __call__(self, tokens: jax.Array, positions: jax.Array) -> jax.Array:
        s = self.size
        ln = lambda: nn.LayerNorm(epsilon=GPT2_LN_EPS)  # noqa: E731
        wte = nn.Embed(s.vocab, s.d)
        x = wte(tokens) + nn.Embed(s.max_len, s.d)(positions)
        mask = nn.make_causal_mask(tokens)
        for _ in range(s.layers):
            h = ln()(x)
            x = x + _attention(s)(h, mask=mask)
            x = x + Mlp(s)(ln()(x))
        return wte.attend(ln()(x))


def build(model: str, quick: bool = False) -> tuple[nn.Module, tuple[Any, ...]]:
    """``(module, example inputs)`` of ``model`` (a name of :data:`initspec.backends._zoo.SIZES`)."""
    size = size_of(model, quick)
    if isinstance(size, ResNetSize):
        return ResNet(size), (jnp.zeros((1, size.image, size.image, 3), jnp.float32),)
    tokens = jnp.zeros((1, size.seq), jnp.int32)
    positions = jnp.arange(size.seq, dtype=jnp.int32)[None]
    if model == "bert":
        return Bert(size), (tokens, positions, jnp.zeros_like(tokens))
    return GPT2(size), (tokens, positions)
