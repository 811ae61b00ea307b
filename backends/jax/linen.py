"""Flax linen models: :func:`init_linen` builds a complete, apply-ready ``variables`` dict from the
portable stream, with rules by layer class and path pattern, and says what it did.

The structure comes from ``jax.eval_shape(module.init, ...)`` (no native weights are drawn for
the leaves a rule covers); :func:`flax.linen.intercept_methods` records the module behind every
scope path while it traces, so each leaf knows its owner class (``rules={nn.Dense: ...}``) and a
``DenseGeneral`` kernel (also the ``query``/``key``/``value``/``out`` projections of
``MultiHeadDotProductAttention``) gets the logical fans of the matrix it applies
(:func:`initspec.models.dense_general_layout`), as Flax's own ``DenseGeneral.__call__`` does:
its ``kernel_init_wrap`` calls ``kernel_init`` on the flat ``(prod(batch + axis), prod(features))``
matrix and reshapes (flax/linen/linear.py). The spec leaves batch axes out of the fans (Flax
counts them in ``fan_in``); attention kernels have none.

Linen's ``LSTMCell`` and ``OptimizedLSTMCell`` keep one ``Dense``-like kernel per gate
(``ii``/``if``/``ig``/``io`` on the input, ``hi``/``hf``/``hg``/``ho`` on the state;
flax/linen/recurrent.py: ``OptimizedLSTMCell`` concatenates them at call time only), so every
gate is initialized as its own matrix already; ``forget_bias=`` sets ``hf.bias``.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import jax
from initspec.layouts import Layout, get_layout
from initspec.models import dense_general_layout

from .._model import InitReport, ParamInfo, finish
from .._names import FlattenSpec, Namer, NameHook
from ._checks import DEFAULT_LAYOUT, dtype_name
from ._walk import FlaxLeaf, canonical_leaf, leaf_role, path_names, plan_leaves
from .tree import checked_args

__all__ = ["init_linen", "native_key"]

NATIVE_NOTE = "module's own initializer"


def native_key(seed: int) -> Any:
    """The ``jax.random`` key of the native fallback: ``jax.random.key(seed mod 2**32)``."""
    return jax.random.key(seed % 2**32)


def _axes(x: Any) -> tuple[int, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def dense_general_kernel_layout(module: Any, rank: int) -> Layout:
    """The logical layout of a linen ``DenseGeneral`` kernel: ``batch_dims + axis + features``
    (flax/linen/linear.py ``DenseGeneral.__call__``: ``kernel_shape``)."""
    nb, na, nf = len(_axes(module.batch_dims)), len(_axes(module.axis)), len(_axes(module.features))
    return dense_general_layout(rank, range(nb, nb + na), range(rank - nf, rank), framework="flax")


def _trace(module: Any, args: tuple, method: Any, kwargs: dict) -> tuple[Any, dict[tuple[str, ...], Any]]:
    """``eval_shape`` of ``module.init`` and the module bound at every scope path."""
    import flax.linen as nn

    owners: dict[tuple[str, ...], Any] = {}

    def record(f: Any, a: Any, k: Any, context: Any) -> Any:
        m = context.module
        if m.scope is not None:
            owners.setdefault(tuple(m.scope.path), m)
        return f(*a, **k)

    with nn.intercept_methods(record):
        abstract = jax.eval_shape(lambda key: module.init(key, *args, method=method, **kwargs), jax.random.key(0))
    return abstract, owners


def _leaf(names: tuple[str, ...], leaf: Any, owners: Mapping[tuple[str, ...], Any], siblings: list[str],
          default: Layout) -> FlaxLeaf:
    import flax.linen as nn

    col, mpath, name = names[0], names[1:-1], names[-1]
    owner = owners.get(mpath)
    shape = tuple(leaf.shape)
    if col in ("params", "batch_stats"):
        role = leaf_role(name, len(shape), siblings, stats=col == "batch_stats")
    else:
        role = "other"
    layout = default
    if name == "kernel" and isinstance(owner, nn.DenseGeneral) and len(shape) >= 2:
        layout = dense_general_kernel_layout(owner, len(shape))
    parent = owners.get(mpath[:-1]) if mpath else None
    forget = 0 if (name == "bias" and mpath and mpath[-1] == "hf"
                   and isinstance(parent, (nn.LSTMCell, nn.OptimizedLSTMCell))) else None
    info = ParamInfo(".".join(names), name, shape, dtype_name(leaf.dtype),
                     type(owner) if owner is not None else None, role)
    layer, canonical = canonical_leaf(mpath, name, role, isinstance(parent, nn.MultiHeadDotProductAttention))
    dense = name == "kernel" and isinstance(owner, nn.Dense) and len(shape) == 2
    groups = int(getattr(owner, "feature_group_count", 1)) if name == "kernel" and isinstance(owner, nn.Conv) else 1
    return FlaxLeaf(info, names, shape, leaf.dtype, layout, forget_block=forget, layer=layer, canonical=canonical,
                    dense=dense, groups=groups)


def init_linen(module: Any, *args: Any, weight: Any = "he_normal", bias: Any = "zeros",
               rules: Mapping[Any, Any] | None = None, by_type: Mapping[type, Any] | None = None,
               seed: int | None = None, prefix: str = "", strict: bool = False, dry_run: bool = False,
               forget_bias: float | None = None, names: NameHook = None, flatten: FlattenSpec | None = None,
               method: Any = None, key: Any = None, **kwargs: Any) -> tuple[Any, InitReport]:
    """``(variables, report)``: the variables of ``module.init(key, *args, method=method, **kwargs)``
    with every leaf a rule covers drawn from the portable stream, the others from the module's own
    initializer, so ``module.apply(variables, *args)`` always runs.

    * **Rules** (:mod:`initspec.backends._model`): ``rules={nn.Dense: "glorot_uniform",
      nn.LayerNorm: {"norm_scale": "ones"}, "*.Embed_0.embedding": ("normal", {"std": 0.02})}``;
      path patterns match the dotted path ``"params.Block_0.Dense_0.kernel"``; class keys match the
      leaf's owner module (its MRO); ``weight``/``bias`` (default ``"he_normal"``/``"zeros"``, as
      :func:`init_tree`) cover the kernels and biases no rule names; norms, batch statistics and
      embeddings get :data:`initspec.models.DEFAULT_ROLE_RULES`.
    * **Logical fans** for ``DenseGeneral`` and ``MultiHeadDotProductAttention`` kernels (module
      docstring): a ``(64, 4, 16)`` query kernel has the fans ``(64, 64)`` of the 64 -> 64 layer.
    * **Fallback**: a leaf that is kept (``"keep"``) or that no rule covers (role ``other``, or a
      collection other than ``params``/``batch_stats``) takes the value of ``module.init`` with
      :func:`native_key` ``(seed)``, reported with the note "module's own initializer";
      ``strict=True`` raises instead, naming every uncovered leaf and every rule that matched
      nothing. ``module.init`` runs natively only when some leaf needs it.
    * ``dry_run=True`` samples nothing: ``(abstract variables, report)``.
    * ``forget_bias=1.0`` sets the forget-gate bias (``hf.bias``) of ``LSTMCell``/``OptimizedLSTMCell``.
    * ``key=jax.random.key(0)`` samples natively with ``jax.random`` instead of the portable stream
      (each leaf from ``fold_in(key, crc32(its stream name))``, as :func:`init_tree`; the fallback
      ``module.init`` then runs with ``key``); exclusive with ``seed``.

    Each leaf's stream is ``prefix + path`` (as :func:`init_tree`: both give the same values for
    the same leaf, rule and seed). ``seed=None`` means 0. ``names="canonical"`` (or a mapping
    ``{path: name}`` / a callable ``path -> name or None``) names it ``prefix + canonical name``
    instead (:mod:`initspec.backends._names`: ``params.conv1.kernel`` -> ``conv1.weight``,
    ``params.attn.query.kernel`` -> ``attn.q.weight``), as torch ``init_module_`` and Keras
    ``init_model`` name the same layers; ``flatten={"fc1": ("hwc", (H, W, C))}`` declares that the
    ``nn.Dense`` ``fc1`` reads a flattened channels-last map (``docs/porting.md``).
    """
    seed, ruleset = checked_args("init_linen", weight, bias, seed, prefix, rules, by_type, key=key)
    abstract, owners = _trace(module, args, method, kwargs)
    flat, treedef = jax.tree_util.tree_flatten_with_path(abstract)
    paths = [tuple(path_names(p)) for p, _ in flat]
    siblings: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for n in paths:
        siblings[n[:-1]].append(n[-1])
    default = get_layout(DEFAULT_LAYOUT)
    namer = Namer(names, flatten, helper="init_linen")
    leaves = [_leaf(n, leaf, owners, siblings[n[:-1]], default) for n, (_, leaf) in zip(paths, flat)]
    rows, values = plan_leaves(leaves, ruleset, seed=seed, prefix=prefix, dry_run=dry_run, forget_bias=forget_bias,
                               namer=namer, key=key)
    namer.check_used(leaf.layer for leaf in leaves if leaf.dense)
    rows = [r if r.action == "init" else dataclasses.replace(r, note=NATIVE_NOTE) for r in rows]
    report = finish(rows, ruleset, framework="flax.linen", strict=strict, dry_run=dry_run, helper="init_linen")
    if dry_run:
        return abstract, report
    native = None
    if len(values) < len(leaves):
        native = jax.tree_util.tree_leaves(module.init(native_key(seed) if key is None else key, *args,
                                                       method=method, **kwargs))
    out = [values[i] if i in values else native[i] for i in range(len(leaves))]  # type: ignore[index]
    return jax.tree_util.tree_unflatten(treedef, out), report
