"""The NumPy reference agrees with the spec on 10^6-element draws (tolerances from n and the
law's fourth moment), is deterministic per seed, and gets the structured schemes exactly right."""

from __future__ import annotations

import math

import numpy as np
import pytest

from initspec.backends import numpy as ref

from ._moments import moment_errors

N_SHAPE = (1000, 1000)  # 10^6 elements

CASES = [
    ("normal", {"mean": 0.3, "std": 2.0}),
    ("uniform", {"low": -1.0, "high": 3.0}),
    ("truncated_normal", {"std": 0.5}),
    ("truncated_normal", {"std": 1.0, "a": 0.5, "b": 3.0}),  # one-sided window
    ("truncated_normal_abs", {"std": 0.02}),
    ("truncated_normal_abs", {"mean": 1.0, "std": 1.0, "low": 0.0, "high": 1.5}),
    ("glorot_normal", {}), ("glorot_truncated_normal", {}), ("glorot_uniform", {}),
    ("he_normal", {}), ("he_truncated_normal", {}), ("he_uniform", {}),
    ("lecun_normal", {}), ("lecun_truncated_normal", {}), ("lecun_uniform", {}),
    ("variance_scaling", {"scale": 0.1, "mode": "fan_geo_avg", "distribution": "uniform"}),
    ("sparse", {"sparsity": 0.3, "std": 0.1}),
]


@pytest.mark.parametrize("scheme,params", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reference_matches_spec(scheme, params, dtype):
    layout = "torch" if scheme == "sparse" else "keras"
    plan, x = ref.plan_and_sample(scheme, N_SHAPE, layout, dtype, seed=1234, **params)
    assert x.shape == N_SHAPE and x.dtype == np.dtype(dtype)
    assert not moment_errors(x, plan.element)


def test_checks_can_fail_on_two_percent_std_error():
    """The same assertion rejects a sample whose std is 2% off."""
    plan, x = ref.plan_and_sample("he_truncated_normal", N_SHAPE, "keras", "float64", seed=7)
    assert not moment_errors(x, plan.element)
    assert any("variance" in e for e in moment_errors(x * 1.02, plan.element))
    untrunc = ref.initialize("he_normal", N_SHAPE, "keras", "float64", seed=7)
    assert moment_errors(untrunc, plan.element)  # missing truncation is caught


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_truncated_never_reaches_bound(dtype):
    plan, x = ref.plan_and_sample("truncated_normal_abs", (2000, 500), "keras", dtype, seed=3,
                                  std=1.0, low=-0.01, high=0.01)  # tiny window: rounding would hit bounds
    assert x.dtype == np.dtype(dtype)
    assert (x > plan.low).all() and (x < plan.high).all()
    # no pile-up: the most common value holds a small share
    _, counts = np.unique(x, return_counts=True)
    assert counts.max() / x.size < 0.05


def test_deterministic_per_seed():
    a = ref.he_normal((64, 32), seed=5)
    assert np.array_equal(a, ref.he_normal((64, 32), seed=5))
    assert not np.array_equal(a, ref.he_normal((64, 32), seed=6))


@pytest.mark.parametrize("shape,layout", [
    ((64, 16), "keras"), ((16, 64), "keras"), ((3, 3, 8, 32), "keras"), ((32, 8, 3, 3), "torch"),
    ((64, 16), "torch"),
])
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-12)])
def test_orthogonal(shape, layout, dtype, tol):
    lay = __import__("initspec").get_layout(layout)
    perm, nb, rows, cols = lay.orthogonal_matrix(shape)
    w = ref.orthogonal(shape, layout, dtype, seed=0, gain=1.5)
    m = np.transpose(w, perm).reshape(rows, cols).astype(np.float64)
    g = m @ m.T if rows <= cols else m.T @ m
    assert np.abs(g - 2.25 * np.eye(min(rows, cols))).max() < tol * 2.25 * max(rows, cols)


