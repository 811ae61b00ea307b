"""The compiled portable kernel (``backends/portable/_ckernel.c``) against the NumPy reference
generator, bit for bit: every real element-wise kind (uniform; normal, truncated normal in both
mirror directions and far tails), draws, ``start`` offsets, sizes that end inside a Philox block;
a planted mutant (one constant off by one ulp) must be caught; bad arguments are clear errors.

The kernel is built with the package (pyproject ``ext-modules``, ``optional``); where it is missing
this test fails, naming the cause, unless ``INITSPEC_PORTABLE_KERNEL=numpy`` says the NumPy path is
wanted (the values are the same either way: this file proves it)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from initspec.backends import portable as P
from initspec.backends.portable import _cfill
from initspec.backends.portable import _spec as S


def _reference(kind, keys, draw, start, n, prm):
    """The NumPy reference generator's words and transform (what ``run_full`` runs without the kernel)."""
    words = S.words_range(P.OPS, S.round_key_pairs(keys), draw, start, n)
    return np.asarray(S.transform(P.OPS, kind, (words,), prm)[0], dtype=np.float32)


def _kernel(kind, keys, draw, start, n, prm, constants=None):
    out = np.empty(n, dtype=np.float32)
    code, names = _cfill.KINDS[kind]
    params = np.array([prm[k] for k in names], dtype=np.float32)
    _cfill._ckernel.fill(code, np.ascontiguousarray(keys, dtype=np.uint32).reshape(-1), draw, start, n, params,
                         _cfill.CONSTANTS if constants is None else constants, out)
    return out


CASES = {
    "uniform": ("uniform", S.uniform_params(-0.3, 0.7)),
    "uniform_tiny": ("uniform", S.uniform_params(1e-30, 2e-30)),
    "normal": ("normal", dict(S.STANDARD_NORMAL)),
    "normal_mean_std": ("normal", {**S.STANDARD_NORMAL, "std": np.float32(0.02).item(), "mean": 3.0}),
    "trunc_2sigma": ("normal", S.truncation_params(0.0, 1.0, -2.0, 2.0)),
    "trunc_mirrored": ("normal", S.truncation_params(0.5, 0.1, 0.52, 0.9)),
    "trunc_far_tail": ("normal", S.truncation_params(0.0, 1.0, 5.0, 9.0)),
}


@pytest.fixture(autouse=True)
def _kernel_required():
    if not _cfill.available():
        if os.environ.get("INITSPEC_PORTABLE_KERNEL") == "numpy":
            pytest.skip("INITSPEC_PORTABLE_KERNEL=numpy: the compiled kernel is turned off on purpose")
        pytest.fail("initspec.backends.portable._ckernel is not built (a C compiler is needed when installing "
                    f"initspec: pip install .); import error: {_cfill.IMPORT_ERROR}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_kernel_equals_the_reference_bit_for_bit(case):
    kind, prm = CASES[case]
    rng = np.random.default_rng(sum(map(ord, case)))
    for trial in range(12):
        keys = S.key_table(int(rng.integers(0, 2**63)), f"{case}.{trial}")
        n = int(rng.integers(1, 3000)) if trial else 70_001  # ends inside a block; several batches
        start = 4 * int(rng.integers(0, 2**20)) if trial % 2 else 0
        draw = int(rng.integers(0, 2**32)) if trial % 3 == 2 else trial % 2
        want = _reference(kind, keys, draw, start, n, prm)
        got = _kernel(kind, keys, draw, start, n, prm)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), err_msg=f"{case} trial {trial}")


def test_the_tails_are_exercised():
    """The far-tail truncation draws only tail elements, the 2-sigma one both regions."""
    keys = S.key_table(1, "tails")
    p_far = _kernel("normal", keys, 0, 0, 4096, CASES["trunc_far_tail"][1])
    assert p_far.min() >= 5.0 and p_far.max() <= 9.0
    z = _kernel("normal", keys, 0, 0, 200_000, dict(S.STANDARD_NORMAL))
    assert abs(z).max() > 4.0 and 0.1 < np.mean(abs(z) > 1.17) < 0.3  # |z| > 1.17: the tail region's share


def test_run_full_uses_the_kernel_and_matches_the_numpy_path(monkeypatch):
    keys = S.round_key_pairs(S.key_table(7, "w"))
    prm = S.truncation_params(0.0, 1.0, -2.0, 2.0)
    fast, _ = P.run_full("normal", (0,), keys, prm, 10_007)
    monkeypatch.setenv("INITSPEC_PORTABLE_KERNEL", "numpy")
    assert not _cfill.available()
    slow, _ = P.run_full("normal", (0,), keys, prm, 10_007)
    np.testing.assert_array_equal(fast.view(np.uint32), slow.view(np.uint32))


