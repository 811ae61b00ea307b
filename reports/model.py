"""The report's view model: plain data computed from a results document (no framework, no jinja2,
no matplotlib). Every function here reads the version-2 results dict defined in
:mod:`initspec.conformance.results` (records: :mod:`initspec.conformance.records`) by its
declared fields; optional fields may be absent or ``null``.

* ``SampleSummary``: overlaid by scheme, dtype, parameters and shape (up to layout); its sample
  size is ``n`` and its KS test's level ``alpha`` (else the run's ``config.alpha``); ``moments``
  as ``{name: {"measured", "expected", "interval", "verdict"}}`` (plain numbers are shown as
  measured values), ``moments["min"/"max"]`` for the observed range.
* Experiment rows (``signal``, ``symmetry``, ``trainability``) are free-form: ``backend``, what
  they were initialised with (``label``, ``init`` or ``scheme``), ``activation``; signal rows
  per-layer lists ``act_std`` and ``grad_norm`` (x = 1..L unless ``depth`` is a list); symmetry
  rows per-layer ``layers: [{units, distinct_units, rank}]`` (or flat ``distinct_units``/
  ``units``/``rank``); loss curves in ``loss_curve`` (or ``losses``/``loss`` when a list);
  scalars such as ``final_loss`` are tabulated.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Verdicts in the order of severity used to combine several checks into one cell.
VERDICT_ORDER = ("fail", "finding", "pass", "skip", "unavailable")
#: Subject of the checks shown in the summary matrix (initspec's own adapters).
MATRIX_SUBJECT = "initspec"
#: Backend run statuses that make a whole column unavailable.
DOWN_STATUSES = ("unavailable", "error")
#: Relative tolerance under which a framework's fan equals the spec's.
FAN_RTOL = 1e-9
#: Keys accepted for a per-layer curve, first match wins.
ACT_STD_KEYS = ("act_std", "activation_std", "std")
GRAD_NORM_KEYS = ("grad_norm", "gradient_norm", "grad_norms")
LOSS_KEYS = ("loss_curve", "losses", "loss")
#: The metric tabulated per init and backend for symmetry and trainability rows.
PIVOT_METRIC = "final_loss"
#: Keys naming what an experiment row initialised with, first match wins.
INIT_KEYS = ("label", "init", "scheme")
DEPTH_KEYS = ("depth", "x")


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------
def first(d: Mapping[str, Any], keys: Iterable[str], default: Any = None) -> Any:
    """The value of the first key of ``keys`` present (and not None) in ``d``."""
    for k in keys:
        v = d.get(k)
        if v is not None:
            return v
    return default


def is_number(x: Any) -> bool:
    """True for a finite real number (bools excluded)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def numbers(xs: Any) -> list[float]:
    """``xs`` as a list of floats with non-numbers (nulls from NaN, infinities) as ``nan``;
    [] if ``xs`` is not a list."""
    if not isinstance(xs, (list, tuple)):
        return []
    try:
        a = np.asarray(xs, dtype=float)  # None -> nan; fast path for plain numeric lists
    except (TypeError, ValueError):
        return [float(x) if is_number(x) else math.nan for x in xs]
    if a.ndim != 1:
        return [float(x) if is_number(x) else math.nan for x in xs]
    return np.where(np.isfinite(a), a, np.nan).tolist()


def slug(text: str) -> str:
    """An HTML id fragment made of ``[a-z0-9-]`` from ``text``."""
    out = "".join(c if c.isalnum() else "-" for c in str(text).lower())
    return "-".join(p for p in out.split("-") if p) or "x"


def worst_ratio(ratios: Iterable[Any]) -> float | None:
    """The std ratio farthest from 1 (the one a reader must see), or None when there is none."""
    vals = [float(r) for r in ratios if is_number(r)]
    return max(vals, key=lambda r: abs(r - 1.0)) if vals else None


def combine(verdicts: Iterable[str]) -> str:
    """One verdict for a set of checks: any fail -> fail, else finding, else pass, else skip."""
    vs = set(verdicts)
    for v in VERDICT_ORDER:
        if v in vs:
            return v
    return "none"


