"""The shape-independent fast paths of the portable stream (issue 16) give the reference's bits:
the NumPy reference's chunks, bit-blend ``where`` and tail subsets, torch's choice of path on the
CPU, and JAX's flat size-class kernels (across piece boundaries)."""

from __future__ import annotations

import numpy as np
import pytest
from initspec.backends import portable as P
from initspec.backends.portable import _spec as S


def test_numpy_where_blend_matches_np_where():
    rng = np.random.default_rng(0)
    c = rng.random(1000) < 0.3
    a = rng.standard_normal(1000).astype(np.float32)
    b = np.full(1000, -0.0, dtype=np.float32)
    b[::7] = np.nan
    for x, y in ((a, b), (1.5, b), (a, -2.25), (0.5, 1.0)):
        want = np.where(c, np.float32(x) if isinstance(x, float) else x, np.float32(y) if isinstance(y, float) else y)
        got = P.OPS.where(c, x, y)
        assert got.dtype == np.float32
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_numpy_chunks_equal_one_pass(monkeypatch):
    keys = S.round_key_pairs(S.key_table(5, "chunks"))
    n = 3 * 1024 + 3
    prm = {"radius": 2.0}
    whole = S.compute(P.OPS, "complex_disk", (0, 1), keys, prm, n=n)
    monkeypatch.setattr(P, "CHUNK", 1024)
    chunked = P.run_full("complex_disk", (0, 1), keys, prm, n)
    for a, b in zip(whole, chunked):
        assert np.array_equal(a, b)
    words = P.words(5, "chunks", n)
    assert words.dtype == np.uint32 and np.array_equal(words, S.words_full(P.OPS, keys, 0, n))


def test_ndtri_tail_subset_equals_everywhere():
    """NumPy's on_subset (tails only) gives the bits of the branch-free default."""
    p = S.v_open(P.OPS, P.words(1, "tails", 50_000))
    everywhere = S.ndtri(type("Dense", (P.NumpyOps,), {"on_subset": S.FloatOps.on_subset})(), p)
    assert np.array_equal(S.ndtri(P.OPS, p).view(np.uint32), everywhere.view(np.uint32))


@pytest.mark.torch
def test_torch_cpu_default_path_is_reference_without_compile(pt, monkeypatch):
    import torch
    from initspec.backends.torch import _kernel as K

    monkeypatch.delenv(K.COMPILE_ENV, raising=False)
    assert not K.compile_on_demand()
    if not K._COMPILED_RAN.get(("normal", (0,))):
        assert not K._use_compiled("normal", (0,), torch.device("cpu"), 2**24)
    got = pt.sample("he_normal", (1100, 1000), stream="t", seed=3)
    assert np.array_equal(got.numpy(), P.sample("he_normal", (1100, 1000), layout="torch", stream="t", seed=3))
    monkeypatch.setenv(K.COMPILE_ENV, "1")
    assert K.compile_on_demand() or not K.compile_enabled()


@pytest.mark.jax
def test_jax_flat_size_classes(pj):
    from initspec.backends.jax import _kernel as K

    assert K.size_class(1) == K.FLAT_MIN and K.size_class(K.FLAT_MIN + 1) == 2 * K.FLAT_MIN
    assert K.size_class(10 * K.FLAT_MAX) == K.FLAT_MAX
    shape = (3, 7, 5, 11)  # 1155 elements, transposed from the logical (out, in, kh, kw) order
    want = P.sample("he_uniform", shape, stream="flat", seed=2)
    assert np.array_equal(np.asarray(pj.sample("he_uniform", shape, stream="flat", seed=2)), want)


@pytest.mark.jax
def test_jax_flat_pieces(pj, monkeypatch):
    from initspec.backends.jax import _kernel as K

    monkeypatch.setattr(K, "FLAT_MAX", K.FLAT_MIN)  # several pieces of the smallest class
    shape = (3 * K.FLAT_MIN + 5,)
    want = P.sample("normal", shape, stream="pieces", seed=4)
    assert np.array_equal(np.asarray(pj.sample("normal", shape, stream="pieces", seed=4)), want)
