"""Argument validation shared by every layer: clear ``Received: name=value`` errors."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any


class InitSpecError(ValueError):
    """Base class of initspec's value errors (still a ``ValueError``)."""


class UnknownNameError(InitSpecError, KeyError):
    """An unknown scheme, layout, gain or backend name."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def unknown(kind: str, arg: str, value: Any, known: Iterable[str], query: str | None = None) -> UnknownNameError:
    """``Unknown <kind> ... Did you mean ...? Received: <arg>=<value>``; suggestions are the known
    names closest to ``query`` (default: the value)."""
    known = sorted(set(known))
    close = difflib.get_close_matches(str(value if query is None else query), known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = [k for k in known if k.islower() and not k.endswith("_")] or known  # canonical names
    return UnknownNameError(
        (f"Unknown {kind} `{query}`." if query is not None else f"Unknown {kind} {value!r} for argument `{arg}`.")
        + f"{hint} Known: {', '.join(shown)}. "
        f"Received: {arg}={value!r}"
    )


def check_finite(arg: str, value: Any, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{arg}` must be a real number. Received: {arg}={value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise InitSpecError(f"Argument `{arg}` must be finite. Received: {arg}={value!r}")
    if positive and not v > 0:
        raise InitSpecError(f"Argument `{arg}` must be > 0. Received: {arg}={value!r}")
    if nonneg and v < 0:
        raise InitSpecError(f"Argument `{arg}` must be >= 0. Received: {arg}={value!r}")
    return v


def check_shape(shape: Any, arg: str = "shape") -> tuple[int, ...]:
    """Normalise a shape to a tuple of non-negative Python ints, or raise."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes, AbstractSet, Mapping)) or not isinstance(shape, Sequence) and not hasattr(
        shape, "__iter__"
    ):  # a set or dict has no axis order
        raise TypeError(f"Argument `{arg}` must be a sequence of ints. Received: {arg}={shape!r}")
    out = []
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            # allow integral floats? no: 3.0 is almost always a bug upstream
            raise TypeError(
                f"Argument `{arg}` must contain only ints; found {d!r}. Received: {arg}={tuple(shape)!r}"
            )
        if d < 0:
            raise InitSpecError(
                f"Argument `{arg}` must contain non-negative dims; found {d}. "
                f"Received: {arg}={tuple(shape)!r}"
            )
        out.append(int(d))
    return tuple(out)


def check_axes(arg: str, value: Any) -> tuple[int, ...]:
    """An axis argument (``in_axis=-2``, ``batch_axis=(0,)``) as a tuple of ints, or raise."""
    if value is None:
        return ()
    items = (value,) if isinstance(value, numbers.Integral) else value
    if isinstance(items, (str, bytes, AbstractSet, Mapping)) or not isinstance(items, Iterable):
        raise TypeError(f"Argument `{arg}` must be an int or a sequence of ints. Received: {arg}={value!r}")
    items = tuple(items)
    if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in items):
        raise TypeError(f"Argument `{arg}` must be an int or a sequence of ints. Received: {arg}={value!r}")
    return tuple(int(a) for a in items)
