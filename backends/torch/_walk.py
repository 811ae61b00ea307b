"""The parameters of an ``nn.Module`` as :func:`~initspec.backends.torch.models.init_module_` sees
them: every name of ``named_parameters(remove_duplicate=False)`` (tied tensors under each of their
names), with parametrized tensors under their *logical* name.

``torch.nn.utils.parametrize`` (``parametrizations.weight_norm``, ``spectral_norm``, orthogonal)
moves ``conv.weight`` to ``conv.parametrizations.weight.original`` (``original0``/``original1``
for weight_norm's g and v) and computes ``conv.weight`` on access; assigning ``conv.weight = value``
runs the parametrization's ``right_inverse`` (``ParametrizationList.right_inverse``,
torch/nn/utils/parametrize.py): weight_norm stores ``g = ||value||`` and ``v = value``, spectral_norm
stores ``value`` itself (its forward then divides by the spectral norm). The walker reports the
logical ``conv.weight`` (role from ``conv``) and never the ``original*`` tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch.nn.utils import parametrize

__all__ = ["Entry", "assign_", "walk"]


@dataclass(frozen=True)
class Entry:
    """One name of one parameter."""

    path: str  #: full name (``encoder.0.weight``; the logical name of a parametrized tensor)
    module: torch.nn.Module  #: the owner layer
    name: str  #: local name in the owner
    tensor: torch.Tensor  #: the parameter, or the parametrized tensor's current value
    key: int  #: identity of the stored tensor: names sharing it are tied
    parametrization: str = ""  #: the parametrizations' class names, "" for a plain parameter


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _plists(module: torch.nn.Module) -> torch.nn.ModuleDict:
    """``module.parametrizations``: name -> ``ParametrizationList``."""
    return cast(torch.nn.ModuleDict, module.parametrizations)


def walk(module: torch.nn.Module) -> list[Entry]:
    """Every parameter name of ``module`` in ``named_parameters(remove_duplicate=False)`` order
    (parametrized tensors where their module is, before its plain parameters)."""
    inside: set[int] = set()  # the ParametrizationList modules and everything under them
    for mod in module.modules():
        if parametrize.is_parametrized(mod):
            inside.update(id(m) for m in _plists(mod).modules())
    out: list[Entry] = []
    for mpath, mod in module.named_modules(remove_duplicate=False):
        if id(mod) in inside:
            continue
        if parametrize.is_parametrized(mod):
            for pname, plist in _plists(mod).items():
                with torch.no_grad():
                    value = getattr(mod, pname)
                kinds = "+".join(type(p).__name__ for p in plist.children())
                out.append(Entry(_join(mpath, pname), mod, pname, value, id(plist), kinds))
        for pname, param in mod.named_parameters(recurse=False, remove_duplicate=False):
            out.append(Entry(_join(mpath, pname), mod, pname, param, id(param)))
    return out


def assign_(entry: Entry, value: torch.Tensor) -> None:
    """Write ``value`` into the parameter (through ``right_inverse`` if parametrized)."""
    with torch.no_grad():
        if entry.parametrization:
            setattr(entry.module, entry.name, value)
        else:
            entry.tensor.copy_(value)
