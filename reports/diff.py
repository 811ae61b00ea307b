"""What changed between two results documents (``initspec report A.json --against B.json``).

``A`` is the run the report is about, ``B`` the baseline; every change reads "B -> A". Checks are
matched on their identity without the device when each run has exactly one device per backend
(so a CPU run and a GPU run line up); otherwise the device is part of the identity.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .fmt import fmt_value
from .model import Column, Matrix, columns, counts, is_number, summary_matrix

#: Std-ratio changes at least this large (absolute) are highlighted.
RATIO_CHANGE_NOTABLE = 0.01
#: At most this many rows per diff table (the largest changes first).
MAX_DIFF_ROWS = 60


@dataclass
class Change:
    """One changed item: ``what`` went from ``before`` (B) to ``after`` (A)."""

    what: str
    before: Any
    after: Any
    detail: str = ""
    notable: bool = True
    delta: float | None = None


@dataclass
class Diff:
    """All changes, each list sorted most important first; ``hidden`` counts rows left out."""

    label_a: str
    label_b: str
    versions: list[Change] = field(default_factory=list)
    summary: list[Change] = field(default_factory=list)
    cells: list[Change] = field(default_factory=list)
    checks: list[Change] = field(default_factory=list)
    native: list[Change] = field(default_factory=list)
    claims: list[Change] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    hidden: dict[str, int] = field(default_factory=dict)
    device_paired: bool = False

    @property
    def empty(self) -> bool:
        return not any((self.versions, self.summary, self.cells, self.checks, self.native, self.claims,
                        self.added, self.removed))


def run_label(results: Mapping[str, Any], fallback: str) -> str:
    """A short name for a run: its creation time and devices."""
    devs = sorted({c.device for c in columns(results)})
    return f"{results.get('created') or fallback} ({', '.join(devs) or 'no backends'})"


def _ok_devices(results: Mapping[str, Any]) -> dict[str, set[str]]:
    """backend -> devices it actually ran on (unavailable columns left out)."""
    out: dict[str, set[str]] = {}
    for c in columns(results):
        if not c.down:
            out.setdefault(c.backend, set()).add(c.device)
    return out


def _device_free(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when every backend ran on exactly one device in each run and the devices differ
    somewhere (a CPU run against a GPU run): then columns pair by backend."""
    da, db = _ok_devices(a), _ok_devices(b)
    shared = set(da) & set(db)
    single = bool(shared) and all(len(da[k]) == 1 and len(db[k]) == 1 for k in shared)
    return single and any(da[k] != db[k] for k in shared)


def _device_token(results: Mapping[str, Any], device_free: bool) -> Callable[[str, str], str]:
    """How a (backend, device) is written in a cross-run key: '*' for the device a backend ran on
    when pairing across devices, the device itself otherwise."""
    ok = _ok_devices(results)

    def token(backend: str, device: str) -> str:
        return "*" if device_free and device in ok.get(backend, ()) else device

    return token


def check_key(c: Mapping[str, Any], token: Callable[[str, str], str]) -> str:
    """Identity of a check across runs."""
    backend, device = str(c.get("backend")), str(c.get("device") or "cpu")
    parts = [backend, token(backend, device), c.get("subject"), c.get("native_name"), c.get("scheme"),
             c.get("layout"), "x".join(map(str, c.get("shape") or [])), c.get("dtype"), c.get("check")]
    return "/".join("" if p is None else str(p) for p in parts)


def _versions(results: Mapping[str, Any], token: Callable[[str, str], str]) -> dict[str, str]:
    out = {f"environment {k}": str(v) for k, v in (results.get("environment") or {}).items()}
    for c in columns(results):
        t = token(c.backend, c.device)
        where = c.backend if t == "*" else f"{c.backend}/{c.device}"
        for fw, v in c.versions.items():
            out[f"{where}: {fw}"] = str(v)
        out[f"{where}: status"] = c.status
        if c.device_name:
            out[f"{where}: device name"] = c.device_name
    return out


