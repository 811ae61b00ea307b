"""JAX's own fan rule, for the axes that :class:`initspec.Layout` refuses but JAX accepts.

``jax.nn.initializers.variance_scaling`` computes its fans with
``jax/_src/nn/initializers.py::_compute_fans``: ``receptive = prod(shape) / in / out / batch``,
``fan_in = in * receptive``, ``fan_out = out * receptive``. Where the axes are disjoint and the
rank is at least 2 this equals the spec's layout rule (:meth:`initspec.Layout.fans`), which the
adapter then uses. JAX also accepts, and the spec's layouts refuse:

* explicit axes on rank-0/1 shapes (``in_axis=[0]`` on ``(n,)``: both axes are axis 0, so
  ``fan_in = fan_out = 1``; ``in_axis=(), out_axis=()`` on ``()``: fans ``(1, 1)``); only the
  default integer ``in_axis=-2`` on rank <= 1 is an error in JAX;
* overlapping roles (Flax ``Embed``'s ``variance_scaling(1, "fan_in", "normal", out_axis=0)`` on
  ``(vocab, features)``: in and out are both axis 0, the receptive field ``features / vocab`` is
  fractional and ``fan_in = features``).

For those, :func:`jax_rule_fans` gives the fans to pass to :func:`initspec.resolve` as
``fans=(fan_in, fan_out)``.
"""

from __future__ import annotations

import math
from typing import Any

from initspec.errors import InitSpecError
from initspec.layouts import Layout

__all__ = ["jax_rule_fans", "layout_refuses"]


def layout_refuses(layout: Layout, shape: tuple[int, ...], axes: dict[str, Any]) -> bool:
    """Whether JAX's rule must replace ``layout``'s: explicit JAX axes were given (``axes``: the
    factory's ``in_axis``/``out_axis``/``batch_axis``, None when not given) and ``layout`` refuses
    ``shape`` (rank below its minimum, or one axis in two roles). JAX itself refuses the default
    integer ``in_axis=-2`` on rank <= 1, so the spec's error (with its ``fans=`` hint) stands there."""
    if all(v is None for v in axes.values()):
        return False
    if len(shape) <= 1 and axes.get("in_axis") in (None, -2):
        return False
    try:
        layout.roles(shape)
    except InitSpecError:
        return True
    return False


def _size(shape: tuple[int, ...], axes: tuple[int, ...], role: str) -> int:
    rank = len(shape)
    for a in axes:
        if not -rank <= a < rank:
            raise InitSpecError(
                f"The {role} axis {a} is out of range for a rank-{rank} weight (pass `{role}_axis` "
                f"explicitly). Received: {role}_axis={axes!r}, shape={shape!r}"
            )
    return math.prod(shape[a] for a in axes)


def jax_rule_fans(shape: tuple[int, ...], layout: Layout) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of ``shape`` by ``_compute_fans`` with ``layout``'s axes."""
    n_in = _size(shape, layout.in_axes, "in")
    n_out = _size(shape, layout.out_axes, "out")
    n_batch = _size(shape, layout.batch_axes, "batch")
    if 0 in (n_in, n_out, n_batch) or math.prod(shape) == 0:
        raise InitSpecError(
            f"A fan would be 0 for a zero-size dim; variance scaling would divide by zero. "
            f"Received: shape={shape!r}"
        )
    receptive = math.prod(shape) / n_in / n_out / n_batch
    return n_in * receptive, n_out * receptive
