"""``flax.nnx`` models: :func:`init_nnx_` initializes a module's ``nnx.Param`` and ``nnx.BatchStat``
variables in place from the portable stream, with rules by nnx class and path pattern, and says
what it did (all or nothing).

Architecture facts, from Flax's source (flax/nnx/nn/):

* ``LinearGeneral`` (also ``MultiHeadAttention``'s ``query``/``key``/``value``/``out``) stores
  its kernel as ``(*batch, *in_features, *out_features)`` and its ``kernel_init_wrap`` draws the
  flat ``(prod(batch + in), prod(out))`` matrix (linear.py): the spec's logical fans
  (:func:`initspec.models.dense_general_layout`, batch axes left out of the fans).
* ``OptimizedLSTMCell`` stacks the gates ``i, f, g, o`` along the last axis of ``dense_i``
  ``(in, 4H)`` and ``dense_h`` ``(H, 4H)`` (``jnp.split(y, 4, axis=-1)`` in ``__call__``), and
  only ``dense_h`` has a bias; ``GRUCell`` stacks ``r, z, n`` in ``dense_i``/``dense_h`` ``(., 3H)``,
  only ``dense_i`` with a bias (recurrent.py). Each gate block is initialized as its own matrix
  (stream ``path[k]``); natively Flax draws ``orthogonal`` over the whole stacked ``(H, 4H)``.
  ``LSTMCell`` keeps one ``Linear`` per gate (``ii``, ``if_``, ... ``hf``, ``ho``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from initspec.layouts import Layout, get_layout
from initspec.models import LSTM_FORGET_GATE, RNN_GATES, dense_general_layout

from .._model import InitReport, ParamInfo, finish
from .._names import FlattenSpec, Namer, NameHook
from ._checks import DEFAULT_LAYOUT, describe, dtype_name
from ._walk import FlaxLeaf, canonical_leaf, leaf_role, plan_leaves
from .tree import checked_args

__all__ = ["init_nnx_"]


def _cells() -> dict[type, tuple[int, str]]:
    """nnx cells with stacked gates: ``{class: (gates, the Linear that has the bias)}``."""
    from flax import nnx

    return {nnx.OptimizedLSTMCell: (RNN_GATES["LSTM"], "dense_h"), nnx.GRUCell: (RNN_GATES["GRU"], "dense_i")}


def linear_general_layout(module: Any, rank: int) -> Layout:
    """The logical layout of an nnx ``LinearGeneral`` kernel (module docstring)."""
    nb, ni, no = len(module.batch_axis), len(module.in_features), len(module.out_features)
    return dense_general_layout(rank, range(nb, nb + ni), range(rank - no, rank), framework="flax.nnx")


def _walk(model: Any, default: Layout) -> tuple[list[FlaxLeaf], list[Any]]:
    """Every ``Param``/``BatchStat`` of ``model`` as a :class:`FlaxLeaf`, and the variables."""
    from flax import nnx

    modules: dict[tuple[str, ...], Any] = {}
    found: list[tuple[tuple[str, ...], Any]] = []
    for path, node in nnx.iter_graph(model):
        key = tuple(str(p) for p in path)
        if isinstance(node, nnx.Module):
            modules[key] = node
        elif isinstance(node, (nnx.Param, nnx.BatchStat)):
            found.append((key, node))
    siblings: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for key, _ in found:
        siblings[key[:-1]].append(key[-1])
    cells = _cells()
    leaves = []
    for key, var in found:
        value = var.get_value()
        if not (hasattr(value, "shape") and hasattr(value, "dtype")):
            raise TypeError(f"Variable {'.'.join(key)!r} must hold an array. Received: {describe(value)}")
        name, shape, owner = key[-1], tuple(value.shape), modules.get(key[:-1])
        role = leaf_role(name, len(shape), siblings[key[:-1]], stats=isinstance(var, nnx.BatchStat))
        layout, gates, forget = default, 1, None
        if name == "kernel" and isinstance(owner, nnx.LinearGeneral) and len(shape) >= 2:
            layout = linear_general_layout(owner, len(shape))
        parent = modules.get(key[:-2]) if len(key) >= 2 else None
        cell = cells.get(type(parent)) if parent is not None else None
        if cell is not None and key[-2] in ("dense_i", "dense_h"):
            gates = cell[0]
            if name == "bias" and isinstance(parent, nnx.OptimizedLSTMCell):
                forget = LSTM_FORGET_GATE
        elif name == "bias" and key[-2] == "hf" and isinstance(parent, nnx.LSTMCell):
            forget = 0
        info = ParamInfo(".".join(key), name, shape, dtype_name(value.dtype),
                         type(owner) if owner is not None else None, role)
        layer, canonical = canonical_leaf(key[:-1], name, role, isinstance(parent, nnx.MultiHeadAttention))
        dense = name == "kernel" and isinstance(owner, nnx.Linear) and len(shape) == 2
        grouped = name == "kernel" and isinstance(owner, nnx.Conv)
        leaves.append(FlaxLeaf(info, key, shape, value.dtype, layout, gates=gates, forget_block=forget, layer=layer,
                               canonical=canonical, dense=dense,
                               groups=int(getattr(owner, "feature_group_count", 1)) if grouped else 1))
    return leaves, [var for _, var in found]


def init_nnx_(model: Any, weight: Any = "he_normal", bias: Any = "zeros", *, rules: Mapping[Any, Any] | None = None,
              by_type: Mapping[type, Any] | None = None, seed: int | None = None, prefix: str = "",
              strict: bool = False, dry_run: bool = False, forget_bias: float | None = None,
              names: NameHook = None, flatten: FlattenSpec | None = None, key: Any = None) -> InitReport:
    """Initialize the ``nnx.Param``/``nnx.BatchStat`` variables of the ``flax.nnx`` module
    ``model`` in place from the portable stream; returns the :class:`~initspec.backends._model.InitReport`.

    Rules as :func:`init_linen` (:mod:`initspec.backends._model`): path patterns over the dotted
    path (``"blocks.0.attn.query.kernel"``, ``"*.embedding"``), nnx classes (``{nnx.Linear:
    "glorot_uniform", nnx.LayerNorm: {"norm_scale": "ones"}}``, matched on the variable's owner
    module), then ``weight``/``bias`` for kernels and biases and
    :data:`initspec.models.DEFAULT_ROLE_RULES` for norms, batch statistics and embeddings.
    ``LinearGeneral``/``MultiHeadAttention`` kernels get the logical fans; ``OptimizedLSTMCell``
    and ``GRUCell`` kernels are initialized per gate block; ``forget_bias=`` sets the LSTM
    forget-gate bias (module docstring). A variable no rule covers keeps its value (reported
    ``uncovered``; ``strict=True`` raises naming all of them). Every new value is computed first and
    assigned only after everything succeeded, so a failed call leaves ``model`` unchanged;
    ``dry_run=True`` changes nothing.

    An ``nnx.State`` (from ``nnx.split``) is refused: call this on the module (``nnx.merge``
    first), or use :func:`init_tree` on ``state.to_pure_dict()``. ``seed=None`` means 0; each
    variable's stream is ``prefix + path``, or ``prefix + canonical name`` with ``names=`` and
    ``flatten=`` as :func:`init_linen` (``docs/porting.md``). ``key=jax.random.key(0)`` samples
    natively with ``jax.random`` instead (each variable from ``fold_in(key, crc32(its stream
    name))``, as :func:`init_tree`); exclusive with ``seed``.
    """
    from flax import nnx

    if isinstance(model, nnx.State):
        raise TypeError("init_nnx_ initializes an nnx.Module in place; it was given an nnx.State. Call it on the "
                        "module (model = nnx.merge(graphdef, state)), or use init_tree(state.to_pure_dict()) for a "
                        "pure pytree (roles by leaf name, path rules only).")
    if not isinstance(model, nnx.Module):
        raise TypeError(f"Argument `model` must be a flax.nnx.Module. Received: {describe(model)}")
    seed, ruleset = checked_args("init_nnx_", weight, bias, seed, prefix, rules, by_type, key=key)
    namer = Namer(names, flatten, helper="init_nnx_")
    leaves, variables = _walk(model, get_layout(DEFAULT_LAYOUT))
    rows, values = plan_leaves(leaves, ruleset, seed=seed, prefix=prefix, dry_run=dry_run, forget_bias=forget_bias,
                               namer=namer, key=key)
    namer.check_used(leaf.layer for leaf in leaves if leaf.dense)
    report = finish(rows, ruleset, framework="flax.nnx", strict=strict, dry_run=dry_run, helper="init_nnx_")
    for i, value in values.items():
        variables[i].set_value(value)
    return report
