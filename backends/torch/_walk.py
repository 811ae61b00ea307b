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
from collections.abc import Sequence

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


def walk(module: torch.nn.Module, named: Sequence[tuple[str, torch.nn.Module]] | None = None) -> list[Entry]:
    """Every parameter name of ``module`` in ``named_parameters(remove_duplicate=False)`` order
    (parametrized tensors where their module is, before its plain parameters); ``named`` is
    ``list(module.named_modules(remove_duplicate=False))`` if the caller has it already."""
    if named is None:
        named = list(module.named_modules(remove_duplicate=False))
    plists = [_parametrizations(mod) for _, mod in named]
    inside: set[int] = set()  # the ParametrizationList modules and everything under them
    for pl in plists:
        if pl is not None:
            inside.update(id(m) for m in pl.modules())
    out: list[Entry] = []
    for (mpath, mod), pl in zip(named, plists):
        if id(mod) in inside:
            continue
        if pl is not None:
            for pname, plist in pl.items():
                with torch.no_grad():
                    value = getattr(mod, pname)
                kinds = "+".join(type(p).__name__ for p in plist.children())
                out.append(Entry(_join(mpath, pname), mod, pname, value, id(plist), kinds))
        # named_parameters(recurse=False, remove_duplicate=False) without its generator machinery
        for pname, param in mod._parameters.items():
            if param is not None:
                out.append(Entry(_join(mpath, pname), mod, pname, param, id(param)))
    return out


def _parametrizations(mod: torch.nn.Module) -> torch.nn.ModuleDict | None:
    """``mod.parametrizations`` when ``parametrize.is_parametrized(mod)``, else None (read from
    ``_modules``: ``is_parametrized``'s ``getattr`` goes through ``Module.__getattr__``'s miss path
    for every plain module)."""
    pl = mod._modules.get("parametrizations")
    return pl if isinstance(pl, torch.nn.ModuleDict) and parametrize.is_parametrized(mod) else None


def assign_(entry: Entry, value: torch.Tensor) -> None:
    """Write ``value`` into the parameter (through ``right_inverse`` if parametrized)."""
    with torch.no_grad():
        if entry.parametrization:
            setattr(entry.module, entry.name, value)
        else:
            entry.tensor.copy_(value)
