"""What each parameter of a torch module *is*, as data: its role (:data:`initspec.models.ROLES`),
its layout and its convolution groups, from the owner module's class and the parameter's local
name. :func:`~initspec.backends.torch.models.init_module_` reads this table; it never imports
``transformers`` (HF's ``Conv1D`` is recognised by its module and qualified name).
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Mapping
from typing import Any

import torch
from initspec.layouts import Layout

__all__ = ["HF_CONV1D", "ROLE_TABLE", "is_hf_conv1d", "layout_for_module", "param_role"]

nn = torch.nn

#: HF ``transformers.pytorch_utils.Conv1D`` (GPT-2's ``c_attn``/``c_proj``/``c_fc``) stores its
#: weight ``(in, out)`` = ``(nx, nf)`` and computes ``x @ W + b`` (``Conv1D.__init__``/``forward``):
#: a dense kernel, fan_in on axis 0.
HF_CONV1D = Layout(
    name="hf_conv1d", framework="torch", in_axes=(0,), out_axes=(1,), min_rank=2, max_rank=2,
    pattern="(in, out)", source="transformers/pytorch_utils.py::Conv1D (weight = empty(nx, nf))",
)

_WB = {"weight": "weight", "bias": "bias"}
_NORM = {"weight": "norm_scale", "bias": "norm_shift"}
_RNN = {"weight_ih*": "weight", "weight_hh*": "weight", "weight_hr*": "weight", "bias_ih*": "bias",
        "bias_hh*": "bias"}

#: (module class, {local-name pattern: role}); the first class in the owner's MRO order wins
#: (:func:`param_role`). ``_NormBase`` covers BatchNorm and InstanceNorm; ``_ConvNd`` the
#: transposed convolutions too.
ROLE_TABLE: tuple[tuple[type, Mapping[str, str]], ...] = (
    (nn.Linear, _WB),
    (nn.Bilinear, _WB),
    (nn.modules.conv._ConvNd, _WB),
    (nn.modules.batchnorm._NormBase, _NORM),
    (nn.LayerNorm, _NORM),
    (nn.GroupNorm, _NORM),
    (nn.RMSNorm, _NORM),
    (nn.Embedding, {"weight": "embedding"}),
    (nn.EmbeddingBag, {"weight": "embedding"}),
    (nn.MultiheadAttention, {"in_proj_weight": "weight", "q_proj_weight": "weight", "k_proj_weight": "weight",
                             "v_proj_weight": "weight", "in_proj_bias": "bias", "bias_k": "bias",
                             "bias_v": "bias"}),
    (nn.RNNBase, _RNN),
    (nn.RNNCellBase, _RNN),
)

#: class-name suffixes of norm layers from other libraries (``T5LayerNorm``, ``LlamaRMSNorm``):
#: their ``weight``/``bias`` are a norm's scale/shift (a documented heuristic)
FOREIGN_NORM_SUFFIXES = ("Norm",)


def is_hf_conv1d(module: torch.nn.Module) -> bool:
    """True for HF ``transformers.pytorch_utils.Conv1D`` (and subclasses), without importing it."""
    return _is_hf_conv1d_class(type(module))


@functools.lru_cache(maxsize=1024)
def _is_hf_conv1d_class(cls: type) -> bool:
    return any(c.__qualname__ == "Conv1D" and c.__module__.startswith("transformers.") for c in cls.__mro__)


def _lookup(table: Mapping[str, str], name: str) -> str | None:
    return next((role for pat, role in table.items() if fnmatch.fnmatchcase(name, pat)), None)


def param_role(module: torch.nn.Module, name: str, ruled: tuple[type, ...] = ()) -> str:
    """The role of ``module``'s parameter ``name``: the first :data:`ROLE_TABLE` class of the
    module's MRO; HF ``Conv1D`` -> weight/bias; a class named ``*Norm`` -> norm_scale/norm_shift;
    a module whose class the user gave rules for (``ruled``) -> weight for ``weight``/``weight_*``
    and bias for ``bias``/``bias_*`` (the ``by_type`` rule of earlier versions); else ``other``.
    A function of the module's class, the name and ``ruled`` only (cached: a model repeats a few
    classes hundreds of times)."""
    return _class_role(type(module), name, ruled)


@functools.lru_cache(maxsize=4096)
def _class_role(cls: type, name: str, ruled: tuple[type, ...]) -> str:
    for base in cls.__mro__:
        for klass, table in ROLE_TABLE:
            if base is klass:
                return _lookup(table, name) or "other"
    if _is_hf_conv1d_class(cls):
        return _lookup(_WB, name) or "other"
    if cls.__name__.endswith(FOREIGN_NORM_SUFFIXES) and name in _NORM:
        return _NORM[name]
    if issubclass(cls, ruled):
        return _lookup({"weight": "weight", "weight_*": "weight", "bias": "bias", "bias_*": "bias"}, name) or "other"
    return "other"


def layout_for_module(module: torch.nn.Module) -> Any:
    """The layout of ``module.weight``: Linear -> torch_linear, ConvNd -> torch_conv,
    ConvTransposeNd -> torch_conv_transpose, HF Conv1D -> :data:`HF_CONV1D` ``(in, out)``,
    MultiheadAttention -> torch_linear (its q/k/v projections), anything else -> torch."""
    return _class_layout(type(module))


@functools.lru_cache(maxsize=1024)
def _class_layout(cls: type) -> Any:
    conv = torch.nn.modules.conv
    if issubclass(cls, (torch.nn.Linear, torch.nn.MultiheadAttention)):
        return "torch_linear"
    if issubclass(cls, conv._ConvTransposeNd):
        return "torch_conv_transpose"
    if issubclass(cls, conv._ConvNd):
        return "torch_conv"
    if _is_hf_conv1d_class(cls):
        return HF_CONV1D
    return "torch"
