"""The Keras sampler of ``initspec audit`` (:mod:`initspec.conformance.audit`, issue 13).

:func:`sample_model` lists every variable of a built model (the model-init walker
:func:`._layers.walk_variables`) with its layer's initializer (``kernel_initializer``,
``bias_initializer``, ``embeddings_initializer``, ...). ``draw(seed)`` calls each initializer
again, rebuilt from its config with a per-variable seed (``cls.from_config({**config, "seed": s})``,
keras/src/initializers/initializer.py::Initializer.from_config): a fresh draw of the layer's own
initializer on every Keras backend. The expected law is the :data:`initspec.native.NATIVE` entry of
the initializer's class (the first ``keras.initializers`` class of its MRO: a subclass is expected
to behave as what its name says) with its config's parameters, under Keras' own fan rule
(``compute_fans`` on the raw shape; the spec layout's logical fans are offered too, e.g. an
EinsumDense kernel's dense-general fans).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from initspec.backends._audit import AuditError, AuditTensor, Expected, ModelSample, apply_expect, expected_from_native
from initspec.backends._names import canonical_param, join
from initspec.layouts import compute_fans
from initspec.native import NATIVE_BY_KEY

from ._layers import layout_for_variable, variable_role, walk_variables
from .models import canonical_layer

__all__ = ["sample_model"]

#: variable name -> the layer attribute holding its initializer
INITIALIZER_ATTR = {"kernel": "kernel_initializer", "bias": "bias_initializer", "embeddings": "embeddings_initializer",
                    "gamma": "gamma_initializer", "beta": "beta_initializer",
                    "recurrent_kernel": "recurrent_initializer", "depthwise_kernel": "depthwise_initializer",
                    "pointwise_kernel": "pointwise_initializer"}


def _native_class(init: Any) -> type | None:
    for cls in type(init).__mro__:
        if f"keras:keras.initializers.{cls.__name__}" in NATIVE_BY_KEY and cls.__module__.startswith("keras"):
            return cls
    return None


def _config_params(cls: type, cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Spec parameters of a Keras initializer config."""
    name = cls.__name__
    if name == "VarianceScaling":
        dist = {"untruncated_normal": "normal", "normal": "truncated_normal"}.get(cfg["distribution"],
                                                                                   cfg["distribution"])
        return {"scale": float(cfg["scale"]), "mode": cfg["mode"], "distribution": dist}
    if name in ("RandomNormal", "TruncatedNormal"):
        return {"mean": float(cfg["mean"]), "std": float(cfg["stddev"])}
    if name == "RandomUniform":
        return {"low": float(cfg["minval"]), "high": float(cfg["maxval"])}
    if name == "Orthogonal":
        return {"gain": float(cfg.get("gain", 1.0))}
    return {}


def _expected(init: Any, raw_fans: tuple[float, float] | None) -> Expected | None:
    cls = _native_class(init)
    if cls is None:
        return None
    e = expected_from_native(f"keras:keras.initializers.{cls.__name__}", None)
    params = _config_params(cls, init.get_config()) if type(init) is cls else dict(e.params)
    if type(init) is not cls:
        e = Expected(e.scheme, e.params, None, e.source, e.native, e.name_suggests, e.documented)
    scheme = "variance_scaling" if cls.__name__ == "VarianceScaling" else e.scheme
    from initspec.schemes import get_scheme

    fans = raw_fans if get_scheme(scheme).uses_fans else None
    return Expected(scheme, params, fans, e.source + f" ({type(init).__name__})", e.native, e.name_suggests,
                    e.documented)


def _kernel_fans(layer: Any) -> tuple[float, float] | None:
    k = getattr(layer, "kernel", None)
    if k is None or len(k.shape) < 2:
        return None
    f = compute_fans(tuple(k.shape), layout_for_variable(layer, "kernel"))
    return (f.fan_in, f.fan_out)


def sample_model(model: Any, *, expect: Mapping[str, Any] | None = None) -> ModelSample:
    """The :class:`~initspec.backends._audit.ModelSample` of a built Keras model or layer."""
    if not isinstance(model, keras.layers.Layer):
        raise AuditError(f"Expected a built keras Model or Layer. Received: {type(model).__name__}")
    tensors, inits = [], {}
    for k, entry in enumerate(walk_variables(model)):
        if entry.seed_state or not entry.owners:
            continue
        var, layer = entry.variable, entry.owners[0]
        name = var.path.rsplit("/", 1)[-1]
        init = getattr(layer, INITIALIZER_ATTR.get(name, f"{name}_initializer"), None)
        if init is None or not callable(init):
            continue
        shape = tuple(int(d) for d in var.shape)
        fans: dict[str, tuple[float, float]] = {}
        raw = None
        if len(shape) >= 2:
            lay = compute_fans(shape, layout_for_variable(layer, name))
            r = compute_fans(shape, "keras")
            raw = (r.fan_in, r.fan_out)
            fans["layout"] = (lay.fan_in, lay.fan_out)
            if raw != fans["layout"]:
                fans["keras compute_fans"] = raw
            axes = f"Keras compute_fans on {shape}: fan_in axis -2, fan_out axis -1"
        else:
            kf = _kernel_fans(layer)
            if kf is not None:
                fans["layout"] = kf
            axes = "the layer kernel's fans"
        role = variable_role(layer, name)
        tensors.append(AuditTensor(var.path, type(layer).__name__, role, shape, fans, axes, _expected(init, raw),
                                   canonical=join(canonical_layer(entry), canonical_param(role, name))))
        inits[var.path] = (init, shape, var.dtype, k)
    if not tensors:
        raise AuditError(f"The Keras model {model.name!r} has no variables with an initializer to audit.")
    tensors = apply_expect(tensors, expect)

    def draw(seed: int) -> dict[str, np.ndarray]:
        out = {}
        for path, (init, shape, dtype, k) in inits.items():
            cfg = init.get_config() if hasattr(init, "get_config") else None
            fresh = type(init).from_config({**cfg, "seed": int(seed) * 7919 + k}) if (
                cfg is not None and "seed" in cfg) else init
            out[path] = np.asarray(keras.ops.convert_to_numpy(fresh(shape, dtype=dtype)))
        return out

    return ModelSample("keras", f"{type(model).__name__} {model.name!r}", tensors, draw,
                       f"each layer initializer re-built from its config with a seed ({keras.backend.backend()})")
