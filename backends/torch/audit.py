"""The torch sampler of ``initspec audit`` (:mod:`initspec.conformance.audit`, issue 13).

:func:`sample_module` lists the logical tensors of an ``nn.Module`` with the model-init walker
(:mod:`._walk`, :mod:`._roles`, :mod:`._blocks`: MultiheadAttention q/k/v and RNN gate blocks are
separate tensors) and the law each is expected to follow: the layer default of
:data:`initspec.native.NATIVE` (``Linear``/``ConvNd``: ``kaiming_uniform_(a=sqrt(5))``, biases
``U(+-1/sqrt(fan_in))``, ``Embedding`` ``N(0, 1)``, RNNs ``U(+-1/sqrt(hidden))``, attention
``xavier_uniform_`` on the stacked ``(3E, E)`` matrix), or for a ``transformers`` model its
``_init_weights`` (``normal(0, initializer_range)``, zero biases, norms ones/zeros).

``draw(seed)`` re-runs the model's OWN initialization on a fresh copy: ``copy.deepcopy`` then,
under ``torch.manual_seed(seed)``, every module's ``reset_parameters`` (``_reset_parameters`` for
``MultiheadAttention``) children first, as during construction, then for a transformers model
``model.apply(model._init_weights)`` as its ``post_init`` does. Given a *factory* (a callable
returning the module), each seed calls the factory again instead (custom parameters included).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from initspec.backends._audit import AuditError, AuditTensor, Expected, ModelSample, apply_expect, expected_from_native
from initspec.backends._names import expand_streams
from initspec.layouts import compute_fans, get_layout

from ._blocks import bias_fans, blocks_of, rnn_kind
from ._roles import layout_for_module, param_role
from ._walk import Entry, walk
from .models import _canonical

__all__ = ["sample_module"]

nn = torch.nn
_CONV = nn.modules.conv


def _post_order(m: nn.Module) -> Iterator[nn.Module]:
    for c in m.children():
        yield from _post_order(c)
    yield m


def _is_hf(model: nn.Module) -> bool:
    return hasattr(model, "_init_weights") and hasattr(getattr(model, "config", None), "to_dict")


def reinit_(model: nn.Module, seed: int) -> nn.Module:
    """Re-run ``model``'s own initialization in place under ``torch.manual_seed(seed)``."""
    torch.manual_seed(int(seed))
    with torch.no_grad():
        for m in _post_order(model):
            reset = getattr(m, "reset_parameters", None) or getattr(m, "_reset_parameters", None)
            if callable(reset):
                reset()
        if _is_hf(model):
            for p in model.parameters():
                if hasattr(p, "_is_hf_initialized"):
                    del p._is_hf_initialized
            model.apply(model._init_weights)
    return model


def _hf_std(model: nn.Module) -> float:
    c = model.config
    return float(getattr(c, "initializer_range", None) or getattr(c, "init_std", None) or 0.02)


def _expected(model: nn.Module, mod: nn.Module, parent: nn.Module | None, name: str, role: str,
              fans: Mapping[str, tuple[float, float]]) -> Expected | None:
    """The law ``mod.name`` should follow (module docstring)."""
    lay = fans.get("layout")
    if _is_hf(model) and isinstance(mod, (nn.Linear, nn.Embedding, _CONV._ConvNd)):
        if name == "bias":
            return Expected("zeros", source="transformers PreTrainedModel._init_weights")
        return Expected("normal", {"mean": 0.0, "std": _hf_std(model)}, source=f"{type(model).__name__}._init_weights "
                        "(config.initializer_range)")
    if role in ("norm_scale", "norm_shift"):
        return Expected("ones" if role == "norm_scale" else "zeros",
                        source=f"{type(mod).__name__}.reset_parameters")
    if isinstance(mod, nn.MultiheadAttention):
        if name == "in_proj_weight":
            return expected_from_native("torch:torch.nn.MultiheadAttention.in_proj_weight", fans.get("stacked matrix"))
        return Expected("zeros", source="MultiheadAttention._reset_parameters") if name == "in_proj_bias" else None
    if rnn_kind(mod) is not None:
        b = 1.0 / math.sqrt(mod.hidden_size)
        return expected_from_native("torch:torch.nn.LSTM.weight_hh_l0", None, low=-b, high=b)
    if isinstance(mod, nn.Linear) and isinstance(parent, nn.MultiheadAttention) and name == "bias":
        return Expected("zeros", source="MultiheadAttention._reset_parameters (out_proj.bias)")
    key = None
    if isinstance(mod, nn.Linear):
        key = "Linear"
    elif isinstance(mod, _CONV._ConvTransposeNd):
        key = "ConvTranspose2d" if name == "weight" else "Conv2d"
    elif isinstance(mod, _CONV._ConvNd):
        key = "Conv2d"
    elif isinstance(mod, nn.Embedding) and name == "weight":
        key = "Embedding"
    if key is None or name not in ("weight", "bias"):
        return None
    return expected_from_native(f"torch:torch.nn.{key}.{name}", lay)


def _axes(layout: Any) -> str:
    lay = get_layout(layout)
    return f"fan_in from axis {','.join(map(str, lay.in_axes))}, fan_out from axis {','.join(map(str, lay.out_axes))}"


