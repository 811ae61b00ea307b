"""Building ``Check`` records (:class:`initspec.conformance.records.Check`) and reading verdicts.

:class:`Recorder` builds the records of one plan (id, reproduce line, verdict: a failing check of
a native initializer is a ``finding``); :func:`summarize_verdict`, :func:`failures` and
:func:`format_check` read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from initspec.distributions import Plan

from . import stats as S
from .records import Check, check_id, group_id

__all__ = ["Recorder", "failures", "format_check", "summarize_verdict"]


def _jsonable(v: Any) -> Any:
    if isinstance(v, complex):
        return [v.real, v.imag]
    if isinstance(v, np.generic):
        return v.item()
    return v


class Recorder:
    """Builds ``Check`` dicts for one plan + meta; a failing native check is a ``finding``."""

    def __init__(self, plan: Plan, meta: dict[str, Any], alpha: float | None, draws: int = 1) -> None:
        self.plan, self.meta, self.alpha, self.draws = plan, dict(meta or {}), alpha, draws
        self.records: list[dict[str, Any]] = []

    def _fail_verdict(self) -> str:
        return "finding" if self.meta.get("subject") == "native" else "fail"

    def base_id(self) -> str:
        """The check-group id of this draw (:func:`initspec.conformance.records.group_id`)."""
        m, p = self.meta, self.plan
        return group_id(backend=m.get("backend", "unknown"), device=m.get("device", "cpu"),
                        subject=m.get("subject", "initspec"), native_name=m.get("native_name"),
                        scheme=p.scheme.name, params=p.params, layout=p.layout.name if p.layout is not None else None,
                        shape=p.shape, dtype=p.dtype, case=m.get("case"))

    def reproduce(self) -> str:
        if self.meta.get("reproduce"):
            return str(self.meta["reproduce"])
        p = self.plan
        args = "".join(f", {k}={_jsonable(v)!r}" for k, v in p.params.items() if k not in p.scheme.fixed)
        layout = p.layout.name if p.layout is not None else None
        return (
            f"initspec.backends.load({self.meta.get('backend', 'numpy')!r}).sample({p.scheme.name!r}, "
            f"{p.shape}, layout={layout!r}, dtype={p.dtype!r}, seed={self.meta.get('seed', 0)!r}{args})"
        )

    def add(
        self,
        check: str,
        tier: str,
        ok: bool | None,
        message: str,
        *,
        measured: Any = None,
        expected: Any = None,
        interval: Sequence[float] | None = None,
        p_value: float | None = None,
        n: int | None = None,
        std_ratio: float | None = None,
        verdict: str | None = None,
    ) -> dict[str, Any]:
        p, m = self.plan, self.meta
        if verdict is None:
            verdict = "pass" if ok else self._fail_verdict()
        gid = self.base_id()
        rec = Check(
            id=check_id(gid, check), group=gid, backend=m.get("backend", "unknown"), device=m.get("device", "cpu"),
            subject=m.get("subject", "initspec"), native_name=m.get("native_name"), scheme=p.scheme.name,
            layout=p.layout.name if p.layout is not None else None, shape=tuple(p.shape), dtype=p.dtype,
            params={k: _jsonable(v) for k, v in p.params.items()}, check=check, tier=tier,
            measured=_jsonable(measured), expected=_jsonable(expected),
            interval=None if interval is None else [float(v) for v in interval], p_value=p_value,
            alpha=self.alpha if tier == "statistical" else None, n=n, seed=m.get("seed"), std_ratio=std_ratio,
            verdict=verdict, message=message, reproduce=self.reproduce(),
        ).as_dict()
        self.records.append(rec)
        return rec

    def test(
        self, check: str, res: S.TestResult, what: str, *, std_ratio: float | None = None, fmt: str = ".6g"
    ) -> dict[str, Any]:
        """Record a statistical :class:`~initspec.conformance.stats.TestResult`."""
        lo, hi = res.interval
        msg = (
            f"{what}: measured {res.measured:{fmt}}, expected {res.expected:{fmt}}, "
            f"acceptance [{lo:{fmt}}, {hi:{fmt}}] (n={res.n}, p={res.p_value:.3g}, alpha={res.alpha:.3g})"
        )
        return self.add(
            check,
            "statistical",
            res.passed,
            msg,
            measured=res.measured,
            expected=res.expected,
            interval=res.interval,
            p_value=res.p_value,
            n=res.n,
            std_ratio=std_ratio,
        )



_VERDICT_ORDER = ("fail", "finding", "pass", "skip", "unavailable")


def summarize_verdict(checks: Iterable[dict[str, Any]]) -> str:
    """One verdict for many checks: ``fail`` if any failed, else ``finding``, else ``pass``, else
    ``skip``/``unavailable`` (``unavailable`` when there is nothing at all)."""
    seen = {c.get("verdict") for c in checks}
    for v in _VERDICT_ORDER:
        if v in seen:
            return v
    return "unavailable"


def failures(checks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The failing (or ``finding``) checks."""
    return [c for c in checks if c.get("verdict") in ("fail", "finding")]


def format_check(c: dict[str, Any]) -> str:
    """One human-readable line per check: id, verdict, message."""
    return f"[{c['verdict'].upper()}] {c['id']}: {c['message']}"

