"""Parameters that stack several logical matrices along their first axis, and the fans of biases.

* ``nn.MultiheadAttention.in_proj_weight`` ``(3E, E)`` is the q, k, v projections stacked; torch's
  own ``MultiheadAttention._reset_parameters`` (torch/nn/modules/activation.py) calls
  ``xavier_uniform_`` on the stacked matrix (fan_out ``3E``). The spec (:mod:`initspec.models`)
  initializes each ``E x E`` block as its own layer (fans ``(E, E)``); ``in_proj_bias`` ``(3E,)``
  the same, with each block's fans.
* ``nn.RNNBase``/``nn.RNNCellBase`` ``weight_ih*``/``weight_hh*`` ``(G*H, in)`` stack one block
  per gate (torch/nn/modules/rnn.py docstrings: LSTM ``W_ii|W_if|W_ig|W_io``, GRU
  ``W_ir|W_iz|W_in``); torch's ``reset_parameters`` draws ``uniform(+-1/sqrt(H))`` over the whole
  tensor. Each ``H x in`` gate block is initialized on its own (``orthogonal`` per gate), biases per
  block with the block's fans; ``weight_hr*`` (LSTM projection) is one matrix.
* HF GPT-2-style attention (:data:`HF_FUSED_QKV`): ``c_attn`` is an HF ``Conv1D`` whose weight
  ``(E, 3E)`` stacks q, k, v along its *output* axis (``GPT2Attention.forward``:
  ``self.c_attn(x).split(self.split_size, dim=2)``; ``(E, 2E)`` k, v for cross-attention): three
  ``E x E`` blocks along axis 1, as for ``in_proj_weight``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from initspec.errors import InitSpecError
from initspec.layouts import compute_fans
from initspec.models import RNN_GATES

__all__ = ["HF_FUSED_QKV", "Blocks", "bias_fans", "blocks_of", "check_forget_bias", "forget_value", "fused_qkv",
           "rnn_kind"]

nn = torch.nn

_RNN_LABELS = {"LSTM": "i,f,g,o", "GRU": "r,z,n", "RNN": "h"}

#: transformers attention classes (by ``__qualname__``, module under ``transformers.``) whose
#: ``c_attn`` HF ``Conv1D`` fuses q, k, v along its output axis (k, v when ``is_cross_attention``):
#: transformers/models/{gpt2,decision_transformer,imagegpt,openai}/modeling_*.py
HF_FUSED_QKV = ("GPT2Attention", "DecisionTransformerGPT2Attention", "ImageGPTAttention", "Attention")


@dataclass(frozen=True)
class Blocks:
    """``count`` equal blocks along axis 0, each of ``shape``; ``fans`` per block (biases), else None."""

    count: int
    shape: tuple[int, ...]
    labels: str
    kind: str  #: "blocks" (attention) or "gate blocks" (RNN)
    fans: tuple[tuple[float, float], ...] | None = None
    axis: int = 0  #: the axis the blocks are stacked along

    def note(self) -> str:
        return f"{self.count} {self.kind} {self.labels} of {'x'.join(map(str, self.shape))}"


def rnn_kind(module: torch.nn.Module) -> str | None:
    """``"LSTM"``, ``"GRU"``, ``"RNN"`` for torch's recurrent layers and cells, else None."""
    if isinstance(module, nn.RNNBase):
        return "RNN" if module.mode.startswith("RNN_") else module.mode
    if isinstance(module, nn.LSTMCell):
        return "LSTM"
    if isinstance(module, nn.GRUCell):
        return "GRU"
    return "RNN" if isinstance(module, nn.RNNCellBase) else None


def _mha_fans(module: nn.MultiheadAttention) -> tuple[tuple[float, float], ...]:
    e = float(module.embed_dim)
    return ((e, e), (float(module.kdim), e), (float(module.vdim), e))


def fused_qkv(root: torch.nn.Module, modules: Iterable[torch.nn.Module] | None = None) -> dict[int, int]:
    """``id(c_attn) -> number of fused projections`` for the HF attention layers of :data:`HF_FUSED_QKV` in ``root``
    (``modules``: ``root.modules()`` if the caller has them already)."""
    out = {}
    for m in root.modules() if modules is None else modules:
        cls = type(m)
        if cls.__qualname__ in HF_FUSED_QKV and cls.__module__.startswith("transformers.") and hasattr(m, "c_attn"):
            out[id(m.c_attn)] = 2 if getattr(m, "is_cross_attention", False) else 3
    return out


