"""The Flax sampler of ``initspec audit`` (:mod:`initspec.conformance.audit`, issue 13).

:func:`sample_linen` traces ``module.init`` (the model-init tracer :func:`.linen._trace` finds
the module owning every leaf) and draws with ``module.init(jax.random.key(seed), *args)``: the
module's own initializers, fresh per seed. A leaf whose owner's ``kernel_init``/``bias_init``/
``embedding_init`` is the class default is expected to follow the layer default of
:data:`initspec.native.NATIVE` (``flax.linen.Dense.kernel``: LeCun truncated normal; ``Embed``:
``variance_scaling(1, fan_in, normal, out_axis=0)``, std 1/sqrt(features)); a user-supplied
initializer has no native entry (pass ``expect=`` to state it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
from initspec.backends._audit import AuditError, AuditTensor, Expected, ModelSample, apply_expect, expected_from_native
from initspec.layouts import compute_fans

from ._walk import canonical_leaf, leaf_role, path_names
from .linen import _trace, dense_general_kernel_layout

__all__ = ["sample_linen"]

_ATTR = {"kernel": "kernel_init", "bias": "bias_init", "embedding": "embedding_init", "scale": "scale_init"}


def _is_default(owner: Any, attr: str) -> bool:
    f = getattr(type(owner), "__dataclass_fields__", {}).get(attr)
    return f is not None and getattr(owner, attr, None) is f.default


def _expected(owner: Any, name: str, fans: tuple[float, float] | None) -> Expected | None:
    attr = _ATTR.get(name)
    if owner is None or attr is None or not _is_default(owner, attr):
        return None
    for cls in type(owner).__mro__:
        key = f"flax:flax.linen.{cls.__name__}.{name}"
        from initspec.native import NATIVE_BY_KEY

        if key in NATIVE_BY_KEY:
            return expected_from_native(key, fans)
    if name == "bias":
        return Expected("zeros", source=f"{type(owner).__name__} (bias_init=zeros)")
    if name == "scale":
        return Expected("ones", source=f"{type(owner).__name__} (scale_init=ones)")
    return None


def _kernel_layout(owner: Any, shape: tuple[int, ...]) -> Any:
    """A kernel's layout: a ``DenseGeneral``'s logical one (its initializer sees the kernel
    flattened to ``(prod(axis dims), prod(features))``, flax/linen/linear.py
    ``DenseGeneral.__call__``: ``kernel_init_wrap``), else JAX's ``(..., in, out)``."""
    import flax.linen as nn

    return dense_general_kernel_layout(owner, len(shape)) if isinstance(owner, nn.DenseGeneral) else "jax"


def sample_linen(module: Any, *args: Any, expect: Mapping[str, Any] | None = None) -> ModelSample:
    """The :class:`~initspec.backends._audit.ModelSample` of a linen ``module`` called on ``args``
    (arrays or ``jax.ShapeDtypeStruct``)."""
    import flax.linen as nn

    if not isinstance(module, nn.Module):
        raise AuditError(f"Expected a flax.linen Module. Received: {type(module).__name__}")
    if not args:
        raise AuditError("A Flax module needs example inputs (arrays or jax.ShapeDtypeStruct) for module.init.")
    abstract, owners = _trace(module, args, None, {})
    params = abstract.get("params", {}) if hasattr(abstract, "get") else {}
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    tensors = []
    kernels = {}
    for path, leaf in leaves:
        names = tuple(path_names(path))
        if names[-1] in ("kernel", "embedding") and len(leaf.shape) >= 2:
            kernels[names[:-1]] = leaf.shape
    for path, leaf in leaves:
        names = tuple(path_names(path))
        shape = tuple(int(d) for d in leaf.shape)
        owner = owners.get(names[:-1])
        siblings = [n[-1] for n in (tuple(path_names(p)) for p, _ in leaves) if n[:-1] == names[:-1]]
        fans, axes = {}, "the layer kernel's fans"
        if names[-1] == "embedding":
            f = compute_fans(shape, "torch")  # (num_embeddings, features): out axis 0 (native.py)
            fans["layout"] = (f.fan_in, f.fan_out)
            axes = "Embed: fan_in = features (axis 1)"
        elif len(shape) >= 2 and names[-1] != "bias":  # a DenseGeneral bias (H, D) is a bias
            f = compute_fans(shape, _kernel_layout(owner, shape))
            fans["layout"] = (f.fan_in, f.fan_out)
            axes = ("DenseGeneral: fan_in = the contracted axes, fan_out = the features" if
                    isinstance(owner, nn.DenseGeneral) else "fan_in axis -2 x receptive, fan_out axis -1")
        elif names[:-1] in kernels:
            f = compute_fans(kernels[names[:-1]], _kernel_layout(owner, kernels[names[:-1]]))
            fans["layout"] = (f.fan_in, f.fan_out)
        role = leaf_role(names[-1], len(shape), siblings)
        attention = isinstance(owners.get(names[:-2]), nn.MultiHeadDotProductAttention) if len(names) > 1 else False
        tensors.append(AuditTensor(".".join(names), type(owner).__name__ if owner is not None else "?", role, shape,
                                   fans, axes, _expected(owner, names[-1], fans.get("layout")),
                                   canonical=canonical_leaf(names[:-1], names[-1], role, attention)[1]))
    if not tensors:
        raise AuditError(f"The Flax module {type(module).__name__} has no parameters to audit.")
    tensors = apply_expect(tensors, expect)
    init = jax.jit(module.init)

    def draw(seed: int) -> dict[str, np.ndarray]:
        p = init(jax.random.key(int(seed)), *args)["params"]
        return {".".join(path_names(k)): np.asarray(v) for k, v in jax.tree_util.tree_flatten_with_path(p)[0]}

    return ModelSample("flax", type(module).__name__, tensors, draw, "module.init(jax.random.key(seed), *args)")
