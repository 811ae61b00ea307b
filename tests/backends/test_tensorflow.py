"""TensorFlow / Keras adapter: exact laws on large seeded draws, real Keras layers, serialization and
saved-model reload, seed semantics, tf.device, the harness API and clear errors.

Moment tolerances come from n and the law's fourth moment (``tests/spec/_moments.py``).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from initspec import SCHEMES, get_layout, get_scheme, resolve
from initspec.backends import numpy as ref
from initspec.dtypes import get_dtype
from scipy import stats

from ..spec._moments import Z, moment_errors

pytestmark = pytest.mark.tensorflow

N_SHAPE = (512, 512)  # 2**18 draws: tight moments, KS still blind to bfloat16 rounding
DTYPES = ("float32", "float64", "float16", "bfloat16")
SEED = 1234

CASES = [
    ("normal", {"mean": 0.3, "std": 2.0}),
    ("uniform", {"low": -1.0, "high": 3.0}),
    ("truncated_normal", {"mean": 1.0, "std": 0.5}),  # +-2 sigma: TF's rejection sampler
    ("truncated_normal", {"std": 1.0, "a": -1.0, "b": 3.0}),  # inverse CDF
    ("truncated_normal", {"std": 1.0, "a": 1.5, "b": 4.0}),  # inverse CDF, upper-tail (flipped) side
    ("truncated_normal_abs", {"std": 0.02}),
    ("truncated_normal_abs", {"mean": 1.0, "std": 1.0, "low": 0.0, "high": 1.5}),
    ("glorot_normal", {}), ("glorot_truncated_normal", {}), ("glorot_uniform", {}),
    ("he_normal", {}), ("he_truncated_normal", {}), ("he_uniform", {}),
    ("lecun_normal", {}), ("lecun_truncated_normal", {}), ("lecun_uniform", {}),
    ("variance_scaling", {"scale": 0.1, "mode": "fan_geo_avg", "distribution": "uniform"}),
    ("sparse", {"sparsity": 0.3, "std": 0.1}),
]


def _np(x) -> np.ndarray:
    return np.asarray(x.numpy(), dtype=np.float64) if x.dtype.is_floating else x.numpy()


# --------------------------------------------------------------------------------------------
# laws
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme,params", CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", DTYPES)
def test_samples_match_spec(tfb, scheme, params, dtype):
    plan, x = tfb.plan_and_sample(scheme, N_SHAPE, "keras", dtype, seed=SEED, **params)
    assert tuple(x.shape) == N_SHAPE and x.dtype.name == dtype
    assert not _law_errors(x, plan.element)


def _rounded_ks_pvalue(x: np.ndarray, cdf) -> float:
    """KS p-value of values rounded to a coarse dtype against ``cdf`` *after* rounding: the
    value v holds the mass of its rounding cell (midpoints to its neighbours), so the ECDF just
    below/at v is compared with the CDF at the cell's lower/upper edge (the extreme cells reach
    the support's ends: the clamp into the open bounds). The continuous KS law
    (``kstwo``) is conservative for this discrete statistic."""
    v, counts = np.unique(x.ravel(), return_counts=True)
    n = x.size
    up = np.nextafter(v, np.asarray(np.inf, v.dtype)).astype(np.float64)
    down = np.nextafter(v, np.asarray(-np.inf, v.dtype)).astype(np.float64)
    up[-1], down[0] = np.inf, -np.inf  # values clamped into the open bounds pile on the extremes
    vf = v.astype(np.float64)
    ecdf_at = np.cumsum(counts) / n
    ecdf_below = ecdf_at - counts / n
    d = max(np.abs(ecdf_at - cdf((vf + up) / 2)).max(), np.abs(ecdf_below - cdf((vf + down) / 2)).max())
    return float(stats.kstwo.sf(d, n))


def _law_errors(x, dist) -> list[str]:
    """moment_errors; for float16/bfloat16 the KS test is the rounding-aware one."""
    if x.dtype.name not in ("float16", "bfloat16") or dist.rv() is None:
        return moment_errors(_np(x), dist)
    errs = [e for e in moment_errors(_np(x), dist) if not e.startswith("KS")]
    p = _rounded_ks_pvalue(x.numpy(), dist.rv().cdf)
    return errs + ([f"rounded KS p={p:.3g}"] if p < 1e-9 else [])


def test_moment_check_can_fail(tfb):
    """The same assertion rejects a 2% std error and a missing truncation."""
    plan, x = tfb.plan_and_sample("he_truncated_normal", N_SHAPE, "keras", "float64", seed=7)
    assert not moment_errors(_np(x), plan.element)
    assert any("variance" in e for e in moment_errors(_np(x) * 1.02, plan.element))
    assert moment_errors(_np(tfb.initialize("he_normal", N_SHAPE, "float64", 7)), plan.element)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])  # the plan itself is float64
def test_truncated_never_reaches_tiny_window_bounds(tfb, dtype):
    """The window 1 +- eps/2 holds one representable point (1 - eps/2 is the bound itself):
    every value must be 1.0 (rounding of 1 + z * std would otherwise land on the lower bound)."""
    plan, x = tfb.plan_and_sample("truncated_normal", (1000,), "keras", dtype, seed=3,
                                  mean=1.0, std=get_dtype(dtype).eps / 4)
    v = _np(x)
    assert (v > plan.low).all() and (v < plan.high).all()
    assert (v == 1.0).all()


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_truncated_tiny_window_spread(tfb, dtype):
    plan, x = tfb.plan_and_sample("truncated_normal_abs", (2000, 500), "keras", dtype, seed=3,
                                  std=1.0, low=-0.01, high=0.01)
    v = _np(x)
    assert (v > plan.low).all() and (v < plan.high).all()
    _, counts = np.unique(v, return_counts=True)
    assert counts.max() / v.size < 0.05  # no pile-up on the clamp


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_never_reaches_high(tfb, dtype):
    """U[1, 1 + ulp): TF's u * (high - low) + low rounds to `high` for about half the draws;
    all values must be the one representable point in [low, high)."""
    ulp = get_dtype(dtype).eps
    x = _np(tfb.initialize("uniform", (4096,), dtype, 5, low=1.0, high=1.0 + ulp))
    assert (x == 1.0).all()


def _modulus_sq_errors(w: np.ndarray, dist) -> list[str]:
    """|w|^2 against its exact law (mean CI from its variance, KS)."""
    m2 = (np.abs(w) ** 2).ravel().astype(np.float64)
    rv = dist.modulus_sq_rv()
    errs = []
    tol = Z * math.sqrt(rv.var() / m2.size)
    if abs(m2.mean() - rv.mean()) > tol:
        errs.append(f"E|w|^2 {m2.mean():.6g} vs {rv.mean():.6g} (+-{tol:.3g})")
    if m2.max() > rv.support()[1]:
        errs.append(f"|w|^2 max {m2.max()} above support {rv.support()[1]}")
    if stats.kstest(m2, rv.cdf).pvalue < 1e-9:
        errs.append("KS of |w|^2")
    return errs


@pytest.mark.parametrize("scheme,params", [
    ("normal", {"std": 2.0}), ("he_normal", {}), ("glorot_uniform", {}), ("he_truncated_normal", {}),
    ("variance_scaling", {"distribution": "truncated_normal", "scale": 3.0}),
], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_laws(tfb, scheme, params, dtype):
    plan, x = tfb.plan_and_sample(scheme, N_SHAPE, "keras", dtype, seed=SEED, **params)
    assert x.dtype.name == dtype
    w = x.numpy()
    assert not _modulus_sq_errors(w, plan.element)
    phase = np.angle(w).ravel()  # uniform phase: E cos = E sin = 0, each with variance 1/2
    tol = Z * math.sqrt(0.5 / phase.size)
    assert abs(np.cos(phase).mean()) < tol and abs(np.sin(phase).mean()) < tol


def _ortho_matrix(w: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Keras layout: the out axis (-1) gives the rows."""
    return np.moveaxis(w, -1, 0).reshape(shape[-1], -1)