def blocks_of(module: torch.nn.Module, name: str, shape: tuple[int, ...],
              fused: dict[int, int] | None = None) -> Blocks | None:
    """The blocks of ``module``'s parameter ``name`` of ``shape``, or None (one matrix); ``fused``
    is :func:`fused_qkv` of the model."""
    count = (fused or {}).get(id(module))
    if count is not None and name in ("weight", "bias") and shape[-1] % count == 0:
        labels = "q,k,v" if count == 3 else "k,v"
        e = shape[-1] // count
        if name == "weight":  # (in, count*E): blocks along the output axis
            return Blocks(count, (shape[0], e), labels, "blocks", axis=1)
        w = module.weight
        return Blocks(count, (e,), labels, "blocks", ((float(w.shape[0]), float(e)),) * count)
    if isinstance(module, nn.MultiheadAttention) and name in ("in_proj_weight", "in_proj_bias"):
        e = module.embed_dim
        if name == "in_proj_weight":
            return Blocks(3, (e, *shape[1:]), "q,k,v", "blocks")
        return Blocks(3, (e,), "q,k,v", "blocks", _mha_fans(module))
    kind = rnn_kind(module)
    if kind is None or not name.startswith(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        return None
    g = RNN_GATES[kind]
    h = shape[0] // g
    if name.startswith("weight"):
        return Blocks(g, (h, *shape[1:]), _RNN_LABELS[kind], "gate blocks")
    w = getattr(module, "weight" + name[len("bias"):])
    return Blocks(g, (h,), _RNN_LABELS[kind], "gate blocks", ((float(w.shape[1]), float(h)),) * g)


def bias_fans(module: torch.nn.Module, name: str, layout: object, groups: int) -> tuple[float, float] | None:
    """The fans a fan-based scheme uses for the unblocked bias ``name``: its layer's weight's
    (MultiheadAttention ``bias_k``/``bias_v``: the k/v projection's), or None."""
    if isinstance(module, nn.MultiheadAttention):
        fans = _mha_fans(module)
        return {"bias_k": fans[1], "bias_v": fans[2]}.get(name)
    w = getattr(module, "weight", None)
    if isinstance(w, torch.Tensor) and not torch.nn.parameter.is_lazy(w) and w.dim() >= 2:
        f = compute_fans(tuple(w.shape), layout, groups=groups)
        return (f.fan_in, f.fan_out)
    return None


def check_forget_bias(module: torch.nn.Module, forget_bias: object) -> float | None:
    """``forget_bias`` as a float (None stays None); it needs an LSTM in ``module``."""
    if forget_bias is None:
        return None
    if isinstance(forget_bias, bool) or not isinstance(forget_bias, (int, float)) or not math.isfinite(forget_bias):
        raise TypeError(f"Argument `forget_bias` must be a finite real number (e.g. 1.0) or None. "
                        f"Received: forget_bias={forget_bias!r}")
    if not any(rnn_kind(m) == "LSTM" for m in module.modules()):
        raise InitSpecError(
            f"Argument `forget_bias` sets the forget-gate bias of nn.LSTM/nn.LSTMCell layers; the module "
            f"{type(module).__name__} has none. Received: forget_bias={forget_bias!r}")
    return float(forget_bias)


def forget_value(module: torch.nn.Module, name: str, forget_bias: float | None) -> float | None:
    """The value of the forget-gate block (:data:`initspec.models.LSTM_FORGET_GATE`) of the LSTM
    bias ``name``: ``forget_bias`` in ``bias_ih*``, 0 in ``bias_hh*`` (torch adds the two, so
    their sum is the gate's bias), None when not an LSTM bias or no ``forget_bias``."""
    if forget_bias is None or rnn_kind(module) != "LSTM":
        return None
    if name.startswith("bias_ih"):
        return forget_bias
    if name.startswith("bias_hh"):
        return 0.0
    return None