# ---------------------------------------------------------------------------------------------
# columns (backend x device) and the summary matrix
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One backend run: a column of the summary matrix."""

    backend: str
    device: str
    status: str = "ok"
    reason: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    device_name: str | None = None
    duration_s: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.backend, self.device)

    @property
    def label(self) -> str:
        return f"{self.backend} / {self.device}"

    @property
    def down(self) -> bool:
        return self.status in DOWN_STATUSES


def columns(results: Mapping[str, Any]) -> list[Column]:
    """Backend runs in document order, plus any (backend, device) that only appears in checks."""
    cols: dict[tuple[str, str], Column] = {}
    for b in results.get("backends") or []:
        c = Column(str(b.get("backend", "?")), str(b.get("device") or "cpu"), str(b.get("status") or "ok"),
                   b.get("reason"), dict(b.get("versions") or {}), b.get("device_name"), b.get("duration_s"))
        cols.setdefault(c.key, c)
    for ch in results.get("checks") or []:
        if ch.get("subject", MATRIX_SUBJECT) == MATRIX_SUBJECT:
            key = (str(ch.get("backend", "?")), str(ch.get("device") or "cpu"))
            cols.setdefault(key, Column(*key))
    return list(cols.values())


def scheme_order(names: Iterable[str]) -> list[str]:
    """Schemes in the spec's table order, unknown names after them, alphabetically."""
    try:
        from initspec.schemes import SCHEMES

        known = list(SCHEMES)
    except Exception:  # noqa: BLE001 - the report must render even without the spec table
        known = []
    names = set(names)
    return [n for n in known if n in names] + sorted(names - set(known))


@dataclass
class Cell:
    """One scheme x column cell of the summary matrix."""

    verdict: str
    std_ratio: float | None
    counts: dict[str, int]
    reason: str | None = None

    @property
    def title(self) -> str:
        """Tooltip text: the counts (or the reason a column is down)."""
        if self.reason:
            return self.reason
        parts = [f"{n} {v}" for v, n in self.counts.items() if n]
        return ", ".join(parts) or "no checks"


@dataclass
class Matrix:
    """The summary matrix: ``cells[scheme][column_key]``."""

    columns: list[Column]
    schemes: list[str]
    cells: dict[str, dict[tuple[str, str], Cell]]


