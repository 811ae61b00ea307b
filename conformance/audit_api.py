"""``audit(model)`` / ``diff(a, b)``: pick the framework sampler and run :mod:`.audit`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from initspec.backends._audit import AuditError, ModelSample

from .audit import AuditResult, audit_sample, diff_audits

__all__ = ["FRAMEWORKS", "audit", "detect_framework", "diff", "sample"]

FRAMEWORKS = ("torch", "keras", "flax")


def detect_framework(model: Any) -> str:
    """``torch`` / ``keras`` / ``flax`` from the model's class (its MRO's modules)."""
    mods = {c.__module__.split(".")[0] for c in type(model).__mro__}
    for fw in FRAMEWORKS:
        if fw in mods:
            return fw
    if callable(model) and not isinstance(model, type):
        return "torch"  # a factory: torch is the only sampler taking one
    raise AuditError(f"Cannot tell the framework of a {type(model).__name__}; pass framework= one of "
                     f"{FRAMEWORKS}.")


def sample(model: Any, *args: Any, framework: str | None = None, expect: Mapping[str, Any] | None = None
           ) -> ModelSample:
    """The framework's :class:`~initspec.backends._audit.ModelSample` of ``model`` (Flax: ``args``
    are the inputs of ``module.init``)."""
    fw = framework or detect_framework(model)
    if fw == "torch":
        from initspec.backends.torch.audit import sample_module

        return sample_module(model, expect=expect)
    if fw in ("keras", "tensorflow"):
        from initspec.backends.keras.audit import sample_model

        return sample_model(model, expect=expect)
    if fw in ("flax", "jax"):
        if not args:
            raise AuditError("A Flax module needs example inputs (arrays or jax.ShapeDtypeStruct) for module.init.")
        from initspec.backends.jax.audit import sample_linen

        return sample_linen(model, *args, expect=expect)
    raise AuditError(f"Unknown framework {fw!r}; expected one of {FRAMEWORKS}.")


def audit(model: Any, *args: Any, framework: str | None = None, expect: Mapping[str, Any] | None = None,
          **kw: Any) -> AuditResult:
    """Audit ``model``'s own initialization (:func:`~initspec.conformance.audit.audit_sample`)."""
    return audit_sample(sample(model, *args, framework=framework, expect=expect), **kw)


def diff(a: AuditResult, b: AuditResult, mapping: Mapping[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    return diff_audits(a, b, dict(mapping or {}), **kw)
