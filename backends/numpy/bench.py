"""Benchmarks of the NumPy reference against NumPy's own samplers (``initspec bench``; issue 16).

4096x4096 float32 each: the reference's chunked normal, uniform and truncated normal paths against
``numpy.random.Generator.standard_normal``/``random`` (scaled in place, so the native call holds
only its output), with the issue's target for the reference: within :data:`NUMPY_TARGET` of
NumPy's own sampler (the truncated normal against the *normal* sampler); and the portable stream
(the compiled kernel) at least half the native speed. The runner also reports each call's peak
memory relative to its output (target: at most 2x).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._bench import BenchCase

__all__ = ["BENCH_SHAPE", "NUMPY_TARGET", "bench_cases"]

BENCH_SHAPE = (4096, 4096)
#: the NumPy reference may take at most this many times NumPy's own sampler (issue 16)
NUMPY_TARGET = 2.0


def _scaled_normal(rng: np.random.Generator, std: float) -> np.ndarray:
    x = rng.standard_normal(BENCH_SHAPE, dtype=np.float32)
    x *= np.float32(std)
    return x


def _scaled_uniform(rng: np.random.Generator, limit: float) -> np.ndarray:
    x = rng.random(BENCH_SHAPE, dtype=np.float32)
    x *= np.float32(2 * limit)
    x -= np.float32(limit)
    return x


def bench_cases() -> list[BenchCase]:
    from .. import portable
    from ._harness import sample

    rng = np.random.default_rng(0)
    fan_in = BENCH_SHAPE[0]  # keras layout (in, out)
    std, limit = math.sqrt(2 / fan_in), math.sqrt(6 / fan_in)
    dims = "x".join(map(str, BENCH_SHAPE))
    normal_name = "Generator.standard_normal(float32) * std"

    def case(label: str, ours: Any, native: Any, native_name: str, **kw: Any) -> BenchCase:
        return BenchCase(backend="numpy", label=f"{label} {dims} float32", ours=ours, native=native,
                         native_name=native_name, **kw)

    return [
        case("he_normal", lambda: sample("he_normal", BENCH_SHAPE, seed=0), lambda: _scaled_normal(rng, std),
             normal_name, target=NUMPY_TARGET),
        case("he_uniform", lambda: sample("he_uniform", BENCH_SHAPE, seed=0), lambda: _scaled_uniform(rng, limit),
             "Generator.random(float32) * 2l - l", target=NUMPY_TARGET),
        case("he_truncated_normal (vs the normal sampler)", lambda: sample("he_truncated_normal", BENCH_SHAPE, seed=0),
             lambda: _scaled_normal(rng, std), normal_name, target=NUMPY_TARGET),
        case("portable he_normal (min_speedup=0.5)",
             lambda: portable.sample("he_normal", BENCH_SHAPE, seed=0, stream="bench"),
             lambda: _scaled_normal(rng, std), normal_name, target=NUMPY_TARGET, min_speedup=0.5),
    ]
