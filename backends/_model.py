"""Whole-model initialization, framework-free: the rules users write, how one parameter finds its
rule, and the init report every model helper returns (torch ``init_module_``, Keras
``init_model``, Flax ``init_tree``/``init_linen``, nnx ``init_nnx_``).

A walker (one per framework) describes each parameter as a :class:`ParamInfo` (path, local name,
shape, dtype, owner layer type, role from :data:`initspec.models.ROLES`); :class:`RuleSet` finds its
rule; the walker samples it and records a :class:`ParamReport`; :func:`finish` makes the
:class:`InitReport` and enforces ``strict``.

**Rules** (``rules=`` of every helper): a mapping whose keys are

* a **path pattern** (a str, :func:`fnmatch.fnmatchcase` on the parameter's full path, e.g.
  ``"*.in_proj_weight"``, ``"*embeddings*"``, ``"encoder/*/kernel"``): its value is one rule;
* a **layer class** (``nn.Linear``, ``keras.layers.Dense``, ``flax.linen.Dense``): a plain rule
  sets the layer's main tensor (roles :data:`PLAIN_RULE_ROLES`: kernels, an embedding table, a
  norm's scale), or a dict maps keys to rules, a key being the local parameter name
  (``"weight"``, ``"in_proj_weight"``, ``"gamma"``), a pattern over it (``"weight_hh*"``), or a
  role (``"weight"``, ``"bias"``, ``"norm_scale"``, ``"embedding"``...).

A rule is a scheme name, ``(scheme, {params})`` (params may also set ``layout``, ``groups``,
``fans``), or ``"keep"``/None (leave the parameter as it is, reported as kept).

**Precedence**: the first matching path pattern (in the mapping's order); else the most specific
layer class of the owner's MRO (an exact local-name key before a role key); else the role's
default (``weight=``/``bias=`` args, :data:`initspec.models.DEFAULT_ROLE_RULES`); else the
parameter is *uncovered*: kept, reported, and an error under ``strict=True``.
"""

from __future__ import annotations

import fnmatch
import json
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from initspec.distributions import Plan
from initspec.errors import InitSpecError
from initspec.layouts import Layout
from initspec.models import DEFAULT_ROLE_RULES, ROLES
from initspec.schemes import get_scheme

from ._core import cached_resolve
from ._rules import Rule, split_rule

__all__ = ["InitReport", "Match", "ParamInfo", "ParamReport", "RuleSet", "finish", "planned_row", "report_row", "rule_error",
           "tie_owner"]

KEEP = "keep"

#: the roles a plain (non-dict) layer-class rule sets: the layer's main tensor
PLAIN_RULE_ROLES = ("weight", "embedding", "norm_scale")

#: actions a report row can record
ACTIONS = ("init", "keep", "tied", "uncovered")


@dataclass(frozen=True)
class ParamInfo:
    """One parameter as a walker sees it."""

    path: str  #: full path in the framework's own naming (``encoder.0.weight``, ``dense/kernel``)
    name: str  #: local name in its layer (``weight``, ``in_proj_weight``, ``kernel``, ``gamma``)
    shape: tuple[int, ...]
    dtype: str
    layer: type | None  #: the owner layer's class (None for a bare pytree leaf)
    role: str  #: one of :data:`initspec.models.ROLES`


@dataclass(frozen=True)
class Match:
    """The rule a parameter got: ``rule`` None means keep; ``source`` says where it came from
    (``"rules['*.in_proj_weight']"``, ``"rules[Linear]['weight']"``, ``"weight="``,
    ``"default norm_scale"``), None when no rule covers the parameter; ``explicit`` is True for
    the user's own ``rules`` entries (they win over defaults on a tied parameter)."""

    rule: tuple[str, dict[str, Any]] | None
    source: str | None
    explicit: bool = False

    @property
    def covered(self) -> bool:
        return self.source is not None


def _parse_rule(rule: Rule, arg: str) -> tuple[str, dict[str, Any]] | None:
    """A rule as ``(canonical scheme, params)`` or None (keep); unknown schemes fail now."""
    if isinstance(rule, str) and rule == KEEP:
        return None
    split = split_rule(rule, arg)
    if split is None:
        return None
    return get_scheme(split[0]).name, split[1]


