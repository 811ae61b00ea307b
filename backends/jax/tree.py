"""Whole parameter pytrees from the portable stream: :func:`init_tree` walks a pytree (e.g. Flax
``variables``, or the ``jax.eval_shape`` of one) and draws each leaf from the stream named by its
path, so a tensor's values depend only on ``(seed, its path, shape, dtype, layout)``. Leaves get a
role from their names (:mod:`initspec.backends.jax._walk`), rules by path pattern, and the call can
return the init report (:class:`initspec.backends._model.InitReport`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
from initspec.layouts import get_layout

from .._model import KEEP, InitReport, ParamInfo, RuleSet, finish
from .._names import FlattenSpec, Namer, NameHook
from .._rules import split_rule
from ..portable._spec import portable_seed
from ._checks import DEFAULT_LAYOUT, describe, dtype_name
from ._initializer import initializer
from ._walk import RESERVED, FlaxLeaf, canonical_leaf, leaf_role, path_names, plan_leaves

__all__ = ["check_arg_rule", "check_rules_keys", "checked_args", "init_tree"]

#: arguments the helpers set themselves, refused in ``weight=``/``bias=`` (``layout=`` is an argument)
_ARG_SET = ("stream", "seed", "layout", "dtype")


#: leading collection keys of Flax variables, left out of canonical names
_COLLECTIONS = ("params", "batch_stats")

#: leaf names that must be arrays
_NAMED = ("kernel", "bias", "scale", "embedding")


def check_arg_rule(helper: str, arg: str, rule: Any) -> None:
    """The ``weight``/``bias`` rule of a Flax helper: names and params checked now."""
    if isinstance(rule, str) and rule == KEEP:
        return
    split = split_rule(rule, arg)
    if split is None:
        return
    name, params = split
    for k in _ARG_SET:
        if k in params:
            raise ValueError(f"{helper} sets `{k}` itself; remove it from `{arg}`. Received: {arg}={rule!r}")
    initializer(name, **params)  # unknown schemes and parameters fail now, naming them


def check_key(helper: str, key: Any, seed: Any) -> None:
    """``key=`` (native sampling) of a Flax helper: a ``jax.random`` key (typed, or a raw
    ``uint32[2]``), never together with ``seed`` (which seeds the portable stream)."""
    if key is None:
        return
    if seed is not None:
        raise ValueError(f"{helper}: `seed` seeds the portable stream and `key` samples natively with jax.random; "
                         f"pass one of them. Received: seed={seed!r}, key={describe(key)}")
    typed = isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    raw = isinstance(key, jax.Array) and key.dtype == jnp.uint32 and key.shape == (2,)
    if not (typed and key.shape == ()) and not raw:
        raise TypeError(f"Argument `key` must be one jax.random key (jax.random.key(0), or a raw uint32[2] "
                        f"jax.random.PRNGKey(0)) or None. Received: key={describe(key)}")


def checked_args(helper: str, weight: Any, bias: Any, seed: Any, prefix: Any, rules: Any,
                 by_type: Any = None, key: Any = None) -> tuple[int, RuleSet]:
    """The arguments every Flax model helper shares, checked before anything is traced or drawn:
    the ``weight``/``bias`` rules, the portable ``seed`` (None means 0) or the native ``key``,
    ``prefix``; returns ``(seed, RuleSet)``."""
    check_arg_rule(helper, "weight", weight)
    check_arg_rule(helper, "bias", bias)
    check_key(helper, key, seed)
    seed = portable_seed(seed)
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder.'). Received: prefix={prefix!r}")
    return seed, RuleSet(weight, bias, rules, by_type, reserved=RESERVED)


def check_rules_keys(rules: Any, by_type: Any = None) -> None:
    """``init_tree`` has no layer classes: a class key is a clear error."""
    for mapping in (rules, by_type):
        if isinstance(mapping, Mapping):
            for key in mapping:
                if isinstance(key, type):
                    raise TypeError(
                        f"init_tree sees a bare pytree, which has no layer classes: rules by layer class "
                        f"({key.__name__}) need init_linen(module, ...) (Flax linen) or init_nnx_(model, ...) "
                        f"(flax.nnx); on a tree use path patterns such as '*.Dense_0.kernel'. "
                        f"Received key: {key!r}")


def _leaves(params: Any, layout: Any) -> tuple[list[Any], Any, list[FlaxLeaf | None]]:
    """The flat leaves, the treedef, and a :class:`FlaxLeaf` per array-like leaf (None for others)."""
    flat, treedef = jax.tree_util.tree_flatten_with_path(params)
    names = [tuple(path_names(p)) for p, _ in flat]
    siblings: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for n in names:
        if n:
            siblings[n[:-1]].append(n[-1])
    out: list[FlaxLeaf | None] = []
    for n, (_, leaf) in zip(names, flat):
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            if n and n[-1] in _NAMED:
                raise TypeError(f"Leaf {'.'.join(n)!r} must be an array or a jax.ShapeDtypeStruct. "
                                f"Received: {describe(leaf)}")
            out.append(None)
            continue
        if not n:  # a bare array: no name, no role
            out.append(None)
            continue
        shape = tuple(leaf.shape)
        role = leaf_role(n[-1], len(shape), siblings[n[:-1]], stats=n[0] == "batch_stats")
        info = ParamInfo(".".join(n), n[-1], shape, dtype_name(leaf.dtype), None, role)
        module_path = n[1:-1] if n[0] in _COLLECTIONS else n[:-1]
        layer, canonical = canonical_leaf(module_path, n[-1], role, attention=False)
        out.append(FlaxLeaf(info, n, shape, leaf.dtype, layout, layer=layer, canonical=canonical,
                            dense=n[-1] == "kernel" and len(shape) == 2))
    return [leaf for _, leaf in flat], treedef, out


def init_tree(params: Any, weight: Any = "he_normal", bias: Any = "zeros", *, rules: Mapping[str, Any] | None = None,
              seed: int | None = None, prefix: str = "", layout: Any = None, strict: bool = False,
              dry_run: bool = False, report: bool = False, names: NameHook = None,
              flatten: FlattenSpec | None = None, key: Any = None) -> Any:
    """A copy of the pytree ``params`` with every leaf a rule covers drawn from the portable stream.

    Each leaf gets a role from its name (``kernel`` rank >= 2 -> weight, ``bias`` -> bias or a
    norm's shift, ``scale``, ``embedding``, ``batch_stats`` ``mean``/``var``; see
    :mod:`initspec.models`) and the rule of that role: ``weight`` for kernels, ``bias`` for
    biases, :data:`initspec.models.DEFAULT_ROLE_RULES` for norms and embeddings, so the
    ``jax.eval_shape`` of a model with LayerNorm/BatchNorm/Embed comes back complete.
    ``rules={"<pattern>": rule}`` (:func:`fnmatch.fnmatchcase` on the dotted path, e.g.
    ``"params.*.Embed_0.embedding"``) wins over roles, first match first; layer classes are not
    known here (use :func:`init_linen`/:func:`init_nnx_`). A rule is a scheme name, ``(scheme,
    {params})`` (params may set ``layout``, ``groups``, ``fans``, ``in_axis``/``out_axis``) or
    None/``"keep"`` (leave the leaf alone).

    A leaf's stream is ``prefix + ".".join(path keys)``, e.g. ``"params.Dense_0.kernel"``; so a
    tensor's values depend only on ``(seed, its path, shape, dtype, layout)``: not on the order of
    initialisation nor on the other leaves. A bias whose scheme uses fans takes its sibling
    ``"kernel"``'s fans (as the kernel's rule computes them; an error without a sibling, unless
    the rule gives ``fans=``). Leaves left alone are returned as they are; a leaf no rule covers
    (role ``other``) is reported as uncovered, and must be an array: an uncovered
    ``ShapeDtypeStruct`` is an error naming it (give it a rule, or use :func:`init_linen`, which
    falls back on the module's own initializer). ``strict=True`` raises naming every uncovered
    leaf and every pattern that matched nothing (a warning otherwise); ``dry_run=True`` samples
    nothing and returns ``params`` itself. ``report=True`` returns ``(tree, InitReport)``.

    Leaves may be arrays or ``jax.ShapeDtypeStruct``; under ``jax.jit`` with ``out_shardings``
    each device computes only its shards. The values are those of
    :mod:`initspec.backends.portable`. ``seed=None`` means 0. ``layout`` defaults to ``"jax"``
    (``(*receptive, in, out)``).

    ``key=jax.random.key(0)`` samples natively instead (``jax.random``, the JAX adapters' laws,
    as Flax's own initializers draw): each leaf from ``jax.random.fold_in(key, crc32(name))`` with
    ``name`` its stream name above (:func:`initspec.backends.jax._walk.leaf_key`), so its values
    depend on the key and its name only; not reproducible on other frameworks (use ``seed=`` for
    that); ``seed`` and ``key`` are exclusive.

        abstract = jax.eval_shape(model.init, jax.random.key(0), x)
        params = init_tree(abstract, "he_normal", seed=1)

    ``names="canonical"`` (or a mapping ``{path: name}`` / a callable ``path -> name or None``)
    names each stream ``prefix + canonical name`` (:mod:`initspec.backends._names`: the path
    without ``params.``, ``kernel`` -> ``weight``...); a bare tree has no module classes, so
    attention projections keep their names and DenseGeneral kernels need a ``layout`` rule: use
    :func:`init_linen` for attention. ``flatten={"fc1": ("hwc", (H, W, C))}`` permutes the input
    axis of the rank-2 kernel of ``fc1`` (``docs/porting.md``).
    """
    check_rules_keys(rules)
    seed, ruleset = checked_args("init_tree", weight, bias, seed, prefix, rules, key=key)
    lay = get_layout(DEFAULT_LAYOUT if layout is None else layout)
    namer = Namer(names, flatten, helper="init_tree")
    leaves, treedef, found = _leaves(params, lay)
    walked = [f for f in found if f is not None]
    rows, values = plan_leaves(walked, ruleset, seed=seed, prefix=prefix, dry_run=dry_run, namer=namer, key=key)
    namer.check_used(leaf.layer for leaf in walked if leaf.dense)
    rep: InitReport = finish(rows, ruleset, framework="jax", strict=strict, dry_run=dry_run, helper="init_tree")
    if dry_run:
        return (params, rep) if report else params
    new, k = [], 0
    for leaf, f in zip(leaves, found):
        if f is not None:
            if rows[k].action == "uncovered" and isinstance(leaf, jax.ShapeDtypeStruct):
                raise ValueError(
                    f"Leaf {prefix + f.info.path!r} ({f.info.name} {rows[k].name_shape()}) is a jax.ShapeDtypeStruct "
                    f"that no rule covers, so the tree could not be applied: give it a rule (rules="
                    f"{{'*.{f.info.name}': scheme}}) or use init_linen(module, ...), which falls back on the "
                    f"module's own initializer.")
            leaf = values.get(k, leaf)
            k += 1
        new.append(leaf)
    out = jax.tree_util.tree_unflatten(treedef, new)
    return (out, rep) if report else out
