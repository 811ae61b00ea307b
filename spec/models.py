"""The model-level part of the spec: what a whole-model initializer does with each *kind* of
parameter, and the logical fans of layers whose weights are stored in more than two axes.

**Roles.** A model helper (torch ``init_module_``, Keras ``init_model``, Flax ``init_tree`` /
``init_linen`` / nnx ``init_nnx_``) gives every parameter one role, from its layer type and name:

==============  ==============================================================  ===================
role            parameters                                                      default rule
==============  ==============================================================  ===================
``weight``      Linear/Dense/Conv/ConvTranspose/attention/RNN kernels           the ``weight=`` arg
``bias``        their biases                                                    the ``bias=`` arg
``norm_scale``  BatchNorm/LayerNorm/GroupNorm/RMSNorm scale (gamma, weight)     ``ones``
``norm_shift``  their shift (beta, bias)                                        ``zeros``
``norm_mean``   running/moving mean (Keras ``moving_mean``)                     ``zeros``
``norm_var``    running/moving variance (Keras ``moving_variance``)             ``ones``
``embedding``   embedding tables                                                ``normal(std=1)``
``other``       anything else (``cls_token``, ``pos_embed``, custom layers)     none: reported as
                                                                                uncovered (strict
                                                                                mode raises)
==============  ==============================================================  ===================

``normal(std=1)`` for embeddings is torch ``nn.Embedding``'s default (``reset_parameters``:
``init.normal_``); Keras ``Embedding`` draws ``uniform(-0.05, 0.05)`` and Flax ``nn.Embed``
``variance_scaling(1, fan_in, normal, out_axis=0)`` (std ``1/sqrt(features)``): pass a rule (e.g.
``("normal", {"std": 0.02})`` as BERT and GPT-2 do) to choose another.

**Logical fans of multi-axis dense kernels** (the spec's rule): a kernel that a layer contracts
over some axes and produces others (Keras ``EinsumDense``/``MultiHeadAttention`` kernels
``(d_model, heads, head_dim)`` and ``(heads, head_dim, d_model)``; Flax ``DenseGeneral`` and
``MultiHeadDotProductAttention``; torch ``MultiheadAttention``'s fused ``in_proj_weight``) gets the
fans of the logical matrix it applies: ``fan_in`` = product of the contracted (input) axes,
``fan_out`` = product of the produced (output) axes, no receptive field; a fused ``(3E, E)``
q/k/v projection is three ``E x E`` matrices, each with fans ``(E, E)``. The frameworks differ
(``initspec.native``): Keras ``compute_fans`` treats all leading axes as a receptive field; Flax
``DenseGeneral`` flattens to the logical matrix (the spec's rule); torch ``MultiheadAttention``
calls ``xavier_uniform_`` on the stacked ``(3E, E)`` matrix (fan_out ``3E``); HF GPT-2's fused
``c_attn`` ``(E, 3E)`` stacks q/k/v along its output axis and is three blocks too.

**RNN kernels** stack one block per gate along the output axis (torch ``(G*H, in)``, Keras
``(in, G*H)``, ``G`` = 4 for LSTM, 3 for GRU): each gate block is initialized as its own
``H x in`` matrix (fans ``(in, H)``), so ``orthogonal`` gives an orthogonal matrix per gate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InitSpecError
from .layouts import Layout

#: every role a model helper assigns
ROLES = ("weight", "bias", "norm_scale", "norm_shift", "norm_mean", "norm_var", "embedding", "other")

#: default rule per role; ``weight``/``bias`` come from the helper's arguments, ``other`` has none
DEFAULT_ROLE_RULES: Mapping[str, Any] = {
    "norm_scale": "ones",
    "norm_shift": "zeros",
    "norm_mean": "zeros",
    "norm_var": "ones",
    "embedding": ("normal", {"std": 1.0}),
}

#: gates stacked in one RNN kernel, and the index of the LSTM forget gate (torch and Keras both
#: order LSTM gates i, f, g/c, o: torch/nn/modules/rnn.py LSTM docstring, keras LSTMCell.call)
RNN_GATES: Mapping[str, int] = {"LSTM": 4, "GRU": 3, "RNN": 1}
LSTM_FORGET_GATE = 1


def dense_general_layout(rank: int, in_axes: Sequence[int], out_axes: Sequence[int],
                         framework: str = "spec") -> Layout:
    """The layout of a multi-axis dense kernel of ``rank``: ``in_axes`` contracted with the input,
    ``out_axes`` produced; every other axis is a batch axis (none in attention kernels). Its fans
    are the logical matrix's (module docstring)."""
    ins = tuple(int(a) % rank for a in in_axes)
    outs = tuple(int(a) % rank for a in out_axes)
    if not ins or not outs or set(ins) & set(outs):
        raise InitSpecError(
            "A dense-general kernel needs disjoint, non-empty input and output axes. "
            f"Received: rank={rank}, in_axes={tuple(in_axes)}, out_axes={tuple(out_axes)}")
    batch = tuple(a for a in range(rank) if a not in ins + outs)
    return Layout(
        name=f"dense_general(in={ins},out={outs})", framework=framework, in_axes=ins, out_axes=outs,
        batch_axes=batch, min_rank=rank, max_rank=rank,
        pattern="multi-axis dense kernel: fans of the logical (prod in) x (prod out) matrix",
        source="initspec.models (spec rule); flax/linen/linear.py::DenseGeneral (same)",
    )


def einsum_kernel_axes(equation: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(in_axes, out_axes)`` of the kernel of an einsum ``"<input>,<kernel>-><output>"`` (Keras
    ``EinsumDense``): kernel axes whose letter is in the input but not the output are contracted
    (in); those in the output but not the input are produced (out)."""
    try:
        lhs, out = equation.replace(" ", "").split("->")
        inp, ker = lhs.split(",")
    except ValueError:
        raise InitSpecError(f"Expected an einsum equation 'in,kernel->out'. Received: equation={equation!r}") from None
    ins = tuple(i for i, c in enumerate(ker) if c in inp and c not in out)
    outs = tuple(i for i, c in enumerate(ker) if c in out and c not in inp)
    return ins, outs
