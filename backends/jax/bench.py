"""Benchmarks of the JAX adapter against ``jax.nn.initializers`` (same law, both jitted), for
``initspec bench``: :func:`bench_cases` gives one :class:`initspec.backends._bench.BenchCase` per
pair, shape and available device. The portable stream's own case is
:func:`initspec.backends.jax.portable.bench_cases`.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .._bench import BenchCase
from ._initializer import initializer
from .harness import DEVICES, device_available, jax_device

__all__ = ["bench_cases"]

BENCH_PAIRS: tuple[tuple[str, dict[str, float], str, tuple[float, ...]], ...] = (
    ("he_truncated_normal", {}, "he_normal", ()),
    ("glorot_uniform", {}, "glorot_uniform", ()),
    ("normal", {"std": 0.02}, "normal", (0.02,)),
    ("uniform", {"low": 0.0, "high": 0.01}, "uniform", (0.01,)),
    ("truncated_normal", {"std": 0.02}, "truncated_normal", (0.02,)),
)
BENCH_SHAPES: tuple[tuple[int, ...], ...] = ((4096, 4096), (3, 3, 256, 256))
BENCH_ORTHOGONAL_SHAPE = (1024, 1024)


def _bench_case(device: str, scheme: str, params: dict[str, float], native: str, native_args: tuple,
                shape: tuple[int, ...]) -> BenchCase:
    """One jitted ours-vs-native pair on ``device``, timed with ``block_until_ready``."""
    key = jax.device_put(jax.random.key(0), jax_device(device))
    ours_init = initializer(scheme, **params)
    native_init = getattr(jax.nn.initializers, native)(*native_args)
    ours = jax.jit(lambda k: ours_init(k, shape, jnp.float32))
    theirs = jax.jit(lambda k: native_init(k, shape, jnp.float32))
    dims = "x".join(str(d) for d in shape)
    return BenchCase(backend="jax", label=f"{scheme} {dims} float32", ours=lambda: ours(key),
                     native=lambda: theirs(key), native_name=f"jax.nn.initializers.{native}",
                     sync=jax.block_until_ready, device=device)


def bench_cases(devices: Sequence[str] | None = None) -> list[BenchCase]:
    """Adapter vs ``jax.nn.initializers`` on each available device of ``devices`` (default:
    all): the :data:`BENCH_PAIRS` at :data:`BENCH_SHAPES` and orthogonal at 1024x1024."""
    cases = []
    for device in DEVICES if devices is None else devices:
        if not device_available(device)[0]:
            continue
        for shape in BENCH_SHAPES:
            cases += [_bench_case(device, s, p, n, a, shape) for s, p, n, a in BENCH_PAIRS]
        cases.append(_bench_case(device, "orthogonal", {}, "orthogonal", (), BENCH_ORTHOGONAL_SHAPE))
    return cases
