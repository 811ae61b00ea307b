"""Whole ``nn.Module`` initialization: :func:`init_module_` walks the layers, picks each parameter's
rule (defaults for Linear/Conv layers, or ``by_type`` overrides), layout (:func:`layout_for_module`)
and groups, and fills it with :func:`initspec.backends.torch.initialize_`, optionally from the
portable stream named by the parameter's path in the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from initspec.errors import InitSpecError
from initspec.layouts import compute_fans
from initspec.schemes import get_scheme

from .._rules import Rule, by_type_rules, check_by_type, refuse_reserved, split_rule
from ..portable._spec import portable_seed
from .inplace import initialize_

__all__ = ["init_module_", "layout_for_module"]


def layout_for_module(module: torch.nn.Module) -> str:
    """The layout of ``module.weight``: Linear -> torch_linear, ConvNd -> torch_conv,
    ConvTransposeNd -> torch_conv_transpose, anything else -> torch."""
    conv = torch.nn.modules.conv
    if isinstance(module, torch.nn.Linear):
        return "torch_linear"
    if isinstance(module, conv._ConvTransposeNd):
        return "torch_conv_transpose"
    if isinstance(module, conv._ConvNd):
        return "torch_conv"
    return "torch"


def _module_rules(module: torch.nn.Module, weight: Rule, bias: Rule,
                  by_type: Mapping[type, Any]) -> dict[str, Rule] | None:
    """Parameter-name -> rule for ``module`` (most specific ``by_type`` class first; else the
    defaults for Linear/Conv layers), or None."""
    rules = by_type_rules(module, by_type, bias)
    if rules is None and layout_for_module(module) != "torch":
        return {"weight": weight, "bias": bias}
    return rules


def init_module_(module: torch.nn.Module, weight: Rule = "he_normal", bias: Rule = "zeros", *,
                 by_type: Mapping[type, Any] | None = None, generator: torch.Generator | None = None,
                 portable: bool = False, seed: int | None = None, prefix: str = "") -> torch.nn.Module:
    """Initialize every layer of ``module`` in place and return it.

    ``weight``/``bias`` apply to ``nn.Linear``, ``nn.ConvNd`` and ``nn.ConvTransposeNd`` layers.
    ``by_type={nn.Linear: "glorot_uniform", nn.Conv2d: {"weight": ("he_normal", {"gain": 1}),
    "bias": None}, nn.LSTM: "orthogonal"}`` overrides per layer type (the most specific class
    wins; a plain rule sets the weight, a dict sets ``weight`` and/or ``bias``; other layer types
    are untouched). Rules match the parameters named ``weight``/``bias`` and the prefixed ones
    (``weight_ih_l0``...). The layout follows the layer type (:func:`layout_for_module`) and the
    layer's ``groups`` enters the fans; bias schemes that need fans get the weight's fans.

    ``portable=True`` fills every parameter it initializes from the portable stream
    (:mod:`initspec.backends.portable`, see :func:`initialize_`) with ``seed`` (an int in
    ``[0, 2**64)``; None means 0) and the stream name ``prefix + name``, ``name`` being the
    parameter's name in ``module.named_parameters()`` (its ``state_dict`` key, e.g.
    ``"encoder.0.weight"``). A tensor's values then depend only on ``(seed, name)``, scheme and
    layout: not on the order of the layers, on which other layers exist, or on the framework (the
    same as NumPy, TensorFlow and JAX give for that stream and logical layout, on CPU and GPU).
    ``init_module_(model.encoder, portable=True, prefix="encoder.")`` gives the encoder exactly
    the values ``init_module_(model, portable=True)`` would. ``generator`` cannot be combined
    with ``portable=True``; ``seed`` and ``prefix`` need it."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"Argument `module` must be a torch.nn.Module. Received: module={module!r}")
    if not isinstance(portable, bool):
        raise TypeError(f"Argument `portable` must be a bool. Received: portable={portable!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder.'). Received: prefix={prefix!r}")
    if portable:
        seed = portable_seed(seed)
        if generator is not None:
            raise InitSpecError(
                "Arguments `generator` and `portable=True` cannot be used together: the portable "
                f"stream is seeded by seed=. Received: generator={generator!r}, portable=True")
    elif seed is not None or prefix:
        raise InitSpecError(
            "Arguments `seed` and `prefix` name the portable stream; pass portable=True (or use "
            f"generator= for torch's generator). Received: seed={seed!r}, prefix={prefix!r}, portable=False")
    by_type = check_by_type(by_type, "module")
    split_rule(weight, "weight"), split_rule(bias, "bias")
    # stream names: each parameter's name in named_parameters() (a tied parameter: its first name)
    names = {id(p): prefix + n for n, p in module.named_parameters()} if portable else {}
    for mod in module.modules():
        rules = _module_rules(mod, weight, bias, by_type)
        if rules is None:
            continue
        layout = layout_for_module(mod)
        groups = int(getattr(mod, "groups", 1))
        for pname, param in mod.named_parameters(recurse=False):
            kind = next((k for k in ("weight", "bias") if pname == k or pname.startswith(f"{k}_")), None)
            if kind is None:
                continue
            rule = split_rule(rules.get(kind), f"{kind} rule for {type(mod).__name__}.{pname}")
            if rule is None:
                continue
            if torch.nn.parameter.is_lazy(param):
                raise InitSpecError(
                    f"{type(mod).__name__}.{pname} is an uninitialized lazy parameter; run one forward "
                    f"pass before init_module_. Received: module={type(mod).__name__}"
                )
            scheme, kw = rule
            refuse_reserved(kw, ("generator", "stream", "seed"), kind, f"{type(mod).__name__}.{pname}", rule,
                            "generator=, or portable=/seed=, to init_module_")
            kw.setdefault("layout", layout)
            kw.setdefault("groups", groups if kind == "weight" else 1)
            if kind == "bias" and "fans" not in kw and get_scheme(scheme).uses_fans:
                w = getattr(mod, "weight", None)
                if isinstance(w, torch.Tensor) and not torch.nn.parameter.is_lazy(w):
                    f = compute_fans(tuple(w.shape), layout, groups=groups)
                    kw["fans"] = (f.fan_in, f.fan_out)
            if portable:
                initialize_(param, scheme, stream=names[id(param)], seed=seed, **kw)
            else:
                initialize_(param, scheme, generator=generator, **kw)
    return module
