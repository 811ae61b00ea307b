"""Framework-free shapes of the reference architectures that ``initspec bench --models`` builds in
every framework (torch ``transformers`` classes, Keras layers, Flax linen modules).

One :class:`TransformerSize` / :class:`ResNetSize` per model and size, so that the torch, Keras
and Flax builders (``initspec.backends.{torch,keras,jax}.zoo``) agree on every dimension:

* ``resnet50``: ResNet-50 v1.5 (He et al. 2016, "Deep Residual Learning", Table 1): a 7x7/2 stem
  of 64 channels, bottleneck blocks ``[3, 4, 6, 3]`` of widths ``64, 128, 256, 512`` (expansion
  4), ImageNet head of 1000 classes: 25.6 M parameters (``transformers.ResNetConfig()``'s
  defaults; ``keras.applications.ResNet50``).
* ``bert``: BERT-base (Devlin et al. 2019): 12 layers, d = 768, 12 heads, MLP 3072, vocabulary
  30522, 512 positions, 2 token types, post-LayerNorm, tanh pooler (``transformers.BertConfig()``).
* ``gpt2``: GPT-2 small (Radford et al. 2019): 12 layers, d = 768, 12 heads, MLP 3072,
  vocabulary 50257, 1024 positions, pre-LayerNorm, LM head tied to the token embedding
  (``transformers.GPT2Config()``).

``quick`` sizes are tiny versions of the same graphs (a few thousand parameters) for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MODELS", "SIZES", "ResNetSize", "TransformerSize", "model_names", "size_of"]


@dataclass(frozen=True)
class TransformerSize:
    """A BERT/GPT-2-shaped stack: ``layers`` blocks of ``heads``-head attention on width ``d``
    and an MLP of width ``mlp``; ``vocab`` tokens, ``max_len`` positions; ``seq`` is the length of
    the dummy batch used to build or trace the model."""

    vocab: int
    d: int
    layers: int
    heads: int
    mlp: int
    max_len: int
    type_vocab: int = 2
    seq: int = 8

    @property
    def head_dim(self) -> int:
        return self.d // self.heads


@dataclass(frozen=True)
class ResNetSize:
    """A bottleneck ResNet: a ``stem``-channel 7x7/2 stem, stages of ``depths`` bottleneck blocks
    of widths ``widths`` (output ``4 * width``), ``classes`` outputs; ``image`` is the side of the
    dummy input used to build or trace the model (parameters do not depend on it)."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    stem: int = 64
    classes: int = 1000
    image: int = 64
    expansion: int = 4


#: model name -> (full size, quick size)
SIZES: dict[str, tuple[TransformerSize | ResNetSize, TransformerSize | ResNetSize]] = {
    "resnet50": (ResNetSize((3, 4, 6, 3), (64, 128, 256, 512)),
                 ResNetSize((1, 1), (4, 8), stem=8, classes=10, image=32)),
    "bert": (TransformerSize(vocab=30522, d=768, layers=12, heads=12, mlp=3072, max_len=512),
             TransformerSize(vocab=99, d=32, layers=2, heads=2, mlp=64, max_len=64)),
    "gpt2": (TransformerSize(vocab=50257, d=768, layers=12, heads=12, mlp=3072, max_len=1024, type_vocab=0),
             TransformerSize(vocab=99, d=32, layers=2, heads=2, mlp=64, max_len=64, type_vocab=0)),
}
#: model name -> human-readable label
MODELS: dict[str, str] = {"resnet50": "ResNet-50", "bert": "BERT-base", "gpt2": "GPT-2 small"}


def model_names() -> tuple[str, ...]:
    return tuple(SIZES)


def size_of(model: str, quick: bool = False) -> TransformerSize | ResNetSize:
    """The size of ``model`` (full, or the tiny ``quick`` one); a clear error for unknown names."""
    if model not in SIZES:
        raise ValueError(f"Unknown model {model!r}. Known models: {', '.join(SIZES)}")
    return SIZES[model][1 if quick else 0]
