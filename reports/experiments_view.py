"""View model of the seed-claim experiments in the report: loss curves, signal panels, the
symmetry/trainability tables and pivots (from the results' ``experiments`` section only)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import ACT_STD_KEYS, DEPTH_KEYS, GRAD_NORM_KEYS, INIT_KEYS, LOSS_KEYS, first, numbers


@dataclass
class Curve:
    """One line of a line plot."""

    label: str
    x: list[float]
    y: list[float]
    color_key: str
    style_key: str


def curve_xy(row: Mapping[str, Any], ykeys: Sequence[str]) -> tuple[list[float], list[float]] | None:
    """``(x, y)`` of a per-layer (or per-step) curve in ``row``; None when the row has none."""
    y = numbers(first(row, ykeys))
    if not y:
        return None
    x = numbers(first(row, DEPTH_KEYS))
    if len(x) != len(y) or any(math.isnan(v) for v in x):
        x = [float(i + 1) for i in range(len(y))]
    return x, y


def init_name(r: Mapping[str, Any]) -> str:
    """What an experiment row initialised with: its ``label``, ``init`` key or ``scheme``."""
    return str(first(r, INIT_KEYS, "?"))


def signal_panels(experiments: Mapping[str, Any] | None) -> list[tuple[str, list[Curve], list[Curve]]]:
    """Per activation: (activation, activation-std curves, gradient-norm curves)."""
    if not experiments:
        return []
    by_act: dict[str, tuple[list[Curve], list[Curve]]] = {}
    for r in experiments.get("signal") or []:
        act = str(r.get("activation", "?"))
        acts, grads = by_act.setdefault(act, ([], []))
        name, backend = init_name(r), str(r.get("backend", "?"))
        for keys, dest in ((ACT_STD_KEYS, acts), (GRAD_NORM_KEYS, grads)):
            xy = curve_xy(r, keys)
            if xy:
                dest.append(Curve(f"{name} · {backend}", *xy, name, backend))
    return [(a, *v) for a, v in by_act.items()]


def loss_curves(rows: Iterable[Mapping[str, Any]]) -> list[Curve]:
    """Loss curves of symmetry/trainability rows (colour by init, style by backend)."""
    out = []
    for r in rows:
        curve = next((r[k] for k in LOSS_KEYS if isinstance(r.get(k), (list, tuple))), None)
        xy = curve_xy({"y": curve}, ("y",))
        if xy:
            name, backend = init_name(r), str(r.get("backend", "?"))
            out.append(Curve(f"{name} · {backend}", *xy, name, backend))
    return out


@dataclass
class ScalarTable:
    """Experiment rows as a table of their scalar fields; fields equal in every row are pulled
    out into ``constants`` (shown once above the table)."""

    columns: list[str]
    rows: list[dict[str, Any]]
    constants: dict[str, Any]


def scalar_table(rows: Sequence[Mapping[str, Any]]) -> ScalarTable:
    """The scalar (non-list, non-dict) fields of experiment rows."""
    cols: list[str] = []
    for r in rows:
        cols += [k for k, v in r.items() if k not in cols and not isinstance(v, (list, tuple, dict))]
    table = [{k: r.get(k) for k in cols} for r in rows]
    constants = {k: table[0][k] for k in cols if len(table) > 1 and all(t[k] == table[0][k] for t in table)}
    keep: list[str] = []
    for k in cols:  # drop constants and columns that repeat an earlier one (label == init == scheme)
        if k not in constants and not any(all(t[k] == t[j] for t in table) for j in keep):
            keep.append(k)
    return ScalarTable(keep, [{k: t[k] for k in keep} for t in table], constants)


@dataclass
class MetricPivot:
    """One scalar metric of experiment rows as (init [· activation]) x backend."""

    metric: str
    rows: list[str]
    backends: list[str]
    cells: dict[tuple[str, str], Any]


def metric_pivot(rows: Sequence[Mapping[str, Any]], metric: str) -> MetricPivot | None:
    """``metric`` per init (and activation when rows differ in it) and backend; None when no
    row has the metric."""
    if not any(metric in r for r in rows):
        return None
    acts = {r.get("activation") for r in rows}

    def key(r: Mapping[str, Any]) -> str:
        return init_name(r) + (f" · {r.get('activation')}" if len(acts) > 1 else "")

    names = list(dict.fromkeys(key(r) for r in rows))
    backends = list(dict.fromkeys(str(r.get("backend", "?")) for r in rows))
    return MetricPivot(metric, names, backends, {(key(r), str(r.get("backend", "?"))): r.get(metric) for r in rows})


def symmetry_cell(r: Mapping[str, Any]) -> tuple[str, str]:
    """``(distinct / units, rank)`` text of a symmetry row: per hidden layer when the row has
    ``layers``, else from its top-level ``distinct_units``/``units``/``rank``."""
    layers = [L for L in r.get("layers") or [] if isinstance(L, Mapping)]
    if layers:
        units = ", ".join(f"{L.get('distinct_units', '?')}/{L.get('units', '?')}" for L in layers)
        ranks = ", ".join(str(L.get("rank", "?")) for L in layers)
        return units, ranks
    rank = r.get("rank")
    return f"{r.get('distinct_units', '?')}/{r.get('units', '?')}", "" if rank is None else str(rank)


def symmetry_pivot(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[list[str], list[str], dict[tuple[str, str], tuple[str, str]]] | None:
    """Symmetry rows as init x backend cells of :func:`symmetry_cell` (None when the rows have
    neither ``layers`` nor ``distinct_units``)."""
    if not rows or not all("layers" in r or "distinct_units" in r for r in rows):
        return None
    inits = list(dict.fromkeys(init_name(r) for r in rows))
    backends = list(dict.fromkeys(str(r.get("backend", "?")) for r in rows))
    return inits, backends, {(init_name(r), str(r.get("backend", "?"))): symmetry_cell(r) for r in rows}


def claim_backends(claims: Sequence[Mapping[str, Any]]) -> list[str]:
    """Union of the backends that claims were evaluated on, in first-seen order."""
    out: list[str] = []
    for c in claims:
        out += [b for b in (c.get("per_backend") or {}) if b not in out]
    return out
