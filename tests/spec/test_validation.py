"""Issue 15 regressions, framework-free: no silent wrong weights (values beyond the dtype's range,
samples on a truncation bound), no raw tracebacks (clear ``ValueError``/``TypeError`` naming the
argument), in the spec's ``resolve`` and the NumPy reference harness."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import initspec
from initspec.backends import load
from initspec.conformance import assert_conforms
from initspec.dtypes import dtype_name, get_dtype

NP = load("numpy")


@pytest.mark.parametrize("scheme,dtype,params,match", [
    ("normal", "float32", dict(std=1e39), r"not be representable in float32 .*Received: mean=0.0, std=1e\+39"),
    ("constant", "float16", dict(value=70000), r"float16 \(finite range \+-65504\).*Received: value=70000"),
    ("he_normal", "float32", dict(gain=1e200), r"Received: gain=1e\+200"),
    ("uniform", "float32", dict(low=-3e38, high=3e38), r"Received: low=-3e\+38, high=3e\+38"),
    ("truncated_normal_abs", "bfloat16", dict(mean=1, std=1e-3, low=1, high=1.002),
     r"No bfloat16 value lies strictly inside the interval \(1.0, 1.002\)"),
    ("orthogonal", "float16", dict(gain=1e5), r"\|gain\| = 1e\+05"),
])
def test_unrepresentable_values_are_refused(scheme, dtype, params, match):
    with pytest.raises(ValueError, match=match):
        initspec.resolve(scheme, (4, 4), "keras", dtype, **params)
    if dtype != "bfloat16":
        with pytest.raises(ValueError, match=match):
            NP.sample(scheme, (4, 4), dtype=dtype, **params)


def test_representable_extremes_still_work():
    x = NP.sample("he_normal", (4, 4), dtype="float64", gain=1e200)
    assert np.all(np.isfinite(x))
    assert np.all(NP.sample("constant", (2, 2), dtype="float16", value=65504) == 65504)


def test_dtype_scalar_types():
    assert [dtype_name(d) for d in (np.float32, np.float16, np.complex64)] == ["float32", "float16", "complex64"]
    assert NP.sample("normal", (2, 2), dtype=np.float64).dtype == np.float64
    with pytest.raises(TypeError, match="Received: dtype=3"):
        get_dtype(3)


@pytest.mark.jax  # ml_dtypes comes with JAX (and TensorFlow), not with the framework-free env
def test_dtype_scalar_type_bfloat16():
    import ml_dtypes

    assert dtype_name(ml_dtypes.bfloat16) == "bfloat16"


@pytest.mark.parametrize("shape", [{4, 5}, frozenset({3}), {"a": 1}])
def test_unordered_shapes_are_refused(shape):
    with pytest.raises(TypeError, match="Argument `shape` must be a sequence of ints. Received: shape="):
        NP.sample("normal", shape)


def test_axes_must_be_ints():
    with pytest.raises(TypeError, match="Received: in_axis=1.7"):
        initspec.get_layout("jax").with_axes(in_axis=1.7)
    with pytest.raises(TypeError, match=r"Received: batch_axis=\(0, '1'\)"):
        initspec.get_layout("jax").with_axes(batch_axis=(0, "1"))


def test_groups_must_be_an_int():
    with pytest.raises(ValueError, match="Received: groups=True"):
        initspec.resolve("dirac", (4, 4, 3), "torch", groups=True)


def test_numpy_seed_range_and_portable_none():
    with pytest.raises(ValueError, match="Received: seed=18446744073709551616"):
        NP.sample("normal", (2, 2), seed=2**64)
    np.testing.assert_array_equal(NP.sample("normal", (2, 2), stream="w", seed=None),
                                  NP.sample("normal", (2, 2), stream="w", seed=0))


def test_portable_size_limit_is_a_clear_error():
    with pytest.raises(ValueError, match=r"at most 2\*\*34 elements.*Received: shape=\(262144, 131072\)"):
        NP.sample("normal", (2**18, 2**17), stream="w")


def test_empty_conv_kernels_are_refused():
    with pytest.raises(ValueError, match=r"Received: shape=\(0, 0, 0\)"):
        NP.sample("delta_orthogonal", (0, 0, 0))
    with pytest.raises(ValueError, match=r"Received: shape=\(4, 4, 0\)"):
        NP.sample("dirac", (4, 4, 0), layout="torch")


def test_layout_from_dict_validates_fields():
    from initspec.layouts import layout_from_dict

    lay = layout_from_dict({"name": "x", "framework": "k", "in_axes": [0], "out_axes": [1]})
    assert lay.in_axes == (0,) and lay.out_axes == (1,)
    with pytest.raises(ValueError, match="unknown: bogus"):
        layout_from_dict({"name": "x", "framework": "k", "in_axes": [0], "out_axes": [1], "bogus": 1})
    with pytest.raises(TypeError, match=r"Received: layout\['in_axes'\]=\[1.5\]"):
        layout_from_dict({"name": "x", "framework": "k", "in_axes": [1.5], "out_axes": [0]})


@pytest.mark.parametrize("fans", [5, (1,), (1, "a"), (0, 1)])
def test_fans_are_checked(fans):
    with pytest.raises((TypeError, ValueError), match="Received: fans"):
        initspec.resolve("he_normal", (4,), fans=fans)


# -- conformance: any callable form; bad output is a failed check ------------------------------------
@pytest.mark.parametrize("bad,reason", [
    (np.nan, "finite"), (np.inf, "finite"), (None, "returned object values"),
])
def test_assert_conforms_bad_output_is_a_failed_check(bad, reason):
    def init(shape, seed):
        return np.full(shape, bad, dtype=object if bad is None else np.float32)

    with pytest.raises(AssertionError, match=f"(?s)does not conform.*{reason}"):
        assert_conforms(init, "he_normal")


def test_assert_conforms_accepts_initspec_functions_and_partials():
    assert_conforms(NP.he_normal, "he_normal")
    assert_conforms(functools.partial(NP.initialize, "normal", std=0.5), "normal", std=0.5)

    class Holder:
        def init(self, shape, seed):
            return NP.he_uniform(shape, seed=seed)

    assert_conforms(Holder().init, "he_uniform")
