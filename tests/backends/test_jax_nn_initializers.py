"""The drop-in ``jax.nn.initializers`` (``initspec.backends.jax.nn_initializers``) against JAX's
own: the same public names and signatures, shapes and dtypes, element laws, axes, zero-size
shapes, ``jax.jit``/``jax.vmap``, plus initspec's extras (argument errors, portable mode).

The behaviours are those JAX's own tests check (jax-ml/jax ``tests/nn_test.py``,
``NNInitializersTest``), written here against the drop-in. One of them cannot pass as written
there: ``testVarianceScalingError`` matches JAX's message text ("Can't compute input and output
sizes of a 1-dimensional weights tensor"); the drop-in raises a ``ValueError`` too, with the
spec's message (:func:`test_default_axes_on_rank_1_raise_as_in_jax`). ``float64``/``complex128``
cases skip without ``jax_enable_x64``: JAX silently gives 32-bit arrays there, the drop-in refuses
(see docs/drop-in-jax.md), so those cases also run once under ``jax.enable_x64``.

Laws are checked with Kolmogorov-Smirnov at ``ALPHA = 5.7e-7`` per check (fixed keys, so every
run is the same): one-sample against the law JAX documents (written here with scipy, not taken
from the spec), two-sample against ``jax.nn.initializers`` itself.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from scipy import stats

from initspec.backends import numpy as ref

pytestmark = pytest.mark.jax

ALPHA = 2.0 * stats.norm.sf(5.0)
N = 1 << 18
#: std of N(0, 1) truncated to (-2, 2)
TRUNC_STD = 0.87962566103423978
X64 = ("float64", "complex128")
REAL = ("bfloat16", "float16", "float32", "float64")
INEXACT = (*REAL, "complex64", "complex128")
ALL_SHAPES = [(2,), (2, 3), (4, 3, 2), (2, 3, 4, 5)]

#: (factory name, positional args, dtypes, min rank, max rank), after jax's NNInitializersTest
RECORDS = [
    ("uniform", (), REAL, 1, 4),
    ("normal", (), INEXACT, 1, 4),
    ("truncated_normal", (), REAL, 1, 4),
    ("he_normal", (), INEXACT, 2, 4),
    ("he_uniform", (), INEXACT, 2, 4),
    ("glorot_normal", (), INEXACT, 2, 4),
    ("glorot_uniform", (), INEXACT, 2, 4),
    ("lecun_normal", (), INEXACT, 2, 4),
    ("lecun_uniform", (), INEXACT, 2, 4),
    ("orthogonal", (), REAL, 2, 2),
    ("delta_orthogonal", (), REAL, 4, 4),
    ("variance_scaling", (1.0, "fan_geo_avg", "normal"), REAL, 2, 4),
]
#: the lowest and highest rank of each record (every shape compiles a program: the CI box is small)
SHAPE_CASES = [pytest.param(name, args, shape, dtype, id=f"{name}-{'x'.join(map(str, shape))}-{dtype}")
               for name, args, dtypes, lo, hi in RECORDS
               for shape in [s for s in ALL_SHAPES if len(s) in (lo, hi)]
               for dtype in dtypes]


@pytest.fixture(scope="module")
def ni(ij):
    from initspec.backends.jax import nn_initializers

    return nn_initializers


@pytest.fixture(scope="module")
def J(jax):
    return jax.nn.initializers


@pytest.fixture
def key(jax):
    return jax.random.key(1234)


def _np(x) -> np.ndarray:
    return np.asarray(x, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)


def _skip_without_x64(dtype: str) -> None:
    from initspec.backends.jax._checks import x64_enabled

    if dtype in X64 and not x64_enabled():
        pytest.skip(f"{dtype} needs jax_enable_x64 (JAX would silently give a 32-bit array; "
                    f"the drop-in refuses, see docs/drop-in-jax.md)")


def ks_1(x: np.ndarray, cdf, what: str) -> None:
    d = stats.kstest(np.ravel(x), cdf).statistic
    crit = math.sqrt(-math.log(ALPHA / 2.0) / 2.0 / x.size)
    assert d <= crit, f"{what}: KS {d:.3g} > {crit:.3g}"


def ks_2(x: np.ndarray, y: np.ndarray, what: str) -> None:
    x, y = np.ravel(x), np.ravel(y)
    d = stats.ks_2samp(x, y).statistic
    crit = math.sqrt(-math.log(ALPHA / 2.0) / 2.0 * (x.size + y.size) / (x.size * y.size))
    assert d <= crit, f"{what}: two-sample KS {d:.3g} > {crit:.3g}"


# -- names and signatures ---------------------------------------------------------------------


def test_public_names_are_jax_s(ni, J):
    public = {n for n in dir(J) if not n.startswith("_")}
    assert set(ni.__all__) == public
    assert ni.Initializer is J.Initializer
    assert ni.xavier_uniform is ni.glorot_uniform and ni.xavier_normal is ni.glorot_normal
    assert ni.kaiming_uniform is ni.he_uniform and ni.kaiming_normal is ni.he_normal


def test_signatures_are_jax_s_plus_keyword_only_stream_and_seed(ni, J):
    P = inspect.Parameter
    for name in ni.__all__:
        if name == "Initializer":
            continue
        ours = list(inspect.signature(getattr(ni, name)).parameters.values())
        theirs = list(inspect.signature(getattr(J, name)).parameters.values())
        assert [(p.name, p.kind, p.default) for p in ours[:len(theirs)]] == \
               [(p.name, p.kind, p.default) for p in theirs], name
        extra = [(p.name, p.kind, p.default) for p in ours[len(theirs):]]
        assert extra in ([], [("stream", P.KEYWORD_ONLY, None), ("seed", P.KEYWORD_ONLY, None)]), name
        if name not in ("zeros", "ones", "constant"):
            assert extra, f"{name} lacks the portable stream/seed arguments"


def test_initializers_satisfy_jax_s_protocol(ni):
    for init in (ni.normal(), ni.he_normal(), ni.orthogonal(), ni.constant(2.0), ni.zeros):
        assert isinstance(init, ni.Initializer)


# -- shapes and dtypes ------------------------------------------------------------------------


@pytest.mark.parametrize("name,args,shape,dtype", SHAPE_CASES)
def test_shape_and_dtype(ni, jax, name, args, shape, dtype):
    """The call's dtype and the factory's default dtype give that dtype and the shape."""
    _skip_without_x64(dtype)
    factory = getattr(ni, name)
    key = jax.random.PRNGKey(0)  # legacy keys as in jax's tests
    for val in (factory(*args)(key, shape, dtype), factory(*args, dtype=dtype)(key, shape)):
        assert val.shape == shape and str(val.dtype) == dtype
        assert np.all(np.isfinite(_np(val)))


def test_x64_dtypes_under_enable_x64(ni, jax, key):
    with jax.enable_x64(True):
        assert ni.zeros(key, (2, 3)).dtype == np.float64  # dtype=None is JAX's default float
        assert ni.he_normal()(key, (4, 5)).dtype == np.float64
        assert ni.normal()(key, (4, 5), "complex128").dtype == np.complex128
        assert ni.glorot_uniform(dtype="complex128")(key, (4, 5)).dtype == np.complex128
    assert ni.he_normal()(key, (4, 5)).dtype == np.float32


def test_scalar_array_arguments_keep_the_dtype(ni, jax, key):
    """A 0-d float32 array as ``stddev``/``scale`` does not upcast a bfloat16 result."""
    import jax.numpy as jnp

    p = jnp.array(1.0, dtype=jnp.float32)
    for init in (ni.uniform(p, jnp.bfloat16), ni.normal(p, jnp.bfloat16), ni.truncated_normal(p, jnp.bfloat16)):
        assert init(key, (4, 4)).dtype == jnp.bfloat16


def test_constants(ni, jax):
    assert np.all(_np(ni.zeros(None, (2, 3))) == 0)  # key ignored, as in JAX
    assert np.all(_np(ni.ones("not a key", (3,), "bfloat16")) == 1)
    x = ni.constant(-7)(None, (2, 3), "float16")
    assert x.dtype == np.float16 and np.all(_np(x) == -7)
    z = ni.constant(1 + 2j, "complex64")(None, (2,))
    assert z.dtype == np.complex64 and np.all(_np(z) == 1 + 2j)
    assert np.all(_np(ni.constant(jax.numpy.float32(0.5))(None, (2,))) == 0.5)


# -- laws ---------------------------------------------------------------------------------------


def _truncnorm(a: float, b: float, scale: float):
    return stats.truncnorm(a, b, scale=scale).cdf


#: (factory, args, shape, the law JAX documents as a CDF)
LAWS = [
    ("normal", (), (N,), stats.norm(scale=0.01).cdf),
    ("normal", (-3.0,), (N,), stats.norm(scale=3.0).cdf),
    ("uniform", (), (N,), stats.uniform(0.0, 0.01).cdf),  # U[0, scale): not centred
    ("uniform", (-2.0,), (N,), stats.uniform(-2.0, 2.0).cdf),
    ("truncated_normal", (0.5,), (N,), _truncnorm(-2.0, 2.0, 0.5)),  # no std correction
    ("truncated_normal", (2.0, None, -1.0, 3.0), (N,), _truncnorm(-1.0, 3.0, 2.0)),
    ("he_normal", (), (512, 512), _truncnorm(-2.0, 2.0, math.sqrt(2 / 512) / TRUNC_STD)),
    ("he_uniform", (), (512, 512), stats.uniform(-math.sqrt(6 / 512), 2 * math.sqrt(6 / 512)).cdf),
    ("glorot_normal", (), (256, 1024), _truncnorm(-2.0, 2.0, math.sqrt(2 / 1280) / TRUNC_STD)),
    ("lecun_uniform", (), (3, 3, 64, 512), stats.uniform(-math.sqrt(3 / 576), 2 * math.sqrt(3 / 576)).cdf),
    ("variance_scaling", (1.0, "fan_geo_avg", "normal"), (128, 2048), stats.norm(scale=(128 * 2048) ** -0.25).cdf),
]


@pytest.mark.parametrize("name,args,shape,cdf", LAWS, ids=[f"{n}{a}" for n, a, _, _ in LAWS])
def test_law_is_jax_s(ni, J, jax, key, name, args, shape, cdf):
    ours = _np(getattr(ni, name)(*args)(key, shape))
    ks_1(ours, cdf, f"drop-in {name}{args}")
    theirs = _np(getattr(J, name)(*args)(jax.random.key(99), shape))
    ks_2(ours, theirs, f"{name}{args} vs jax.nn.initializers")


def test_complex_variance_scaling_and_normal(ni, key):
    """Complex normal: E|w|^2 = stddev^2, |w|^2 exponential; complex uniform: the disk."""
    w = _np(ni.normal(0.1)(key, (N,), "complex64"))
    ks_1(np.abs(w) ** 2, stats.expon(scale=0.01).cdf, "complex normal |w|^2")
    var = 1.0 / 512
    w = _np(ni.lecun_uniform()(key, (512, 512), "complex64"))
    ks_1(np.abs(w) ** 2, stats.uniform(0.0, 2 * var).cdf, "complex lecun_uniform |w|^2")


@pytest.mark.parametrize("shape,column_axis", [((3, 5), 0), ((5, 3), -1), ((6, 4), 0), ((4, 3, 6), 1),
                                               ((2, 3, 8), -1)])
def test_orthogonal_column_axis(ni, key, shape, column_axis):
    """The units along ``column_axis`` are orthonormal (or, if more than the other axes' size,
    the flattened other axes are), times ``scale``."""
    w = _np(ni.orthogonal(2.0, column_axis)(key, shape))
    m = np.moveaxis(w, column_axis, -1).reshape(-1, shape[column_axis])
    g = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(g, 4.0 * np.eye(len(g)), atol=1e-5)


def test_delta_orthogonal_is_an_orthogonal_centre_tap(ni, key):
    w = _np(ni.delta_orthogonal(1.5)(key, (4, 3, 5, 7)))
    centre = w[1, 1]  # (k - 1) // 2 per spatial dim, as JAX
    np.testing.assert_allclose(centre @ centre.T, 2.25 * np.eye(5), atol=1e-5)
    w[1, 1] = 0
    assert not w.any()
    with pytest.raises(ValueError, match="in_channels <= out_channels"):
        ni.delta_orthogonal()(key, (3, 3, 7, 5))


# -- axes ---------------------------------------------------------------------------------------


def _jax_fans(shape, in_axis, out_axis, batch_axis):
    """``_compute_fans`` of jax, written out for the test."""
    def size(axes):
        return shape[axes] if isinstance(axes, int) else math.prod(shape[a] for a in axes)
    rec = math.prod(shape) / size(in_axis) / size(out_axis) / size(batch_axis)
    return size(in_axis) * rec, size(out_axis) * rec


AXES = [
    ((2, 3, 64, 128), dict(in_axis=(0, 1), out_axis=(-2, -1))),  # jax's testVarianceScalingMultiAxis
    ((2, 3, 64, 128), dict(in_axis=0, out_axis=(2, 3), batch_axis=1)),  # testVarianceScalingBatchAxis
    ((16, 64, 256), dict(in_axis=1, out_axis=2, batch_axis=0)),
    ((512, 64), dict(in_axis=-1, out_axis=-2)),
    ((1000, 256), dict(out_axis=0)),  # Flax Embed: in and out both axis 0, fractional receptive field
    ((1 << 16,), dict(in_axis=[0])),  # rank 1 with explicit axes: fans (1, 1)
    ((1 << 16,), dict(in_axis=0, out_axis=0)),
]


@pytest.mark.parametrize("shape,axes", AXES, ids=[str(a) for _, a in AXES])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_variance_scaling_axes(ni, J, jax, key, shape, axes, mode):
    full = {"in_axis": -2, "out_axis": -1, "batch_axis": (), **axes}
    fan_in, fan_out = _jax_fans(shape, full["in_axis"], full["out_axis"], full["batch_axis"])
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    ours = _np(ni.variance_scaling(2.0, mode, "normal", **axes)(key, shape))
    ks_1(ours, stats.norm(scale=math.sqrt(2.0 / n)).cdf, f"{mode} {axes}")
    theirs = _np(J.variance_scaling(2.0, mode, "normal", **axes)(jax.random.key(5), shape))
    ks_2(ours, theirs, f"{mode} {axes} vs jax")


def test_rank_0_with_empty_axes(ni, key):
    x = ni.variance_scaling(1.0, "fan_in", "uniform", in_axis=(), out_axis=())(key, ())
    assert x.shape == () and abs(float(x)) <= math.sqrt(3.0)


def test_default_axes_on_rank_1_raise_as_in_jax(ni, J, key):
    with pytest.raises(ValueError):
        J.variance_scaling(1.0, "fan_avg", "truncated_normal")(key, (5,))
    with pytest.raises(ValueError, match="rank"):  # jax's message text differs (see module doc)
        ni.variance_scaling(1.0, "fan_avg", "truncated_normal")(key, (5,))
    with pytest.raises(ValueError, match="rank"):
        ni.he_normal(in_axis=-2)(key, (5,))


# -- zero-size shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,args,shape", [
    ("zeros", None, (0, 3)), ("ones", None, (3, 0)), ("constant", (2.0,), (0,)), ("normal", (), (0, 4)),
    ("uniform", (), (0,)), ("truncated_normal", (), (2, 0)), ("he_normal", (), (0, 3)),
    ("glorot_uniform", (), (3, 3, 0, 8)), ("variance_scaling", (1.0, "fan_in", "normal"), (4, 0)),
    ("orthogonal", (), (0, 5)), ("delta_orthogonal", (), (3, 3, 0, 4)), ("lecun_normal", (), (3, 0)),
])
def test_zero_size_shapes_give_zeros(ni, key, name, args, shape):
    init = getattr(ni, name) if args is None else getattr(ni, name)(*args)
    for dtype in ("float32", "bfloat16"):
        x = init(key, shape, dtype)
        assert x.shape == shape and str(x.dtype) == dtype


# -- jit and vmap -------------------------------------------------------------------------------


def test_jit_and_vmap(ni, jax, key):
    inits = {"normal": (ni.normal(0.1), (4, 5)), "he_normal": (ni.he_normal(), (3, 3, 4, 8)),
             "uniform": (ni.uniform(), (7,)), "orthogonal": (ni.orthogonal(column_axis=0), (4, 6)),
             "delta_orthogonal": (ni.delta_orthogonal(), (3, 3, 4, 4)), "zeros": (ni.zeros, (2, 2)),
             "rank1": (ni.variance_scaling(1.0, "fan_in", "normal", in_axis=[0]), (5,))}

    def draw(k):
        return {n: init(k, shape) for n, (init, shape) in inits.items()}

    keys = jax.random.split(key, 3)
    jitted, batched = jax.jit(draw), jax.jit(jax.vmap(draw))(keys)
    eager = draw(keys[1])
    for n, (_, shape) in inits.items():
        one = jitted(keys[1])[n]
        assert one.shape == shape and batched[n].shape == (3, *shape), n
        np.testing.assert_allclose(_np(one), _np(eager[n]), atol=1e-6, err_msg=n)
        np.testing.assert_allclose(_np(batched[n][1]), _np(one), atol=1e-6, err_msg=n)
    assert not np.array_equal(_np(batched["he_normal"][0]), _np(batched["he_normal"][1]))
    f = jax.jit(ni.he_normal(), static_argnums=(1, 2))
    assert f(key, (4, 5), "bfloat16").dtype == np.dtype("bfloat16")


# -- initspec's extras: argument errors and the portable stream --------------------------------


@pytest.mark.parametrize("call,exc,match", [
    (lambda ni: ni.normal("a"), TypeError, "Received: stddev='a'"),
    (lambda ni: ni.normal(float("nan")), ValueError, "Received: stddev=nan"),
    (lambda ni: ni.uniform(0.0), ValueError, "Received: scale=0.0"),
    (lambda ni: ni.truncated_normal(1.0, None, 2.0, 1.0), ValueError, "Received: lower=2.0, upper=1.0"),
    (lambda ni: ni.variance_scaling(0.0, "fan_in", "normal"), ValueError, "Received: scale=0.0"),
    (lambda ni: ni.variance_scaling(1.0, "fan_x", "normal"), ValueError, "Received: mode='fan_x'"),
    (lambda ni: ni.variance_scaling(1.0, "fan_in", "untruncated_normal"), ValueError,
     "Received: distribution='untruncated_normal'"),
    (lambda ni: ni.he_normal(in_axis="a"), TypeError, "Received: in_axis='a'"),
    (lambda ni: ni.orthogonal(column_axis=1.5), TypeError, "Received: column_axis=1.5"),
    (lambda ni: ni.constant(np.ones(3)), TypeError, "Received: value=array"),
    (lambda ni: ni.normal(stream=3), TypeError, "stream"),
    (lambda ni: ni.normal(seed=1), ValueError, "Received: seed=1"),
])
def test_factory_arguments_are_validated(ni, call, exc, match):
    with pytest.raises(exc, match=match):
        call(ni)


def test_call_arguments_are_validated(ni, key):
    with pytest.raises(ValueError, match=r"Received: column_axis=2, shape=\(3, 4\)"):
        ni.orthogonal(column_axis=2)(key, (3, 4))
    with pytest.raises(ValueError, match=r"Received: in_axis=3"):
        ni.he_normal(in_axis=3)(key, (4, 5))
    with pytest.raises(TypeError, match="complex"):
        ni.uniform()(key, (4,), "complex64")  # jax.random.uniform refuses complex too
    with pytest.raises(TypeError, match="floating or complex"):
        ni.normal()(key, (4,), "int32")


def test_portable_stream(ni, jax):
    shape = (16, 8)
    got = ni.he_normal(stream="fc.kernel", seed=3)(None, shape)
    want = ref.sample("he_truncated_normal", shape, layout="jax", seed=3, stream="fc.kernel")
    np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.asarray(ni.he_normal(stream="fc.kernel", seed=3)(jax.random.key(1), shape)),
                                  want)  # key ignored
    got = ni.truncated_normal(0.05, stream="emb")(None, (64,))
    np.testing.assert_array_equal(np.asarray(got), ref.sample("truncated_normal", (64,), layout="jax", seed=0,
                                                               stream="emb", std=0.05))
    got = ni.variance_scaling(1.0, "fan_in", "normal", in_axis=[0], stream="b")(None, (32,))
    want = ref.sample("variance_scaling", (32,), layout="jax", seed=0, stream="b", fans=(1.0, 1.0),
                      scale=1.0, mode="fan_in", distribution="normal")
    np.testing.assert_array_equal(np.asarray(got), want)
