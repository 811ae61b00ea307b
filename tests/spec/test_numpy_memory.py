"""The NumPy reference's chunked samplers (issue 16): the same values as the generic path, an
exact truncated normal on both of its paths, and a bounded peak memory (tracemalloc counts NumPy's
allocations, so this is deterministic, not a timing)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from initspec import resolve
from initspec.backends import _core
from initspec.backends.numpy import _primitives as prim
from scipy import stats


class Generic(prim.NumpyBackend):
    """The generic path of ``_core.sample`` (no fused chunked paths)."""

    fast_normal = fast_uniform = fast_truncated_normal = None


CASES = [("he_normal", {}), ("normal", {"mean": 0.5, "std": 2.0}), ("he_uniform", {}), ("uniform", {"low": -1, "high": 3}),
         ("he_truncated_normal", {}), ("truncated_normal_abs", {"mean": 0.1, "std": 0.5, "low": -0.3, "high": 0.9})]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("scheme, params", CASES)
def test_chunked_paths_equal_the_generic_path(monkeypatch, scheme, params, dtype):
    monkeypatch.setattr(prim, "CHUNK", 1000)  # many chunks, a ragged last one
    plan = resolve(scheme, (70, 53), "keras", dtype, **params)
    fast = _core.sample(prim.BACKEND, np.random.default_rng(3), plan)
    slow = _core.sample(Generic(), np.random.default_rng(3), plan)
    assert fast.dtype == slow.dtype == np.dtype(dtype) and fast.shape == (70, 53)
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("a, b", [(-2.0, 2.0), (-0.5, 3.0), (1.5, 1.6), (-6.0, -5.5), (0.0, 0.01)])
def test_truncated_normal_is_exact_on_both_paths(a, b):
    """Rejection (mass >= 0.25) and inverse CDF (below): inside (a, b), and a KS test against
    scipy's truncnorm at alpha = 1e-3 (a planted shifted law must fail it)."""
    x = prim.BACKEND.truncated_normal(np.random.default_rng(11), (20_000,), "float64", a, b)
    assert np.all((x > a) & (x < b))
    assert stats.kstest(x, stats.truncnorm(a, b).cdf).pvalue > 1e-3
    planted = stats.truncnorm(a, b, loc=0.02 * (b - a)).cdf  # 2% of the width off
    assert stats.kstest(x, planted).pvalue < 1e-3


@pytest.mark.parametrize("scheme", ["he_normal", "he_uniform", "he_truncated_normal"])
def test_peak_memory_is_bounded_by_the_output(monkeypatch, scheme):
    """Peak traced memory of one 2048x2048 float32 call <= the output + a fixed scratch of a few
    float64 chunks (it was 3-4x the output, and ~49x for scipy's truncnorm.rvs)."""
    monkeypatch.setattr(prim, "CHUNK", 1 << 16)  # small chunks: the output term dominates
    plan = resolve(scheme, (2048, 2048), "keras", "float32")
    tracemalloc.start()
    try:
        x = _core.sample(prim.BACKEND, np.random.default_rng(0), plan)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 1.05 * x.nbytes + 6 * prim.CHUNK * 8, (peak / x.nbytes)


def test_the_memory_bound_catches_the_generic_path(monkeypatch):
    """The bound above is sensitive: the generic path (full-size float64 draws, then temporaries)
    exceeds it."""
    monkeypatch.setattr(prim, "CHUNK", 1 << 16)
    plan = resolve("he_normal", (2048, 2048), "keras", "float32")
    tracemalloc.start()
    try:
        x = _core.sample(Generic(), np.random.default_rng(0), plan)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak > 1.05 * x.nbytes + 6 * prim.CHUNK * 8
