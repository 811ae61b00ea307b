"""``compute_fans`` with Keras' signature and results, on the spec's ``"keras"`` layout.

Keras (``keras/src/initializers/random_initializers.py::compute_fans``): explicit
``input_axes``/``output_axes`` multiply those dims (e.g. a ``MultiHeadAttention`` query kernel
``(dim, heads, key_dim)`` has ``fan_in = dim``); otherwise rank 0 is ``(1, 1)``, rank 1
``(n, n)`` and rank >= 2 the spec layout ``"keras"`` (Dense ``(in, out)``, Conv ``(*k, in, out)``:
``fan_in = in * prod(k)``, ``fan_out = out * prod(k)``).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from initspec.errors import InitSpecError
from initspec.layouts import compute_fans as spec_fans

__all__ = ["check_axes", "compute_fans"]


def check_axes(name: str, axes: Any) -> Any:
    """``input_axes``/``output_axes``: None or a sequence of ints, returned as given (Keras keeps
    the caller's list in ``get_config``)."""
    if axes is None:
        return None
    if isinstance(axes, (str, bytes)) or not isinstance(axes, Sequence) or not all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axes):
        raise InitSpecError(f"Argument `{name}` must be None or a list of ints. Received: {name}={axes!r}")
    return axes


def _product(shape: tuple[int, ...], axes: Sequence[int], name: str) -> int:
    n = 1
    for a in axes:
        if not -len(shape) <= a < len(shape):
            raise InitSpecError(
                f"Argument `{name}` holds an axis out of range for rank {len(shape)}. "
                f"Received: {name}={list(axes)!r}, shape={shape!r}"
            )
        n *= shape[a]
    return n


def compute_fans(shape: Sequence[int], input_axes: Sequence[int] | None = None,
                 output_axes: Sequence[int] | None = None) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight ``shape`` as Keras computes them (see module docstring)."""
    shape = tuple(int(d) for d in shape)
    if input_axes is not None and output_axes is not None:
        return (_product(shape, check_axes("input_axes", input_axes), "input_axes"),
                _product(shape, check_axes("output_axes", output_axes), "output_axes"))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    fans = spec_fans(shape, "keras")
    return int(fans.fan_in), int(fans.fan_out)
