"""Per-tensor rules of the whole-model helpers (torch ``init_module_``, Keras ``init_model``,
JAX ``init_tree``): framework-free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from initspec.errors import InitSpecError

#: A rule: a scheme name, ``(scheme, {param: value})``, or None to leave the tensor alone.
Rule = Any


def split_rule(rule: Rule, arg: str) -> tuple[str, dict[str, Any]] | None:
    """``(scheme name, params)`` of ``rule`` (a copy of its params), None for None, or a
    TypeError naming ``arg``."""
    if rule is None:
        return None
    if isinstance(rule, str):
        return rule, {}
    if isinstance(rule, tuple) and len(rule) == 2 and isinstance(rule[0], str) and isinstance(rule[1], Mapping):
        return rule[0], dict(rule[1])
    raise TypeError(
        f"Argument `{arg}` must be a scheme name, a (scheme, params) pair such as ('normal', {{'std': 0.02}}), "
        f"or None to leave it alone. Received: {arg}={rule!r}"
    )


def check_by_type(by_type: Any, what: str) -> Mapping[type, Any]:
    """``by_type`` (None -> ``{}``) mapping ``what`` classes (modules, layers) to rules."""
    by_type = {} if by_type is None else by_type
    if not isinstance(by_type, Mapping) or not all(isinstance(k, type) for k in by_type):
        raise TypeError(f"Argument `by_type` must map {what} classes to rules. Received: by_type={by_type!r}")
    return by_type


def by_type_rules(obj: Any, by_type: Mapping[type, Any], bias: Rule) -> dict[str, Rule] | None:
    """``{"weight": rule, "bias": rule}`` of the most specific class of ``obj`` in ``by_type``, or
    None. A plain rule sets the weight (the bias keeps ``bias``); a dict sets ``weight`` and/or
    ``bias`` (a missing key leaves them alone)."""
    for cls in type(obj).__mro__:
        if cls in by_type:
            spec = by_type[cls]
            if isinstance(spec, Mapping):
                if set(spec) - {"weight", "bias"}:
                    raise InitSpecError(
                        f"Argument `by_type` maps {cls.__name__} to a dict whose keys must be 'weight' "
                        f"and/or 'bias'. Received: by_type[{cls.__name__}]={spec!r}"
                    )
                return {"weight": spec.get("weight"), "bias": spec.get("bias")}
            return {"weight": spec, "bias": bias}
    return None


def refuse_reserved(kw: Mapping[str, Any], reserved: tuple[str, ...], kind: str, owner: str, rule: Rule,
                    instead: str) -> None:
    """A rule's params may not set what the model helper sets itself (``reserved``)."""
    found = sorted(set(reserved) & set(kw))
    if found:
        raise InitSpecError(
            f"The {kind} rule for {owner} sets {', '.join(found)}; pass {instead} instead. "
            f"Received: {kind} rule={rule!r}"
        )
