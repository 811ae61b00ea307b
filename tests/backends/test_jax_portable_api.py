"""Portable mode of the JAX adapter's idiomatic API: ``stream=``/``seed=`` on the initializer
factories (``init(key, shape, dtype)`` with ``key`` ignored) and :func:`init_tree`.

Expected values are never hard-coded: every check compares with
``initspec.backends.jax.portable.sample`` or the NumPy reference ``initspec.backends.portable.sample``
computed here with the same scheme/shape/layout/dtype/seed/stream/params.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from initspec.backends import portable as ref
from initspec.layouts import get_layout

#: (scheme, params, shape) of element-wise schemes, exact against the NumPy reference
ELEMENTWISE = [
    ("he_normal", {}, (64, 32)),
    ("he_truncated_normal", {}, (3, 3, 8, 16)),
    ("glorot_uniform", {}, (40, 24)),
    ("lecun_normal", {"gain": 0.5}, (16, 48)),
    ("normal", {"std": 0.02}, (32, 8)),
    ("truncated_normal", {"std": 0.02}, (128, 16)),
    ("uniform", {"low": -0.1, "high": 0.3}, (7, 9)),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "truncated_normal"}, (5, 6, 7)),
    ("zeros", {}, (4, 4)),
    ("constant", {"value": 0.25}, (3, 5)),
]


def _np(x):
    return np.asarray(x)


# -- factories --------------------------------------------------------------------------------


@pytest.fixture(params=["ckernel", "xla"])
def cpu_kernel(request, monkeypatch):
    """Both CPU paths: the compiled C kernel (:mod:`initspec.backends.jax._host`) and the XLA
    program (the GPU path), with the C kernel turned off by ``INITSPEC_PORTABLE_KERNEL=numpy``."""
    if request.param == "xla":
        monkeypatch.setenv("INITSPEC_PORTABLE_KERNEL", "numpy")
    return request.param


@pytest.mark.parametrize("scheme,params,shape", ELEMENTWISE)
def test_factory_matches_reference_eager_and_jit(ij, pj, jax, scheme, params, shape, cpu_kernel):
    init = ij.initializer(scheme, stream="encoder.0.kernel", seed=11, **params)
    want = ref.sample(scheme, shape, layout="jax", seed=11, stream="encoder.0.kernel", **params)
    got = init(jax.random.key(0), shape)
    np.testing.assert_array_equal(_np(got), want)
    np.testing.assert_array_equal(
        _np(got), _np(pj.sample(scheme, shape, layout="jax", seed=11, stream="encoder.0.kernel", **params)))
    # under jit (shape/dtype static), with and without a key
    np.testing.assert_array_equal(_np(jax.jit(lambda: init(None, shape))()), want)
    f = jax.jit(init, static_argnums=(1, 2))
    np.testing.assert_array_equal(_np(f(jax.random.key(1), shape, "float32")), want)


def test_cpu_path_is_the_compiled_kernel_eager_and_traced(ij, jax, monkeypatch):
    """On a single CPU device the portable values come from the compiled kernel: eagerly into an
    aligned buffer the device adopts, inside ``jax.jit`` through one ``pure_callback``; with the
    kernel turned off, from the XLA program (no callback). The same values each way."""
    from initspec.backends.jax import _host
    from initspec.backends.portable import _cfill

    if not _cfill.available():
        pytest.skip("INITSPEC_PORTABLE_KERNEL=numpy") if _cfill._ckernel is not None else pytest.fail(
            f"the compiled portable kernel was not built: {_cfill.IMPORT_ERROR}")
    calls: list[tuple[int, ...]] = []
    real = _host._host_array
    monkeypatch.setattr(_host, "_host_array", lambda plan, *a: calls.append(plan.shape) or real(plan, *a))
    shape = (48, 40)
    init = ij.he_normal(stream="w", seed=3)
    want = ref.sample("he_normal", shape, layout="jax", seed=3, stream="w")
    np.testing.assert_array_equal(_np(init(None, shape)), want)
    assert calls == [shape]
    assert "callback" in str(jax.make_jaxpr(lambda: init(None, shape))())
    np.testing.assert_array_equal(_np(jax.jit(lambda: init(None, shape))()), want)
    assert calls[-1] == shape and len(calls) == 2
    # bfloat16 is not the kernel's: the XLA program, eager and traced
    low = ij.he_normal(stream="w", seed=3)(None, shape, "bfloat16")
    assert len(calls) == 2 and low.dtype == jax.numpy.bfloat16
    monkeypatch.setenv("INITSPEC_PORTABLE_KERNEL", "numpy")
    np.testing.assert_array_equal(_np(init(None, shape)), want)
    assert "callback" not in str(jax.make_jaxpr(lambda: init(None, shape))())
    assert len(calls) == 2


def test_generated_factory_and_initializer_agree(ij, jax):
    shape = (24, 12)
    a = ij.he_uniform(stream="w", seed=3)(None, shape)
    b = ij.initializer("he_uniform", stream="w", seed=3)(None, shape)
    c = ij.initializer("kaiming_uniform", stream="w", seed=3)(None, shape)  # an alias of the table
    np.testing.assert_array_equal(_np(a), _np(b))
    np.testing.assert_array_equal(_np(a), _np(c))


def test_key_is_ignored_and_seed_none_is_zero(ij, jax):
    shape = (16, 8)
    init = ij.he_normal(stream="fc.kernel")
    a = init(None, shape)
    b = init(jax.random.key(123), shape)
    c = init(jax.random.PRNGKey(7), shape)
    d = ij.he_normal(stream="fc.kernel", seed=0)(None, shape)
    for x in (b, c, d):
        np.testing.assert_array_equal(_np(a), _np(x))
    want = ref.sample("he_normal", shape, layout="jax", seed=0, stream="fc.kernel")
    np.testing.assert_array_equal(_np(a), want)
    assert not np.array_equal(_np(a), _np(ij.he_normal(stream="fc.kernel", seed=1)(None, shape)))
    assert not np.array_equal(_np(a), _np(ij.he_normal(stream="fc.bias")(None, shape)))


def test_large_seed(ij):
    seed = 2**64 - 1
    got = ij.normal(std=1.0, stream="s", seed=seed)(None, (5, 3))  # the factory's std default is JAX's 0.01
    np.testing.assert_array_equal(_np(got), ref.sample("normal", (5, 3), layout="jax", seed=seed, stream="s"))


@pytest.mark.parametrize("axes,shape", [
    (dict(in_axis=0, out_axis=1), (8, 16, 3)),
    (dict(in_axis=-1, out_axis=-2), (12, 20)),
    (dict(in_axis=1, out_axis=2, batch_axis=0), (4, 6, 10)),
    (dict(in_axis=(0, 1), out_axis=-1), (3, 4, 5)),
])
def test_axes_map_to_the_same_layout(ij, jax, axes, shape):
    layout = get_layout("jax").with_axes(axes.get("in_axis"), axes.get("out_axis"), axes.get("batch_axis"))
    want = ref.sample("glorot_normal", shape, layout=layout, seed=5, stream="conv.kernel")
    init = ij.glorot_normal(stream="conv.kernel", seed=5, **axes)
    np.testing.assert_array_equal(_np(init(None, shape)), want)
    np.testing.assert_array_equal(_np(jax.jit(lambda: init(None, shape))()), want)


def test_layout_groups_and_fans_pass_through(ij):
    got = ij.he_normal(stream="k", seed=2, layout="torch")(None, (16, 8))
    want = ref.sample("he_normal", (16, 8), layout="torch", seed=2, stream="k")
    np.testing.assert_array_equal(_np(got), want)
    got = ij.he_uniform(stream="b", seed=2, fans=(8.0, 16.0))(None, (16,))
    np.testing.assert_array_equal(_np(got), ref.sample("he_uniform", (16,), layout="jax", seed=2, stream="b",
                                                       fans=(8.0, 16.0)))
    got = ij.he_normal(stream="g", seed=2, groups=2)(None, (3, 3, 4, 8))
    np.testing.assert_array_equal(_np(got), ref.sample("he_normal", (3, 3, 4, 8), layout="jax", seed=2,
                                                       stream="g", groups=2))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "complex64"])
def test_dtypes_match_portable_jax(ij, pj, jax, dtype):
    import jax.numpy as jnp

    scheme = "glorot_normal" if dtype == "complex64" else "he_truncated_normal"
    shape = (12, 10)
    want = _np(pj.sample(scheme, shape, layout="jax", dtype=dtype, seed=4, stream="w"))
    init = ij.initializer(scheme, stream="w", seed=4)
    got = init(None, shape, jnp.dtype(dtype))
    assert got.dtype == jnp.dtype(dtype)
    np.testing.assert_array_equal(_np(got), want)
    np.testing.assert_array_equal(_np(jax.jit(lambda: init(None, shape, dtype))()), want)
    if dtype != "bfloat16":  # NumPy has no bfloat16
        np.testing.assert_array_equal(
            want, ref.sample(scheme, shape, layout="jax", dtype=dtype, seed=4, stream="w"))
    # the factory's dtype= is the default of init's dtype
    with_default = ij.initializer(scheme, stream="w", seed=4, dtype=dtype)(None, shape)
    np.testing.assert_array_equal(_np(with_default), want)


def test_structured_schemes_match_portable_jax(ij, pj, jax):
    """Orthogonal/sparse use QR/sorting: equal to portable.jax eagerly, to rounding under jit."""
    for scheme, shape in [("orthogonal", (16, 8)), ("sparse", (16, 8)), ("identity", (6, 6))]:
        want = _np(pj.sample(scheme, shape, layout="jax", seed=9, stream="q"))
        init = ij.initializer(scheme, stream="q", seed=9)
        np.testing.assert_array_equal(_np(init(None, shape)), want)
        np.testing.assert_allclose(_np(jax.jit(lambda: init(None, shape))()), want, rtol=0, atol=1e-6)
        np.testing.assert_allclose(want, ref.sample(scheme, shape, layout="jax", seed=9, stream="q"), rtol=0,
                                   atol=1e-6)


def test_native_mode_is_unchanged(ij, jax):
    key = jax.random.key(42)
    np.testing.assert_array_equal(_np(ij.he_normal()(key, (8, 4))),
                                  _np(ij.he_normal(stream=None)(key, (8, 4))))
    with pytest.raises(TypeError, match="key"):
        ij.he_normal()(None, (8, 4))  # native mode still needs a key


def test_repr_names_the_stream(ij):
    assert "stream='fc.kernel'" in repr(ij.he_normal(stream="fc.kernel", seed=3))
    assert "seed=3" in repr(ij.he_normal(stream="fc.kernel", seed=3))
    assert "stream" not in repr(ij.he_normal())


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [3, b"fc.kernel", ["fc"]])
def test_stream_must_be_str(ij, stream):
    with pytest.raises(TypeError, match=r"stream.*Received: stream="):
        ij.he_normal(stream=stream)


@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (2**64, ValueError), (1.5, TypeError),
                                      (True, TypeError), ("1", TypeError)])
def test_bad_seed(ij, seed, exc):
    with pytest.raises(exc, match=r"seed.*Received: seed="):
        ij.he_normal(stream="w", seed=seed)


def test_seed_without_stream_is_refused(ij):
    with pytest.raises(ValueError, match=r"`seed`.*`stream`.*`key`.*Received: seed=1, stream=None"):
        ij.he_normal(seed=1)
    with pytest.raises(ValueError, match="seed"):
        ij.initializer("normal", seed=0)


def test_portable_call_still_validates_shape_dtype_axes(ij):
    init = ij.he_normal(stream="w")
    with pytest.raises(TypeError, match="dtype"):
        init(None, (4, 4), "int32")
    with pytest.raises(ValueError, match="in_axis"):
        ij.he_normal(stream="w", in_axis=5)(None, (4, 4))


# -- init_tree --------------------------------------------------------------------------------


def _abstract_tree(jax):
    import jax.numpy as jnp

    sds = jax.ShapeDtypeStruct
    return {"params": {
        "Dense_0": {"kernel": sds((8, 16), jnp.float32), "bias": sds((16,), jnp.float32)},
        "Conv_0": {"kernel": sds((3, 3, 4, 8), jnp.float32), "bias": sds((8,), jnp.float32)},
        "LayerNorm_0": {"scale": sds((16,), jnp.float32), "bias": sds((16,), jnp.float32)},
        "Embed_0": {"embedding": sds((10, 4), jnp.float32)},
        "Half": {"kernel": sds((6, 5), jnp.float16), "bias": sds((5,), jnp.float16)},
    }}


def test_init_tree_matches_reference_per_leaf(ij, jax):
    tree = _abstract_tree(jax)
    out = ij.init_tree(tree, "he_normal", ("normal", {"std": 0.01}), seed=3)
    p = out["params"]
    for name in ("Dense_0", "Conv_0", "Half"):
        k, b = p[name]["kernel"], p[name]["bias"]
        dt = k.dtype.name
        np.testing.assert_array_equal(_np(k), ref.sample("he_normal", k.shape, layout="jax", dtype=dt, seed=3,
                                                         stream=f"params.{name}.kernel"))
        np.testing.assert_array_equal(_np(b), ref.sample("normal", b.shape, layout="jax", dtype=dt, seed=3,
                                                         stream=f"params.{name}.bias", std=0.01))
        leaf = tree["params"][name]["kernel"]
        assert k.dtype == leaf.dtype and k.shape == leaf.shape
    # a norm's bias (beside a scale, no kernel) and scale, and the embedding, get their role's
    # default (initspec.models.DEFAULT_ROLE_RULES), so the eval_shape tree comes back complete
    np.testing.assert_array_equal(_np(p["LayerNorm_0"]["bias"]), np.zeros(16, np.float32))
    np.testing.assert_array_equal(_np(p["LayerNorm_0"]["scale"]), np.ones(16, np.float32))
    np.testing.assert_array_equal(_np(p["Embed_0"]["embedding"]), ref.sample(
        "normal", (10, 4), layout="jax", seed=3, stream="params.Embed_0.embedding", std=1.0))


def test_init_tree_defaults_seed_none_and_concrete_leaves(ij, jax):
    import jax.numpy as jnp

    tree = {"kernel": jnp.ones((4, 3)), "bias": jnp.ones((3,))}
    out = ij.init_tree(tree)  # he_normal / zeros, seed None = 0, no prefix
    np.testing.assert_array_equal(_np(out["kernel"]), ref.sample("he_normal", (4, 3), layout="jax", seed=0,
                                                                 stream="kernel"))
    np.testing.assert_array_equal(_np(out["bias"]), np.zeros(3, np.float32))
    np.testing.assert_array_equal(_np(tree["kernel"]), np.ones((4, 3)))  # the input is not modified


def _layers_only(tree):
    """Only the kernel/bias pairs (every leaf is initialised: jit can return the tree)."""
    return {"params": {k: v for k, v in tree["params"].items() if k in ("Dense_0", "Conv_0", "Half")}}


def test_init_tree_bias_gets_sibling_kernel_fans(ij, jax):
    tree = _layers_only(_abstract_tree(jax))
    out = ij.init_tree(tree, "he_uniform", "he_uniform", seed=1, prefix="net.")
    for name, kshape in (("Dense_0", (8, 16)), ("Conv_0", (3, 3, 4, 8))):
        fans = get_layout("jax").fans(kshape)
        want = ref.sample("he_uniform", out["params"][name]["bias"].shape, layout="jax", seed=1,
                          stream=f"net.params.{name}.bias", fans=(fans.fan_in, fans.fan_out))
        np.testing.assert_array_equal(_np(out["params"][name]["bias"]), want)
    # the kernel left alone still lends its fans; the weight rule's axes are the kernel's axes
    out = ij.init_tree(tree, None, "he_uniform", seed=1)
    fans = get_layout("jax").fans((8, 16))
    np.testing.assert_array_equal(_np(out["params"]["Dense_0"]["bias"]), ref.sample(
        "he_uniform", (16,), layout="jax", seed=1, stream="params.Dense_0.bias",
        fans=(fans.fan_in, fans.fan_out)))
    out = ij.init_tree(tree, ("he_uniform", {"in_axis": -1, "out_axis": -2}), "he_uniform", seed=1)
    np.testing.assert_array_equal(_np(out["params"]["Dense_0"]["bias"]), ref.sample(
        "he_uniform", (16,), layout="jax", seed=1, stream="params.Dense_0.bias",
        fans=(fans.fan_out, fans.fan_in)))
    # explicit fans= in the rule win
    out = ij.init_tree(tree, "he_uniform", ("he_uniform", {"fans": (2.0, 3.0)}), seed=1)
    np.testing.assert_array_equal(_np(out["params"]["Dense_0"]["bias"]), ref.sample(
        "he_uniform", (16,), layout="jax", seed=1, stream="params.Dense_0.bias", fans=(2.0, 3.0)))


def test_init_tree_bias_fans_without_kernel_is_an_error(ij, jax):
    tree = {"params": {"Lone": {"bias": jax.ShapeDtypeStruct((4,), "float32")}}}
    with pytest.raises(ValueError, match=r"'params.Lone.bias'.*sibling 'kernel'.*Received: bias="):
        ij.init_tree(tree, "he_uniform", "he_uniform")


def test_init_tree_rules_none_and_layout(ij, jax):
    tree = _abstract_tree(jax)
    out = ij.init_tree(tree, None, "ones")
    assert out["params"]["Dense_0"]["kernel"] is tree["params"]["Dense_0"]["kernel"]
    np.testing.assert_array_equal(_np(out["params"]["Dense_0"]["bias"]), np.ones(16, np.float32))
    out = ij.init_tree(tree, "glorot_normal", None, layout="torch")
    assert out["params"]["Dense_0"]["bias"] is tree["params"]["Dense_0"]["bias"]
    np.testing.assert_array_equal(_np(out["params"]["Dense_0"]["kernel"]), ref.sample(
        "glorot_normal", (8, 16), layout="torch", seed=0, stream="params.Dense_0.kernel"))


def test_init_tree_is_order_independent(ij, jax):
    tree = _layers_only(_abstract_tree(jax))
    whole = ij.init_tree(tree, "lecun_normal", "lecun_uniform", seed=8)
    part = ij.init_tree(tree["params"]["Conv_0"], "lecun_normal", "lecun_uniform", seed=8,
                        prefix="params.Conv_0.")
    for leaf in ("kernel", "bias"):
        np.testing.assert_array_equal(_np(part[leaf]), _np(whole["params"]["Conv_0"][leaf]))
    # removing other layers changes nothing either
    smaller = {"params": {"Conv_0": tree["params"]["Conv_0"]}}
    np.testing.assert_array_equal(_np(ij.init_tree(smaller, "lecun_normal", "lecun_uniform", seed=8)
                                      ["params"]["Conv_0"]["kernel"]),
                                  _np(whole["params"]["Conv_0"]["kernel"]))


def test_init_tree_path_keys_of_lists_and_attributes(ij, jax):
    import jax.numpy as jnp

    tree = {"layers": [{"kernel": jnp.zeros((4, 2))}, {"kernel": jnp.zeros((2, 3))}]}
    out = ij.init_tree(tree, "glorot_uniform", seed=2)
    for i, shape in enumerate(((4, 2), (2, 3))):
        np.testing.assert_array_equal(_np(out["layers"][i]["kernel"]), ref.sample(
            "glorot_uniform", shape, layout="jax", seed=2, stream=f"layers.{i}.kernel"))
    rank1 = {"kernel": jnp.zeros((5,))}  # rank < 2: not a kernel the weight rule applies to
    assert ij.init_tree(rank1)["kernel"] is rank1["kernel"]


def test_init_tree_under_jit(ij, jax):
    tree = _layers_only(_abstract_tree(jax))
    eager = ij.init_tree(tree, "he_truncated_normal", seed=5)
    jitted = jax.jit(lambda: ij.init_tree(tree, "he_truncated_normal", seed=5))()
    for a, b in zip(jax.tree_util.tree_leaves(eager), jax.tree_util.tree_leaves(jitted)):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(weight=3), TypeError, r"`weight`.*Received: weight=3"),
    (dict(bias=("normal", 0.02)), TypeError, r"`bias`.*Received: bias="),
    (dict(weight=["he_normal"]), TypeError, r"`weight`"),
    (dict(weight="he_nromal"), Exception, r"he_nromal"),
    (dict(bias=("normal", {"stdd": 0.1})), Exception, r"stdd"),
    (dict(weight=("normal", {"stream": "x"})), ValueError, r"`stream`.*Received: weight="),
    (dict(seed=-1), ValueError, r"seed.*Received: seed=-1"),
    (dict(seed="0"), TypeError, r"seed.*Received: seed='0'"),
    (dict(prefix=3), TypeError, r"`prefix`.*Received: prefix=3"),
])
def test_init_tree_bad_input(ij, jax, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ij.init_tree(_abstract_tree(jax), **kwargs)


def test_init_tree_bad_leaf(ij):
    with pytest.raises(TypeError, match="params.kernel"):
        ij.init_tree({"params": {"kernel": "not an array"}})


# -- Flax -------------------------------------------------------------------------------------


def test_flax_dense_kernel_init(ij, jax):
    import jax.numpy as jnp

    nn = pytest.importorskip("flax.linen", reason="Flax is not installed (pip install 'initspec[jax]')")
    want = ref.sample("he_normal", (8, 16), layout="jax", seed=1, stream="fc.kernel")
    dense = nn.Dense(16, kernel_init=ij.he_normal(stream="fc.kernel", seed=1))
    for init in (dense.init, jax.jit(dense.init)):
        params = init(jax.random.key(0), jnp.ones((1, 8)))
        np.testing.assert_array_equal(_np(params["params"]["kernel"]), want)


def test_flax_model_from_eval_shape(ij, jax):
    import jax.numpy as jnp

    nn = pytest.importorskip("flax.linen", reason="Flax is not installed (pip install 'initspec[jax]')")

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x):
            x = nn.Conv(4, (3, 3))(x)
            return nn.Dense(5)(x.reshape(x.shape[0], -1))

    net, x = Net(), jnp.ones((2, 6, 6, 3))
    abstract = jax.eval_shape(net.init, jax.random.key(0), x)
    params = ij.init_tree(abstract, "he_normal", seed=4)
    k = params["params"]["Dense_0"]["kernel"]
    np.testing.assert_array_equal(_np(k), ref.sample("he_normal", k.shape, layout="jax", seed=4,
                                                     stream="params.Dense_0.kernel"))
    assert net.apply(params, x).shape == (2, 5)


# -- sharding ---------------------------------------------------------------------------------


_SHARDING_SCRIPT = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import AxisType, NamedSharding, PartitionSpec as P
    from initspec.backends import jax as ij
    from initspec.backends import portable as ref

    assert jax.device_count() == 8, jax.devices()
    shape = (64, 32)
    for axis_type in (AxisType.Auto, AxisType.Explicit):
        mesh = jax.make_mesh((4, 2), ("x", "y"), axis_types=(axis_type, axis_type))
        sh = NamedSharding(mesh, P("x", "y"))
        for name in ("he_normal", "he_truncated_normal", "uniform", "zeros"):
            init = ij.initializer(name, stream="enc.kernel", seed=7)
            single = np.asarray(init(None, shape))
            want = ref.sample(name, shape, layout="jax", seed=7, stream="enc.kernel")
            np.testing.assert_array_equal(single, want)
            f = jax.jit(lambda: init(None, shape, jnp.float32), out_shardings=sh).lower().compile()
            y = f()
            assert y.sharding.is_equivalent_to(sh, 2), (name, y.sharding)
            assert len({s.device for s in y.addressable_shards}) == 8, name
            np.testing.assert_array_equal(np.asarray(y), single, err_msg=name)
            hlo = f.as_text()  # each device computes its own (16, 16) block, no communication
            comms = ("all-gather", "all-reduce", "all-to-all", "collective-permute")
            assert not any(c in hlo for c in comms), name
            assert "f32[64,32]" not in hlo and "[16,16]" in hlo, name
            with jax.set_mesh(mesh):
                y2 = jax.jit(lambda: init(None, shape, out_sharding=sh))()
                y3 = jax.jit(lambda: init(None, shape, out_sharding=P("x", "y")))()
                y4 = init(None, shape, out_sharding=sh)  # eager
            for y_ in (y2, y3, y4):
                assert y_.sharding.is_equivalent_to(sh, 2), (name, axis_type, y_.sharding)
                np.testing.assert_array_equal(np.asarray(y_), single, err_msg=name)
        # a whole tree, sharded, from abstract leaves
        tree = {"params": {"Dense_0": {"kernel": jax.ShapeDtypeStruct((64, 32), jnp.float32),
                                       "bias": jax.ShapeDtypeStruct((32,), jnp.float32)}}}
        out_sh = {"params": {"Dense_0": {"kernel": sh, "bias": NamedSharding(mesh, P("y"))}}}
        whole = ij.init_tree(tree, "he_normal", "he_uniform", seed=2)
        make = lambda: ij.init_tree(tree, "he_normal", "he_uniform", seed=2)
        sharded = jax.jit(make, out_shardings=out_sh)()
        for a, b in zip(jax.tree_util.tree_leaves(whole), jax.tree_util.tree_leaves(sharded)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert sharded["params"]["Dense_0"]["kernel"].sharding.is_equivalent_to(sh, 2)
    print("SHARDING-OK")
""")


def test_out_shardings_on_8_virtual_devices(ij, on_8_cpu_devices):
    assert "SHARDING-OK" in on_8_cpu_devices(_SHARDING_SCRIPT, timeout=600)
