"""Reference architectures in torch, built from ``transformers`` configs (no weights downloaded),
for ``initspec bench --models`` and the model tests: ResNet-50, BERT-base, GPT-2 small (or their
tiny ``quick`` versions; the dimensions are :mod:`initspec.backends._zoo`'s, shared with the Keras
and Flax builders).

``transformers`` is imported lazily (it is the ``zoo`` extra: ``pip install 'initspec[zoo]'``);
without it, :func:`build` raises :class:`ModuleNotFoundError` saying so.
"""

from __future__ import annotations

from types import ModuleType

import torch

from .._zoo import ResNetSize, TransformerSize, size_of

__all__ = ["bert", "build", "gpt2", "resnet50", "transformers_module"]


def transformers_module() -> ModuleType:
    """``transformers``, or a clear :class:`ModuleNotFoundError` naming the extra to install."""
    try:
        import transformers
    except ImportError as e:
        raise ModuleNotFoundError(
            "The model zoo needs Hugging Face `transformers` (the `zoo` extra): "
            f"pip install 'initspec[zoo]'. Import failed with: {e}", name="transformers") from e
    return transformers


def resnet50(size: ResNetSize) -> torch.nn.Module:
    """``transformers.ResNetForImageClassification`` (bottleneck ResNet v1.5: stride in the 3x3
    conv; ``ResNetConfig()``'s defaults are ResNet-50) with its classification head, as
    ``keras.applications.ResNet50`` has one (25.6 M parameters at full size)."""
    tf = transformers_module()
    config = tf.ResNetConfig(embedding_size=size.stem, hidden_sizes=[w * size.expansion for w in size.widths],
                             depths=list(size.depths), layer_type="bottleneck", num_labels=size.classes)
    return tf.ResNetForImageClassification(config)


def bert(size: TransformerSize) -> torch.nn.Module:
    """``transformers.BertModel`` (encoder and pooler; ``BertConfig()`` is BERT-base)."""
    tf = transformers_module()
    return tf.BertModel(tf.BertConfig(vocab_size=size.vocab, hidden_size=size.d, num_hidden_layers=size.layers,
                                      num_attention_heads=size.heads, intermediate_size=size.mlp,
                                      max_position_embeddings=size.max_len, type_vocab_size=size.type_vocab))


def gpt2(size: TransformerSize) -> torch.nn.Module:
    """``transformers.GPT2LMHeadModel`` (``lm_head.weight`` tied to ``transformer.wte.weight``;
    ``GPT2Config()`` is GPT-2 small)."""
    tf = transformers_module()
    return tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=size.vocab, n_embd=size.d, n_layer=size.layers,
                                            n_head=size.heads, n_inner=size.mlp, n_positions=size.max_len,
                                            bos_token_id=size.vocab - 1, eos_token_id=size.vocab - 1))


BUILDERS = {"resnet50": resnet50, "bert": bert, "gpt2": gpt2}


def build(model: str, quick: bool = False) -> torch.nn.Module:
    """The torch model ``model`` (a name of :data:`initspec.backends._zoo.SIZES`), in eval mode."""
    size = size_of(model, quick)
    return BUILDERS[model](size).eval()  # type: ignore[arg-type]
