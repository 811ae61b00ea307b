"""Formatting of values for the report's tables (pure functions, used as jinja2 filters)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .model import is_number

#: Significant digits of numbers in tables.
DIGITS = 4
#: Longest rendering of a measured/expected value in a table cell before it is cut.
MAX_VALUE_CHARS = 160
#: Verdicts with a CSS class (anything else renders as "none").
VERDICTS = ("pass", "fail", "finding", "skip", "unavailable", "matches", "departs", "none")


def fmt_num(x: Any, digits: int = DIGITS) -> str:
    """A number for a table: ``digits`` significant digits; '—' for missing/non-finite."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}g}" if math.isfinite(x) else "—"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt_num(v, digits) for v in x) + "]"
    if isinstance(x, Mapping):
        return ", ".join(f"{k}={fmt_num(v, digits)}" for k, v in x.items())
    return str(x)


def fmt_value(x: Any) -> str:
    """A measured/expected value of any JSON type, cut to ``MAX_VALUE_CHARS``."""
    text = fmt_num(x)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def fmt_bounds(b: Any) -> str:
    """A support ``[low, high]`` with missing ends as infinities."""
    if not isinstance(b, (list, tuple)) or len(b) != 2:
        return "—"
    lo = fmt_num(b[0]) if is_number(b[0]) else "−∞"
    hi = fmt_num(b[1]) if is_number(b[1]) else "∞"
    return f"[{lo}, {hi}]"


def fmt_ratio(x: Any) -> str:
    """A std ratio as '×1.003', or '' when there is none."""
    return f"×{x:.3f}" if is_number(x) else ""


def fmt_seconds(x: Any) -> str:
    """A duration: '2.4 s', '3 min 12 s'."""
    if not is_number(x):
        return "—"
    x = float(x)
    return f"{x:.1f} s" if x < 60 else f"{int(x // 60)} min {int(x % 60)} s"


def verdict_class(v: Any) -> str:
    """The CSS class of a verdict."""
    return f"v-{v}" if v in VERDICTS else "v-none"


