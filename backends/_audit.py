"""Framework-free description of a model for ``initspec audit`` (issue 13).

Each framework's sampler (``initspec.backends.{torch,keras,jax}.audit``) turns a model into a
:class:`ModelSample`: one :class:`AuditTensor` per *logical* tensor (a fused MultiheadAttention
``in_proj_weight`` is three q/k/v tensors, an RNN weight one tensor per gate block, as in the
model-level rules of :mod:`initspec.models`) and ``draw(seed) -> {path: values}``, which re-runs
the model's OWN initialization on a fresh copy. The statistics live in
:mod:`initspec.conformance.audit` (backends never import conformance).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from initspec.errors import InitSpecError
from initspec.native import NATIVE_BY_KEY, NativeInit, native_params
from initspec.schemes import get_scheme

__all__ = ["AuditError", "AuditTensor", "Expected", "ModelSample", "apply_expect", "expected_from_native"]

Fans = tuple[float, float]


class AuditError(InitSpecError):
    """The model cannot be audited (no parameters, not built, unknown framework...)."""


@dataclass(frozen=True)
class Expected:
    """The law a tensor should follow: ``scheme(**params)`` with ``fans`` (None: no fans needed),
    where it comes from (``native``: a :data:`initspec.native.NATIVE` key, or None for a rule
    stated elsewhere, e.g. a transformers ``_init_weights`` or the user's ``expect=``)."""

    scheme: str
    params: Mapping[str, Any] = field(default_factory=dict)
    fans: Fans | None = None
    source: str = ""
    native: str | None = None
    #: the spec scheme the initializer's *name* suggests, when it differs from ``scheme``
    name_suggests: str | None = None
    #: documented departures (from native.py) to print beside the finding
    documented: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        ps = ", ".join(f"{k}={_short(v)}" for k, v in self.params.items())
        return f"{self.scheme}({ps})" if ps else self.scheme


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class AuditTensor:
    """One logical tensor: ``path`` (framework naming; a block is ``path[k]``), its owner layer's
    class name, role, logical ``shape``, the fan sets it may have been drawn with (name ->
    ``(fan_in, fan_out)``: ``"layout"`` = the spec layout's, plus e.g. the stacked matrix's or
    the framework's raw convention; a bias gets its layer weight's), how the fans' axes read
    (``"fan_in = axis 1 (in), fan_out = axis 0 (out)"``), the expected law, if any, and the
    tensor's **canonical name** (:mod:`initspec.backends._names`: ``attn.q.weight`` for torch's
    ``attn.in_proj_weight[0]``, Keras' ``attn/query/kernel`` and Flax's ``attn.query.kernel``),
    by which ``initspec diff`` matches the tensors of two frameworks (empty: none known)."""

    path: str
    layer: str
    role: str
    shape: tuple[int, ...]
    fans: Mapping[str, Fans] = field(default_factory=dict)
    axes: str = ""
    expected: Expected | None = None
    notes: tuple[str, ...] = ()
    canonical: str = ""


@dataclass
class ModelSample:
    """A model ready to audit: its tensors and ``draw(seed) -> {path: np.ndarray}`` (one fresh
    re-initialization per seed, values of every tensor in ``tensors``, shaped as ``shape``)."""

    framework: str
    model: str
    tensors: list[AuditTensor]
    draw: Callable[[int], dict[str, np.ndarray]]
    how: str = ""

    def __post_init__(self) -> None:
        if not self.tensors:
            raise AuditError(f"The {self.framework} model {self.model} has no parameters to audit.")


def expected_from_native(key: str, fans: Fans | None, **override: Any) -> Expected:
    """The :class:`Expected` of the native.py entry ``key`` for a tensor of ``fans`` (biases that
    depend on the fan_in get it from ``fans``); ``override`` replaces parameters."""
    entry: NativeInit = NATIVE_BY_KEY[key]
    params = native_params(entry, fan_in=fans[0] if fans else None) if entry.bias_of else dict(entry.params)
    params.update(override)
    return Expected(entry.scheme, params, fans, entry.source, key, entry.name_suggests, entry.departures)


def _as_expected(rule: Any, fans: Fans | None) -> Expected:
    if isinstance(rule, Expected):
        return rule
    if isinstance(rule, str):
        scheme, params = rule, {}
    elif isinstance(rule, (tuple, list)) and len(rule) == 2 and isinstance(rule[0], str):
        scheme, params = rule[0], dict(rule[1])
    else:
        raise TypeError(f"An `expect` value must be a scheme name or (scheme, params). Received: {rule!r}")
    sch = get_scheme(scheme)
    return Expected(sch.name, params, fans if sch.uses_fans else None, "expect=")


def apply_expect(tensors: list[AuditTensor], expect: Mapping[str, Any] | None) -> list[AuditTensor]:
    """Replace the expected law of every tensor whose path matches a key of ``expect`` (fnmatch
    patterns, first match wins) by the user's ``scheme`` / ``(scheme, params)``."""
    if not expect:
        return tensors
    out, used = [], set()
    for t in tensors:
        key = next((k for k in expect if fnmatch.fnmatchcase(t.path, k)), None)
        if key is None:
            out.append(t)
            continue
        used.add(key)
        fans = t.fans.get("layout")
        out.append(dataclasses.replace(t, expected=_as_expected(expect[key], fans)))
    unused = [k for k in expect if k not in used]
    if unused:
        raise AuditError(f"`expect` keys match no tensor: {unused}. Tensors: {[t.path for t in tensors][:20]}")
    return out
