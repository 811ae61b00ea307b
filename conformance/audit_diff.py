"""``initspec diff``: two audits of the same architecture, tensor by tensor (issue 13).

Tensors are matched, for each tensor of ``a``, by

1. the user's ``mapping`` ``{a name: b name}``, a name being a tensor's framework path or its
   canonical name (every key must match a tensor of ``a``, every value one of ``b``);
2. the **canonical name** (:mod:`initspec.backends._names`, docs/porting.md): torch
   ``attn.in_proj_weight[0]``, Keras ``attn/query/kernel`` and Flax ``attn.query.kernel`` are all
   ``attn.q.weight``; a torch ``fc.weight`` ``(out, in)`` and a Flax ``fc.kernel`` ``(in, out)``
   are ``fc.weight``, one logical tensor;
3. the same path up to separators and case (``a/b`` = ``a.b``, a leading ``params.`` dropped).

Each row gives both sides' identified law and two variance ratios ``b / a``: the *measured*
one (pooled values) and the *law* one, from the identified laws' std (exact: torch ``Linear``'s
``kaiming_uniform_(a=sqrt(5))`` = ``variance_scaling(1/3, fan_in)`` against Flax ``Dense``'s
``lecun_normal`` = ``variance_scaling(1, fan_in)`` is ``3``). Every unmatched tensor of each side
is listed; ``strict`` makes any an :class:`~initspec.backends._audit.AuditError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from initspec.backends._audit import AuditError

if TYPE_CHECKING:
    from .audit import AuditResult, Finding

__all__ = ["diff_audits", "ratio_text"]


def _norm(path: str) -> str:
    """A path compared across frameworks: lower case, ``/`` -> ``.``, a leading ``params.`` dropped."""
    p = path.replace("/", ".").lower()
    return p[len("params."):] if p.startswith("params.") else p


def ratio_text(r: float | None) -> str:
    """``3`` / ``1/3`` / ``1/32`` for a ratio within 1e-6 of a fraction with denominator <= 256 (an
    embedding of width 32: ``1/32``), else 4 significant digits."""
    if r is None:
        return "-"
    if not math.isfinite(r) or r == 0:
        return f"{r:g}"
    fr = Fraction(r).limit_denominator(256)
    if abs(float(fr) / r - 1) < 1e-6:
        return str(fr.numerator) if fr.denominator == 1 else f"{fr.numerator}/{fr.denominator}"
    return f"{r:.4g}"


def _ratio(va: float | None, vb: float | None) -> float | None:
    if va is None or vb is None:
        return None
    if va > 0:
        return vb / va
    return 1.0 if vb == 0 else math.inf


def _index(findings: list[Finding]) -> dict[str, Finding]:
    """Findings by path and by canonical name (a path wins over another tensor's canonical name)."""
    out = {f.canonical: f for f in findings if f.canonical}
    out.update({f.path: f for f in findings})
    return out


def _row(fa: Finding, fb: Finding, how: str) -> dict[str, Any]:
    sa, sb = fa.identified.get("std"), fb.identified.get("std")
    law = _ratio(None if sa is None else sa * sa, None if sb is None else sb * sb)
    return {"a": fa.path, "b": fb.path, "canonical": fa.canonical or fb.canonical, "match": how,
            "shape_a": fa.shape, "shape_b": fb.shape,
            "a_identified": fa.identified["label"], "b_identified": fb.identified["label"],
            "a_expected": fa.expected["label"] if fa.expected else None,
            "b_expected": fb.expected["label"] if fb.expected else None,
            "a_verdict": fa.verdict, "b_verdict": fb.verdict,
            "variance_ratio": _ratio(fa.measured["std"] ** 2, fb.measured["std"] ** 2),
            "law_variance_ratio": law, "law_ratio": ratio_text(law),
            "same_size": math.prod(fa.shape) == math.prod(fb.shape)}


def _mapped(a: AuditResult, b: AuditResult, mapping: Mapping[str, str]) -> dict[str, Finding]:
    """``mapping`` resolved to ``{a path: b finding}``; raises naming every key or value that names
    no tensor."""
    ia, ib = _index(a.findings), _index(b.findings)
    bad = [f"{k!r} (not a tensor of {a.model})" for k in mapping if k not in ia]
    bad += [f"{v!r} (not a tensor of {b.model})" for v in mapping.values() if v not in ib]
    if bad:
        raise AuditError(f"The diff mapping names unknown tensors: {', '.join(bad)}. Names are framework paths "
                         "or canonical names.")
    return {ia[k].path: ib[v] for k, v in mapping.items()}


def diff_audits(a: AuditResult, b: AuditResult, mapping: Mapping[str, str] | None = None, *,
                strict: bool = True) -> dict[str, Any]:
    """One row per logical tensor of two audits of the same architecture (module docstring):
    ``{"kind": "audit_diff", "a", "b", "rows", "unmatched_a", "unmatched_b"}``, plain data."""
    forced = _mapped(a, b, dict(mapping or {}))
    canon_b = {f.canonical: f for f in b.findings if f.canonical}
    norm_b = {_norm(f.path): f for f in b.findings}
    rows, unmatched_a = [], []
    used = {fb.path for fb in forced.values()}  # a mapped tensor of b is kept for its mapping
    for fa in a.findings:
        if fa.path in forced:
            rows.append(_row(fa, forced[fa.path], "mapping"))
            continue
        fb: Finding | None
        if fa.canonical and fa.canonical in canon_b:
            fb, how = canon_b[fa.canonical], "canonical"
        else:
            fb, how = norm_b.get(_norm(fa.path)), "path"
        if fb is None or fb.path in used:
            unmatched_a.append(fa.path)
            continue
        used.add(fb.path)
        rows.append(_row(fa, fb, how))
    unmatched_b = [f.path for f in b.findings if f.path not in used]
    if strict and (unmatched_a or unmatched_b):
        raise AuditError(f"The two models do not match tensor for tensor. Unmatched in {a.model} ({a.framework}): "
                         f"{unmatched_a}; unmatched in {b.model} ({b.framework}): {unmatched_b}. "
                         "Name the layers alike (canonical names, docs/porting.md) or pass a mapping "
                         "{a name: b name}.")
    return {"kind": "audit_diff", "a": {"framework": a.framework, "model": a.model, "seeds": a.seeds},
            "b": {"framework": b.framework, "model": b.model, "seeds": b.seeds}, "rows": rows,
            "unmatched_a": unmatched_a, "unmatched_b": unmatched_b}