def test_structured_schemes():
    assert np.array_equal(ref.identity((3, 5), gain=2.0), 2.0 * np.eye(3, 5, dtype=np.float32))
    d = ref.dirac((4, 2, 3, 3), "torch", groups=2)
    want = np.zeros((4, 2, 3, 3), np.float32)
    for g in range(2):
        for i in range(2):
            want[g * 2 + i, i, 1, 1] = 1
    assert np.array_equal(d, want)
    q = ref.delta_orthogonal((3, 3, 4, 6), "jax", seed=0)
    centre = q[1, 1]
    assert np.allclose(centre @ centre.T, np.eye(4), atol=1e-5)
    q[1, 1] = 0
    assert not q.any()
    s = ref.sparse((40, 10), "torch", seed=0, sparsity=0.2)
    assert ((s == 0).sum(axis=0) == math.ceil(0.2 * 40)).all()


def test_constants_and_complex():
    assert (ref.zeros((3, 4)) == 0).all() and (ref.ones((3, 4)) == 1).all()
    assert (ref.constant((3, 4), value=0.25) == 0.25).all()
    plan, z = ref.plan_and_sample("he_normal", (1000, 1000), "keras", "complex128", seed=1)
    v = plan.element.var
    m2 = np.abs(z) ** 2
    assert abs(m2.mean() - v) < 6.1 * v / 1000  # |w|^2 ~ Exp(v): sd of mean = v/sqrt(n)
    assert abs(z.real.var() - v / 2) < 6.1 * (v / 2) * math.sqrt(2 / 1e6)
    plan, z = ref.plan_and_sample("he_truncated_normal", (1000, 1000), "keras", "complex64", seed=1)
    assert np.abs(z).max() < plan.high
    rv = plan.element.modulus_sq_rv()
    assert abs((np.abs(z.astype(np.complex128)) ** 2).mean() - rv.mean()) < 6.1 * rv.std() / 1000


def test_bad_seed_and_dtype():
    with pytest.raises(TypeError, match="Received: seed='a'"):
        ref.he_normal((4, 4), seed="a")
    with pytest.raises(TypeError, match="bfloat16"):
        ref.he_normal((4, 4), dtype="bfloat16")
    with pytest.raises(TypeError, match="Received: dtype="):
        ref.he_normal((4, 4), dtype="int8")
    assert ref.normal((0, 4)).shape == (0, 4)  # no fan needed: an empty array is fine
    with pytest.raises(ValueError, match="fan would be 0"):
        ref.he_normal((0, 4))


def test_fixed_order_schemes_follow_the_layout():
    """dirac / delta_orthogonal mean the same logical kernel in every layout."""
    torch_k = ref.dirac((6, 3, 3, 3), "torch_conv", groups=2)
    keras_k = ref.dirac((3, 3, 3, 6), "keras_conv", groups=2)
    assert np.array_equal(np.transpose(torch_k, (2, 3, 1, 0)), keras_k)
    jax_k = ref.delta_orthogonal((3, 3, 4, 6), "jax", seed=1)
    torch_k = ref.delta_orthogonal((6, 4, 3, 3), "torch_conv", seed=1)
    assert np.array_equal(np.transpose(torch_k, (2, 3, 1, 0)), jax_k)
    with pytest.raises(ValueError, match="one in axis"):
        ref.dirac((3, 3, 4, 2), "keras_depthwise")


def test_scheme_functions_are_explicit_module_attributes():
    """One statically defined function per scheme (no ``globals()`` injection), named after it."""
    import ast
    import inspect

    from initspec import SCHEMES
    from initspec.backends.numpy import _functions

    tree = ast.parse(inspect.getsource(_functions))
    assigned = {t.target.id for t in tree.body if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)
                and isinstance(t.value, ast.Call) and getattr(t.value.func, "id", None) == "_make"}
    assert assigned == set(SCHEMES)
    for name in SCHEMES:
        fn = getattr(ref, name)
        assert fn is getattr(_functions, name) and fn.__name__ == name and name in ref.__all__


def test_portable_reference_does_not_import_the_harness_api():
    """The portable stream's NumPy reference uses only the NumPy primitives and device helpers."""
    import ast
    import inspect

    from initspec.backends import portable

    tree = ast.parse(inspect.getsource(portable))
    targets = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    numpy_modules = {m for m in targets if m.startswith("numpy.") or m == "numpy"}
    assert numpy_modules == {"numpy._device", "numpy._primitives"}
    assert portable.to_numpy is ref.to_numpy and portable.versions is ref.versions