def _gram_error(m: np.ndarray, gain: float) -> float:
    m = m.astype(np.float64)
    g = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return float(np.abs(g - gain**2 * np.eye(g.shape[0])).max())


def _ortho_tol(n: int, dtype: str, gain: float) -> float:
    """Dot products of n terms carry <= n*eps relative error (plus QR's O(n eps)); a cast to a
    lower precision adds <= 2 eps_dtype. All relative to gain**2."""
    eps32 = get_dtype("float32").eps if dtype != "float64" else get_dtype("float64").eps
    return gain**2 * (4 * n * eps32 + 2 * get_dtype(dtype).eps)


@pytest.mark.parametrize("shape", [(64, 128), (128, 64), (3, 3, 16, 32), (3, 3, 64, 8)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_orthogonal_to_dtype_precision(tfb, shape, dtype):
    gain = 1.5
    x = tfb.Orthogonal(gain=gain, seed=SEED)(shape, dtype)
    assert tuple(x.shape) == shape and x.dtype.name == dtype
    m = _ortho_matrix(_np(x), shape)
    assert _gram_error(m, gain) <= _ortho_tol(max(m.shape), dtype, gain)


def test_orthogonal_entries_are_haar(tfb):
    """Entries of a Haar orthogonal matrix: gain * (2 Beta(a, a) - 1), a = (n - 1) / 2 (KS)."""
    plan, x = tfb.plan_and_sample("orthogonal", (256, 256), "keras", "float64", seed=SEED)
    assert stats.kstest(x.numpy().ravel(), plan.element.rv().cdf).pvalue > 1e-9


def test_sparse_zeros_per_input_unit(tfb):
    shape, sparsity = (300, 70), 0.3
    x = tfb.Sparse(sparsity=sparsity, std=0.1, seed=SEED)(shape).numpy()
    assert ((x == 0).sum(axis=1) == math.ceil(sparsity * shape[1])).all()  # keras: rows = inputs


@pytest.mark.parametrize("scheme,params,shape,dtype", [
    ("zeros", {}, (3, 4), "float32"), ("ones", {}, (2, 3, 4), "bfloat16"),
    ("constant", {"value": 0.25}, (5, 2), "float16"), ("constant", {"value": 1 + 2j}, (3, 3), "complex64"),
    ("identity", {"gain": 2.0}, (5, 7), "float64"), ("dirac", {}, (6, 4, 3, 3), "float32"),
    ("dirac", {"groups": 2}, (5, 3, 6), "float32"),  # keras (k, in, out) = torch (6, 3, 5)
])
def test_deterministic_schemes_equal_numpy_reference(tfb, scheme, params, shape, dtype):
    """The harness API follows the spec verbatim (same layout-aware dirac as the reference)."""
    x = tfb.sample(scheme, shape, dtype=dtype, **params)
    want = ref.initialize(scheme, shape, "keras", "float32" if dtype == "bfloat16" else dtype, 0, **params)
    np.testing.assert_array_equal(x.numpy().astype(want.dtype), want)


# --------------------------------------------------------------------------------------------
# real Keras layers and layouts
# --------------------------------------------------------------------------------------------
def test_dense_kernel(tfb, keras):
    n_in, n_out = 512, 256
    layer = keras.layers.Dense(n_out, kernel_initializer=tfb.HeNormal(seed=3))
    layer.build((None, n_in))
    k = layer.kernel.numpy()
    np.testing.assert_array_equal(k, tfb.he_normal((n_in, n_out), seed=3).numpy())
    plan = resolve("he_normal", (n_in, n_out), "keras_dense")
    assert plan.fans.fan_in == n_in
    assert not moment_errors(k, plan.element)


def test_conv2d_kernel_and_groups(tfb, keras):
    c_in, c_out, groups = 8, 16, 2
    init = tfb.GlorotUniform(seed=4, groups=groups)
    layer = keras.layers.Conv2D(c_out, 3, groups=groups, kernel_initializer=init)
    layer.build((None, 8, 8, c_in))
    k = layer.kernel.numpy()
    assert k.shape == (3, 3, c_in // groups, c_out)
    plan = resolve("glorot_uniform", k.shape, "keras_conv", groups=groups)
    assert plan.fans == (9 * c_in // groups, 9 * c_out // groups, 9)
    np.testing.assert_array_equal(k, tfb.glorot_uniform(k.shape, seed=4, groups=groups).numpy())
    assert np.abs(k).max() < plan.high
    ungrouped = resolve("glorot_uniform", k.shape, "keras_conv")
    assert plan.high > ungrouped.high  # fan_out / groups widens the bound


def test_conv2d_transpose_kernel_fans(tfb, keras):
    """Keras ConvTranspose kernels are (*k, out, in); fan_in comes from axis -2."""
    c_in, c_out = 8, 32
    layer = keras.layers.Conv2DTranspose(c_out, 3, kernel_initializer=tfb.HeUniform(seed=5))
    layer.build((None, 8, 8, c_in))
    k = layer.kernel.numpy()
    assert k.shape == (3, 3, c_out, c_in)
    plan = resolve("he_uniform", k.shape, "keras_conv_transpose")
    assert plan.fans.fan_in == 9 * c_out
    assert math.isclose(float(np.abs(k).max()), plan.high, rel_tol=0.01) and np.abs(k).max() < plan.high


@pytest.mark.parametrize("groups", [1, 2])
def test_dirac_conv2d_is_identity(tfb, keras, tf, groups):
    c = 8
    layer = keras.layers.Conv2D(c, 3, padding="same", use_bias=False, groups=groups,
                                kernel_initializer=tfb.Dirac(groups=groups))
    x = tf.random.stateless_normal((2, 6, 6, c), seed=(1, 2))
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_delta_orthogonal_conv2d(tfb, keras):
    gain, c_in, c_out = 2.0, 8, 16
    layer = keras.layers.Conv2D(c_out, 3, kernel_initializer=tfb.DeltaOrthogonal(gain=gain, seed=6))
    layer.build((None, 8, 8, c_in))
    k = layer.kernel.numpy()
    centre = k[1, 1]
    assert _gram_error(centre, gain) <= _ortho_tol(c_out, "float32", gain)
    k[1, 1] = 0
    assert (k == 0).all()


def test_custom_layout_and_fans(tfb):
    lay = get_layout("keras").with_axes(in_axis=-1, out_axis=-2)
    a = tfb.he_uniform((20, 30), seed=1, layout=lay).numpy()
    high = resolve("he_uniform", (20, 30), lay).high
    assert math.isclose(high, math.sqrt(6 / 30)) and np.abs(a).max() < high
    b = tfb.he_uniform((7,), seed=1, fans=(50, 10)).numpy()  # bias: rank 1 needs explicit fans
    assert np.abs(b).max() < math.sqrt(6 / 50)


# --------------------------------------------------------------------------------------------
# serialization
# --------------------------------------------------------------------------------------------
def _small_shape(name: str) -> tuple[int, ...]:
    return (3, 3, 4, 6) if name in ("dirac", "delta_orthogonal") else (6, 5)


def test_every_scheme_has_a_registered_class_and_function(tfb, keras):
    for name in SCHEMES:
        cls = tfb.INITIALIZERS[name]
        assert issubclass(cls, keras.initializers.Initializer) and cls.scheme == name
        assert keras.saving.get_registered_object(f"initspec>{cls.__name__}") is cls
        assert callable(getattr(tfb, name))
    assert issubclass(tfb.RandomNormal, tfb.SpecInitializer) and tfb.RandomNormal.scheme == "normal"
    assert tfb.RandomUniform.scheme == "uniform"
    assert "UNTRUNCATED" in tfb.GlorotNormal.__doc__ and "GlorotTruncatedNormal" in tfb.GlorotNormal.__doc__


@pytest.mark.parametrize("name", list(SCHEMES))
def test_config_round_trip(tfb, keras, name):
    cls = tfb.INITIALIZERS[name]
    init = cls(seed=11)
    config = init.get_config()
    json.dumps(config)
    clone = cls.from_config(config)
    assert clone.get_config() == config
    shape = _small_shape(name)
    np.testing.assert_array_equal(init(shape).numpy(), clone(shape).numpy())
    again = keras.initializers.deserialize(json.loads(json.dumps(keras.initializers.serialize(init))))
    assert type(again) is cls and again.get_config() == config


def test_config_round_trip_custom_layout_and_seed_generator(tfb, keras):
    lay = get_layout("keras").with_axes(in_axis=0, out_axis=1)
    init = tfb.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=keras.random.SeedGenerator(3),
                               layout=lay, fans=None)
    config = json.loads(json.dumps(init.get_config()))
    clone = tfb.VarianceScaling.from_config(config)
    assert clone.layout == lay and clone.params["distribution"] == "normal"
    np.testing.assert_array_equal(init((4, 6)).numpy(), clone((4, 6)).numpy())  # same generator state


def test_saved_model_reloads(tfb, keras, tmp_path):
    lay = get_layout("keras").with_axes(in_axis=0, out_axis=1)
    inits = [tfb.HeTruncatedNormal(seed=1), tfb.Orthogonal(gain=2.0, seed=2),
             tfb.GlorotNormal(layout=lay, seed=3), tfb.Dirac()]
    model = keras.Sequential([
        keras.Input((8, 8, 4)),
        keras.layers.Conv2D(4, 3, padding="same", kernel_initializer=inits[3]),
        keras.layers.Conv2D(6, 3, kernel_initializer=inits[1]),
        keras.layers.Flatten(),
        keras.layers.Dense(16, kernel_initializer=inits[0]),
        keras.layers.Dense(3, kernel_initializer=inits[2]),
    ])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    layers = [layer for layer in loaded.layers if hasattr(layer, "kernel_initializer")]
    for layer, init in zip(layers, [inits[3], inits[1], inits[0], inits[2]]):
        assert type(layer.kernel_initializer) is type(init)
        assert layer.kernel_initializer.get_config() == init.get_config()


# --------------------------------------------------------------------------------------------
# seed semantics
# --------------------------------------------------------------------------------------------
def _same(a, b) -> bool:
    return bool(np.array_equal(a.numpy(), b.numpy()))


def test_int_seed_repeats_across_calls_and_instances(tfb):
    a = tfb.HeNormal(seed=5)
    assert _same(a((16, 16)), a((16, 16)))
    assert _same(a((16, 16)), tfb.HeNormal(seed=5)((16, 16)))
    assert not _same(a((16, 16)), tfb.HeNormal(seed=6)((16, 16)))


def test_unseeded_instance_repeats_and_instances_differ(tfb, keras):
    a, b = tfb.GlorotUniform(), tfb.GlorotUniform()
    assert _same(a((16, 16)), a((16, 16)))
    assert not _same(a((16, 16)), b((16, 16)))
    assert a.get_config()["seed"] is None
    keras.utils.set_random_seed(9)
    c = tfb.GlorotUniform()
    keras.utils.set_random_seed(9)
    assert _same(c((16, 16)), tfb.GlorotUniform()((16, 16)))  # reproducible via set_random_seed


def test_seed_generator_gives_fresh_values(tfb, keras):
    a = tfb.Orthogonal(seed=keras.random.SeedGenerator(4))
    b = tfb.Orthogonal(seed=keras.random.SeedGenerator(4))
    a1, a2 = a((8, 8)), a((8, 8))
    assert not _same(a1, a2)
    assert _same(a1, b((8, 8))) and _same(a2, b((8, 8)))


def test_int_seed_matches_keras_native_draws(tfb, keras):
    """An int seed maps to the stateless pair Keras builds ([seed, 0]) and the +-2 sigma and
    untruncated normals run TF's own ops: same values as Keras' initializers."""
    shape, s = (64, 32), 77
    same = [(tfb.RandomNormal(std=0.05, mean=0.1, seed=s), keras.initializers.RandomNormal(0.1, 0.05, seed=s)),
            (tfb.TruncatedNormal(std=0.05, seed=s), keras.initializers.TruncatedNormal(stddev=0.05, seed=s))]
    for ours, native in same:
        assert _same(ours(shape), native(shape))
    np.testing.assert_allclose(tfb.HeTruncatedNormal(seed=s)(shape).numpy(),
                               keras.initializers.HeNormal(seed=s)(shape).numpy(),
                               rtol=2 * get_dtype("float32").eps)


def test_keras_named_classes_have_keras_defaults(tfb, keras):
    """RandomNormal / RandomUniform / TruncatedNormal: Keras' defaults (std 0.05, U[-0.05, 0.05))
    and, for a seed, Keras' values; the spec-named Normal / Uniform keep the table's."""
    shape, s = (32, 16), 5
    for ours, native in [(tfb.RandomNormal(seed=s), keras.initializers.RandomNormal(seed=s)),
                         (tfb.TruncatedNormal(seed=s), keras.initializers.TruncatedNormal(seed=s))]:
        assert _same(ours(shape), native(shape))
    # the uniform is low + u * (high - low) here (exact open bound), Keras' differs in rounding
    np.testing.assert_allclose(tfb.RandomUniform(seed=s)(shape).numpy(),
                               keras.initializers.RandomUniform(seed=s)(shape).numpy(), rtol=0, atol=1e-8)
    assert tfb.RandomNormal().params == {"mean": 0.0, "std": 0.05}
    assert tfb.RandomUniform().params == {"low": -0.05, "high": 0.05}
    assert tfb.TruncatedNormal().params["std"] == 0.05
    assert tfb.Normal().params == {"mean": 0.0, "std": 1.0} and tfb.Uniform().params == {"low": 0.0, "high": 1.0}
    assert tfb.RandomNormal(0.1, 0.2).params == {"mean": 0.1, "std": 0.2}  # (mean, stddev) as Keras


def test_no_positional_trap(tfb):
    """Keras' HeNormal(42) is seed=42: a positional argument never silently means gain here."""
    for cls in (tfb.HeTruncatedNormal, tfb.HeNormal, tfb.GlorotUniform, tfb.LecunTruncatedNormal):
        with pytest.raises(TypeError, match=r"reads its next positional argument as the seed.*seed=\.\.\., gain=.*"
                                            r"initspec\.backends\.keras\.initializers\.\w+\. Received: args=\(42,\)"):
            cls(42)
    with pytest.raises(TypeError, match=r"keras.initializers.HeNormal reads"):
        tfb.HeTruncatedNormal(42)
    for cls in (tfb.TruncatedNormal, tfb.RandomNormal, tfb.RandomUniform):
        with pytest.raises(TypeError, match=r"as the seed.*Received: args=\(0\.0, 1\.0, 42\)"):
            cls(0.0, 1.0, 42)
    assert tfb.HeTruncatedNormal(seed=42, gain=1.0).params["gain"] == 1.0
    assert tfb.VarianceScaling(2.0, "fan_out", "uniform").params == {"scale": 2.0, "mode": "fan_out",
                                                                     "distribution": "uniform"}
    assert tfb.Orthogonal(2.0).params == {"gain": 2.0} and tfb.Constant(3.0).params == {"value": 3.0}


def test_saved_configs_of_the_former_aliases_still_load(tfb, keras):
    """RandomNormal/RandomUniform used to be the Normal/Uniform classes: configs saved then say
    "initspec>Normal" with explicit parameters and load unchanged."""
    for cls_name, config in [("Normal", {"mean": 0.0, "std": 1.0}), ("Uniform", {"low": 0.0, "high": 1.0})]:
        saved = {"module": "initspec.backends.tensorflow", "class_name": cls_name, "registered_name": f"initspec>{cls_name}",
                 "config": {**config, "seed": 3, "layout": "keras", "groups": 1, "fans": None}}
        init = keras.saving.deserialize_keras_object(saved)
        assert type(init) is getattr(tfb, cls_name) and init.params == config
    init = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(tfb.RandomNormal(seed=1)))
    assert type(init) is tfb.RandomNormal and init.params == {"mean": 0.0, "std": 0.05}


def test_function_seeds(tfb, tf):
    f = tfb.lecun_uniform
    assert not _same(f((16, 16)), f((16, 16)))  # seed=None: fresh per call
    assert _same(f((16, 16), seed=3), f((16, 16), seed=3))
    assert _same(f((16, 16), seed=3), f((16, 16), seed=tf.constant([3, 0])))  # int -> [seed, 0]
    assert _same(f((16, 16), seed=[7, 8]), f((16, 16), seed=np.array([7, 8])))
    assert not _same(f((16, 16), seed=[7, 8]), f((16, 16), seed=[8, 7]))


@pytest.mark.parametrize("name", ["he_truncated_normal", "glorot_uniform", "orthogonal", "sparse", "dirac",
                                  "truncated_normal_abs"])
def test_graph_mode_equals_eager(tfb, tf, name):
    """Keras may build weights inside a tf.function: same values as eagerly."""
    init = tfb.INITIALIZERS[name](seed=3)
    shape = _small_shape(name)
    np.testing.assert_array_equal(tf.function(lambda: init(shape))().numpy(), init(shape).numpy())


# --------------------------------------------------------------------------------------------
# devices
# --------------------------------------------------------------------------------------------
def test_created_under_cpu_scope(tfb, tf):
    with tf.device("/CPU:0"):
        x = tfb.HeNormal(seed=1)((32, 32))
    assert x.device.endswith("CPU:0") and tfb.device_of(x) == "cpu"


@pytest.mark.gpu
def test_created_under_gpu_scope(tfb, tf):
    ok, why = tfb.device_available("gpu")
    if not ok:
        pytest.skip(why)
    with tf.device("/GPU:0"):
        plan, x = tfb.plan_and_sample("he_truncated_normal", N_SHAPE, "keras", "float32", seed=1)
        q = tfb.Orthogonal(seed=2)((256, 128))
    assert tfb.device_of(x) == "gpu" and tfb.device_of(q) == "gpu"
    assert not moment_errors(_np(x), plan.element)
    assert _gram_error(_ortho_matrix(_np(q), (256, 128)), 1.0) <= _ortho_tol(256, "float32", 1.0)
    assert tfb.device_of(tfb.sample("he_normal", (64, 64), device="gpu")) == "gpu"


def test_harness_gpu_unavailable_is_a_clear_error(tfb):
    ok, why = tfb.device_available("gpu")
    if ok:
        pytest.skip("a GPU is present")
    assert why
    with pytest.raises(ValueError, match=r"Received: device='gpu'"):
        tfb.sample("he_normal", (4, 4), device="gpu")
    with pytest.raises(ValueError, match=r"Received: device='tpu'"):
        tfb.sample("he_normal", (4, 4), device="tpu")


# --------------------------------------------------------------------------------------------
# harness API and benchmarks
# --------------------------------------------------------------------------------------------
def test_harness_api(tfb):
    assert tfb.DEFAULT_LAYOUT == "keras"
    a = tfb.sample("he_uniform", (32, 16), seed=3)
    assert _same(a, tfb.sample("he_uniform", (32, 16), seed=3))
    assert not _same(a, tfb.sample("he_uniform", (32, 16), seed=4))
    assert isinstance(tfb.to_numpy(a), np.ndarray) and tfb.to_numpy(a).dtype == np.float32
    assert tfb.device_of(a) == "cpu" and tfb.device_available("cpu") == (True, "")
    assert {"tensorflow", "keras"} <= set(tfb.versions())


def test_bench_cases_pair_equal_distributions(tfb):
    """Every case is listed; the small ones are run: ours and the native draw the same law
    (two-sample variance test, tolerance from n and the law's fourth moment)."""
    cases = tfb.bench_cases()
    labels = {c.label for c in cases if c.device == "cpu"}
    paired = ("he_normal", "he_truncated_normal", "glorot_uniform", "normal", "uniform", "truncated_normal")
    for name in paired:
        assert {f"{name} 4096x4096 float32", f"{name} 3x3x256x256 float32"} <= labels
    assert "orthogonal 1024x1024 (memory: 3072x3072) float32" in labels
    ortho = next(c for c in cases if c.label.startswith("orthogonal") and c.device == "cpu")
    assert ortho.memory_ours is not None and ortho.memory_native is not None  # measured where the RSS sees it
    assert all(c.target == 1.10 and c.backend == "tensorflow" for c in cases)
    params = {"normal": {"std": 0.05}, "truncated_normal": {"std": 0.05},
              "uniform": {"low": -0.05, "high": 0.05}}
    for c in cases:
        if c.device != "cpu" or "3x3x256x256" not in c.label:
            continue
        ours, native = c.sync(c.ours()).numpy().ravel(), c.sync(c.native()).numpy().ravel()
        assert ours.shape == native.shape and ours.dtype == native.dtype
        name = c.label.split()[0]
        plan = resolve(name, (3, 3, 256, 256), "keras", **params.get(name, {}))
        e = plan.element
        tol = Z * math.sqrt(2 * (e.fourth_central_moment - e.var**2) / ours.size)
        assert abs(ours.var() - native.var()) <= tol, c.label


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", ["a", 1.5, True, [1, 2]])
def test_bad_keras_seed(tfb, seed):
    with pytest.raises(TypeError, match=r"Received: seed=" + re.escape(repr(seed))):
        tfb.HeNormal(seed=seed)


@pytest.mark.parametrize("seed", ["a", 1.5, True, [1, 2, 3], [1.0, 2.0]])
def test_bad_function_seed(tfb, seed):
    with pytest.raises(TypeError, match=r"Received: seed="):
        tfb.he_normal((4, 4), seed=seed)


@pytest.mark.parametrize("dtype", ["int32", "bool", "uint8"])
def test_integer_dtype_rejected(tfb, tf, dtype):
    with pytest.raises(TypeError, match=r"Received: dtype="):
        tfb.HeNormal(seed=1)((4, 4), dtype=dtype)
    with pytest.raises(TypeError, match=r"Received: dtype="):
        tfb.he_normal((4, 4), tf.as_dtype(dtype))


def test_plan_cache_never_hides_bad_input(tfb):
    """gain=1 and shape (1, 4) get cached; gain=True and shape (True, 4) (equal, same hash)
    must still be rejected."""
    tfb.he_normal((1, 4), seed=1, gain=1)
    with pytest.raises(TypeError, match=r"Received: gain=True"):
        tfb.he_normal((1, 4), seed=1, gain=True)
    with pytest.raises(TypeError, match=r"Received: shape=\(True, 4\)"):
        tfb.he_normal((True, 4), seed=1, gain=1)


def test_wrong_rank_for_layout(tfb):
    with pytest.raises(ValueError, match=r"rank 3\.\.5.*Received: shape=\(3, 3\)"):
        tfb.HeNormal(seed=1, layout="keras_conv")((3, 3))
    with pytest.raises(ValueError, match=r"Received: shape=\(5,\)"):
        tfb.GlorotUniform(seed=1)((5,))  # rank 1: pass fans=


def test_bad_parameters(tfb):
    with pytest.raises(ValueError, match=r"Did you mean 'std'.*Received: stddev=0.1"):
        tfb.RandomNormal(stddev=0.1)
    with pytest.raises(ValueError, match=r"fixed.*Received: mode='fan_out'"):
        tfb.HeNormal(mode="fan_out")
    with pytest.raises(ValueError, match=r"Received: distribution='gaussian'"):
        tfb.VarianceScaling(distribution="gaussian")
    with pytest.raises(ValueError, match=r"Received: std=-1"):
        tfb.RandomNormal(std=-1)
    with pytest.raises(TypeError, match=r"Received: args="):
        tfb.HeNormal(2.0, 3.0)
    with pytest.raises(ValueError, match=r"Received: groups=0"):
        tfb.GlorotUniform(groups=0)
    with pytest.raises(ValueError, match=r"Received: layout='kerass'"):
        tfb.GlorotUniform(layout="kerass")
    with pytest.raises(ValueError, match=r"divisible by groups=3"):
        tfb.Dirac(groups=3)((3, 3, 2, 8))


# --------------------------------------------------------------------------------------------
# import isolation
# --------------------------------------------------------------------------------------------
def test_import_pulls_no_other_adapter_framework(tfb):
    """Our module imports TF and Keras only (TF itself imports JAX when installed:
    tensorflow/lite/python/util.py), never torch or flax."""
    code = ("import sys, initspec.backends.tensorflow\n"
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'flax'})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------------------------
# package structure: static public names, one per scheme; keras-free primitives; no cycles
# --------------------------------------------------------------------------------------------
def _package_sources() -> dict[str, str]:
    import pathlib

    import initspec.backends.tensorflow as pkg

    return {p.stem: p.read_text() for p in pathlib.Path(pkg.__file__).parent.glob("*.py")}


def _module_level_names(source: str) -> set[str]:
    """Names bound at module level by plain assignments, definitions and imports (what IDEs, type
    checkers and ruff see), never through ``globals()``."""
    import ast

    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def test_public_functions_and_classes_cover_every_scheme_exactly(tfb):
    """One TF function and one Keras class per row of initspec.SCHEMES (plus the table's CamelCase
    aliases), all statically defined: a new scheme cannot be forgotten."""
    from initspec.backends.tensorflow._naming import class_name

    public = {n: getattr(tfb, n) for n in tfb.__all__}
    functions = {n for n, v in public.items() if any(v is f for f in tfb.SCHEME_FUNCTIONS.values())}
    classes = {n for n, v in public.items()
               if isinstance(v, type) and issubclass(v, tfb.SpecInitializer) and v is not tfb.SpecInitializer}
    aliases = {a for s in SCHEMES.values() for a in s.aliases if a[:1].isupper() and a != class_name(s.name)}
    assert functions == set(SCHEMES) == set(tfb.SCHEME_FUNCTIONS) == set(tfb.INITIALIZERS)
    assert classes == {class_name(n) for n in SCHEMES} | aliases
    for name in SCHEMES:
        assert getattr(tfb, name).__name__ == name and tfb.INITIALIZERS[name].scheme == name
        assert getattr(tfb, class_name(name)) is tfb.INITIALIZERS[name]
    for alias in aliases:
        # the Keras-named aliases are classes of their own with Keras' defaults
        assert getattr(tfb, alias).scheme == get_scheme(alias).name
    src = _package_sources()
    assert set(SCHEMES) <= _module_level_names(src["functions"])
    assert {class_name(n) for n in SCHEMES} | aliases <= _module_level_names(src["initializers"])
    assert set(tfb.__all__) <= _module_level_names(src["__init__"])
    assert all("globals()" not in text for text in src.values())


def test_primitives_and_portable_import_no_keras_and_the_package_has_no_cycle(tfb):
    """``_primitives`` and ``portable`` are TF-only; intra-package imports form a DAG."""
    import ast

    src = _package_sources()
    graph: dict[str, set[str]] = {}
    for mod, text in src.items():
        deps, keras_imports = set(), []
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module} if node.module else {a.name for a in node.names}
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            keras_imports += [n for n in names if n.split(".")[0] == "keras"]
        graph[mod] = deps & set(src)
        if mod in ("_primitives", "portable", "_naming"):
            assert not keras_imports, mod
    done: set[str] = set()

    def visit(mod: str, path: tuple[str, ...]) -> None:
        assert mod not in path, f"import cycle: {' -> '.join((*path, mod))}"
        if mod not in done:
            for dep in graph[mod]:
                visit(dep, (*path, mod))
            done.add(mod)

    for mod in graph:
        visit(mod, ())
    assert all(len(text.splitlines()) <= 400 for text in src.values())