class RuleSet:
    """The rules of one helper call: ``weight``/``bias`` (role defaults), ``rules`` (path patterns
    and layer classes), ``by_type`` (older spelling of layer-class rules; merged after ``rules``).
    Every rule is parsed (scheme names checked) up front, so a bad rule fails before any change."""

    def __init__(self, weight: Rule, bias: Rule, rules: Mapping[Any, Any] | None = None,
                 by_type: Mapping[Any, Any] | None = None, *, reserved: Sequence[str] = ()) -> None:
        self._reserved = tuple(reserved)
        self.defaults: dict[str, tuple[str, dict[str, Any]] | None] = {
            "weight": self._checked(weight, "weight"), "bias": self._checked(bias, "bias"),
            **{role: self._checked(r, f"default {role}") for role, r in DEFAULT_ROLE_RULES.items()},
        }
        self.patterns: list[tuple[str, tuple[str, dict[str, Any]] | None]] = []
        self.types: dict[type, dict[str, tuple[str, dict[str, Any]] | None]] = {}
        self._used: set[str] = set()
        self._class_ruled: dict[type, bool] = {}
        for arg, mapping in (("rules", rules), ("by_type", by_type)):
            if mapping is None:
                continue
            if not isinstance(mapping, Mapping):
                raise TypeError(f"Argument `{arg}` must be a mapping of path patterns (str) or layer classes to rules. "
                                f"Received: {arg}={mapping!r}")
            for key, value in mapping.items():
                self._add(arg, key, value)

    def _checked(self, rule: Rule, arg: str) -> tuple[str, dict[str, Any]] | None:
        parsed = _parse_rule(rule, arg)
        if parsed is not None:
            found = sorted(set(self._reserved) & set(parsed[1]))
            if found:
                raise InitSpecError(f"The rule `{arg}` sets {', '.join(found)}, which the model helper sets itself. "
                                    f"Received: {arg}={rule!r}")
        return parsed

    def _add(self, arg: str, key: Any, value: Any) -> None:
        if isinstance(key, str):
            if arg == "by_type":
                raise TypeError(f"Argument `by_type` maps layer classes to rules; put path patterns in rules=. "
                                f"Received: by_type key {key!r}")
            self.patterns.append((key, self._checked(value, f"{arg}[{key!r}]")))
        elif isinstance(key, type):
            if key in self.types:
                raise InitSpecError(f"Layer class {key.__name__} has rules twice (rules= and by_type=). "
                                    f"Received: {arg}[{key.__name__}]={value!r}")
            if isinstance(value, Mapping):
                if not value or not all(isinstance(k, str) for k in value):
                    raise TypeError(
                        f"Argument `{arg}[{key.__name__}]` must be a rule or a non-empty dict from roles "
                        f"({', '.join(ROLES)}) or local parameter-name patterns to rules. Received: {value!r}")
                self.types[key] = {k: self._checked(v, f"{arg}[{key.__name__}][{k!r}]") for k, v in value.items()}
            else:  # a plain rule: the layer's main tensor (kernel, embedding table or norm scale)
                rule = self._checked(value, f"{arg}[{key.__name__}]")
                self.types[key] = {role: rule for role in PLAIN_RULE_ROLES}
        else:
            raise TypeError(f"Argument `{arg}` keys must be path patterns (str) or layer classes. "
                            f"Received key: {key!r}")

    def match(self, info: ParamInfo) -> Match:
        """The rule of ``info`` by the precedence in the module docstring."""
        for pattern, rule in self.patterns:
            if fnmatch.fnmatchcase(info.path, pattern):
                self._used.add(f"rules[{pattern!r}]")
                return Match(rule, f"rules[{pattern!r}]", True)
        if info.layer is not None:
            for cls in info.layer.__mro__:
                entry = self.types.get(cls)
                if entry is None:
                    continue
                # a key naming the local parameter exactly ("weight" of nn.Embedding/nn.LayerNorm,
                # roles embedding/norm_scale) or a name pattern comes before the role keys
                keys = [k for k in entry
                        if k == info.name or (k not in ROLES and fnmatch.fnmatchcase(info.name, k))]
                keys += [k for k in entry if k == info.role]
                if keys:
                    src = f"rules[{cls.__name__}][{keys[0]!r}]"
                    self._used.add(f"rules[{cls.__name__}]")
                    return Match(entry[keys[0]], src, True)
        if info.role in self.defaults:
            return Match(self.defaults[info.role], f"{info.role}=" if info.role in ("weight", "bias")
                         else f"default {info.role}")
        return Match(None, None)

    def has_class_rule(self, cls: type) -> bool:
        """Whether a layer-class rule applies to ``cls`` (a class of its MRO has one); cached per class."""
        ruled = self._class_ruled.get(cls)
        if ruled is None:
            ruled = self._class_ruled[cls] = any(c in self.types for c in cls.__mro__)
        return ruled

    def unused(self) -> list[str]:
        """The user's path patterns and layer classes that matched no parameter."""
        keys = [f"rules[{p!r}]" for p, _ in self.patterns] + [f"rules[{c.__name__}]" for c in self.types]
        return [k for k in keys if k not in self._used]


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass(frozen=True)
class ParamReport:
    """One row of an :class:`InitReport`: what happened to one parameter and why."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    layer: str
    role: str
    action: str  #: init | keep | tied | uncovered
    source: str | None = None
    scheme: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    layout: str | None = None
    fans: tuple[float, float] | None = None
    std: float | None = None
    low: float | None = None
    high: float | None = None
    stream: str | None = None
    note: str = ""

    def name_shape(self) -> str:
        return "x".join(map(str, self.shape)) or "scalar"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["fans"] = list(self.fans) if self.fans is not None else None
        d["params"] = {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
                       for k, v in self.params.items()}
        return d


def report_row(info: ParamInfo, match: Match, *, action: str = "init", layout: "str | Layout | None" = None,
               groups: int = 1, fans: tuple[float, float] | None = None, kw: Mapping[str, Any] | None = None,
               block_shape: tuple[int, ...] | None = None, stream: str | None = None, note: str = "") -> ParamReport:
    """The row of ``info``; for ``action="init"`` the spec's std and support of the element law
    (:func:`initspec.resolve` on ``block_shape`` or the shape, the layout, groups and fans). The
    resolve also validates the rule for this parameter (rank, params): call it inside
    :class:`rule_error` so that a failure names the parameter, also in a dry run."""
    return planned_row(info, match, action=action, layout=layout, groups=groups, fans=fans, kw=kw,
                       block_shape=block_shape, stream=stream, note=note)[0]


def planned_row(info: ParamInfo, match: Match, *, action: str = "init", layout: "str | Layout | None" = None,
                groups: int = 1, fans: tuple[float, float] | None = None, kw: Mapping[str, Any] | None = None,
                block_shape: tuple[int, ...] | None = None, stream: str | None = None,
                note: str = "") -> tuple[ParamReport, Plan | None]:
    """:func:`report_row` and the plan it resolved (None for a row that samples nothing), so that a
    helper samples from the very plan its report shows instead of resolving it again."""
    layer = info.layer.__name__ if info.layer is not None else ""
    if action != "init" or match.rule is None:
        return ParamReport(info.path, info.shape, info.dtype, layer, info.role, action, match.source, note=note), None
    scheme, params = match.rule
    params = dict(params if kw is None else kw)
    params.pop("layout", None), params.pop("groups", None), params.pop("fans", None)
    lay_name = layout.name if isinstance(layout, Layout) else layout
    plan = cached_resolve(scheme, block_shape or info.shape, layout, info.dtype, groups=groups, fans=fans,
                          **{k: v for k, v in params.items() if k not in ("generator", "stream", "seed")})
    std = _finite(math.sqrt(plan.element.var)) if plan.element.var is not None else None
    low, high = _finite(plan.element.low), _finite(plan.element.high)
    f = None if plan.fans is None else (plan.fans.fan_in, plan.fans.fan_out)
    return ParamReport(info.path, info.shape, info.dtype, layer, info.role, "init", match.source, scheme, params,
                       lay_name, f, std, low, high, stream, note), plan


class InitReport(Sequence[ParamReport]):
    """What a model helper did to every parameter: one :class:`ParamReport` per parameter, in the
    model's order. Print it (a table), ``to_json()``, or filter ``uncovered``/``initialized``."""

    def __init__(self, rows: Sequence[ParamReport], *, framework: str, dry_run: bool = False,
                 unused_rules: Sequence[str] = ()) -> None:
        self.rows = tuple(rows)
        self.framework = framework
        self.dry_run = dry_run
        self.unused_rules = tuple(unused_rules)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: Any) -> Any:
        return self.rows[i]

    def __iter__(self) -> Iterator[ParamReport]:
        return iter(self.rows)

    def row(self, path: str) -> ParamReport:
        """The row of the parameter ``path``."""
        for r in self.rows:
            if r.path == path:
                return r
        raise KeyError(f"No parameter {path!r} in this report; paths: {', '.join(r.path for r in self.rows[:8])}...")

    @property
    def initialized(self) -> list[ParamReport]:
        return [r for r in self.rows if r.action == "init"]

    @property
    def uncovered(self) -> list[ParamReport]:
        return [r for r in self.rows if r.action == "uncovered"]

    def counts(self) -> dict[str, int]:
        return {a: sum(r.action == a for r in self.rows) for a in ACTIONS}

    def to_dict(self) -> dict[str, Any]:
        return {"framework": self.framework, "dry_run": self.dry_run, "counts": self.counts(),
                "unused_rules": list(self.unused_rules), "parameters": [r.to_dict() for r in self.rows]}

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **{"indent": 1, **kw})

    def _cells(self) -> list[list[str]]:
        def g(x: float | None) -> str:
            return "" if x is None else f"{x:.4g}"
        out = []
        for r in self.rows:
            what = r.scheme or ""
            if r.params:
                what += "(" + ", ".join(f"{k}={v!r}" for k, v in r.params.items()) + ")"
            fans = "" if r.fans is None else f"{g(r.fans[0])}/{g(r.fans[1])}"
            bound = "" if r.low is None or r.high is None else f"[{g(r.low)}, {g(r.high)}]"
            out.append([r.path, "x".join(map(str, r.shape)) or "()", r.role, r.action, what, r.layout or "",
                        fans, g(r.std), bound, r.source or "no rule", r.note])
        return out

    HEADERS = ("parameter", "shape", "role", "action", "scheme", "layout", "fans in/out", "std", "support",
               "rule", "note")

    def table(self) -> str:
        """A plain-text table (fixed-width columns)."""
        cells = self._cells()
        widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(self.HEADERS)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(self.HEADERS, widths)).rstrip()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        c = self.counts()
        lines.append(f"{self.framework}: {len(self.rows)} parameters: {c['init']} initialized, {c['keep']} kept, "
                     f"{c['tied']} tied, {c['uncovered']} uncovered" + (" (dry run: nothing changed)" if self.dry_run else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        c = self.counts()
        return f"<InitReport {self.framework}: {len(self.rows)} parameters, {c}>"

    def __rich__(self) -> Any:  # rich.print(report) / console.print(report): a rich Table
        from rich.table import Table

        t = Table(*self.HEADERS, title=f"init report ({self.framework})" + (" - dry run" if self.dry_run else ""))
        for row in self._cells():
            t.add_row(*row, style="red" if row[3] == "uncovered" else None)
        return t


def finish(rows: Sequence[ParamReport], rules: RuleSet, *, framework: str, strict: bool, dry_run: bool,
           helper: str) -> InitReport:
    """The report; ``strict=True`` raises naming every uncovered parameter and every rule that
    matched nothing (a warning otherwise). Call before changing anything (all or nothing)."""
    report = InitReport(rows, framework=framework, dry_run=dry_run, unused_rules=rules.unused())
    problems = []
    if report.uncovered:
        problems.append("no rule covers " + ", ".join(f"{r.path} ({r.layer or 'leaf'} {r.name_shape()})"
                                                      for r in report.uncovered))
    if report.unused_rules:
        msg = "rules that matched no parameter: " + ", ".join(report.unused_rules)
        if strict:
            problems.append(msg)
        else:
            warnings.warn(f"{helper}: {msg}", UserWarning, stacklevel=3)
    if strict and problems:
        raise InitSpecError(
            f"{helper}(strict=True): " + "; ".join(problems) + ". Add rules (rules={'<path pattern>': scheme} or "
            "{LayerClass: {...}}), or 'keep' to leave a parameter as it is. Nothing was changed.")
    return report


def tie_owner(candidates: Sequence[tuple[ParamInfo, Match]]) -> int:
    """Which of the names of one tied tensor (e.g. GPT-2's ``transformer.wte.weight`` and
    ``lm_head.weight``) initializes it: the one with an explicit sampling rule (``rules=``) if
    any, else one with an explicit keep, else the first. Two different explicit sampling rules on
    one tensor are refused, naming both; ``"keep"`` on the other names is not a conflict."""
    explicit = [i for i, (_, m) in enumerate(candidates) if m.explicit]
    sampled = [i for i in explicit if candidates[i][1].rule is not None]  # an explicit keep yields
    if len({repr(candidates[i][1].rule) for i in sampled}) > 1:
        raise InitSpecError(
            "Tied parameters (one tensor under several names) got conflicting rules: "
            + "; ".join(f"{candidates[i][0].path} <- {candidates[i][1].source} = {candidates[i][1].rule!r}"
                        for i in sampled)
            + ". Give the tensor one rule (a path pattern matching all its names, or 'keep' on all but one).")
    return sampled[0] if sampled else explicit[0] if explicit else 0


class rule_error:
    """Context manager: an error while sampling a parameter becomes one error naming the
    parameter, its shape and the rule (``with rule_error(info, match): ...``)."""

    def __init__(self, info: ParamInfo, match: Match) -> None:
        self.info, self.match = info, match

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None and isinstance(exc, (InitSpecError, TypeError, ValueError)) and not getattr(exc, "_named", False):
            owner = self.info.layer.__name__ if self.info.layer else "leaf"
            err = InitSpecError(
                f"Parameter {self.info.path!r} (shape {self.info.shape}, {owner}, "
                f"role {self.info.role}) cannot take the rule {self.match.source} = {self.match.rule!r}: {exc}")
            err._named = True  # type: ignore[attr-defined]
            raise err from exc
        return False
