"""Whole Keras models on any Keras backend (``KERAS_BACKEND=tensorflow``, ``jax``, ``torch``):
:func:`init_model` re-initializes every variable of a built model by rules (layer class, path
pattern, role defaults), architecture-aware (logical fans of ``EinsumDense``/``MultiHeadAttention``
kernels, one block per RNN gate), all or nothing, and returns an :class:`~initspec.backends._model.InitReport`.
The rules, precedence and report are the shared core's (:mod:`initspec.backends._model`); the
model-level spec is :mod:`initspec.models`. See ``docs/model-init-keras.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras
from initspec.backends._names import (
    ATTENTION_PROJECTIONS, BIAS_LAYOUT, FlattenSpec, Namer, NameHook, canonical_param, join)
from initspec.backends._model import (
    InitReport, Match, ParamInfo, ParamReport, RuleSet, finish, report_row, rule_error, tie_owner)
from initspec.backends._rules import Rule, check_by_type
from initspec.errors import InitSpecError, check_finite
from initspec.layouts import Layout, compute_fans
from initspec.models import LSTM_FORGET_GATE
from initspec.schemes import get_scheme

from ._layers import (
    GATED_VARIABLES, LSTM_CELLS, VariableEntry, gate_count, groups_of, layout_for_variable, variable_role,
    walk_variables)
from ._seeds import SeedSequence, check_seed, portable_seed
from ._values import sample_tensor

__all__ = ["init_model", "layout_for_variable"]

_HELPER = "init_model"
#: source of the built-in rule that keeps random-seed state (``SeedGenerator``: not a parameter)
SEED_STATE = "seed-generator state (not a parameter)"


@dataclass(frozen=True)
class _Job:
    """How to compute one variable's new value (a tensor, or ``blocks`` gate blocks along the
    last axis; ``forget`` fills the LSTM forget-gate block of a bias)."""

    variable: Any
    scheme: str
    params: dict[str, Any]
    layout: str | Layout | None
    groups: int
    fans: tuple[float, float] | None
    blocks: int
    stream: str | None
    forget: float | None
    perm: Any = None  #: input permutation of a Dense kernel after a flatten (``flatten=``)


def _info(entry: VariableEntry, layer: keras.layers.Layer | None) -> ParamInfo:
    var = entry.variable
    return ParamInfo(var.path, var.name, tuple(int(d) for d in var.shape), var.dtype,  # Variable.dtype is standardized
                     type(layer) if layer is not None else None, variable_role(layer, var.name))


def _match(rules: RuleSet, entry: VariableEntry) -> tuple[ParamInfo, Match, keras.layers.Layer | None]:
    """The info and rule of ``entry``: for each owner (tied variables: :func:`tie_owner`), its own
    class rules, else an enclosing layer's class rules (an ``LSTM`` entry reaches its cell), else
    the role default."""
    if not entry.owners:
        info = _info(entry, None)
        return info, (Match(None, SEED_STATE) if entry.seed_state else rules.match(info)), None
    found = []
    for owner in entry.owners:
        info = _info(entry, owner)
        match = rules.match(info)
        if not match.explicit:
            for anc in entry.ancestors:
                if not rules.has_class_rule(type(anc)):
                    continue  # no class rule to inherit (the common case): skip the match
                inherited = rules.match(dataclasses.replace(info, layer=type(anc)))
                if inherited.explicit:
                    match = inherited
                    break
        found.append((info, match, owner))
    found.sort(key=lambda f: not f[1].covered)  # a tie: an owner with a rule before one without
    i = tie_owner([(info, match) for info, match, _ in found])
    return found[i]


def _kernel_fans(layer: keras.layers.Layer, blocks: int, groups: int) -> tuple[float, float] | None:
    """Fans of ``layer``'s ``kernel`` (else its last ``*_kernel``, e.g. SeparableConv's pointwise),
    per gate block for gated cells: what a bias whose scheme needs fans gets."""
    kernels = [v for v in layer.weights if v.name == "kernel" or v.name.endswith("_kernel")]
    kernel = next((v for v in kernels if v.name == "kernel"), kernels[-1] if kernels else None)
    if kernel is None or len(kernel.shape) < 2:
        return None
    shape = tuple(int(d) for d in kernel.shape)
    shape = shape[:-1] + (shape[-1] // blocks,)
    f = compute_fans(shape, layout_for_variable(layer, kernel.name), groups=groups)
    return f.fan_in, f.fan_out


def canonical_layer(entry: VariableEntry) -> str:
    """The canonical layer path (:mod:`initspec.backends._names`) of ``entry``'s creating layer:
    the layer names below the model, ``.``-joined; an attention projection (``query``,
    ``attention_output``...) of a ``MultiHeadAttention`` by its canonical name (``q``, ``o``)."""
    if not entry.owners or not entry.ancestors:
        return ""
    layer = entry.owners[0]
    last = layer.name
    if isinstance(entry.ancestors[0], keras.layers.MultiHeadAttention) and last in ATTENTION_PROJECTIONS:
        last = ATTENTION_PROJECTIONS[last]
    return join(*[a.name for a in reversed(entry.ancestors[:-1])], last)


def _plan(entry: VariableEntry, rules: RuleSet, *, forget_bias: float | None, portable: bool,
          prefix: str, namer: Namer) -> tuple[ParamReport, _Job | None]:
    """The report row of one variable and, if it is initialized, its job (validated now)."""
    info, match, layer = _match(rules, entry)
    if match.rule is None:
        return report_row(info, match, action="keep" if match.covered else "uncovered"), None
    scheme, params = match.rule
    params = dict(params)
    blocks = gate_count(layer) if info.name in GATED_VARIABLES else 1
    weight = info.role == "weight"
    layout = params.pop("layout", layout_for_variable(layer, info.name) if weight and layer is not None
                        else "keras")
    groups = params.pop("groups", groups_of(layer) if weight else 1)
    fans = params.pop("fans", None)
    if info.role == "bias" and fans is None and layer is not None and get_scheme(scheme).uses_fans:
        fans = _kernel_fans(layer, blocks, groups_of(layer))
    notes, forget = [], None
    if blocks > 1:
        if not info.shape or info.shape[-1] % blocks:
            raise InitSpecError(f"Parameter {info.path!r} of {type(layer).__name__} has shape {info.shape}: its last "
                                f"axis does not split into {blocks} gate blocks")
        block_shape = info.shape[:-1] + (info.shape[-1] // blocks,)
        notes.append(f"{blocks} gate blocks of {'x'.join(map(str, block_shape))}")
        if info.role == "bias" and isinstance(layer, LSTM_CELLS):
            forget = forget_bias if forget_bias is not None else (1.0 if getattr(layer, "unit_forget_bias", False) else None)
            if forget is not None:
                why = "forget_bias=" if forget_bias is not None else "unit_forget_bias"
                notes.append(f"forget-gate block set to {forget:g} ({why})")
    else:
        block_shape = None
    if len(entry.owners) > 1:
        notes.append("shared by layers " + ", ".join(o.name for o in entry.owners))
    layer_path = canonical_layer(entry)
    perm = None
    if isinstance(layer, keras.layers.Dense) and info.name == "kernel" and len(info.shape) == 2:
        perm = namer.permutation(layer_path, info.shape[0])
        if perm is not None:
            notes.append("input axis permuted (flatten=)")
    if namer.canonical and info.role == "bias" and len(info.shape) >= 2 and "layout" not in match.rule[1]:
        layout = BIAS_LAYOUT  # C order, as torch's fused (E,) q/k/v bias blocks (initspec.backends._names)
    stream = prefix + namer.name(info.path, join(layer_path, canonical_param(info.role, info.name))) if portable else None
    with rule_error(info, match):
        row = report_row(info, match, layout=layout, groups=groups, fans=fans, kw=params, block_shape=block_shape,
                         stream=stream, note="; ".join(notes))
    return row, _Job(entry.variable, scheme, params, layout, groups, fans, blocks, stream, forget, perm)


def _value(job: _Job, seed: Any) -> Any:
    """The new value of ``job``'s variable (blocks concatenated along the last axis)."""
    var = job.variable
    shape, dtype = tuple(int(d) for d in var.shape), keras.backend.standardize_dtype(var.dtype)
    if job.blocks == 1:
        value = sample_tensor(job.scheme, shape, dtype, layout=job.layout, groups=job.groups, fans=job.fans,
                              params=job.params, seed=seed, stream=job.stream)
        return value if job.perm is None else keras.ops.take(value, keras.ops.convert_to_tensor(job.perm), axis=0)
    block = shape[:-1] + (shape[-1] // job.blocks,)
    parts = [sample_tensor(job.scheme, block, dtype, layout=job.layout, groups=job.groups, fans=job.fans,
                           params=job.params, seed=seed, stream=None if job.stream is None else f"{job.stream}[{k}]")
             for k in range(job.blocks)]
    if job.forget is not None:
        parts[LSTM_FORGET_GATE] = keras.ops.full(block, job.forget, dtype=dtype)
    return keras.ops.concatenate(parts, axis=-1)


def _check_args(model: Any, portable: Any, prefix: Any, strict: Any, dry_run: Any, seed: Any, names: Any) -> Any:
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"Argument `model` must be a keras Model or Layer. Received: model={model!r}")
    for name, value in (("portable", portable), ("strict", strict), ("dry_run", dry_run)):
        if not isinstance(value, bool):
            raise TypeError(f"Argument `{name}` must be a bool. Received: {name}={value!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder/'). Received: prefix={prefix!r}")
    if portable:
        return portable_seed(seed, "portable=True")
    if prefix or names is not None:
        raise InitSpecError("Arguments `prefix` and `names` name the portable streams; pass portable=True. "
                            f"Received: prefix={prefix!r}, names={names!r}, portable=False")
    try:
        seed = check_seed(seed)
    except ValueError as e:
        raise TypeError(str(e)) from None
    return seed if isinstance(seed, keras.random.SeedGenerator) else keras.random.SeedGenerator(seed)


