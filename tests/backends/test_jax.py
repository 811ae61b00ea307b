"""Tests of the JAX adapter (``initspec.backends.jax``).

Statistical checks compare large draws with fixed keys against the spec's exact element law
(:class:`initspec.ElementDistribution`). Tolerances come from n and the law's kurtosis:

* mean: ``Z * sigma / sqrt(n)``;
* variance: ``Z * sqrt((mu4 - sigma^4) / n)``;
* Kolmogorov-Smirnov: ``sqrt(-ln(ALPHA / 2) / 2) / sqrt(n)`` (asymptotic critical value);

with ``Z = 5`` (two-sided false-alarm probability ``ALPHA = 5.7e-7`` per check; the keys are
fixed, so every run is the same). Orthogonality is checked to the dtype's precision (see
:func:`orthogonality_tolerance`).
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy import stats

from initspec import resolve
from initspec.dtypes import get_dtype

#: z-score of every statistical check
Z = 5.0
#: two-sided false-alarm probability of one check at Z
ALPHA = 2.0 * stats.norm.sf(Z)
#: elements per statistical draw (2^20)
N_LARGE = 1 << 20
#: square shape of N_LARGE elements, jax layout (in, out)
SHAPE_LARGE = (1024, 1024)
LOW_PRECISION = ("bfloat16", "float16")


@pytest.fixture(params=["cpu", pytest.param("gpu", marks=pytest.mark.gpu)])
def device(request, ij):
    ok, why = ij.device_available(request.param)
    if not ok:
        pytest.skip(why)
    return request.param


@pytest.fixture
def key(ij):
    import jax

    return jax.random.key(20240601)


# -- statistics helpers -----------------------------------------------------------------------


def ks_critical(n: int) -> float:
    """Asymptotic Kolmogorov-Smirnov critical value at ALPHA for n samples."""
    return math.sqrt(-math.log(ALPHA / 2.0) / 2.0) / math.sqrt(n)


def check_moments(x: np.ndarray, mean: float, var: float, excess_kurtosis: float, what: str) -> None:
    """Sample mean and variance of ``x`` against exact ones, tolerances from n and kurtosis."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    mu4 = (excess_kurtosis + 3.0) * var * var
    m, v = x.mean(), x.var(ddof=1)
    tol_m = Z * math.sqrt(var / n)
    tol_v = Z * math.sqrt((mu4 - var * var) / n)
    assert abs(m - mean) <= tol_m, f"{what}: mean {m:.6g} vs {mean:.6g} (tol {tol_m:.3g})"
    assert abs(v - var) <= tol_v, f"{what}: variance {v:.6g} vs {var:.6g} (tol {tol_v:.3g})"


def check_element(x: np.ndarray, plan, what: str, ks: bool = True) -> None:
    """``x`` against the plan's real element law: support, moments and (optionally) KS."""
    el = plan.element
    x = np.asarray(x, dtype=np.float64).ravel()
    check_moments(x, el.mean, el.var, el.excess_kurtosis, what)
    if el.kind == "truncnorm":  # open interval
        assert x.min() > el.low and x.max() < el.high, f"{what}: outside ({el.low}, {el.high})"
    if el.kind == "uniform":  # [low, high)
        assert x.min() >= el.low and x.max() < el.high, f"{what}: outside [{el.low}, {el.high})"
    if ks:
        d = stats.kstest(x, el.cdf).statistic
        assert d <= ks_critical(x.size), f"{what}: KS {d:.3g} > {ks_critical(x.size):.3g}"


def check_complex(w: np.ndarray, plan, what: str) -> None:
    """Complex law of the spec: |w|^2 against ``modulus_sq_rv`` and a uniform phase."""
    w = np.asarray(w, dtype=np.complex128).ravel()
    rv = plan.element.modulus_sq_rv()
    m, v, k = (float(s) for s in rv.stats(moments="mvk"))
    y = np.abs(w) ** 2
    check_moments(y, m, v, k, f"{what} |w|^2")
    assert m == pytest.approx(plan.element.var, rel=1e-12)  # E|w|^2 is the target variance
    d = stats.kstest(y, rv.cdf).statistic
    assert d <= ks_critical(y.size), f"{what}: |w|^2 KS {d:.3g}"
    phase = w / np.abs(w)  # E[e^{i theta}] = 0, Var(cos) = Var(sin) = 1/2
    tol = Z * math.sqrt(0.5 / w.size)
    assert abs(phase.real.mean()) <= tol and abs(phase.imag.mean()) <= tol, f"{what}: phase not uniform"


def orthogonality_tolerance(dtype: str, n: int, gain: float) -> float:
    """Max |G - gain^2 I| of a Gram matrix: Householder QR in the compute dtype has backward
    error ~ n * eps; rounding each entry to ``dtype`` (unit roundoff u = eps/2) moves each Gram
    entry by at most 2u |q_i||q_j| + u^2 = eps + eps^2/4 (Cauchy-Schwarz, unit rows)."""
    eps = get_dtype(dtype).eps
    compute_eps = get_dtype("float64" if dtype == "float64" else "float32").eps
    rounding = eps * (1.0 + eps / 4.0) if dtype in LOW_PRECISION else 0.0
    return gain * gain * (rounding + n * compute_eps)


