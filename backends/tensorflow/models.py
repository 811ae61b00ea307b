"""Whole Keras models: :func:`init_model` re-initializes every kernel and bias of a built model in
place, by layer type (``by_type=``), natively or from the portable stream; :func:`layout_for_variable`
maps a layer's variable to its spec layout."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import keras
from initspec.backends._rules import Rule, by_type_rules, check_by_type, refuse_reserved, split_rule
from initspec.errors import InitSpecError
from initspec.layouts import compute_fans
from initspec.schemes import get_scheme

from ._primitives import DEFAULT_LAYOUT
from ._seeds import check_keras_seed, is_int, portable_seed
from .initializers import INITIALIZERS

__all__ = ["init_model", "layout_for_variable"]


def _variable_kind(name: str) -> str | None:
    """``"weight"`` for ``kernel``/``*_kernel`` (recurrent_kernel, depthwise_kernel...), ``"bias"``
    for ``bias``, else None."""
    if name == "kernel" or name.endswith("_kernel"):
        return "weight"
    return "bias" if name == "bias" else None


_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_CONV_TRANSPOSE = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)


def layout_for_variable(layer: keras.layers.Layer, name: str) -> str:
    """The spec layout of ``layer``'s kernel ``name``: depthwise kernels (``DepthwiseConv*``,
    ``SeparableConv*.depthwise_kernel``) -> ``keras_depthwise``, ``Conv*Transpose`` kernels ->
    ``keras_conv_transpose``, anything else (Dense, Conv, recurrent kernels...) -> ``keras``."""
    if name == "depthwise_kernel" or (name == "kernel" and isinstance(layer, _DEPTHWISE)):
        return "keras_depthwise"
    if name == "kernel" and isinstance(layer, _CONV_TRANSPOSE):
        return "keras_conv_transpose"
    return DEFAULT_LAYOUT


_Visit = tuple[keras.layers.Layer, "dict[str, Rule] | None", list[Any]]


def _walk(layer: keras.layers.Layer, by_type: Mapping[type, Any], bias: Rule,
          inherited: dict[str, Rule] | None, seen: set[int]) -> Iterator[_Visit]:
    """``(layer, by_type rules or None, own variables)`` for ``layer`` and its sublayers, depth first;
    a sublayer without a ``by_type`` entry inherits its parent's (an LSTM's rules reach its cell)."""
    if id(layer) in seen:
        return
    seen.add(id(layer))
    rules = by_type_rules(layer, by_type, bias) or inherited
    children = list(layer._flatten_layers(include_self=False, recursive=False))
    nested = {id(v) for child in children for v in child.weights}
    yield layer, rules, [v for v in layer.weights if id(v) not in nested]
    for child in children:
        yield from _walk(child, by_type, bias, rules, seen)


def _kernel_fans(layer: keras.layers.Layer, own: list[Any], groups: int) -> tuple[float, float] | None:
    """Fans of the layer's ``kernel`` (else its last ``*_kernel``, e.g. SeparableConv's pointwise)."""
    kernels = [v for v in own if _variable_kind(v.name) == "weight"]
    kernel = next((v for v in kernels if v.name == "kernel"), kernels[-1] if kernels else None)
    if kernel is None or len(kernel.shape) < 2:
        return None
    f = compute_fans(tuple(kernel.shape), layout_for_variable(layer, kernel.name), groups=groups)
    return f.fan_in, f.fan_out


def init_model(model: keras.layers.Layer, weight: Rule = "glorot_uniform", bias: Rule = "zeros", *,
               by_type: Mapping[type, Any] | None = None, seed: Any = None, portable: bool = False,
               prefix: str = "") -> keras.layers.Layer:
    """Re-initialize, in place (``variable.assign``), the kernels and biases of every layer of the
    built Keras ``model`` (or layer), nested models and sublayers included, and return it.

    Variables named ``kernel`` or ``*_kernel`` (``recurrent_kernel``, ``depthwise_kernel``...) get
    the ``weight`` rule, ``bias`` the ``bias`` rule; other variables are untouched. A rule is a
    scheme name, ``(scheme, {params})`` (the dict may also set ``layout``, ``groups``, ``fans``) or
    None (leave alone). ``by_type={keras.layers.Conv2D: "he_normal", keras.layers.LSTM: {"weight":
    "orthogonal", "bias": None}}`` overrides per layer class: the most specific class of the MRO
    wins; a plain rule sets the kernels (biases keep the ``bias`` rule), a dict sets ``weight``
    and/or ``bias`` (a missing key leaves them alone); sublayers without an entry of their own follow
    their parent's (an LSTM's entry covers its cell). The layout follows the layer
    (:func:`layout_for_variable`), the layer's ``groups`` enters the kernel's fans, and a bias whose
    scheme needs fans gets the kernel's fans.

    ``portable=False`` (default): this module's Keras initializers, natively seeded: ``seed=None``
    draws a random seed per variable, an int (or a ``keras.random.SeedGenerator``) seeds one
    generator that all variables draw from in turn (reproducible, but order-dependent).

    ``portable=True``: each variable's values come from the portable stream
    (:mod:`initspec.backends.portable`) named ``prefix + variable.path`` (e.g. ``"dense/kernel"``)
    with ``seed`` (an int in ``[0, 2**64)``; the stream is deterministic, so None means 0). A
    variable's values then depend only on ``(seed, stream)``, scheme and layout: not on the order of
    the layers, on which other layers exist, or on the framework (the same as NumPy, torch and JAX
    give for that stream and logical layout, on CPU and GPU). ``init_model(model.layers[1],
    portable=True)`` gives that layer exactly the values ``init_model(model, portable=True)`` would
    (``variable.path`` does not depend on where the walk starts). ``prefix`` needs ``portable=True``.

    An unbuilt model (or sublayer) raises: build it first (``keras.Input``, ``model.build`` or one call).
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"Argument `model` must be a keras Model or Layer. Received: model={model!r}")
    if not isinstance(portable, bool):
        raise TypeError(f"Argument `portable` must be a bool. Received: portable={portable!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder/'). Received: prefix={prefix!r}")
    if portable:
        seed = portable_seed(seed, "portable=True")
    elif prefix:
        raise InitSpecError(
            "Argument `prefix` names the portable streams; pass portable=True. "
            f"Received: prefix={prefix!r}, portable=False")
    else:
        seed = check_keras_seed(seed)
        if seed is not None and not isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.SeedGenerator(seed)  # one generator: distinct values per variable
    by_type = check_by_type(by_type, "layer")
    for rule, arg in ((weight, "weight"), (bias, "bias")):
        split = split_rule(rule, arg)
        if split is not None:
            get_scheme(split[0])
    visits = list(_walk(model, by_type, bias, None, set()))
    for layer, _, _ in visits:
        if not layer.built:
            raise InitSpecError(
                f"Layer {layer.name!r} ({type(layer).__name__}) is not built, so its weights do not exist "
                "yet; build the model first (keras.Input, model.build(input_shape) or one call on data). "
                f"Received: model={model.name!r}"
            )
    jobs = []  # every rule is checked (initializers built) before any variable changes
    for layer, rules, own in visits:
        rules = rules or {"weight": weight, "bias": bias}
        groups = getattr(layer, "groups", 1)
        groups = int(groups) if is_int(groups) else 1
        for var in own:
            kind = _variable_kind(var.name)
            rule = None if kind is None else split_rule(
                rules.get(kind), f"{kind} rule for {type(layer).__name__}.{var.name}")
            if rule is None:
                continue
            scheme, kw = rule
            refuse_reserved(kw, ("seed", "stream"), kind, f"{type(layer).__name__}.{var.name}", rule,
                            "seed=/portable= to init_model")
            kw.setdefault("layout", layout_for_variable(layer, var.name) if kind == "weight"
                          else DEFAULT_LAYOUT)
            kw.setdefault("groups", groups if kind == "weight" else 1)
            if kind == "bias" and "fans" not in kw and get_scheme(scheme).uses_fans:
                kw["fans"] = _kernel_fans(layer, own, groups)
            jobs.append((var, INITIALIZERS[get_scheme(scheme).name](
                seed=seed, stream=prefix + var.path if portable else None, **kw)))
    for var, init in jobs:
        var.assign(init(tuple(var.shape), var.dtype))
    return model
