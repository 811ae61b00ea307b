"""Whole ``nn.Module`` initialization: :func:`init_module_` gives every parameter a role
(:mod:`._roles`), a rule (:class:`initspec.backends._model.RuleSet`), its layer's layout and groups,
splits stacked matrices into blocks (:mod:`._blocks`: attention q/k/v, RNN gates), validates every
job before any change, then samples each parameter in place (parametrized ones through their
parametrization, once per tied tensor), and returns the :class:`~initspec.backends._model.InitReport`.
The model-level behaviour is the spec's: :mod:`initspec.models`; the user guide is
``docs/model-init-torch.md``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from initspec.errors import InitSpecError
from initspec.models import LSTM_FORGET_GATE, ROLES
from initspec.schemes import get_scheme

from .._model import (
    InitReport, Match, ParamInfo, ParamReport, RuleSet, finish, planned_row, report_row, rule_error, tie_owner)
from .._names import (
    ATTENTION_PROJECTIONS, TORCH_ATTENTION_PARAMS, FlattenSpec, Namer, NameHook, canonical_param, expand_streams, join)
from .._rules import Rule, check_by_type
from ..portable._spec import portable_seed
from ._blocks import Blocks, bias_fans, blocks_of, check_forget_bias, forget_value, fused_qkv
from ._common import spec_dtype_of
from ._roles import layout_for_module, param_role
from ._walk import Entry, assign_, walk
from .inplace import _check_generator, _check_tensor, fill_plan_, initialize_, plan_for

__all__ = ["init_module_", "layout_for_module"]

#: rule params the helper sets itself
RESERVED = ("generator", "stream", "seed")


@dataclass(frozen=True)
class _Job:
    """One tensor to sample: its rule, layout, groups, fans, blocks and fix-ups."""

    entry: Entry
    scheme: str
    params: dict[str, Any]
    layout: Any
    groups: int
    fans: tuple[float, float] | None
    blocks: Blocks | None
    stream: str | None
    padding_idx: int | None = None
    forget: float | None = None
    block_streams: tuple[str, ...] = ()  #: per-block streams (canonical q/k/v), else ``stream[k]``
    perm: Any = None  #: input permutation of a Linear after a flatten (:func:`initspec.backends._names.flatten_permutation`)
    plan: Any = None  #: the report row's plan of an unblocked tensor (sampled from directly, not resolved again)

    @property
    def in_place(self) -> bool:
        """Sampled straight into the parameter (a parametrized tensor or a flatten permutation
        needs a separate value)."""
        return not self.entry.parametrization and self.perm is None

    def _targets(self, t: torch.Tensor) -> list[tuple[torch.Tensor, Any, str | None]]:
        """``(view of t, fans, stream)`` per block (one for an unblocked tensor)."""
        if self.blocks is None:
            return [(t, self.fans, self.stream)]
        uses_fans = get_scheme(self.scheme).uses_fans
        axis = self.blocks.axis
        h = self.blocks.shape[axis]
        out = []
        for k in range(self.blocks.count):
            fans = self.fans
            if fans is None and uses_fans and self.blocks.fans is not None:
                fans = self.blocks.fans[k]
            stream = None if self.stream is None else (
                self.block_streams[k] if self.block_streams else f"{self.stream}[{k}]")
            out.append((t.narrow(axis, k * h, h), fans, stream))
        return out

    def check(self) -> None:
        """Everything ``initialize_`` checks before it samples (the tensor, each block's plan),
        without sampling: run for every job before any parameter changes."""
        dtype = _check_tensor(self.entry.tensor)
        if self.blocks is None:  # its plan is the report row's, already resolved with these arguments
            return
        for t, fans, _ in self._targets(self.entry.tensor):
            plan_for(self.scheme, tuple(t.shape), self.layout, dtype, groups=self.groups, fans=fans, **self.params)

    def sample(self, generator: torch.Generator | None, seed: int | None,
               into: torch.Tensor | None = None) -> torch.Tensor:
        """The new values, written into ``into`` (the parameter itself) or a fresh tensor."""
        new = torch.empty_like(self.entry.tensor.detach()) if into is None else into
        with torch.no_grad():
            for t, fans, stream in self._targets(new):
                self._fill(t, fans, stream, generator, seed)
            if self.perm is not None:
                new = new.index_select(1, torch.as_tensor(self.perm, device=new.device))
            if not new.is_meta:
                if self.padding_idx is not None:
                    new[self.padding_idx].fill_(0)
                if self.forget is not None and self.blocks is not None:
                    h = self.blocks.shape[0]
                    new[LSTM_FORGET_GATE * h:(LSTM_FORGET_GATE + 1) * h].fill_(self.forget)
        return new

    def _fill(self, t: torch.Tensor, fans: Any, stream: str | None, generator: torch.Generator | None,
              seed: int | None) -> None:
        if stream is None and self.blocks is None and self.plan is not None and not t.is_meta:
            fill_plan_(t, self.plan, generator)  # validated by check(): the report's plan, as is
            return
        rng: dict[str, Any] = {"stream": stream, "seed": seed} if stream is not None else {"generator": generator}
        initialize_(t, self.scheme, layout=self.layout, groups=self.groups, fans=fans, **rng, **self.params)


def _check_class_keys(entries: list[Entry], arg: str, mapping: Mapping[Any, Any] | None) -> None:
    """A dict rule of a layer class may only use roles and names of that class's parameters."""
    for cls, value in (mapping or {}).items():
        if not isinstance(cls, type) or not isinstance(value, Mapping):
            continue
        names = sorted({e.name for e in entries if isinstance(e.module, cls)})
        if not names:
            continue  # the class is not in the model: an unused rule (finish warns, or raises if strict)
        bad = [k for k in value if k not in ROLES and not any(fnmatch.fnmatchcase(n, k) for n in names)]
        if bad:
            raise InitSpecError(
                f"Argument `{arg}[{cls.__name__}]` has key(s) {', '.join(map(repr, bad))}, neither a role "
                f"({', '.join(ROLES)}) nor a pattern over the parameter names of {cls.__name__} ({', '.join(names)}). "
                f"Received: {arg}[{cls.__name__}]={dict(value)!r}")


def _info(entry: Entry, ruled: tuple[type, ...]) -> ParamInfo:
    if torch.nn.parameter.is_lazy(entry.tensor):
        raise InitSpecError(
            f"{type(entry.module).__name__}.{entry.name} ({entry.path}) is an uninitialized lazy parameter; run one "
            f"forward pass before init_module_. Received: module={type(entry.module).__name__}")
    try:
        dtype = spec_dtype_of(entry.tensor.dtype)
    except TypeError:
        dtype = str(entry.tensor.dtype).removeprefix("torch.")
    return ParamInfo(entry.path, entry.name, tuple(entry.tensor.shape), dtype, type(entry.module),
                     param_role(entry.module, entry.name, ruled))


def _canonical(entry: Entry, role: str, modules: Mapping[str, torch.nn.Module]) -> tuple[str, str]:
    """``(canonical layer path, built-in canonical name)`` of ``entry`` (:mod:`initspec.backends._names`):
    a fused ``in_proj_weight`` is ``attn.{q,k,v}.weight``, an ``out_proj`` of an attention layer ``o``."""
    layer = entry.path[:-len(entry.name)].rstrip(".")
    mod = entry.module
    if isinstance(mod, torch.nn.MultiheadAttention) and entry.name in TORCH_ATTENTION_PARAMS:
        blocks = TORCH_ATTENTION_PARAMS[entry.name]
        local = blocks[0] if len(blocks) == 1 else "{" + ",".join(b.split(".")[0] for b in blocks) + "}." + (
            blocks[0].split(".")[1])
        return layer, join(layer, local)
    parent, _, last = layer.rpartition(".")
    if last in ATTENTION_PROJECTIONS and isinstance(modules.get(parent), torch.nn.MultiheadAttention):
        layer = join(parent, ATTENTION_PROJECTIONS[last])
    return layer, join(layer, canonical_param(role, entry.name))


def _plan(entry: Entry, info: ParamInfo, match: Match, stream: str | None, forget_bias: float | None,
          also: list[str], fused: dict[int, int], perm: Any = None) -> tuple[ParamReport, _Job]:
    """The report row and sampling job of an initialized parameter (validated: raises naming it)."""
    assert match.rule is not None
    scheme, params = match.rule[0], dict(match.rule[1])
    mod = entry.module
    layout = params.pop("layout", layout_for_module(mod))
    groups = int(params.pop("groups", getattr(mod, "groups", 1) if info.role == "weight" else 1))
    fans = params.pop("fans", None)
    blocks = blocks_of(mod, entry.name, info.shape, fused)
    if fans is None and blocks is None and info.role == "bias" and get_scheme(scheme).uses_fans:
        fans = bias_fans(mod, entry.name, layout, int(getattr(mod, "groups", 1)))
    notes = [blocks.note()] if blocks is not None else []
    if entry.parametrization:
        notes.append(f"set through parametrization {entry.parametrization} (right_inverse)")
    pad = getattr(mod, "padding_idx", None) if info.role == "embedding" and entry.name == "weight" else None
    if pad is not None:
        notes.append(f"padding_idx row {pad} set to 0")
    forget = forget_value(mod, entry.name, forget_bias) if blocks is not None else None
    if forget is not None:
        notes.append(f"forget gate block set to {forget:g}" + (" (bias_ih holds forget_bias)" if not forget else ""))
    if also:
        notes.append("also " + ", ".join(also))
    if perm is not None:
        notes.append("input axis permuted (flatten=)")
    streams = tuple(expand_streams(stream)) if blocks is not None and stream and "{" in stream else ()
    row_fans = fans if fans is not None or blocks is None or blocks.fans is None else blocks.fans[0]
    row, plan = planned_row(info, match, layout=layout, groups=groups, fans=row_fans,
                            block_shape=blocks.shape if blocks is not None else None, stream=stream,
                            note="; ".join(notes))
    return row, _Job(entry, scheme, params, layout, groups, fans, blocks, stream, pad, forget, streams, perm,
                     plan if blocks is None else None)


def _linear_layers(entries: list[Entry], modules: Mapping[str, torch.nn.Module]) -> list[str]:
    return [_canonical(e, "weight", modules)[0] for e in entries if isinstance(e.module, torch.nn.Linear) and e.name == "weight"]


def init_module_(module: torch.nn.Module, weight: Rule = "he_normal", bias: Rule = "zeros", *,
                 rules: Mapping[Any, Any] | None = None, by_type: Mapping[type, Any] | None = None,
                 strict: bool = False, dry_run: bool = False, forget_bias: float | None = None,
                 generator: torch.Generator | None = None, portable: bool = False, seed: int | None = None,
                 prefix: str = "", names: NameHook = None, flatten: FlattenSpec | None = None) -> InitReport:
    """Initialize every parameter of ``module`` in place and return the init report.

    Each name of ``module.named_parameters(remove_duplicate=False)`` gets one report row. Its role
    comes from its layer (:mod:`initspec.backends.torch._roles`): Linear/Conv/ConvTranspose/
    Bilinear/MultiheadAttention/RNN/HF ``Conv1D`` weights -> ``weight``, their biases -> ``bias``
    (the ``weight``/``bias`` arguments); BatchNorm/InstanceNorm/LayerNorm/GroupNorm/RMSNorm (and
    classes named ``*Norm``) -> ones/zeros; Embedding/EmbeddingBag -> ``normal(std=1)``
    (:data:`initspec.models.DEFAULT_ROLE_RULES`); anything else (``cls_token``...) is uncovered:
    kept, reported, an error under ``strict=True``.

    ``rules`` maps path patterns (``"*.in_proj_weight"``, ``"*embeddings*"``) or layer classes
    (``nn.Linear: "glorot_uniform"``, ``nn.LSTM: {"weight_hh*": "orthogonal", "bias": "zeros"}``)
    to a scheme name, ``(scheme, {params})`` (params may set ``layout``, ``groups``, ``fans``) or
    ``"keep"``; ``by_type`` is the older spelling of the layer-class rules. Precedence and syntax:
    :mod:`initspec.backends._model`. A dict key that is neither a role nor the name of a parameter
    of that class is an error; a rule that matches nothing warns (raises under ``strict``).

    Architecture-aware: the layout follows the layer (:func:`layout_for_module`; HF ``Conv1D`` is
    ``(in, out)``) and the layer's ``groups`` enters the fans; MultiheadAttention's fused
    ``in_proj_weight``/``in_proj_bias`` are three q/k/v blocks with the fans of their ``E x E``
    layers; RNN weights and biases are one block per gate (``orthogonal`` per gate);
    ``forget_bias=x`` sets the LSTM forget-gate block of every ``bias_ih*`` to ``x`` and of
    ``bias_hh*`` to 0; a bias takes its weight's (block's) fans; parametrized weights (weight_norm,
    spectral_norm) are set through the parametrization under their logical name; a tied tensor is
    sampled once (an explicit rule's name, else its first name) and its other names reported as
    ``tied``; ``nn.Embedding(padding_idx=p)`` keeps row ``p`` at zero.

    All or nothing for input errors: every rule and tensor is validated before the first parameter
    changes; then each is sampled in place (a runtime failure names those already changed);
    ``dry_run=True`` samples and changes nothing (the RNG state is untouched) and returns the report.

    ``portable=True`` fills each parameter from the portable stream (:mod:`initspec.backends.portable`)
    named ``prefix + path`` (``path`` its name in ``named_parameters()``, a block ``path[k]``) with
    ``seed`` (an int in ``[0, 2**64)``, None means 0): a tensor's values then depend only on
    ``(seed, name)``, scheme and layout, not on the other layers or the framework.
    ``init_module_(model.encoder, portable=True, prefix="encoder.")`` gives the encoder exactly the
    values ``init_module_(model, portable=True)`` would. ``generator`` cannot be combined with
    ``portable=True``; ``seed`` and ``prefix`` need it.

    ``names="canonical"`` (or a mapping ``{path: name}`` / a callable ``path -> name or None``)
    names each stream ``prefix + canonical name`` instead (:mod:`initspec.backends._names`:
    ``conv1.weight``, ``ln1.scale``, the q/k/v blocks of ``attn.in_proj_weight`` are
    ``attn.q.weight``...), the names Keras ``init_model`` and the Flax helpers give the same
    layers, so one portable call per framework gives the same model. ``flatten={"fc1": ("chw",
    (C, H, W))}`` declares that the Linear ``fc1`` reads a flattened map in that order; the
    stream's weight is defined channels-first and permuted for another order (``docs/porting.md``)."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"Argument `module` must be a torch.nn.Module. Received: module={module!r}")
    for arg, val in (("portable", portable), ("strict", strict), ("dry_run", dry_run)):
        if not isinstance(val, bool):
            raise TypeError(f"Argument `{arg}` must be a bool. Received: {arg}={val!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder.'). Received: prefix={prefix!r}")
    if portable:
        seed = portable_seed(seed)
        if generator is not None:
            raise InitSpecError(
                "Arguments `generator` and `portable=True` cannot be used together: the portable "
                f"stream is seeded by seed=. Received: generator={generator!r}, portable=True")
    elif seed is not None or prefix or names is not None:
        raise InitSpecError(
            "Arguments `seed`, `prefix` and `names` name the portable stream; pass portable=True (or use "
            f"generator= for torch's generator). Received: seed={seed!r}, prefix={prefix!r}, names={names!r}, "
            "portable=False")
    _check_generator(generator)
    check_by_type(by_type, "module")
    ruleset = RuleSet(weight, bias, rules, by_type, reserved=RESERVED)
    fb = check_forget_bias(module, forget_bias)
    named = list(module.named_modules(remove_duplicate=False))  # one traversal, shared
    modules = dict(named)
    entries = walk(module, named)
    fused = fused_qkv(module, modules.values())
    _check_class_keys(entries, "rules", rules)
    _check_class_keys(entries, "by_type", by_type)
    namer = Namer(names, flatten, helper="init_module_")
    ruled = tuple(ruleset.types)
    infos = [_info(e, ruled) for e in entries]
    matches = [ruleset.match(i) for i in infos]
    tied: dict[int, list[int]] = {}
    for k, e in enumerate(entries):
        tied.setdefault(e.key, []).append(k)
    owner: dict[int, int] = {}
    for idx in tied.values():
        own = idx[tie_owner([(infos[k], matches[k]) for k in idx])]
        owner.update({k: own for k in idx})
    rows: list[ParamReport] = []
    jobs: list[_Job] = []
    checked: list[tuple[ParamInfo, Match]] = []
    for k, (entry, info, match) in enumerate(zip(entries, infos, matches)):
        if owner[k] != k:
            rows.append(report_row(info, matches[owner[k]], action="tied", note=f"tied to {entries[owner[k]].path}"))
        elif not match.covered:
            rows.append(report_row(info, match, action="uncovered"))
        elif match.rule is None:
            rows.append(report_row(info, match, action="keep"))
        else:
            also = [entries[j].path for j in tied[entry.key] if j != k]
            layer, builtin = _canonical(entry, info.role, modules)
            perm = None
            if isinstance(entry.module, torch.nn.Linear) and entry.name == "weight":
                perm = namer.permutation(layer, info.shape[1])
            stream = prefix + namer.name(entry.path, builtin) if portable else None
            with rule_error(info, match):
                row, job = _plan(entry, info, match, stream, fb, also, fused, perm)
            rows.append(row)
            jobs.append(job)
            checked.append((info, match))
    namer.check_used(_linear_layers(entries, modules))
    report = finish(rows, ruleset, framework="torch", strict=strict, dry_run=dry_run, helper="init_module_")
    if dry_run:
        return report
    for job, (info, match) in zip(jobs, checked):  # every input error surfaces here, before any change
        with rule_error(info, match):
            job.check()
    done: list[str] = []
    for job in jobs:
        try:
            if job.in_place:  # no staging copy: validated above, so only a runtime failure can stop it
                job.sample(generator, seed, into=job.entry.tensor)
            else:
                assign_(job.entry, job.sample(generator, seed))
        except Exception as e:
            if not done:
                raise
            raise InitSpecError(
                f"init_module_ failed while sampling {job.entry.path!r} ({type(e).__name__}: {e}) after every "
                f"rule had been validated; {len(done)} parameter(s) were already re-initialized: "
                f"{', '.join(done)}; {job.entry.path!r} may be partly changed, the others are unchanged.") from e
        done.append(job.entry.path)
    return report