def gram_error(w: np.ndarray, plan) -> float:
    """Max deviation from ``gain^2 I`` of the small Gram matrix of each orthogonal block."""
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    m = np.transpose(np.asarray(w, dtype=np.float64), perm).reshape(nb, rows, cols)
    g = m @ m.transpose(0, 2, 1) if rows <= cols else m.transpose(0, 2, 1) @ m
    return float(np.abs(g - plan.gain**2 * np.eye(min(rows, cols))).max())


def to_np(ij, x) -> np.ndarray:
    return ij.to_numpy(x)


# -- real element laws ------------------------------------------------------------------------

#: (scheme, params): every random real family and the variance-scaling rules
REAL_CASES = [
    ("normal", {"mean": 0.5, "std": 2.0}),
    ("uniform", {"low": -1.0, "high": 3.0}),
    ("truncated_normal", {"mean": 0.1, "std": 0.5, "a": -1.5, "b": 2.5}),
    # torch trunc_normal_(std=0.02) defaults: +-100 sigma, where JAX's own sampler puts a
    # point mass of ~2^-23 at -100 sigma (erf saturates)
    ("truncated_normal_abs", {"std": 0.02}),
    ("truncated_normal", {"a": 0.5, "b": 3.0}),  # one-sided, upper
    ("truncated_normal", {"a": -8.0, "b": -6.0}),  # one-sided, beyond float32 erf resolution
    ("he_truncated_normal", {}),
    ("glorot_uniform", {"gain": 1.5}),
    ("lecun_normal", {}),
    ("variance_scaling", {"scale": 3.0, "mode": "fan_geo_avg", "distribution": "truncated_normal"}),
]