def matrix_checks(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The checks the matrix summarises (initspec's own adapters)."""
    return [c for c in results.get("checks") or [] if c.get("subject", MATRIX_SUBJECT) == MATRIX_SUBJECT]


def summary_matrix(results: Mapping[str, Any]) -> Matrix:
    """Combine every initspec check into one verdict and worst std ratio per scheme and column."""
    cols = columns(results)
    by_cell: dict[tuple[str, tuple[str, str]], list[Mapping[str, Any]]] = defaultdict(list)
    for ch in matrix_checks(results):
        key = (str(ch.get("backend", "?")), str(ch.get("device") or "cpu"))
        by_cell[(str(ch.get("scheme", "?")), key)].append(ch)
    schemes = scheme_order({s for s, _ in by_cell})
    cells: dict[str, dict[tuple[str, str], Cell]] = {}
    for s in schemes:
        row = cells[s] = {}
        for col in cols:
            chs = by_cell.get((s, col.key), [])
            counts = {v: 0 for v in VERDICT_ORDER}
            for ch in chs:
                counts[ch.get("verdict", "skip")] = counts.get(ch.get("verdict", "skip"), 0) + 1
            if col.down:
                row[col.key] = Cell("unavailable", None, counts, col.reason or f"{col.label}: {col.status}")
            else:
                row[col.key] = Cell(combine(ch.get("verdict", "skip") for ch in chs),
                                    worst_ratio(ch.get("std_ratio") for ch in chs), counts)
    return Matrix(cols, schemes, cells)


def counts(results: Mapping[str, Any]) -> dict[str, int]:
    """Verdict counts: the document's ``summary``, recomputed from the checks when absent."""
    s = results.get("summary")
    if isinstance(s, Mapping) and s:
        return {v: int(s.get(v) or 0) for v in ("pass", "fail", "finding", "skip", "unavailable")}
    out = {v: 0 for v in ("pass", "fail", "finding", "skip", "unavailable")}
    for c in results.get("checks") or []:
        out[c.get("verdict", "skip")] = out.get(c.get("verdict", "skip"), 0) + 1
    return out


# ---------------------------------------------------------------------------------------------
# per-scheme sections
# ---------------------------------------------------------------------------------------------
@dataclass
class SampleGroup:
    """Samples of the same logical weight (scheme, dtype, params, shape up to layout) overlaid
    in one figure, one entry per backend/subject."""

    key: str
    scheme: str
    dtype: str
    title: str
    samples: list[dict[str, Any]]
    alpha: float | None = None

    @property
    def n(self) -> int:
        return max((sample_n(s) for s in self.samples), default=0)


def sample_n(s: Mapping[str, Any]) -> int:
    """Sample size of a summary (its declared ``n``; 0 when a hand-made document lacks it)."""
    n = s.get("n")
    return int(n) if is_number(n) else 0


def sample_label(s: Mapping[str, Any], multi_device: bool) -> str:
    """Legend label of a sample: backend (device) or the native name."""
    name = s.get("native_name") if s.get("subject") == "native" and s.get("native_name") else s.get("backend", "?")
    return f"{name} ({s.get('device', 'cpu')})" if multi_device else str(name)


def overlay_key(s: Mapping[str, Any]) -> str:
    """Samples of the same logical weight share a figure: scheme, dtype, parameters and the
    shape up to layout (sorted dimensions)."""
    shape = sorted(int(d) for d in s.get("shape") or [] if is_number(d))
    params = s.get("params") or {}
    ptxt = ",".join(f"{k}={params[k]}" for k in sorted(params))
    return f"{s.get('scheme', '?')}|{s.get('dtype', '?')}|{ptxt}|{'x'.join(map(str, shape))}"


def sample_groups(results: Mapping[str, Any]) -> dict[str, list[SampleGroup]]:
    """Sample summaries grouped for overlay, keyed by scheme (groups in document order)."""
    default_alpha = (results.get("config") or {}).get("alpha")
    samples = [v for v in (results.get("samples") or {}).values() if isinstance(v, Mapping)]
    devices = {str(s.get("device") or "cpu") for s in samples}
    groups: dict[str, SampleGroup] = {}
    for s in samples:
        key = overlay_key(s)
        s = {**s, "label": sample_label(s, len(devices) > 1), "n": sample_n(s)}
        g = groups.get(key)
        if g is None:
            params = s.get("params") or {}
            ptxt = ", ".join(f"{k}={params[k]}" for k in sorted(params))
            title = f"{s.get('scheme', '?')} {s.get('dtype', '')}" + (f" ({ptxt})" if ptxt else "")
            g = groups[key] = SampleGroup(key, str(s.get("scheme", "?")), str(s.get("dtype", "")), title, [])
        g.samples.append(s)
        a = s.get("alpha") if is_number(s.get("alpha")) else default_alpha
        if is_number(a):
            g.alpha = float(a) if g.alpha is None else min(g.alpha, float(a))
    out: dict[str, list[SampleGroup]] = defaultdict(list)
    for g in groups.values():
        out[g.scheme].append(g)
    return dict(out)


#: Moments shown as the observed range rather than as a column of their own.
RANGE_KEYS = ("min", "max")


@dataclass
class MomentCell:
    """A backend's measured moment with the spec's value and the acceptance interval."""

    measured: Any
    expected: Any
    interval: Any
    inside: bool | None


@dataclass
class MomentTable:
    """Moments of a sample group: one row per backend, one column per moment."""

    moments: list[str]
    rows: list[tuple[str, dict[str, MomentCell], tuple[Any, Any], Any]]  # label, cells, (min, max), bounds


def moment_cell(m: Any) -> MomentCell:
    """A moment entry (``{"measured", "expected", "interval"}`` or a bare number) as a cell."""
    if isinstance(m, Mapping):
        meas, exp, iv = m.get("measured"), m.get("expected"), m.get("interval")
        if m.get("verdict") in ("pass", "fail"):  # the check's own verdict decides
            return MomentCell(meas, exp, iv, m["verdict"] == "pass")
    else:
        meas, exp, iv = m, None, None
    inside = None
    if is_number(meas) and isinstance(iv, (list, tuple)) and len(iv) == 2:
        lo = float(iv[0]) if is_number(iv[0]) else -math.inf
        hi = float(iv[1]) if is_number(iv[1]) else math.inf
        inside = lo <= float(meas) <= hi
    return MomentCell(meas, exp, iv, inside)


def moment_table(group: SampleGroup) -> MomentTable:
    """The moment table of a sample group."""
    names: list[str] = []
    rows = []
    for s in group.samples:
        ms = s.get("moments") or {}
        names += [k for k in ms if k not in names and k not in RANGE_KEYS]
        cells = {k: moment_cell(v) for k, v in ms.items() if k not in RANGE_KEYS}
        rows.append((str(s["label"]), cells, (ms.get("min"), ms.get("max")), s.get("bounds")))
    return MomentTable(names, rows)


@dataclass
class SchemeSection:
    """Everything shown for one scheme."""

    scheme: str
    anchor: str
    summary: str
    groups: list[SampleGroup]
    check_names: list[str]
    check_columns: list[str]
    check_cells: dict[str, dict[str, dict[str, Any]]]
    verdict: str


def scheme_summary(name: str) -> str:
    """The scheme's one-line summary from the spec table ('' for unknown names)."""
    try:
        from initspec.schemes import SCHEMES

        return SCHEMES[name].summary if name in SCHEMES else ""
    except Exception:  # noqa: BLE001
        return ""


def scheme_sections(results: Mapping[str, Any]) -> list[SchemeSection]:
    """One section per scheme seen in checks or samples, in spec order."""
    groups = sample_groups(results)
    checks: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for c in matrix_checks(results):
        checks[str(c.get("scheme", "?"))].append(c)
    order = [c.label for c in columns(results)]
    out = []
    for s in scheme_order(set(groups) | set(checks)):
        names: list[str] = []
        cols: list[str] = []
        cells: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for c in checks.get(s, []):
            name, col = str(c.get("check", "?")), f"{c.get('backend', '?')} / {c.get('device') or 'cpu'}"
            if name not in names:
                names.append(name)
            if col not in cols:
                cols.append(col)
            prev = cells[name].get(col)
            verdict = combine([c.get("verdict", "skip")] + ([prev["verdict"]] if prev else []))
            n = (prev["n"] if prev else 0) + 1
            detail = f"{c.get('id', '')}: measured {c.get('measured')!r}, expected {c.get('expected')!r}"
            if c.get("message"):
                detail += f" - {c['message']}"
            text = detail if not prev else prev["title"] + "\n" + detail
            cells[name][col] = {"verdict": verdict, "n": n, "title": text}
        cols.sort(key=lambda c: order.index(c) if c in order else len(order))
        out.append(SchemeSection(s, f"scheme-{slug(s)}", scheme_summary(s), groups.get(s, []), names, cols,
                                 dict(cells), combine(c.get("verdict", "skip") for c in checks.get(s, []))))
    return out


# ---------------------------------------------------------------------------------------------
# fans, native audit, failures, portable
# ---------------------------------------------------------------------------------------------
def close(a: Any, b: Any, rtol: float = FAN_RTOL) -> bool | None:
    """Whether two numbers are equal to ``rtol`` (None when either is missing)."""
    if not (is_number(a) and is_number(b)):
        return None
    return abs(float(a) - float(b)) <= rtol * max(abs(float(a)), abs(float(b)), 1.0)


@dataclass
class FanTable:
    """Fan rows of one logical layer."""

    layer: str
    anchor: str
    spec_fan_in: Any
    spec_fan_out: Any
    schemes: list[str]
    rows: list[dict[str, Any]]


def fan_tables(results: Mapping[str, Any]) -> list[FanTable]:
    """FanRows grouped by layer; each row gets ``in_ok``/``out_ok`` (fan equals the spec's)."""
    by_layer: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in results.get("fans") or []:
        by_layer[str(r.get("layer", "?"))].append(r)
    out = []
    for layer, rows in by_layer.items():
        schemes: list[str] = []
        for r in rows:
            schemes += [k for k in (r.get("std") or {}) if k not in schemes]
        spec_in, spec_out = rows[0].get("spec_fan_in"), rows[0].get("spec_fan_out")
        view = [{**r, "in_ok": close(r.get("fan_in"), r.get("spec_fan_in")),
                 "out_ok": close(r.get("fan_out"), r.get("spec_fan_out"))} for r in rows]
        out.append(FanTable(layer, f"fans-{slug(layer)}", spec_in, spec_out, schemes, view))
    return out


def native_by_framework(results: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """Native findings grouped by framework (document order), departures first in each group."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for f in results.get("native") or []:
        groups[str(f.get("framework", "?"))].append(f)
    rank = {"departs": 0, "matches": 1, "skip": 2, "unavailable": 3}
    return [(fw, sorted(fs, key=lambda f: rank.get(f.get("verdict"), 9))) for fw, fs in groups.items()]


def failures(results: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every failing check, in document order."""
    return [c for c in results.get("checks") or [] if c.get("verdict") == "fail"]


def skips(results: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Skipped checks counted by reason (message), most frequent first."""
    reasons: dict[str, int] = defaultdict(int)
    for c in results.get("checks") or []:
        if c.get("verdict") == "skip":
            reasons[str(c.get("message") or "no reason given")] += 1
    return sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass
class PortableTable:
    """The portable-generator table: ``cells[scheme][backend] = (max_abs_diff, max_ulp)``."""

    backends: list[str]
    schemes: list[str]
    cells: dict[str, dict[str, tuple[Any, Any]]]
    extra: dict[str, Any]


def portable_table(results: Mapping[str, Any]) -> PortableTable | None:
    """The ``portable`` section as a scheme x backend table (None when the run had none)."""
    p = results.get("portable")
    if not isinstance(p, Mapping):
        return None
    diff = p.get("max_abs_diff") or {}
    ulp = p.get("max_ulp") or {}
    backends = list(dict.fromkeys([*diff, *ulp]))
    schemes = scheme_order({s for b in backends for s in [*(diff.get(b) or {}), *(ulp.get(b) or {})]})
    cells = {s: {b: ((diff.get(b) or {}).get(s), (ulp.get(b) or {}).get(s)) for b in backends} for s in schemes}
    extra = {k: v for k, v in p.items() if k not in ("max_abs_diff", "max_ulp")}
    return PortableTable(backends, schemes, cells, extra)