def init_model(model: keras.layers.Layer, weight: Rule = "glorot_uniform", bias: Rule = "zeros", *,
               rules: Mapping[Any, Any] | None = None, by_type: Mapping[type, Any] | None = None,
               strict: bool = False, dry_run: bool = False, forget_bias: float | None = None, seed: Any = None,
               portable: bool = False, prefix: str = "", names: NameHook = None,
               flatten: FlattenSpec | None = None) -> InitReport:
    """Re-initialize every variable of the built Keras ``model`` (or layer) in place
    (``variable.assign``) and return the :class:`~initspec.backends._model.InitReport` (one row per
    variable of ``model.variables``: print it, ``.to_json()``).

    **Roles** (:mod:`._layers`): ``kernel``/``*_kernel`` -> ``weight`` (the ``weight`` rule),
    ``bias`` -> ``bias``; BatchNormalization/LayerNormalization/GroupNormalization ``gamma``/``beta``/
    ``moving_mean``/``moving_variance`` (RMSNormalization ``scale``) and Embedding ``embeddings``
    get :data:`initspec.models.DEFAULT_ROLE_RULES`; anything else is uncovered (kept, reported, an
    error under ``strict``). ``SeedGenerator`` state is kept (it is no parameter).

    **Rules** (``rules=``, shared core :mod:`initspec.backends._model`): path patterns on
    ``variable.path`` (``"*/query/kernel"``, ``"*embeddings*"``) and layer classes
    (``{keras.layers.Conv2D: "he_normal", keras.layers.LSTM: {"recurrent_kernel": "orthogonal"}}``);
    ``by_type=`` is the older spelling of layer-class rules. A class rule of an enclosing layer
    reaches sublayers without one of their own (an ``LSTM`` entry covers its ``LSTMCell``).

    **Architecture**: the layout follows the layer (:func:`layout_for_variable`: depthwise,
    transposed conv, ``EinsumDense`` logical fans), the layer's ``groups`` enters the kernel's
    fans, a bias whose scheme needs fans gets its kernel's; ``LSTMCell``/``GRUCell`` kernels,
    recurrent kernels and biases are G gate blocks along the last axis, each initialized as its
    own tensor (orthogonal per gate); an LSTM bias keeps Keras' ``unit_forget_bias`` (forget block
    1 after the bias rule, ``keras/src/layers/rnn/lstm.py::LSTMCell.build``) unless ``forget_bias``
    sets that block for every LSTM.

    **Seeds**: ``portable=False``: natively (``keras.random``), one ``keras.random.SeedGenerator``
    for all variables (``seed`` an int or a generator; None: random). ``portable=True``: variable
    ``v`` draws the portable stream ``prefix + v.path`` (a gate block ``[k]`` appended) with
    ``seed`` (an int in ``[0, 2**64)``, None means 0), the same values on every framework.
    ``names="canonical"`` (or a mapping ``{variable.path: name}`` / a callable ``path -> name or
    None``) names the stream ``prefix + canonical name`` instead (:mod:`initspec.backends._names`:
    ``conv1.weight``, ``ln1.scale``, ``attn.q.weight``), the names torch ``init_module_`` and the
    Flax helpers give the same layers. ``flatten={"fc1": ("hwc", (H, W, C))}`` declares that the
    Dense ``fc1`` reads a flattened map in that order (``Flatten`` of channels-last data); the
    stream's kernel is defined channels-first and its input axis permuted (``docs/porting.md``).

    ``strict=True`` raises naming every uncovered variable and unused rule; ``dry_run=True``
    validates and reports without sampling. All or nothing: every value is computed before the
    first ``assign``. An unbuilt model raises: build it first.
    """
    seed = _check_args(model, portable, prefix, strict, dry_run, seed, names)
    namer = Namer(names, flatten, helper=_HELPER)
    check_by_type(by_type, "layer")
    ruleset = RuleSet(weight, bias, rules, by_type, reserved=("seed", "stream"))
    entries = list(walk_variables(model))
    if forget_bias is not None:
        check_finite("forget_bias", forget_bias)
        cells = [o for e in entries for o in e.owners if isinstance(o, LSTM_CELLS)]
        if not cells:
            rnn = sorted({o.name for e in entries for o in e.owners if gate_count(o) > 1})
            raise InitSpecError(
                f"Argument `forget_bias` sets the forget gate of LSTM biases, but model {model.name!r} has no "
                f"LSTM cell" + (f" (GRU layers have no forget gate: {', '.join(rnn)})" if rnn else "")
                + f". Received: forget_bias={forget_bias!r}")
    planned = [_plan(e, ruleset, forget_bias=forget_bias, portable=portable, prefix=prefix, namer=namer)
               for e in entries]
    namer.check_used(canonical_layer(e) for e in entries if e.owners and isinstance(e.owners[0], keras.layers.Dense))
    report = finish([row for row, _ in planned], ruleset, framework=f"keras/{keras.backend.backend()}",
                    strict=strict, dry_run=dry_run, helper=_HELPER)
    if dry_run:
        return report
    draws = SeedSequence(seed) if isinstance(seed, keras.random.SeedGenerator) else seed
    values = [(job.variable, _value(job, draws)) for _, job in planned if job is not None]
    if draws is not seed:
        draws.commit()
    for var, value in values:
        var.assign(value)
    return report