#: constants whose 0.4% change no draw below reveals: the clamps FLT_MIN / 1 - 2**-24 (p never reaches
#: them), logf's reduction boundary sqrt(1/2) (both reductions give the same float almost always)
#: and its smallest polynomial term LG4 (w**2 LG4 < 2**-24 relative), and the far region's leading
#: numerator coefficient (s = t - 5 stays below ~1.6 there, so its s**3 term is a small share)
INSENSITIVE = {"FLT_MIN", "ONE_MINUS_ULP", "SQRT_HALF", "LG4", "PPND7_NUM_far0"}


def test_a_planted_mutant_is_caught():
    """Each constant of the transforms 0.4% off (a zero pad set to 2**-8) changes the values of
    50 000 standard normals, or of a far-tail truncation for the |z| > 5 region: the bitwise
    comparison above is sensitive to every constant that decides a value."""
    keys = S.key_table(3, "mutant")
    draws = [("normal", dict(S.STANDARD_NORMAL)), ("normal", CASES["trunc_far_tail"][1]),
             ("uniform", CASES["uniform"][1])]
    wants = [_reference(k, keys, 0, 0, 50_000, prm) for k, prm in draws]
    uncaught = set()
    for i, name in enumerate(_cfill.CONSTANT_NAMES):
        mutant = _cfill.CONSTANTS.copy()
        v = mutant[i]
        mutant[i] = v * np.float32(1 + 2**-8) if v != 0 else np.float32(2**-8)
        if all(np.array_equal(_kernel(k, keys, 0, 0, 50_000, prm, mutant), want)
               for (k, prm), want in zip(draws, wants)):
            uncaught.add(name)
    assert uncaught == INSENSITIVE


@pytest.mark.parametrize(("args", "match"), [
    ((2, None, 0, 0, 4, "params", None, None), r"`kind` must be 0 \(uniform\) or 1 \(normal\).*kind=2"),
    ((1, None, 0, 2, 4, "params", None, None), r"`start` \(a multiple of 4\).*start=2"),
    ((1, None, 0, 4 * 2**32 - 4, 8, "params", None, None), r"4 \* 2\*\*32.*n=8"),
    ((1, "short", 0, 0, 4, "params", None, None), r"`keys` must hold 80 bytes"),
    ((1, None, 0, 0, 4, "params", None, "short"), r"`out` must hold 16 bytes"),
])
def test_bad_arguments_are_clear_errors(args, match):
    keys = S.key_table(0, "x").reshape(-1)
    kind, k, draw, start, n, _, c, out = args
    params = np.zeros(len(_cfill.KINDS["normal" if kind != 0 else "uniform"][1]), dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        _cfill._ckernel.fill(kind, keys[:3] if k == "short" else keys, draw, start, n, params,
                             _cfill.CONSTANTS if c is None else c,
                             np.empty(3 if out == "short" else n, dtype=np.float32))


def test_threads_split_the_range_without_changing_a_value(monkeypatch):
    """``fill`` splits a large range over threads; every split gives the values of one call."""
    keys = S.key_table(11, "threads")
    prm = dict(S.STANDARD_NORMAL)
    n = 5 * _cfill.MIN_PER_THREAD + 3
    one = _kernel("normal", keys, 1, 8, n, prm)
    for t in ("2", "3", "7"):
        monkeypatch.setenv("INITSPEC_PORTABLE_THREADS", t)
        out = np.empty(n, dtype=np.float32)
        assert _cfill.fill("normal", keys, 1, 8, prm, out)
        np.testing.assert_array_equal(out.view(np.uint32), one.view(np.uint32), err_msg=f"threads={t}")
    for bad in ("0", "two"):
        monkeypatch.setenv("INITSPEC_PORTABLE_THREADS", bad)
        with pytest.raises(ValueError, match=rf"INITSPEC_PORTABLE_THREADS.*{bad!r}"):
            _cfill.fill("normal", keys, 1, 8, prm, np.empty(n, dtype=np.float32))


@pytest.mark.parametrize(("rows", "cols", "threads"), [(1, 1, "1"), (17, 5, "1"), (300, 301, "1"), (1030, 700, "3")])
def test_transposed_fill_is_the_transpose_of_the_logical_values(monkeypatch, rows, cols, threads):
    """``fill_columns`` writes a logical ``(R, C)`` tensor stored ``(C, R)`` in one pass: the
    transpose of the logical values, for tile-straddling sizes and thread splits."""
    monkeypatch.setenv("INITSPEC_PORTABLE_THREADS", threads)
    keys = S.key_table(rows, "transposed")
    for kind, prm in (CASES["normal_mean_std"], CASES["uniform"]):
        out = np.empty((cols, rows), dtype=np.float32)
        assert _cfill.fill_columns(kind, keys, 0, prm, out.T)
        want = _reference(kind, keys, 0, 0, rows * cols, prm).reshape(rows, cols).T
        np.testing.assert_array_equal(out.view(np.uint32), np.ascontiguousarray(want).view(np.uint32))
        wide = np.zeros((cols, 3 * rows + 1), dtype=np.float32)  # a block of a wider matrix (row stride 3R + 1)
        block = wide[:, rows:2 * rows]
        assert _cfill.fill_columns(kind, keys, 0, prm, block.T)
        np.testing.assert_array_equal(block.view(np.uint32), np.ascontiguousarray(want).view(np.uint32))
        assert not wide[:, :rows].any() and not wide[:, 2 * rows:].any()  # nothing written outside the block


@pytest.mark.parametrize(("logical", "perm", "threads"), [
    ((16, 8, 3, 3), (2, 3, 1, 0), "1"),  # a Keras/Flax conv kernel (kh, kw, in, out) of the logical (out, in, kh, kw)
    ((70, 33, 1, 5), (2, 3, 1, 0), "2"),
    ((40, 6, 7), (2, 1, 0), "2"),  # 3-D, all axes reversed
    ((9, 4, 5), (1, 2, 0), "1"),  # the first logical axis innermost, the rest in order
])
def test_column_fill_of_nd_layouts(monkeypatch, logical, perm, threads):
    """``fill_columns`` on an N-d layout whose first logical axis is the innermost physical one
    equals generating the logical tensor and permuting it."""
    monkeypatch.setenv("INITSPEC_PORTABLE_THREADS", threads)
    keys = S.key_table(3, "nd")
    n = int(np.prod(logical))
    for kind, prm in (CASES["normal_mean_std"], CASES["uniform"]):
        want = np.ascontiguousarray(_reference(kind, keys, 0, 0, n, prm).reshape(logical).transpose(perm))
        out = np.empty(want.shape, dtype=np.float32)
        assert _cfill.fill_columns(kind, keys, 0, prm, out.transpose(np.argsort(perm)))
        np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))


