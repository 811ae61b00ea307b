"""Per-tensor rules of the whole-model helpers (torch ``init_module_``, Keras ``init_model``,
JAX ``init_tree``): framework-free."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