def _case_id(case) -> str:
    return case[0] + "".join(f"-{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize("case", REAL_CASES, ids=_case_id)
def test_real_law_float32(ij, device, case):
    scheme, params = case
    x = to_np(ij, ij.sample(scheme, SHAPE_LARGE, seed=1, device=device, **params))
    assert x.dtype == np.float32 and x.shape == SHAPE_LARGE
    check_element(x, resolve(scheme, SHAPE_LARGE, "jax", "float32", **params), f"{scheme} {params}")


@pytest.mark.parametrize("dtype", LOW_PRECISION)
@pytest.mark.parametrize("case", [c for c in REAL_CASES if c[1].get("b") != -6.0], ids=_case_id)
def test_real_law_low_precision(ij, case, dtype):
    """Sampled in float32 and cast; truncated laws stay strictly inside their bounds.
    No KS here: rounding to 8/11 significant bits makes the empirical CDF a staircase."""
    scheme, params = case
    x = ij.sample(scheme, SHAPE_LARGE, dtype=dtype, seed=2, **params)
    assert str(x.dtype) == dtype
    check_element(to_np(ij, x).astype(np.float64), resolve(scheme, SHAPE_LARGE, "jax", dtype, **params),
                  f"{scheme} {dtype}", ks=False)


#: a one-sided interval whose probabilities underflow float32 but not float64
FAR_TAIL = ("truncated_normal", {"a": -30.0, "b": -20.0})


@pytest.mark.parametrize("case", [REAL_CASES[0], REAL_CASES[2], REAL_CASES[3], REAL_CASES[6], FAR_TAIL],
                         ids=_case_id)
def test_real_law_float64(ij, case):
    import jax

    scheme, params = case
    with jax.enable_x64(True):
        x = ij.sample(scheme, SHAPE_LARGE, dtype="float64", seed=3, **params)
        assert x.dtype == np.float64
        check_element(to_np(ij, x), resolve(scheme, SHAPE_LARGE, "jax", "float64", **params), scheme)


def test_truncated_normal_wide_bounds_has_no_far_outliers(ij, key):
    """With bounds at +-100 sigma, JAX's erf-based sampler sends u = erf(-100/sqrt2) = -1 (the
    first grid point, probability 2^-23) to the far bound. Ours clamps the bounds to where erf
    resolves them, so no value lies beyond that limit: P(|z| > 5.17) = 2.3e-7 per element."""
    import jax
    import jax.numpy as jnp

    limit = -stats.norm.ppf(np.finfo(np.float32).eps)
    assert float(jax.scipy.special.erf(jnp.float32(-limit / math.sqrt(2.0)))) > -1.0  # resolved
    x = to_np(ij, ij.truncated_normal_abs(std=1.0, low=-100.0, high=100.0)(key, (1 << 22,)))
    assert np.abs(x).max() <= limit * (1 + 1e-6)


def test_far_tail_in_float32_is_refused_not_wrong(ij, key):
    with pytest.raises(ValueError, match="float64"):
        ij.truncated_normal(**FAR_TAIL[1])(key, (4, 5))


# -- complex ----------------------------------------------------------------------------------

COMPLEX_CASES = [
    ("normal", {"std": 1.5}),  # gaussian: |w|^2 ~ Exp(v)
    ("glorot_uniform", {}),  # disk of radius sqrt(2 v)
    ("he_truncated_normal", {}),  # |w| <= 2 sigma, sigma with the exact complex correction
    ("variance_scaling", {"scale": 0.5, "mode": "fan_out", "distribution": "truncated_normal"}),
]


@pytest.mark.parametrize("case", COMPLEX_CASES, ids=_case_id)
def test_complex_law(ij, device, case):
    scheme, params = case
    w = ij.sample(scheme, SHAPE_LARGE, dtype="complex64", seed=4, device=device, **params)
    assert w.dtype == np.complex64
    check_complex(to_np(ij, w), resolve(scheme, SHAPE_LARGE, "jax", "complex64", **params), scheme)


def test_complex128(ij):
    import jax

    with jax.enable_x64(True):
        w = ij.sample("he_truncated_normal", SHAPE_LARGE, dtype="complex128", seed=5)
        assert w.dtype == np.complex128
        check_complex(to_np(ij, w), resolve("he_truncated_normal", SHAPE_LARGE, "jax", "complex128"), "c128")


def test_complex_constant(ij, key):
    x = to_np(ij, ij.constant(1 + 2j)(key, (3, 4), "complex64"))
    assert x.dtype == np.complex64 and np.all(x == np.complex64(1 + 2j))


# -- orthogonal and structured schemes --------------------------------------------------------

ORTHO_CASES = [
    ((256, 64), {}),  # rows = out = 64 < cols = 256
    ((64, 256), {}),  # out > rest: tall Q, transposed
    ((128, 128), {"gain": 2.0}),
    ((3, 3, 16, 32), {}),  # conv kernel: rows = out, cols = 3*3*16
    ((4, 16, 32), {"batch_axis": 0}),  # 4 independent (32 x 16) blocks
]


ORTHO_DTYPE_CASES = [(*c, "float32") for c in ORTHO_CASES] + [
    (*c, dt) for c in (ORTHO_CASES[1], ORTHO_CASES[3]) for dt in LOW_PRECISION]


@pytest.mark.parametrize("shape,kw,dtype", ORTHO_DTYPE_CASES, ids=lambda v: str(v))
def test_orthogonal_to_dtype_precision(ij, key, shape, kw, dtype):
    init = ij.orthogonal(**kw)
    w = init(key, shape, dtype)
    assert str(w.dtype) == dtype and w.shape == shape
    plan = init.plan(shape, dtype)
    n = max(plan.layout.orthogonal_matrix(shape)[2:])
    assert gram_error(to_np(ij, w), plan) <= orthogonality_tolerance(dtype, n, plan.gain)


def test_orthogonal_float64(ij, key):
    import jax

    with jax.enable_x64(True):
        init = ij.orthogonal()
        w = init(key, (96, 160), "float64")
        assert gram_error(to_np(ij, w), init.plan((96, 160), "float64")) <= orthogonality_tolerance(
            "float64", 160, 1.0)


def test_orthogonal_is_haar_sign_fixed(ij, key):
    """Haar measure: E[Q_ii] = 0 (Var = 1/n). Without the sign(diag R) fix, Householder QR
    makes the diagonal strongly negative."""
    import jax

    n, batch = 8, 512
    q = to_np(ij, jax.vmap(lambda k: ij.orthogonal()(k, (n, n)))(jax.random.split(key, batch)))
    diag = np.diagonal(q, axis1=-2, axis2=-1).ravel()
    assert abs(diag.mean()) <= Z * math.sqrt(1.0 / n / diag.size)


def test_delta_orthogonal(ij, key):
    shape = (3, 5, 16, 32)
    w = to_np(ij, ij.delta_orthogonal(gain=1.5)(key, shape))
    centre = w[1, 2]  # (k - 1) // 2
    rest = w.copy()
    rest[1, 2] = 0
    assert not rest.any()
    err = np.abs(centre @ centre.T - 1.5**2 * np.eye(16)).max()
    assert err <= orthogonality_tolerance("float32", 32, 1.5)


def test_structured_match_reference(ij, key, load_backend):
    """Deterministic schemes equal the NumPy reference exactly."""
    ref = load_backend("numpy")
    cases = [("dirac", (8, 4, 3, 3), "torch", {}), ("identity", (4, 6), "jax", {"gain": 2.0}),
             ("zeros", (3, 4), "jax", {}), ("ones", (3, 4), "jax", {}),
             ("constant", (3, 4), "jax", {"value": 0.25})]
    for scheme, shape, layout, params in cases:
        ours = to_np(ij, ij.initializer(scheme, layout=layout, **params)(key, shape))
        np.testing.assert_array_equal(ours, ref.initialize(scheme, shape, layout, **params), err_msg=scheme)


def test_sparse_exact_zero_count(ij, key):
    """ceil(sparsity * n_out) zeros per input unit, the rest N(0, std^2)."""
    shape, sparsity, std = (512, 1000), 0.3, 0.05
    w = to_np(ij, ij.sparse(sparsity=sparsity, std=std)(key, shape))  # jax layout: out = axis 1
    zeros = (w == 0).sum(axis=1)
    assert np.all(zeros == math.ceil(sparsity * shape[1]))
    check_moments(w[w != 0], 0.0, std * std, 0.0, "sparse non-zeros")


# -- fans, axes, layouts ----------------------------------------------------------------------


def test_axes_map_onto_layout(ij, key):
    """in/out/batch axes as jax.nn.initializers: the fans and the law follow them."""
    init = ij.he_normal(in_axis=0, out_axis=1, batch_axis=(2,))
    shape = (300, 20, 4, 3)  # fan_in = 300 * 3 (receptive = axis 3)
    plan = init.plan(shape)
    assert (plan.fans.fan_in, plan.fans.fan_out) == (900.0, 60.0)
    x = to_np(ij, init(key, shape))
    check_moments(x, 0.0, 2.0 / 900.0, 0.0, "he_normal with axes")


def test_layout_argument(ij, key):
    init = ij.glorot_uniform(layout="torch")
    assert init.plan((16, 8, 3, 3)).fans == resolve("glorot_uniform", (16, 8, 3, 3), "torch").fans


def test_native_fans_agree(ij):
    """Our fans equal jax/_src/nn/initializers.py::_compute_fans for the same axes."""
    from jax._src.nn.initializers import _compute_fans

    cases = [((3, 3, 16, 32), {}), ((5, 7, 4, 6), {"in_axis": (0, 1), "out_axis": 3, "batch_axis": 2})]
    for shape, axes in cases:
        plan = ij.he_normal(**axes).plan(shape)
        assert (plan.fans.fan_in, plan.fans.fan_out) == _compute_fans(shape, **{
            "in_axis": -2, "out_axis": -1, "batch_axis": (), **axes})


# -- jit, vmap, keys, no host round trip ------------------------------------------------------

#: a small valid shape per scheme (jax layout unless the scheme fixes its own)
SMALL_SHAPES = {"dirac": (4, 4, 3, 3), "identity": (4, 6), "sparse": (8, 10),
                "delta_orthogonal": (3, 3, 4, 8)}


def _small(name: str) -> tuple[int, ...]:
    return SMALL_SHAPES.get(name, (3, 3, 4, 8))


def _all_inits(ij) -> dict:
    """{scheme: (init, small shape)} for every scheme of the table, complex ones included."""
    from initspec import SCHEMES

    out = {name: (getattr(ij, name)(), _small(name), "float32") for name in SCHEMES}
    out["complex he_truncated_normal"] = (ij.he_truncated_normal(), (3, 3, 4, 8), "complex64")
    return out


def test_every_scheme_under_jit_and_vmap(ij, key):
    """Every factory traces under jax.jit and jax.vmap (one program for all, to keep compiles
    few); the batched draw for key i equals the draw with key i, and keys give distinct draws."""
    import jax

    inits = _all_inits(ij)

    def all_schemes(k):
        return {name: init(k, shape, dtype) for name, (init, shape, dtype) in inits.items()}

    single = jax.jit(all_schemes)
    keys = jax.random.split(key, 3)
    batched = jax.jit(jax.vmap(all_schemes))(keys)
    for i in range(len(keys)):
        one = single(keys[i])
        for name, (_init, shape, dtype) in inits.items():
            assert one[name].shape == shape and str(one[name].dtype) == dtype, name
            np.testing.assert_allclose(to_np(ij, batched[name][i]), to_np(ij, one[name]), rtol=0,
                                       atol=8 * np.finfo(np.float32).eps, err_msg=name)
    other = single(keys[1])
    first = single(keys[0])
    for name, (init, _, _) in inits.items():
        if not init.scheme.deterministic:
            assert not np.array_equal(to_np(ij, first[name]), to_np(ij, other[name])), name


def test_init_is_jittable_with_static_shape_and_dtype(ij, key):
    import jax
    import jax.numpy as jnp

    init = ij.he_truncated_normal()
    eager = init(key, (6, 5), jnp.bfloat16)
    jitted = jax.jit(init, static_argnums=(1, 2))(key, (6, 5), jnp.bfloat16)
    np.testing.assert_array_equal(to_np(ij, jitted), to_np(ij, eager))


def test_legacy_and_typed_keys_agree(ij):
    import jax

    raw = jax.random.PRNGKey(7)
    init = ij.he_truncated_normal()
    typed = jax.random.wrap_key_data(raw)
    np.testing.assert_array_equal(to_np(ij, init(raw, (4, 5))), to_np(ij, init(typed, (4, 5))))
    np.testing.assert_array_equal(to_np(ij, init(np.asarray(raw), (4, 5))), to_np(ij, init(raw, (4, 5))))
    batch = jax.vmap(lambda k: init(k, (4, 5)))(jax.random.split(raw, 2))
    assert batch.shape == (2, 4, 5)


def test_no_host_round_trip(ij, key):
    """Eager calls never fetch device values to the host, and the traced program holds no
    host callback."""
    import jax

    for name in ("he_truncated_normal", "orthogonal", "sparse"):
        init = getattr(ij, name)()
        shape = _small(name)
        with jax.transfer_guard_device_to_host("disallow"):
            jax.block_until_ready(init(key, shape))
        jaxpr = str(jax.make_jaxpr(lambda k: init(k, shape))(key))
        assert "callback" not in jaxpr, name


def test_dtype_default_and_names(ij, key):
    import jax.numpy as jnp

    assert ij.normal()(key, (2, 3)).dtype == jnp.float32
    assert ij.normal(dtype="bfloat16")(key, (2, 3)).dtype == jnp.bfloat16  # factory default
    for dt in (jnp.float16, np.dtype("float16"), "float16"):
        assert ij.normal()(key, (2, 3), dt).dtype == jnp.float16


_SHARDING_SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    from initspec.backends import jax as ij

    assert jax.device_count() == 8, jax.devices()
    key = jax.random.key(3)
    shape = (64, 32)
    ELEMENTWISE = {"he_truncated_normal"}
    for axis_type in (AxisType.Auto, AxisType.Explicit):
        mesh = jax.make_mesh((4, 2), ("x", "y"), axis_types=(axis_type, axis_type))
        sh = NamedSharding(mesh, P("x", "y"))
        for name in sorted(ELEMENTWISE) + ["orthogonal"]:
            init = getattr(ij, name)()
            ref = np.asarray(init(key, shape))  # one device, no sharding
            f = jax.jit(init, static_argnums=(1, 2), out_shardings=sh)
            f = f.lower(key, shape, jnp.float32).compile()
            y = f(key)
            assert y.sharding.is_equivalent_to(sh, 2), (name, y.sharding)
            assert len({s.device for s in y.addressable_shards}) == 8, name
            np.testing.assert_allclose(np.asarray(y), ref, rtol=0, atol=1e-6, err_msg=name)
            if name in ELEMENTWISE:  # partitionable RNG: each device draws its own block
                hlo = f.as_text()
                assert "all-gather" not in hlo and "all-reduce" not in hlo, name
            with jax.set_mesh(mesh):  # explicit axes need the mesh context (as in JAX)
                y2 = jax.jit(lambda k: init(k, shape, out_sharding=sh))(key)  # JAX's out_sharding=
                y3 = jax.jit(lambda k: init(k, shape, out_sharding=P("x", "y")))(key)  # current mesh
            for y_ in (y2, y3):
                assert y_.sharding.is_equivalent_to(sh, 2), (name, axis_type, y_.sharding)
                np.testing.assert_allclose(np.asarray(y_), ref, rtol=0, atol=1e-6, err_msg=name)
    print("SHARDING-OK")
""")


def test_out_shardings_on_8_virtual_devices(ij, on_8_cpu_devices):
    assert "SHARDING-OK" in on_8_cpu_devices(_SHARDING_SCRIPT, timeout=600)


def test_importing_adapter_imports_no_other_framework(ij):  # ij: skips (with reason) without JAX
    code = ("import sys, initspec.backends.jax; "
            "bad = [m for m in ('torch', 'tensorflow', 'keras', 'flax') if m in sys.modules]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_factories_are_exactly_the_schemes(ij):
    """One statically defined factory per scheme of the table: a new scheme cannot be forgotten."""
    import inspect

    from initspec import SCHEMES
    from initspec.backends.jax import factories

    defined = {n for n, v in vars(factories).items()
               if inspect.isfunction(v) and not n.startswith("_") and v.__module__ == factories.__name__}
    assert defined == set(factories.__all__) == set(SCHEMES)
    assert set(SCHEMES) <= set(ij.__all__)
    for name in SCHEMES:
        assert getattr(ij, name) is getattr(factories, name) and getattr(ij, name).__name__ == name


def _package_imports(path) -> set[str]:
    """Modules of ``initspec.backends`` that the source file ``path`` imports (relative imports
    resolved against its package), at any depth of the file."""
    import ast

    pkg = "initspec.backends" + ("" if path.parent.name == "backends" else "." + path.parent.name)
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = pkg.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            if node.module:  # `from . import x` takes the submodule x, not a name of the package
                out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return {m for m in out if m.startswith("initspec.backends")}


def test_jax_package_has_no_import_cycle_and_the_portable_core_does_not_import_it():
    """Inside ``initspec.backends.jax`` imports form a DAG (no submodule imports the package's
    ``__init__``), and the framework-free portable core never imports the JAX package."""
    import graphlib
    import pathlib

    import initspec.backends

    root = pathlib.Path(initspec.backends.__file__).parent
    pkg = "initspec.backends.jax"
    files = {f"{pkg}.{p.stem}": p for p in (root / "jax").glob("*.py") if p.stem != "__init__"}
    graph = {name: {m for m in _package_imports(p) if m in files or m == pkg} for name, p in files.items()}
    assert not any(pkg in deps for deps in graph.values()), graph
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    for core in ("__init__.py", "_spec.py", "_philox.py"):
        assert not any(m.startswith(pkg) for m in _package_imports(root / "portable" / core)), core
    assert all(len(p.read_text().splitlines()) <= 600 for p in files.values())


# -- Flax -------------------------------------------------------------------------------------


def test_flax_linen_dense_and_conv(ij, key):
    import jax
    import jax.numpy as jnp

    nn = pytest.importorskip("flax.linen", reason="Flax is not installed (pip install 'initspec[jax]')")
    dense = nn.Dense(1024, kernel_init=ij.he_truncated_normal())
    params = jax.jit(dense.init)(key, jnp.ones((1, 1024)))
    k = params["params"]["kernel"]
    assert k.shape == (1024, 1024) and k.dtype == jnp.float32
    check_element(to_np(ij, k), resolve("he_truncated_normal", (1024, 1024), "flax_dense"), "linen Dense")

    conv = nn.Conv(128, (3, 3), kernel_init=ij.lecun_uniform(), param_dtype=jnp.bfloat16)
    k = conv.init(key, jnp.ones((1, 8, 8, 64)))["params"]["kernel"]
    assert k.shape == (3, 3, 64, 128) and k.dtype == jnp.bfloat16
    plan = resolve("lecun_uniform", k.shape, "flax_conv", "bfloat16")
    assert plan.fans.fan_in == 3 * 3 * 64
    check_element(to_np(ij, k).astype(np.float64), plan, "linen Conv", ks=False)


def test_flax_nnx_linear_orthogonal(ij):
    nnx = pytest.importorskip("flax.nnx", reason="Flax NNX is not installed (pip install 'initspec[jax]')")
    layer = nnx.Linear(512, 256, kernel_init=ij.orthogonal(gain=2.0), rngs=nnx.Rngs(0))
    w = to_np(ij, layer.kernel[...])
    assert w.shape == (512, 256)
    plan = resolve("orthogonal", (512, 256), "flax_dense", gain=2.0)
    assert gram_error(w, plan) <= orthogonality_tolerance("float32", 512, 2.0)


# -- bad input --------------------------------------------------------------------------------


def _bad_keys():
    return [
        (0, TypeError, "Received: key=0"),
        ("k", TypeError, "Received: key='k'"),
        (np.zeros(2, np.float32), TypeError, "dtype float32"),
        (np.zeros(3, np.uint32), ValueError, r"shape=\(3,\)"),
        (np.zeros((2, 2), np.uint32), ValueError, "jax.vmap"),
    ]


@pytest.mark.parametrize("bad,exc,match", _bad_keys(), ids=lambda v: type(v).__name__)
def test_bad_key(ij, bad, exc, match):
    with pytest.raises(exc, match=match):
        ij.normal()(bad, (2, 3))


def test_batch_of_typed_keys_refused(ij, key):
    import jax

    with pytest.raises(ValueError, match="single PRNG key"):
        ij.normal()(jax.random.split(key, 2), (2, 3))


@pytest.mark.parametrize("dtype,exc,match", [
    ("int32", TypeError, "Received: dtype='int32'"),
    (np.int8, TypeError, "int8"),
    (bool, TypeError, "bool"),
    ("float8", ValueError, "float8"),
    ("float64", ValueError, "jax_enable_x64"),
    ("complex128", ValueError, "jax_enable_x64"),
])
def test_bad_dtype(ij, key, dtype, exc, match):
    with pytest.raises(exc, match=match):
        ij.he_normal()(key, (4, 5), dtype)


def test_errors_raise_at_trace_time_under_jit(ij, key):
    import jax
    import jax.numpy as jnp

    f = jax.jit(ij.he_normal(), static_argnums=(1, 2))
    with pytest.raises(TypeError, match="Received: dtype="):
        f(key, (4, 5), jnp.int32)
    with pytest.raises(ValueError, match=r"Received: shape=\(5,\)"):
        f(key, (5,), jnp.float32)
    with pytest.raises(TypeError, match="Received: key="):
        jax.jit(lambda k: ij.he_normal()(k, (4, 5)))(jnp.zeros(2, jnp.float32))


def test_bad_rank_and_axes(ij, key):
    with pytest.raises(ValueError, match=r"Received: shape=\(5,\)"):
        ij.he_normal()(key, (5,))
    with pytest.raises(ValueError, match="flax_conv"):
        ij.he_normal(layout="flax_conv")(key, (5, 6))
    with pytest.raises(ValueError, match=r"Received: in_axis=3, shape=\(4, 5\)"):
        ij.he_normal(in_axis=3)(key, (4, 5))
    with pytest.raises(ValueError, match=r"Received: batch_axis=\(0, -9\)"):
        ij.he_normal(batch_axis=(0, -9))(key, (2, 4, 5))
    with pytest.raises(TypeError, match="Received: out_axis='a'"):
        ij.he_normal(out_axis="a")
    with pytest.raises(TypeError, match="Received: batch_axis=True"):
        ij.he_normal(batch_axis=True)


def test_jax_named_factories_have_jax_defaults(ij, key):
    """No silent trap: ``normal()``/``uniform()``/``truncated_normal()`` default to JAX's 0.01."""
    import inspect

    sig = {n: inspect.signature(getattr(ij, n)).parameters for n in ("normal", "uniform", "truncated_normal")}
    assert sig["normal"]["std"].default == sig["truncated_normal"]["std"].default == 0.01
    assert (sig["uniform"]["low"].default, sig["uniform"]["high"].default) == (0.0, 0.01)
    assert ij.normal().plan((4, 5)).std == 0.01
    assert (ij.uniform().plan((4, 5)).low, ij.uniform().plan((4, 5)).high) == (0.0, 0.01)
    assert ij.truncated_normal().plan((4, 5)).std == 0.01
    assert ij.initializer("normal").plan((4, 5)).std == 1.0  # the spec's default, by name


@pytest.mark.parametrize("shape,axes,fans", [
    ((8,), {"in_axis": [0]}, (1.0, 1.0)),  # rank 1: in and out are both axis 0 (JAX's _compute_fans)
    ((8,), {"in_axis": 0, "out_axis": 0}, (1.0, 1.0)),
    ((), {"in_axis": (), "out_axis": ()}, (1.0, 1.0)),
    ((50, 400), {"out_axis": 0}, (400.0, 400.0)),  # Flax Embed: overlapping roles
])
def test_explicit_axes_the_layout_refuses_follow_jax(ij, key, shape, axes, fans):
    init = ij.variance_scaling(1.0, "fan_in", "normal", **axes)
    plan = init.plan(shape)
    assert (plan.fans.fan_in, plan.fans.fan_out) == pytest.approx(fans)
    assert init(key, shape).shape == shape
    assert init.plan(shape) == plan


def test_default_axes_on_rank_1_still_raise(ij, key):
    with pytest.raises(ValueError, match="rank >= 2"):
        ij.variance_scaling(1.0, "fan_in", "normal")(key, (8,))
    with pytest.raises(ValueError, match="rank-1"):
        ij.he_normal(in_axis=-2)(key, (8,))  # JAX refuses the integer -2 on rank <= 1 too


def test_bad_factory_arguments(ij, key):
    with pytest.raises(TypeError, match="by keyword"):
        ij.normal(0.02)  # jax's normal(stddev) would be read as mean=0.02
    with pytest.raises(TypeError, match="at most 3 positional"):
        ij.variance_scaling(1.0, "fan_in", "normal", -2)
    with pytest.raises(ValueError, match="Received: mode='fan_out'"):
        ij.he_normal(mode="fan_out")
    with pytest.raises(ValueError, match="parameters: gain. Received: scale=2.0"):
        ij.he_normal(scale=2.0)
    with pytest.raises(ValueError, match="Received: mode='fan_x'"):
        ij.variance_scaling(1.0, "fan_x", "normal")(key, (4, 5))
    with pytest.raises(TypeError, match="complex"):
        ij.orthogonal()(key, (4, 5), "complex64")


# -- uniform harness API ----------------------------------------------------------------------


def test_harness_api(ij, device):
    import jax

    assert ij.DEFAULT_LAYOUT == "jax"
    a = ij.sample("he_truncated_normal", (64, 32), seed=11, device=device)
    b = ij.sample("he_truncated_normal", (64, 32), seed=11, device=device)
    c = ij.sample("he_truncated_normal", (64, 32), seed=12, device=device)
    assert isinstance(a, jax.Array) and ij.device_of(a) == device
    np.testing.assert_array_equal(to_np(ij, a), to_np(ij, b))
    assert not np.array_equal(to_np(ij, a), to_np(ij, c))
    assert isinstance(ij.to_numpy(a), np.ndarray)
    torch_kernel = ij.sample("glorot_uniform", (16, 8, 3, 3), layout="torch", seed=0, device=device)
    assert torch_kernel.shape == (16, 8, 3, 3)


def test_harness_bad_arguments(ij):
    with pytest.raises(TypeError, match="Received: seed='a'"):
        ij.sample("normal", (2, 2), seed="a")
    with pytest.raises(ValueError, match="Received: seed=-1"):
        ij.sample("normal", (2, 2), seed=-1)
    with pytest.raises(ValueError, match="Received: device='tpu'"):
        ij.sample("normal", (2, 2), device="tpu")
    with pytest.raises(ValueError, match="Received: device='tpu'"):
        ij.device_available("tpu")
    if not ij.device_available("gpu")[0]:
        with pytest.raises(RuntimeError, match="Received: device='gpu'"):
            ij.sample("normal", (2, 2), device="gpu")


def test_versions_and_devices(ij):
    v = ij.versions()
    assert set(v) == {"jax", "jaxlib", "flax"} and v["jax"] != "not installed"
    assert ij.device_available("cpu") == (True, "")


def test_bench_cases_are_same_law_pairs(ij):
    """Structure only (timing belongs to `initspec bench`); one pair is run once."""
    cases = [c for c in ij.bench_cases(devices=("cpu",))]
    labels = {c.label for c in cases}
    assert "he_truncated_normal 4096x4096 float32" in labels and "orthogonal 1024x1024 float32" in labels
    assert len(cases) == 11 and all(c.backend == "jax" and c.target == 1.10 for c in cases)
    c = next(c for c in cases if c.label == "he_truncated_normal 3x3x256x256 float32")
    ours, native = c.sync(c.ours()), c.sync(c.native())
    assert ours.shape == native.shape == (3, 3, 256, 256) and ours.dtype == native.dtype
    assert c.native_name == "jax.nn.initializers.he_normal"


# -- fused Threefry draws (backends/jax/_threefry.py) ---------------------------------------------
FUSED = [("he_normal", {}, (37, 11), "float32"), ("he_uniform", {}, (41, 3, 5), "float32"),
         ("he_truncated_normal", {}, (3, 3, 13, 7), "float32"), ("uniform", {"low": -1.0, "high": 2.0}, (29, 9), "bfloat16"),
         ("truncated_normal", {"std": 0.02}, (33, 10), "float16"),
         ("truncated_normal_abs", {"std": 1.0, "low": 0.5, "high": 3.0}, (30, 8), "float32"),
         ("normal", {"mean": 0.5, "std": 2.0}, (19, 1), "float32"), ("orthogonal", {}, (3, 3, 8, 5), "float32"),
         ("normal", {"std": 0.5}, (), "float32"), ("uniform", {"low": 0.0, "high": 1.0}, (0, 4), "float32")]


@pytest.fixture
def unfused(ij, monkeypatch):
    """``unfused(fn)`` re-runs a call with JAX's own keys (the fused bits off)."""
    from initspec.backends.jax import _initializer, _threefry

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(_threefry, "usable", lambda: False)
            _initializer._draw.clear_cache()
            out = fn()
        _initializer._draw.clear_cache()
        return out

    _initializer._draw.clear_cache()
    yield run
    _initializer._draw.clear_cache()


@pytest.mark.parametrize("scheme,params,shape,dtype", FUSED, ids=lambda v: str(v))
def test_fused_draws_equal_jax_randoms_own(ij, jax, key, unfused, scheme, params, shape, dtype):
    """The fused Threefry bits give jax.random's values bit for bit (the same samplers on the same
    bits), for every sampler, low-precision dtypes, rank 0, empty tensors and orthogonal's QR."""
    init = ij.initializer(scheme, **params)
    got = np.asarray(init(key, shape, dtype))
    want = unfused(lambda: np.asarray(init(key, shape, dtype)))
    assert got.shape == want.shape == shape
    np.testing.assert_array_equal(got.reshape(-1).view(np.uint8), want.reshape(-1).view(np.uint8))


def test_fused_draws_are_used_and_equal_under_x64(ij, jax, key, unfused):
    """The draws really take the fused keys (the jaxpr shows the implementation's tag; off, only
    Threefry's), and float64 (64-bit words) agrees too."""
    init = ij.he_normal()
    assert "key<itf>" in str(jax.make_jaxpr(lambda k: init(k, (5, 3)))(key))  # FUSED_IMPL's tag
    assert "key<itf>" not in unfused(lambda: str(jax.make_jaxpr(lambda k: init(k, (5, 3)))(key)))
    with jax.enable_x64(True):
        got = np.asarray(init(key, (9, 7), "float64"))
        want = unfused(lambda: np.asarray(init(key, (9, 7), "float64")))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("scheme", ["he_normal", "glorot_uniform", "he_truncated_normal", "truncated_normal", "orthogonal"])
@pytest.mark.parametrize("shape", [(4096, 4096), (3, 3, 256, 256), (784, 256)])
def test_fused_draws_stay_within_twice_the_output(ij, jax, scheme, shape):
    """XLA's buffer assignment (deterministic, not a timing): output plus temporaries of a draw
    <= 2x the output for every size (element-wise samplers 1x; orthogonal's QR 2x and two vectors);
    jax.nn.initializers' own call holds ~4x (the rolled Threefry on the CPU), the planted contrast
    that shows the check can fail."""
    import math

    import jax.numpy as jnp

    if scheme == "orthogonal" and shape == (4096, 4096):
        shape = (1024, 1024)
    key, out_bytes = jax.random.key(0), 4 * math.prod(shape)
    native = getattr(jax.nn.initializers, {"he_truncated_normal": "he_normal"}.get(scheme, scheme))()

    def total(fn):
        stats = jax.jit(fn).lower(key).compile().memory_analysis()
        return (stats.output_size_in_bytes + stats.temp_size_in_bytes) / out_bytes

    ours = total(lambda k: getattr(ij, scheme)()(k, shape))
    if scheme == "orthogonal":  # the Gaussian matrix (QR'd in LAPACK's column-major) and the
        # row-major output, plus the QR's two vectors of min(rows, cols) (taus, signs)
        assert ours <= 2.0 + 3 * 4 * min(math.prod(shape[:-1]), shape[-1]) / out_bytes
    else:
        assert ours <= 1.01
    assert total(lambda k: native(k, shape, jnp.float32)) >= 3.0


def test_fused_keys_are_refused_where_values_could_differ(ij, jax, monkeypatch):
    """Other PRNG implementations, non-partitionable Threefry and tensors of 2**32 elements keep
    JAX's keys. On a JAX version the tests did not run on, fused bits that differ turn them off
    with a warning (checked once per process); a fused key splits and folds as Threefry. The
    installed JAX is one the tests run on (the rest of this file checks its values)."""
    from initspec.backends.jax import _threefry

    assert jax.__version__ in _threefry.TESTED_JAX_VERSIONS, "add the JAX this suite passes on to TESTED_JAX_VERSIONS"

    key = jax.random.key(0)
    assert _threefry.fusable(key, (3, 3))
    assert _threefry.fused_key(key, (3, 3)) is not key
    assert not _threefry.fusable(jax.random.key(0, impl="rbg"), (3, 3))
    assert not _threefry.fusable(key, (1 << 16, 1 << 16))
    jax.config.update("jax_threefry_partitionable", False)
    try:
        assert not _threefry.fusable(key, (3, 3))
    finally:
        jax.config.update("jax_threefry_partitionable", True)
    fused = _threefry.fused_key(key, (3, 3))
    for a, b in [(jax.random.split(key, 4), jax.random.split(fused, 4)), (jax.random.fold_in(key, 9), jax.random.fold_in(fused, 9))]:
        np.testing.assert_array_equal(np.asarray(jax.random.key_data(a)), np.asarray(jax.random.key_data(b)))

    from jax.extend import random as jex_random

    wrong = jex_random.define_prng_impl(  # planted wrong bits: one element off
        key_shape=(2,), seed=_threefry._seed, split=_threefry._split, fold_in=_threefry._fold_in,
        random_bits=lambda kd, w, s: _threefry._bits(kd, w, s).at[(0,) * len(s)].add(1) if s else _threefry._bits(kd, w, s) + 1,
        name="initspec_test_wrong_bits", tag="itw")
    _threefry._check(jax.random.key(3))  # the real bits pass the runtime check
    monkeypatch.setattr(_threefry, "FUSED_IMPL", wrong)
    monkeypatch.setattr(_threefry, "TESTED_JAX_VERSIONS", frozenset())  # as on an untested JAX
    _threefry.usable.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="differ from jax.random's"):
            assert not _threefry.usable()
    finally:
        monkeypatch.undo()
        _threefry.usable.cache_clear()
    assert _threefry.usable()
