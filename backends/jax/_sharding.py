"""``out_sharding=`` of the initializers, as in ``jax.nn.initializers``: the traced output is
constrained to a ``NamedSharding`` (a bare ``PartitionSpec`` uses the current mesh).

Reference: ``jax/_src/random/core.py::maybe_auto_axes`` for meshes with explicit axes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

__all__ = ["constrained", "named_sharding"]


def constrained(draw: Callable[..., Any], out_sharding: Any, *args: Any) -> Any:
    """``draw(*args)`` (traced) with its output sharded as ``out_sharding`` (None: unconstrained)."""
    if out_sharding is None:
        return draw(*args)
    sharding = named_sharding(out_sharding)
    explicit = getattr(sharding.mesh, "explicit_axes", ())  # meshes before explicit sharding have none
    if explicit:
        # as jax/_src/random/core.py::maybe_auto_axes: sample with the explicit axes made Auto
        # (the partitioner places the RNG per shard), then reshard to the requested output
        return jax.sharding.auto_axes(draw, out_sharding=sharding, axes=explicit)(*args)
    return jax.lax.with_sharding_constraint(draw(*args), sharding)


def named_sharding(out_sharding: Any) -> Any:
    """``out_sharding`` as a ``NamedSharding``; a bare ``PartitionSpec`` uses the current mesh."""
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh = jax.sharding.get_abstract_mesh()
        if mesh.empty:
            raise ValueError(
                f"Argument `out_sharding` is a PartitionSpec but no mesh is set (use jax.set_mesh or "
                f"pass a NamedSharding). Received: out_sharding={out_sharding!r}"
            )
        return jax.sharding.NamedSharding(mesh, out_sharding)
    if not isinstance(out_sharding, jax.sharding.NamedSharding):
        raise TypeError(
            f"Argument `out_sharding` must be a NamedSharding, a PartitionSpec or None. "
            f"Received: out_sharding={out_sharding!r}"
        )
    return out_sharding
