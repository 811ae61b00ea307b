"""Whole parameter pytrees from the portable stream: :func:`init_tree` walks a pytree (e.g. Flax
``params``, or the ``jax.eval_shape`` of one) and draws each kernel and bias from the stream named
by its path, so a tensor's values depend only on ``(seed, its path, shape, dtype, layout)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
from initspec.layouts import compute_fans, get_layout
from initspec.schemes import Scheme, get_scheme

from .._rules import split_rule
from ..portable._spec import portable_seed
from ._checks import DEFAULT_LAYOUT, describe
from ._initializer import initializer

__all__ = ["init_tree"]

#: arguments :func:`init_tree` sets itself, refused in a rule's params
_TREE_SET = ("stream", "seed", "layout", "dtype")


def _check_rule(arg: str, rule: Any) -> tuple[Scheme, dict[str, Any]] | None:
    """A rule of :func:`init_tree` (a scheme name, ``(scheme, {params})`` or None) as ``(scheme,
    params)``, names and params checked now; None stays None."""
    split = split_rule(rule, arg)
    if split is None:
        return None
    name, params = split
    for k in _TREE_SET:
        if k in params:
            raise ValueError(f"init_tree sets `{k}` itself; remove it from `{arg}`. Received: {arg}={rule!r}")
    initializer(name, **params)  # unknown schemes and parameters fail now, naming them
    return get_scheme(name), params


def _path_names(path: Sequence[Any]) -> list[str]:
    """Path keys as str: ``DictKey.key``, ``GetAttrKey.name``, ``SequenceKey.idx``."""
    out = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                out.append(str(getattr(k, attr)))
                break
        else:
            out.append(str(k))
    return out


def init_tree(params: Any, weight: Any = "he_normal", bias: Any = "zeros", *, seed: int | None = None,
              prefix: str = "", layout: Any = None) -> Any:
    """A copy of the pytree ``params`` with its kernels and biases drawn from the portable stream.

    Each leaf whose last path key is ``"kernel"`` (rank >= 2) gets the ``weight`` rule and each
    ``"bias"`` leaf the ``bias`` rule; other leaves are returned unchanged. A rule is a scheme
    name, ``(scheme, {params})`` or None (leave those leaves alone). A leaf's stream is ``prefix +
    ".".join(path keys)``, e.g. ``"params.Dense_0.kernel"`` for Flax's ``{"params": {"Dense_0":
    {"kernel": ...}}}``, and its shape and dtype are the leaf's; so a tensor's values depend only
    on ``(seed, its path, shape, dtype, layout)``: not on the order of initialisation nor on the
    other leaves (a sub-tree initialised alone with ``prefix="params.Dense_0."`` equals that part
    of the whole). A bias whose scheme uses fans takes its sibling ``"kernel"``'s fans (as the
    ``weight`` rule computes them; an error without a sibling, unless the rule gives ``fans=``).
    Leaves left alone are returned as they are (a ``ShapeDtypeStruct`` stays one).

    Leaves may be arrays or ``jax.ShapeDtypeStruct`` (``jax.eval_shape(model.init, ...)``), so a
    model can be initialised without first drawing native random weights; under ``jax.jit`` with
    ``out_shardings`` each device computes only its shards. The values are those of
    :mod:`initspec.backends.portable` (the same in NumPy, torch, TensorFlow and JAX for the same
    ``(seed, stream)`` and logical layout, on CPU and GPU). The portable stream is deterministic:
    ``seed=None`` means 0. ``layout`` defaults to ``"jax"`` (``(*receptive, in, out)``).

        abstract = jax.eval_shape(model.init, jax.random.key(0), x)
        params = init_tree(abstract, "he_normal", seed=1)
    """
    rules = {"kernel": _check_rule("weight", weight), "bias": _check_rule("bias", bias)}
    seed = portable_seed(seed)
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder.'). Received: prefix={prefix!r}")
    lay = get_layout(DEFAULT_LAYOUT if layout is None else layout)

    def target(names: list[str], leaf: Any) -> str | None:
        if not names or names[-1] not in rules or rules[names[-1]] is None:
            return None
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            raise TypeError(f"Leaf {prefix + '.'.join(names)!r} must be an array or a jax.ShapeDtypeStruct. "
                            f"Received: {describe(leaf)}")
        return None if names[-1] == "kernel" and len(leaf.shape) < 2 else names[-1]

    flat = [(_path_names(path), leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]]
    kernels = {tuple(n[:-1]): tuple(leaf.shape) for n, leaf in flat
               if n and n[-1] == "kernel" and len(getattr(leaf, "shape", ())) >= 2}

    def kernel_fans(shape: tuple[int, ...]) -> tuple[float, float]:
        """The kernel's fans as its rule sees them (axes, groups, fans=), else the layout's."""
        f = None
        if rules["kernel"] is not None:
            w_scheme, w_kw = rules["kernel"]
            f = initializer(w_scheme, layout=lay, **w_kw).plan(shape).fans
        f = compute_fans(shape, lay) if f is None else f
        return f.fan_in, f.fan_out

    def init_leaf(path: Any, leaf: Any) -> Any:
        names = _path_names(path)
        role = target(names, leaf)
        if role is None:
            return leaf
        scheme, kw = rules[role]
        stream = prefix + ".".join(names)
        if role == "bias" and scheme.uses_fans and "fans" not in kw:
            sibling = kernels.get(tuple(names[:-1]))
            if sibling is None:
                raise ValueError(
                    f"Bias {stream!r} has no sibling 'kernel' (rank >= 2) to take fans from, and scheme "
                    f"{scheme.name!r} uses fans: give the rule fans=(fan_in, fan_out) or use a scheme "
                    f"without fans. Received: bias={bias!r}"
                )
            kw = {**kw, "fans": kernel_fans(sibling)}
        init = initializer(scheme, layout=lay, stream=stream, seed=seed, **kw)
        return init(None, tuple(leaf.shape), leaf.dtype)

    return jax.tree_util.tree_map_with_path(init_leaf, params)
