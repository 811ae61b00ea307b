"""The spec's exact element distributions, checked against scipy and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import initspec
from initspec import (
    COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION,
    TRUNCATED_NORMAL_STD_CORRECTION,
    InitSpecError,
    calculate_gain,
    resolve,
)
from initspec.constants import JAX_COMPLEX_TRUNCATED_NORMAL_CONSTANT


def test_truncation_constant_is_truncnorm_std():
    assert TRUNCATED_NORMAL_STD_CORRECTION == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-15)


def test_complex_truncation_constant():
    # |z|^2 ~ Exp(1) truncated to [0, 4]
    assert COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION ** 2 == pytest.approx(stats.truncexpon(b=4).mean(), rel=1e-14)
    # JAX's constant is sqrt(1 - 5 e^-4): it misses the 1/P(|z|<2) renormalisation
    assert JAX_COMPLEX_TRUNCATED_NORMAL_CONSTANT ** 2 == pytest.approx(1 - 5 * math.exp(-4), rel=1e-15)
    assert (COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION / JAX_COMPLEX_TRUNCATED_NORMAL_CONSTANT) ** 2 == pytest.approx(
        1.01866, abs=1e-5)


@pytest.mark.parametrize("nl,param,gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("selu", None, 0.75), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)),
])
def test_gains(nl, param, gain):
    assert calculate_gain(nl, param) == pytest.approx(gain, rel=1e-15)


def test_gain_scale_relation():
    assert initspec.gain_to_scale(math.sqrt(2)) == pytest.approx(2.0)
    assert initspec.scale_to_gain(2.0) == pytest.approx(math.sqrt(2))
    # he_normal(gain) is variance_scaling(scale=gain^2)
    a = resolve("he_normal", (64, 32), "keras")
    b = resolve("variance_scaling", (64, 32), "keras", scale=2.0, mode="fan_in", distribution="normal")
    assert a.element.var == pytest.approx(b.element.var, rel=1e-15)


@pytest.mark.parametrize("scheme,var,kind", [
    ("glorot_normal", 2 / (576 + 1152), "normal"),
    ("glorot_truncated_normal", 2 / (576 + 1152), "truncnorm"),
    ("glorot_uniform", 2 / (576 + 1152), "uniform"),
    ("he_normal", 2 / 576, "normal"),
    ("he_truncated_normal", 2 / 576, "truncnorm"),
    ("he_uniform", 2 / 576, "uniform"),
    ("lecun_normal", 1 / 576, "normal"),
    ("lecun_truncated_normal", 1 / 576, "truncnorm"),
    ("lecun_uniform", 1 / 576, "uniform"),
])
def test_variance_scaling_family(scheme, var, kind):
    p = resolve(scheme, (3, 3, 64, 128), "keras")
    e = p.element
    assert e.kind == kind
    assert e.var == pytest.approx(var, rel=1e-12)
    if kind == "uniform":
        assert e.high == pytest.approx(math.sqrt(3 * var), rel=1e-12)
        assert e.excess_kurtosis == -1.2
    if kind == "truncnorm":
        sigma = math.sqrt(var) / TRUNCATED_NORMAL_STD_CORRECTION
        assert e.high == pytest.approx(2 * sigma, rel=1e-12)
        assert e.excess_kurtosis == pytest.approx(float(stats.truncnorm(-2, 2).stats(moments="k")), rel=1e-9)
    # scipy agrees with the moments
    rv = e.rv()
    assert rv.var() == pytest.approx(e.var, rel=1e-9)
    assert rv.cdf(0.0) == pytest.approx(0.5)


def test_names_are_unambiguous():
    n = resolve("glorot_normal", (64, 32)).element
    t = resolve("glorot_truncated_normal", (64, 32)).element
    assert n.kind == "normal" and t.kind == "truncnorm" and n.var == pytest.approx(t.var)
    assert initspec.get_scheme("xavier_normal").name == "glorot_normal"
    assert initspec.get_scheme("kaiming_normal_").name == "he_normal"


def test_truncated_normal_relative_vs_absolute():
    rel = resolve("truncated_normal", (10, 10), std=0.02).element  # +-2 sigma
    ab = resolve("truncated_normal_abs", (10, 10), std=0.02).element  # +-2 absolute = +-100 sigma
    assert rel.high == pytest.approx(0.04) and ab.high == pytest.approx(2.0)
    assert rel.std == pytest.approx(0.02 * TRUNCATED_NORMAL_STD_CORRECTION)
    assert ab.std == pytest.approx(0.02, rel=1e-12)


def test_haar_marginal_moments():
    e = resolve("orthogonal", (100, 30), "keras", gain=2.0).element  # rows(out)=30, cols=100
    assert e.var == pytest.approx(4.0 / 100)
    rv = e.rv()
    assert rv.var() == pytest.approx(e.var, rel=1e-12)
    assert float(rv.stats(moments="k")) == pytest.approx(e.excess_kurtosis, rel=1e-9)
    # simulate: rows of a Haar matrix are uniform on the sphere
    rng = np.random.default_rng(0)
    from initspec.backends.numpy import orthogonal

    x = np.concatenate([orthogonal((100, 30), "keras", "float64", seed=int(s), gain=2.0).ravel() for s in rng.integers(0, 2**31, 200)])
    assert stats.kstest(x, rv.cdf).pvalue > 1e-6


def test_complex_rules():
    v = 2 / 576
    g = resolve("he_normal", (3, 3, 64, 128), "keras", "complex64").element
    u = resolve("he_uniform", (3, 3, 64, 128), "keras", "complex64").element
    t = resolve("he_truncated_normal", (3, 3, 64, 128), "keras", "complex64").element
    for e in (g, u, t):
        assert e.is_complex and e.var == pytest.approx(v, rel=1e-12)
        assert e.modulus_sq_rv().mean() == pytest.approx(v, rel=1e-9)  # E|w|^2 = real variance
    with pytest.raises(TypeError, match="complex"):
        resolve("orthogonal", (4, 4), "keras", "complex64")


def test_sparse_moments():
    p = resolve("sparse", (100, 50), "torch", sparsity=0.25, std=0.1)
    e = p.element
    assert e.params["zero_fraction"] == 0.25
    assert e.var == pytest.approx(0.75 * 0.01)
    assert e.excess_kurtosis == pytest.approx(3 / 0.75 - 3)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(scheme="normal", std=float("nan")), ValueError, r"Received: std=nan"),
    (dict(scheme="normal", std=-1.0), ValueError, r"Received: std=-1.0"),
    (dict(scheme="variance_scaling", scale=float("inf")), ValueError, r"Received: scale=inf"),
    (dict(scheme="variance_scaling", scale=-2.0), ValueError, r"Received: scale=-2.0"),
    (dict(scheme="uniform", low=1.0, high=1.0), ValueError, r"low=1.0, high=1.0"),
    (dict(scheme="truncated_normal", a=2.0, b=-2.0), ValueError, r"a=2.0, b=-2.0"),
    (dict(scheme="he_normal", dtype="int32"), TypeError, r"Received: dtype="),
    (dict(scheme="he_normal", dtype="bool"), TypeError, r"Received: dtype="),
    (dict(scheme="he_normal", mode="fan_out"), ValueError, r"fixed for scheme 'he_normal'"),
    (dict(scheme="he_normal", stdev=1.0), ValueError, r"Received: stdev="),
    (dict(scheme="he_nromal"), ValueError, r"Did you mean 'he_normal'"),
    (dict(scheme="normal", std="1"), TypeError, r"Received: std='1'"),
    (dict(scheme="sparse", sparsity=1.0, layout="torch"), ValueError, r"sparsity=1.0"),
    (dict(scheme="delta_orthogonal", shape=(3, 3, 8, 4)), ValueError, r"in_channels <= out_channels"),
    (dict(scheme="identity", shape=(3, 3, 4)), ValueError, r"rank-2"),
    (dict(scheme="variance_scaling", distribution="cauchy"), ValueError, r"Received: distribution='cauchy'"),
])
def test_bad_input(kwargs, exc, match):
    kwargs = dict(kwargs)
    scheme = kwargs.pop("scheme")
    shape = kwargs.pop("shape", (8, 4))
    layout = kwargs.pop("layout", "keras")
    dtype = kwargs.pop("dtype", "float32")
    with pytest.raises(exc, match=match):
        resolve(scheme, shape, layout, dtype, **kwargs)


def test_truncation_with_no_mass_is_an_error():
    with pytest.raises(InitSpecError, match="no probability mass"):
        resolve("truncated_normal_abs", (4, 4), std=1e-3, low=50.0, high=60.0)


def test_every_scheme_resolves_and_has_summary():
    for name, s in initspec.SCHEMES.items():
        shape = (3, 3, 4, 8)
        layout = "torch" if name in ("dirac",) else "keras"
        if name in ("identity", "sparse"):
            shape = (8, 4)
        p = resolve(name, shape, layout)
        assert p.summary()["scheme"] == name and s.summary