def _dict_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    return [Change(k, b.get(k, "—"), a.get(k, "—")) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _pair_columns(ma: Matrix, mb: Matrix, ta: Callable[[str, str], str],
                  tb: Callable[[str, str], str]) -> list[tuple[Column, Column]]:
    bcols = {(c.backend, tb(c.backend, c.device)): c for c in mb.columns}
    return [(ca, bcols[k]) for ca in ma.columns if (k := (ca.backend, ta(ca.backend, ca.device))) in bcols]


def _cell_changes(a: Mapping[str, Any], b: Mapping[str, Any], ta: Callable[[str, str], str],
                  tb: Callable[[str, str], str]) -> list[Change]:
    ma, mb = summary_matrix(a), summary_matrix(b)
    out = []
    for ca, cb in _pair_columns(ma, mb, ta, tb):
        for s in ma.schemes:
            xa, xb = ma.cells[s].get(ca.key), mb.cells.get(s, {}).get(cb.key)
            if xa is None or xb is None:
                continue
            ra, rb = xa.std_ratio, xb.std_ratio
            delta = ra - rb if is_number(ra) and is_number(rb) else None
            if xa.verdict == xb.verdict and not delta:
                continue
            col = ca.label if ca.key == cb.key else f"{ca.label} vs {cb.label}"
            detail = "" if ra is None and rb is None else \
                f"std ratio {_fmt(rb)} → {_fmt(ra)}" + (f" ({delta:+.4f})" if delta is not None else "")
            notable = xa.verdict != xb.verdict or (delta is not None and abs(delta) >= RATIO_CHANGE_NOTABLE)
            out.append(Change(f"{s} · {col}", xb.verdict, xa.verdict, detail, notable, delta))
    out.sort(key=lambda c: (c.before == c.after, -abs(c.delta or 0.0)))
    return out


def _fmt(x: Any) -> str:
    return f"{x:.4f}" if is_number(x) else "—"


def _check_changes(a: Mapping[str, Any], b: Mapping[str, Any], ta: Callable[[str, str], str],
                   tb: Callable[[str, str], str]) -> tuple[list[Change], int, int]:
    ka = {check_key(c, ta): c for c in a.get("checks") or []}
    kb = {check_key(c, tb): c for c in b.get("checks") or []}
    out = []
    for k, ca in ka.items():
        cb = kb.get(k)
        if cb is not None and ca.get("verdict") != cb.get("verdict"):
            out.append(Change(str(ca.get("id") or k), cb.get("verdict"), ca.get("verdict"),
                              f"measured {fmt_value(cb.get('measured'))} → {fmt_value(ca.get('measured'))}"))
    out.sort(key=lambda c: (c.after != "fail", c.what))
    return out, len(set(ka) - set(kb)), len(set(kb) - set(ka))


def _keyed_verdicts(items: Any, key_fields: tuple[str, ...]) -> dict[str, Any]:
    return {" · ".join(str(i.get(f, "")) for f in key_fields): i for i in items or []}


def _verdict_changes(a: Any, b: Any, key_fields: tuple[str, ...]) -> list[Change]:
    ka, kb = _keyed_verdicts(a, key_fields), _keyed_verdicts(b, key_fields)
    return [Change(k, kb[k].get("verdict"), ka[k].get("verdict")) for k in ka
            if k in kb and ka[k].get("verdict") != kb[k].get("verdict")]


def _claim_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    ca = {c.get("id"): c for c in ((a.get("experiments") or {}).get("claims") or [])}
    cb = {c.get("id"): c for c in ((b.get("experiments") or {}).get("claims") or [])}
    out = []
    for k, x in ca.items():
        y = cb.get(k)
        if y is None:
            continue
        if x.get("verdict") != y.get("verdict"):
            out.append(Change(f"{k}", y.get("verdict"), x.get("verdict")))
        pa, pb = x.get("per_backend") or {}, y.get("per_backend") or {}
        for be in pa:
            va, vb = (pa.get(be) or {}).get("verdict"), (pb.get(be) or {}).get("verdict")
            if be in pb and va != vb:
                out.append(Change(f"{k} · {be}", vb, va))
    return out


def _cap(diff: Diff, name: str) -> None:
    rows = getattr(diff, name)
    if len(rows) > MAX_DIFF_ROWS:
        diff.hidden[name] = len(rows) - MAX_DIFF_ROWS
        setattr(diff, name, rows[:MAX_DIFF_ROWS])


def diff_results(a: Mapping[str, Any], b: Mapping[str, Any]) -> Diff:
    """Changes from baseline ``b`` to run ``a``."""
    device_free = _device_free(a, b)
    ta, tb = _device_token(a, device_free), _device_token(b, device_free)
    d = Diff(run_label(a, "this run"), run_label(b, "baseline"), device_paired=device_free)
    d.versions = _dict_changes(_versions(a, ta), _versions(b, tb))
    d.summary = [Change(k, counts(b)[k], counts(a)[k]) for k in counts(a) if counts(a)[k] != counts(b)[k]]
    d.cells = _cell_changes(a, b, ta, tb)
    d.checks, d.added, d.removed = _check_changes(a, b, ta, tb)
    d.native = _verdict_changes(a.get("native"), b.get("native"), ("framework", "name"))
    d.claims = _claim_changes(a, b)
    for name in ("cells", "checks", "native", "claims", "versions"):
        _cap(d, name)
    return d


__all__ = ["Change", "Diff", "MAX_DIFF_ROWS", "RATIO_CHANGE_NOTABLE", "check_key", "diff_results"]