def _parents(model: nn.Module) -> dict[int, nn.Module]:
    return {id(c): m for m in model.modules() for c in m.children()}


def _canonical_names(e: Entry, role: str, modules: Mapping[str, nn.Module], count: int | None) -> list[str]:
    """The canonical name of ``e`` (:mod:`initspec.backends._names`), one per block when it has
    ``count`` blocks: a fused ``in_proj_weight`` is ``attn.q.weight``..., an RNN gate block
    ``lstm.weight_ih_l0[k]``."""
    names = expand_streams(_canonical(e, role, modules)[1])
    if count is None:
        return names
    return names if len(names) == count else [f"{names[0]}[{k}]" for k in range(count)]


def _tensors(model: nn.Module) -> tuple[list[AuditTensor], dict[str, tuple[str, Any]]]:
    """The logical tensors and, per tensor path, ``(parameter path, index)`` to read it."""
    tensors, where, seen = [], {}, set()
    parents = _parents(model)
    modules = dict(model.named_modules(remove_duplicate=False))
    for e in walk(model):
        if e.key in seen:
            continue
        seen.add(e.key)
        mod, name, shape = e.module, e.name, tuple(e.tensor.shape)
        role = param_role(mod, name)
        layout = layout_for_module(mod)
        groups = int(getattr(mod, "groups", 1) or 1)
        blocks = blocks_of(mod, name, shape)
        parent = parents.get(id(mod))
        idx: Any = None
        notes: tuple[str, ...] = ()
        if isinstance(mod, nn.Embedding) and mod.padding_idx is not None:
            idx, notes = ("drop_row", mod.padding_idx), (f"padding row {mod.padding_idx} (zeros) left out",)
            shape = (shape[0] - 1, *shape[1:])
        parts = [(e.path, shape, idx)] if blocks is None else [
            (f"{e.path}[{k}]", blocks.shape, ("block", k, blocks.shape[0])) for k in range(blocks.count)]
        canonical = _canonical_names(e, role, modules, None if blocks is None else blocks.count)
        for k, (path, bshape, bidx) in enumerate(parts):
            fans: dict[str, tuple[float, float]] = {}
            if len(bshape) >= 2:
                f = compute_fans(bshape, layout if len(bshape) >= get_layout(layout).min_rank else "torch",
                                 groups=groups)
                fans["layout"] = (f.fan_in, f.fan_out)
                if blocks is not None:
                    s = compute_fans(shape, "torch")
                    fans["stacked matrix"] = (s.fan_in, s.fan_out)
                axes = _axes(layout)
            else:
                bf = blocks.fans[k] if blocks is not None and blocks.fans else bias_fans(mod, name, layout, groups)
                if bf is not None:
                    fans["layout"] = (float(bf[0]), float(bf[1]))
                axes = "the layer weight's fans"
            exp = _expected(model, mod, parent, name, role, fans)
            tensors.append(AuditTensor(path, type(mod).__name__, role, tuple(bshape), fans, axes, exp, notes,
                                       canonical[k]))
            where[path] = (e.path, bidx)
    return tensors, where


def _read(values: Mapping[str, torch.Tensor], src: tuple[str, Any]) -> np.ndarray:
    path, idx = src
    x = values[path].detach().float().cpu().numpy()
    if idx is None:
        return x
    if idx[0] == "drop_row":
        return np.delete(x, idx[1], axis=0)
    _, k, h = idx
    return x[k * h:(k + 1) * h]


def sample_module(model: nn.Module | Callable[[], nn.Module], *, expect: Mapping[str, Any] | None = None
                  ) -> ModelSample:
    """The :class:`~initspec.backends._audit.ModelSample` of ``model`` (an ``nn.Module``, or a
    factory returning one, called again under ``torch.manual_seed(seed)`` for each draw)."""
    factory = None
    if not isinstance(model, nn.Module):
        if not callable(model):
            raise AuditError(f"Expected a torch.nn.Module or a factory returning one. Received: {model!r}")
        factory = model
        torch.manual_seed(0)
        model = factory()
        if not isinstance(model, nn.Module):
            raise AuditError(f"The factory returned a {type(model).__name__}, not a torch.nn.Module.")
    if any(nn.parameter.is_lazy(p) for p in model.parameters()):
        raise AuditError(f"{type(model).__name__} has uninitialized (lazy) parameters: run one forward pass first.")
    tensors, where = _tensors(model)
    tensors = apply_expect(tensors, expect)
    base = model

    def draw(seed: int) -> dict[str, np.ndarray]:
        if factory is not None:
            torch.manual_seed(int(seed))
            fresh = factory()
        else:
            fresh = reinit_(copy.deepcopy(base), seed)
        values = {e.path: e.tensor for e in walk(fresh)}
        return {t.path: _read(values, where[t.path]) for t in tensors}

    how = ("factory() under torch.manual_seed(seed)" if factory is not None else
           "deepcopy + reset_parameters() per module" + (" + _init_weights" if _is_hf(model) else "")
           + " under torch.manual_seed(seed)")
    return ModelSample("torch", type(model).__name__, tensors, draw, how)
