"""``audit(model)`` / ``diff(a, b)``: pick the framework sampler and run :mod:`.audit`."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from initspec import registry
from initspec.backends._audit import AuditError, ModelSample

from .audit import AuditResult, audit_sample
from .audit_diff import diff_audits

__all__ = ["FRAMEWORKS", "audit", "detect_framework", "diff", "sample"]

def _samplers() -> dict[str, registry.Framework]:
    """Audit framework name (the first of ``model_roots``: ``torch``, ``keras``, ``flax``) -> the
    registry backend declaring its sampler (``Framework.model_audit``)."""
    return {f.model_roots[0]: f for f in registry.frameworks().values() if f.model_audit and f.model_roots}


#: the frameworks ``initspec audit`` knows (declared in :mod:`initspec.registry`)
FRAMEWORKS = tuple(_samplers())


def _entry(name: str) -> tuple[str, registry.Framework]:
    for fw, entry in _samplers().items():
        if name == fw or name in entry.model_roots or name == entry.name:
            return fw, entry
    raise AuditError(f"Unknown framework {name!r}; expected one of {tuple(_samplers())}.")


def detect_framework(model: Any) -> str:
    """The audit framework of ``model`` from its class (the top-level modules of its MRO); a
    plain callable is a torch factory (the only sampler taking one)."""
    roots = {c.__module__.split(".")[0] for c in type(model).__mro__}
    for fw, entry in _samplers().items():
        if roots & set(entry.model_roots):
            return fw
    if callable(model) and not isinstance(model, type):
        return "torch"
    raise AuditError(f"Cannot tell the framework of a {type(model).__name__}; pass framework= one of "
                     f"{tuple(_samplers())}.")


def sample(model: Any, *args: Any, framework: str | None = None, expect: Mapping[str, Any] | None = None
           ) -> ModelSample:
    """The framework's :class:`~initspec.backends._audit.ModelSample` of ``model`` (Flax: ``args``
    are the inputs of ``module.init``), through the sampler its registry entry declares."""
    _, entry = _entry(framework or detect_framework(model))
    module, _, func = (entry.model_audit or "").partition(":")
    sampler = getattr(importlib.import_module(module), func)
    return sampler(model, *args, expect=expect)


def audit(model: Any, *args: Any, framework: str | None = None, expect: Mapping[str, Any] | None = None,
          **kw: Any) -> AuditResult:
    """Audit ``model``'s own initialization (:func:`~initspec.conformance.audit.audit_sample`)."""
    return audit_sample(sample(model, *args, framework=framework, expect=expect), **kw)


def diff(a: AuditResult, b: AuditResult, mapping: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    return diff_audits(a, b, dict(mapping or {}), **kw)
