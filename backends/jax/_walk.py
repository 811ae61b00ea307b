"""The part of the Flax model helpers (:func:`~initspec.backends.jax.init_tree`,
:func:`~initspec.backends.jax.init_linen`, :func:`~initspec.backends.jax.init_nnx_`) that does not
depend on how the parameters were found: roles from leaf names, and :func:`plan_leaves`, which
matches every leaf to its rule (:class:`initspec.backends._model.RuleSet`), validates it, samples
it from the portable stream and writes the report row, changing nothing itself (all or nothing:
the caller assigns the values only after :func:`initspec.backends._model.finish` succeeded).

Roles follow Flax's parameter names (``flax/linen/linear.py``, ``normalization.py``, and the
``flax.nnx`` modules of the same names): ``kernel`` (rank >= 2) is a ``weight``; ``bias`` is a
``bias``, except beside a ``scale`` and no ``kernel`` (LayerNorm, BatchNorm, GroupNorm: their
``bias`` is the shift); ``scale`` is ``norm_scale``; ``embedding`` (``nn.Embed``) is
``embedding``; ``mean``/``var`` in the ``batch_stats`` collection (linen ``BatchNorm``) or in an
``nnx.BatchStat`` are ``norm_mean``/``norm_var``; anything else is ``other``.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from initspec.layouts import Layout, compute_fans, get_layout
from initspec.schemes import get_scheme

from .._model import Match, ParamInfo, ParamReport, RuleSet, report_row, rule_error
from .._names import ATTENTION_PROJECTIONS, BIAS_LAYOUT, Namer, canonical_param, join
from ._checks import dtype_name
from ._initializer import initializer

__all__ = ["FlaxLeaf", "canonical_leaf", "leaf_key", "leaf_role", "path_names", "plan_leaves"]

#: rule params the helpers set themselves
RESERVED = ("stream", "seed", "dtype")


def path_names(path: Sequence[Any]) -> list[str]:
    """Pytree path keys as str: ``DictKey.key``, ``GetAttrKey.name``, ``SequenceKey.idx``."""
    out = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                out.append(str(getattr(k, attr)))
                break
        else:
            out.append(str(k))
    return out


def leaf_role(name: str, rank: int, siblings: Sequence[str], *, stats: bool = False) -> str:
    """The role (:data:`initspec.models.ROLES`) of a Flax leaf called ``name`` of ``rank``, beside
    ``siblings`` (the other leaf names of its module); ``stats`` for the ``batch_stats``
    collection / ``nnx.BatchStat`` (module docstring)."""
    if stats:
        return {"mean": "norm_mean", "var": "norm_var"}.get(name, "other")
    if name == "kernel":
        return "weight" if rank >= 2 else "other"
    if name == "bias":
        return "norm_shift" if "scale" in siblings and "kernel" not in siblings else "bias"
    return {"scale": "norm_scale", "embedding": "embedding"}.get(name, "other")


@dataclass(frozen=True)
class FlaxLeaf:
    """One leaf as a Flax walker sees it: its :class:`ParamInfo`, its path keys (the module's
    keys are ``parts[:-1]``), its layout (the logical one of a DenseGeneral/LinearGeneral kernel,
    :func:`initspec.models.dense_general_layout`), its gate blocks (one per RNN gate, each
    initialized as its own matrix, stream ``stream[k]``) and which one is an LSTM forget gate."""

    info: ParamInfo
    parts: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: Any
    layout: Layout
    gates: int = 1  #: gate blocks stacked along the last axis (nnx OptimizedLSTMCell 4, GRUCell 3)
    forget_block: int | None = None  #: the block of an LSTM forget-gate bias (0 for a whole leaf)
    layer: str = ""  #: canonical layer path (:mod:`initspec.backends._names`)
    canonical: str = ""  #: built-in canonical name (``layer.weight``)
    dense: bool = False  #: a Dense/Linear ``(in, out)`` kernel, which a ``flatten=`` declaration may name
    groups: int = 1  #: a grouped convolution's ``feature_group_count`` (enters the kernel's fans, as torch/Keras)


def canonical_leaf(module_path: Sequence[str], name: str, role: str, attention: bool) -> tuple[str, str]:
    """``(canonical layer path, built-in canonical name)`` of the leaf ``name`` of the module at
    ``module_path`` (no collection); ``attention``: the module is a projection of an attention
    layer (``query``/``key``/``value``/``out`` -> ``q``/``k``/``v``/``o``)."""
    parts = list(module_path)
    if attention and parts and parts[-1] in ATTENTION_PROJECTIONS:
        parts[-1] = ATTENTION_PROJECTIONS[parts[-1]]
    layer = join(*parts)
    return layer, join(layer, canonical_param(role, name))


def _init(match: Match, leaf: FlaxLeaf, stream: str | None, seed: int) -> Any:
    """The portable initializer of ``leaf`` under its rule (rule params may set ``layout``,
    ``groups``, ``fans`` and JAX's ``in_axis``/``out_axis``/``batch_axis``)."""
    assert match.rule is not None
    scheme, kw = match.rule
    kw = dict(kw)
    layout = kw.pop("layout", leaf.layout)
    if leaf.groups > 1 and leaf.info.role == "weight":
        kw.setdefault("groups", leaf.groups)
    return initializer(scheme, layout=layout, stream=stream, seed=seed if stream is not None else None, **kw)


def leaf_key(key: Any, stream: str) -> Any:
    """The ``jax.random`` key of the leaf (or gate block) named ``stream`` in native mode (``key=``):
    ``jax.random.fold_in(key, crc32(stream) mod 2**31)``. A function of the name, not of the order
    of the leaves (as Flax folds each module's path into its rng), so adding a layer changes no
    other leaf's values; two names share a key only on a 31-bit CRC collision."""
    return jax.random.fold_in(key, zlib.crc32(stream.encode("utf-8")) & 0x7FFFFFFF)


def _block(leaf: FlaxLeaf) -> tuple[int, ...]:
    """The shape of one gate block of ``leaf`` (the whole shape without gates)."""
    return leaf.shape if leaf.gates == 1 else (*leaf.shape[:-1], leaf.shape[-1] // leaf.gates)


def _fans(init: Any, shape: tuple[int, ...]) -> tuple[float, float] | None:
    f = init.plan(shape).fans
    return None if f is None else (f.fan_in, f.fan_out)


def plan_leaves(leaves: Sequence[FlaxLeaf], rules: RuleSet, *, seed: int, prefix: str, dry_run: bool,
                forget_bias: float | None = None, namer: Namer | None = None,
                key: Any = None) -> tuple[list[ParamReport], dict[int, Any]]:
    """The report rows of ``leaves`` and the new value of every leaf to initialize (by index; none
    in a dry run). A bias whose scheme uses fans takes its sibling kernel's fans (as that kernel's
    rule computes them, else its layout's); ``forget_bias`` sets an LSTM forget-gate bias that no
    rule of the user names (``rules=`` wins). ``namer``: canonical stream names and ``flatten=``
    (:mod:`initspec.backends._names`); a multi-axis bias is then drawn in C order. ``key``: sample
    natively with ``jax.random`` from :func:`leaf_key` ``(key, stream name)`` instead of the
    portable stream (the report then shows no stream)."""
    namer = namer or Namer(helper="init_tree")
    if namer.canonical:
        bias_layout = get_layout(BIAS_LAYOUT)
        leaves = [dataclasses.replace(leaf, layout=bias_layout) if leaf.info.role == "bias" and len(leaf.shape) >= 2
                  else leaf for leaf in leaves]
    matches = [rules.match(leaf.info) for leaf in leaves]
    forget = None if forget_bias is None else Match(("constant", {"value": float(forget_bias)}), "forget_bias=")
    if forget is not None:
        matches = [forget if leaf.forget_block is not None and leaf.gates == 1 and not m.explicit else m
                   for leaf, m in zip(leaves, matches)]
    kernels = {leaf.parts[:-1]: i for i, leaf in enumerate(leaves) if leaf.info.role == "weight"
               and leaf.info.name == "kernel"}

    def kernel_fans(i: int) -> tuple[float, float]:
        k, m = leaves[i], matches[i]
        shape = _block(k)
        f = _fans(_init(m, k, None, 0), shape) if m.rule is not None else None
        if f is None:
            c = compute_fans(shape, k.layout)
            f = (c.fan_in, c.fan_out)
        return f

    rows: list[ParamReport] = []
    values: dict[int, Any] = {}
    for i, (leaf, match) in enumerate(zip(leaves, matches)):
        info = leaf.info
        if match.rule is None:
            rows.append(report_row(info, match, action="keep" if match.covered else "uncovered"))
            continue
        stream = prefix + namer.name(info.path, leaf.canonical or info.path)
        perm = namer.permutation(leaf.layer, leaf.shape[0]) if leaf.dense else None
        with rule_error(info, match):
            init = _init(match, leaf, stream if key is None else None, seed)
            if info.role == "bias" and get_scheme(match.rule[0]).uses_fans and init.fans is None:
                sibling = kernels.get(leaf.parts[:-1])
                if sibling is None:
                    raise ValueError(
                        f"Bias {stream!r} has no sibling 'kernel' (rank >= 2) to take fans from, and scheme "
                        f"{match.rule[0]!r} uses fans: give the rule fans=(fan_in, fan_out) or use a scheme "
                        f"without fans. Received: {match.source}{match.rule!r}")
                init.fans = kernel_fans(sibling)
            shape = _block(leaf)
            plan = init.plan(shape, dtype_name(leaf.dtype))
            note = "input axis permuted (flatten=)" if perm is not None else ""
            if leaf.gates > 1:
                note = f"{leaf.gates} gate blocks of {'x'.join(map(str, shape))}"
            blocks = [init] * leaf.gates
            if forget is not None and leaf.forget_block is not None and leaf.gates > 1 and not match.explicit:
                blocks[leaf.forget_block] = _init(forget, leaf, stream if key is None else None, seed)
                note += f"; forget gate block {leaf.forget_block} = {forget_bias!r} (forget_bias=)"
            rows.append(report_row(info, match, layout=init.layout, groups=init.groups,
                                   fans=None if plan.fans is None else (plan.fans.fan_in, plan.fans.fan_out),
                                   kw=dict(init.params), block_shape=shape if leaf.gates > 1 else None,
                                   stream=stream if key is None else None, note=note))
            if not dry_run:
                if leaf.gates == 1:
                    values[i] = init(None if key is None else leaf_key(key, stream), shape, leaf.dtype)
                    if perm is not None:
                        values[i] = jnp.take(values[i], jnp.asarray(perm), axis=0)
                elif key is None:
                    values[i] = jnp.concatenate([_restream(b, f"{stream}[{k}]", seed)(None, shape, leaf.dtype)
                                                 for k, b in enumerate(blocks)], axis=-1)
                else:
                    values[i] = jnp.concatenate([b(leaf_key(key, f"{stream}[{k}]"), shape, leaf.dtype)
                                                 for k, b in enumerate(blocks)], axis=-1)
    return rows, values


def _restream(init: Any, stream: str, seed: int) -> Any:
    """``init`` drawing from ``stream`` (a gate block's own stream)."""
    out = initializer(init.scheme, layout=init.layout, stream=stream, seed=seed, groups=init.groups,
                      fans=init.fans, **init.params)
    return out