def test_column_fill_refuses_views_it_cannot_write():
    keys, (kind, prm) = S.key_table(0, "x"), CASES["uniform"]
    a = np.empty((6, 5), dtype=np.float32)
    for bad in (a, a[:, ::-1].T, a.astype(np.float64).T, a[::2].T[::-1]):
        with pytest.raises(ValueError, match="Argument `out` must be a writable float32 array"):
            _cfill.fill_columns(kind, keys, 0, prm, bad)


@pytest.mark.parametrize(("scheme", "shape", "layout", "dtype"), [
    ("he_normal", (300, 200), "keras", "float32"),  # (in, out): stored transposed from the logical (out, in)
    ("glorot_uniform", (3, 3, 64, 16), "keras", "float32"),  # (kh, kw, in, out): logical columns of the conv
    ("glorot_uniform", (64, 16, 3, 3), "keras", "float32"),  # the same, another shape
    ("he_normal", (3, 3, 8, 16), "jax", "float32"),
    ("truncated_normal", (256, 100), "torch", "float32"),
    ("he_uniform", (128, 64), "keras", "float16"),  # low precision: the generic path
])
def test_whole_tensors_equal_the_numpy_path(monkeypatch, scheme, shape, layout, dtype):
    """``portable.sample`` through the direct kernel paths equals the NumPy generator's values."""
    fast = P.sample(scheme, shape, layout=layout, dtype=dtype, seed=5, stream="w")
    monkeypatch.setenv("INITSPEC_PORTABLE_KERNEL", "numpy")
    slow = P.sample(scheme, shape, layout=layout, dtype=dtype, seed=5, stream="w")
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast.view(np.uint8), slow.view(np.uint8))


@pytest.mark.parametrize(("rows", "cols", "rowoff", "r_begin", "r_end", "out_len", "match"), [
    (8, 4, [0, 8, 16, 25], 0, 8, 32, r"`rowoff` must put every column's R = 8 floats inside `out` \(32 floats\)"
                                     r".*rowoff\[3\]=25"),
    (8, 4, [0, -1, 16, 24], 0, 8, 32, r"rowoff\[1\]=-1"),
    (8, 4, [0, 8, 16], 0, 8, 32, r"`rowoff` must hold 32 bytes"),
    (32, 4, [0, 32, 64, 96], 8, 32, 128, r"`r_begin` \(a multiple of 16\).*r_begin=8"),
    (8, 4, [0, 8, 16, 24], 0, 9, 32, r"r_end=9, R=8"),
    (-1, 4, [0, 8, 16, 24], 0, 0, 0, r"`R` and `C` must be >= 0.*R=-1"),
])
def test_column_fill_bad_arguments_are_clear_errors(rows, cols, rowoff, r_begin, r_end, out_len, match):
    keys = S.key_table(0, "x").reshape(-1)
    params = np.zeros(len(_cfill.KINDS["normal"][1]), dtype=np.float32)
    with pytest.raises(ValueError, match=match):
        _cfill._ckernel.fill_t(1, keys, 0, rows, cols, np.asarray(rowoff, dtype=np.int64), r_begin, r_end, params,
                               _cfill.CONSTANTS, np.empty(out_len, dtype=np.float32))


@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 5, 7), (4097,)])
def test_host_buffers_are_aligned(shape):
    a = P.aligned_empty(shape)
    assert a.shape == shape and a.dtype == np.float32 and a.flags.c_contiguous and a.flags.writeable
    assert a.size == 0 or a.ctypes.data % P.ALIGN == 0  # an empty array has no data to align
