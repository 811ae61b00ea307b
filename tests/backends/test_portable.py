"""Portable stream (issue 7): Philox-4x32-10 known answers (and TF's own Philox), pinned stream
keys, bit-identical words and values in NumPy/torch/TF/JAX, shard invariance (slices, torch
``fill_slice_``, JAX ``jit`` with ``out_shardings`` on 8 virtual devices), the spec's laws (the
project's conformance checks plus moment tests whose tolerances come from n and the fourth
moment), clear errors, the CLI and the bench cases.
"""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from scipy import stats

from initspec import SCHEMES, resolve
from initspec.backends import BackendUnavailable
from initspec.backends import portable as P
from initspec.backends._bench import BenchCase
from initspec.backends.portable import _spec
from initspec.backends.portable._check import check_cases, cross_check, max_abs_diff, ulp_distance
from initspec.backends.portable._philox import KNOWN_ANSWERS, MASK32, philox4x32_10, philox_rounds, round_keys

from ..conftest import required_backends
from ..spec._moments import Z, moment_errors

FRAMEWORKS = ("torch", "tensorflow", "jax")
SEED, STREAM = 20260, "encoder.0.weight"
CASES = check_cases()
ELEMENTWISE = [c for c in CASES
               if _spec.recipe_for(resolve(c.scheme, c.shape, c.layout, c.dtype, **c.params)).elementwise]
#: cases whose values go through a framework's QR: equal to rounding only
QR_CASES = ("orthogonal", "delta_orthogonal")
#: Householder QR is backward stable: |Q_a - Q_b| <= c n eps (Higham 2002, Thm 19.4); c allowed
QR_STABILITY_CONSTANT = 8.0
N_STAT = 1 << 20


@pytest.fixture(scope="module")
def load_portable(request):
    """``load_portable("torch")`` -> the portable module, or skip (fail when required)."""
    req = required_backends(request.config)

    def _load(name: str):
        try:
            return P.load(name)
        except BackendUnavailable as e:
            if name in req:
                pytest.fail(f"required backend {name!r} cannot load: {e}", pytrace=False)
            pytest.skip(str(e))

    return _load


def ref(case):
    """The NumPy reference of ``case`` (for the cross-layout cases: the same logical weight
    sampled in the reference layout and transposed)."""
    return case.reference(P, SEED, STREAM)


# -- Philox ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("counter,key,expected", KNOWN_ANSWERS)
def test_known_answers_python(counter, key, expected):
    assert philox4x32_10(counter, key) == expected


@pytest.mark.parametrize("backend", ("numpy", *FRAMEWORKS))
def test_known_answers_in_each_backends_ops(load_portable, backend):
    mod = load_portable(backend)
    ops = _ops(mod)
    for counter, key, expected in KNOWN_ANSWERS:
        arr = [_word_array(mod, [c]) for c in counter]
        keys = [(_word_array(mod, k0), _word_array(mod, k1)) for k0, k1 in round_keys(key)]
        out = philox_rounds(ops, *arr, keys)
        assert tuple(int(np.asarray(mod.to_numpy(o)).ravel()[0]) for o in out) == expected


def _framework(mod) -> str:
    """The framework of a portable module (``initspec.backends.torch.portable``,
    ``initspec.backends.tensorflow.portable``, ...); ``"numpy"`` for the reference."""
    return next((f for f in FRAMEWORKS if f in mod.__name__.split(".")), "numpy")


def _ops(mod):
    name = _framework(mod)
    if name == "torch":
        import torch

        return mod.TorchOps(torch.device("cpu"))
    return P.OPS if name == "numpy" else mod.OPS


def _word_array(mod, values):
    name = _framework(mod)
    a = np.asarray(values, dtype=np.uint64)
    if name == "torch":
        import torch

        return torch.as_tensor(a.astype(np.int64))
    if name == "tensorflow":
        import tensorflow as tf

        return tf.constant(a.astype(np.int64))
    if name == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a.astype(np.uint32))
    return a.astype(np.uint32)


@pytest.mark.tensorflow
def test_words_equal_tensorflow_native_philox(load_portable):
    """TF's own Philox-4x32-10 (tf.random.Generator, state = (counter lo64, counter hi64, key))
    gives exactly our words: counter (block, 0, draw, 0) under the stream key."""
    load_portable("tensorflow")
    import tensorflow as tf

    k0, k1 = P.stream_key(SEED, STREAM)
    n = 1024
    for draw in (0, 1):
        state = np.array([0, draw, k0 | (k1 << 32)], dtype=np.uint64).view(np.int64)
        gen = tf.random.Generator.from_state(state, alg="philox")
        native = gen.uniform_full_int([n], dtype=tf.uint32).numpy()
        np.testing.assert_array_equal(native, P.words(SEED, STREAM, n, draw=draw))


# -- keys and streams -------------------------------------------------------------------------------
def test_stream_keys_and_words_are_pinned():
    """Version 2 of the stream (v1 + logical element order): changing any of these values is a
    breaking change."""
    assert P.stream_key(0, "") == (0x592252E3, 0xFF97F127)
    assert P.stream_key(2**64 - 1, "encoder.0.weight") == (0xAFBF382A, 0xF27F7ABE)
    assert [int(w) for w in P.words(0, "", 8)] == [0x5E558690, 0xB47D55AD, 0x18AFBD0C, 0x52D9E9EA,
                                                   0xC7CF4869, 0x51757A4C, 0x8830A3AC, 0xF2A4A95C]
    assert [int(w) for w in P.words(2**64 - 1, "encoder.0.weight", 4, draw=1)] == [
        0x516A17BD, 0xC67207C5, 0xBB383F04, 0x40CB570B]
    golden = [0xBF9114F2, 0xBD119DD1, 0x3EBCA901, 0xBF1D8F2A, 0x3DA6D095, 0xC01E2FD7]
    x = P.sample("normal", (2, 3), layout="torch", seed=0, stream="golden")  # (out, in): logical order
    assert [int(v) for v in x.view(np.uint32).ravel()] == golden
    # a Keras kernel (in, out) enumerates the same logical elements: out-major, i.e. transposed
    x = P.sample("normal", (3, 2), layout="keras", seed=0, stream="golden")
    assert [int(v) for v in x.T.view(np.uint32).ravel()] == golden


def test_words_are_philox_of_block_counters():
    k = P.stream_key(SEED, STREAM)
    idx = [0, 1, 2, 3, 4, 7, 4097, 2**33 + 5, 2**40 + 2]
    got = P.words(SEED, STREAM, index=idx, draw=3)
    for i, w in zip(idx, got):
        b = i // 4
        assert int(w) == philox4x32_10((b & MASK32, b >> 32, 3, 0), k)[i % 4]


def test_tensor_values_depend_only_on_seed_and_name():
    a = P.sample("he_normal", (64, 32), seed=SEED, stream="decoder.weight")
    P.sample("he_normal", (64, 32), seed=SEED, stream="encoder.weight")  # another tensor first
    np.testing.assert_array_equal(P.sample("he_normal", (64, 32), seed=SEED, stream="decoder.weight"), a)
    for other in (dict(seed=SEED + 1, stream="decoder.weight"), dict(seed=SEED, stream="decoder.bias")):
        b = P.sample("he_normal", (64, 32), **other)
        assert np.mean(a == b) < 0.01


@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (2**64, ValueError), (1.5, TypeError),
                                      (True, TypeError), ("a", TypeError), (None, TypeError)])
def test_bad_seed_is_refused(seed, exc):
    with pytest.raises(exc, match=r"Received: seed="):
        P.sample("normal", (4, 4), seed=seed)


def test_seed_range_ends_are_accepted():
    for seed in (0, 2**64 - 1, np.uint64(2**64 - 1)):
        assert P.sample("normal", (2, 2), seed=seed).shape == (2, 2)


@pytest.mark.parametrize("stream", [3, b"enc", None, ["a"]])
def test_non_string_stream_is_refused(stream):
    with pytest.raises(TypeError, match=r"Received: stream="):
        P.sample("normal", (4, 4), stream=stream)


@pytest.mark.parametrize("index,exc", [
    ((slice(0, 9),), ValueError), ((slice(-1, 3),), ValueError), ((slice(3, 2),), ValueError),
    ((slice(0, 4, 0),), ValueError), ((slice(0, 4, -1),), ValueError),
    ((slice(None), slice(0, 6)), ValueError), ((slice(None),) * 3, ValueError), ((1,), TypeError),
    ([slice(0, 2)], TypeError), ((slice(0.0, 2),), TypeError),
])
def test_bad_index_is_refused(index, exc):
    with pytest.raises(exc, match=r"Received: index="):
        P.sample_slice("normal", (8, 5), index=index)


def test_untransformable_truncation_is_refused():
    with pytest.raises(ValueError, match="float32 resolves"):
        P.sample("truncated_normal", (4, 4), a=-20.0, b=-19.0)


# -- shard invariance (reference) ---------------------------------------------------------------------
def _random_slices(shape, rng, count=6):
    out = []
    for _ in range(count):
        sl = []
        for d in shape:
            a = int(rng.integers(0, d))
            b = int(rng.integers(a, d + 1))
            sl.append(slice(a, b, int(rng.integers(1, 4))))
        out.append(tuple(sl))
    return out + [tuple(slice(0, d) for d in shape), (slice(0, 0),)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key)
def test_any_slice_equals_the_slice_of_the_whole(case):
    full = ref(case)
    for index in _random_slices(case.shape, np.random.default_rng(7)):
        got = P.sample_slice(case.scheme, case.shape, index=index, layout=case.layout, dtype=case.dtype,
                             seed=SEED, stream=STREAM, **case.params)
        np.testing.assert_array_equal(got, full[index])


@pytest.fixture
def philox_blocks(monkeypatch):
    """The sorted block indices Philox is asked for while the test runs (a spy on ``block_words``)."""
    seen = []
    real = _spec.block_words

    def spy(ops, b_lo, b_hi, draw, keys):
        seen.append(np.asarray(b_lo).ravel().copy())
        return real(ops, b_lo, b_hi, draw, keys)

    monkeypatch.setattr(_spec, "block_words", spy)
    return lambda: np.unique(np.concatenate(seen))


def test_slice_computes_only_its_elements(philox_blocks):
    """An element-wise slice asks Philox only for the blocks of its own elements."""
    shape, index = (1000, 64), (slice(500, 502), slice(8, 16))
    P.sample_slice("he_normal", shape, index=index, layout="torch", seed=SEED)  # logical == physical
    expected = np.unique((np.arange(500, 502)[:, None] * 64 + np.arange(8, 16)).ravel() // 4)
    np.testing.assert_array_equal(philox_blocks(), expected)


def test_slice_of_a_transposed_layout_computes_only_its_elements(philox_blocks):
    """In a Keras kernel (in, out) the stream runs out-major: a slice of columns (outputs)
    still asks Philox only for its own elements' blocks."""
    shape, index = (64, 1000), (slice(8, 16), slice(500, 502))  # (in, out)
    got = P.sample_slice("he_normal", shape, index=index, layout="keras", seed=SEED)
    expected = np.unique((np.arange(500, 502)[None, :] * 64 + np.arange(8, 16)[:, None]).ravel() // 4)
    np.testing.assert_array_equal(philox_blocks(), expected)
    np.testing.assert_array_equal(got, P.sample("he_normal", (1000, 64), layout="torch", seed=SEED)[500:502, 8:16].T)


@pytest.mark.parametrize("scheme", ["he_normal", "glorot_uniform", "he_truncated_normal", "orthogonal", "sparse",
                                    "delta_orthogonal", "dirac"])
@pytest.mark.parametrize("ours,theirs,perm", [
    (("keras", (3, 3, 8, 16)), ("torch_conv", (16, 8, 3, 3)), (2, 3, 1, 0)),
    (("keras", (8, 16)), ("torch_linear", (16, 8)), (1, 0)),
    # transposed convs: Keras (k, out_ch, in_ch) and torch (in_ch, out_ch, k) hold the same kernel
    (("keras_conv_transpose", (3, 8, 16)), ("torch_conv_transpose", (16, 8, 3)), (2, 1, 0)),
])
def test_same_logical_weight_in_every_layout(scheme, ours, theirs, perm):
    """One stream, one logical weight: a Keras/Flax kernel is the transpose of the torch weight."""
    (lay_a, shape_a), (lay_b, shape_b) = ours, theirs
    if scheme in ("sparse",) and len(shape_a) != 2 or scheme in ("delta_orthogonal", "dirac") and len(shape_a) < 3:
        pytest.skip(f"{scheme} is not defined for rank {len(shape_a)}")
    a = P.sample(scheme, shape_a, layout=lay_a, seed=SEED, stream="w")
    b = P.sample(scheme, shape_b, layout=lay_b, seed=SEED, stream="w")
    np.testing.assert_array_equal(a, b.transpose(perm))


# -- laws of the reference (the project's conformance checks) -----------------------------------------
STAT_SCHEMES = [s for s in SCHEMES if s not in ("orthogonal", "delta_orthogonal")]


@pytest.mark.parametrize("scheme", STAT_SCHEMES)
def test_reference_conforms_to_the_spec(scheme):
    from initspec.conformance.api import assert_conforms

    layout = "torch" if scheme in ("dirac", "sparse") else "keras"
    assert_conforms(lambda shape, seed: P.sample(scheme, shape, layout=layout, seed=seed, stream=STREAM),
                    scheme, layout)


@pytest.mark.parametrize("scheme,dtype", [
    ("normal", "complex64"), ("he_uniform", "complex64"), ("he_truncated_normal", "complex64"),
    ("he_truncated_normal", "float16"), ("glorot_uniform", "float64"), ("orthogonal", "float32")])
def test_reference_conforms_in_other_dtypes(scheme, dtype):
    from initspec.conformance.api import assert_conforms

    assert_conforms(lambda shape, seed: P.sample(scheme, shape, dtype=dtype, seed=seed, stream=STREAM),
                    scheme, "keras", dtype=dtype)


MOMENT_CASES = [
    ("normal", {"mean": 0.3, "std": 2.0}), ("uniform", {"low": -1.0, "high": 3.0}),
    ("truncated_normal", {}), ("truncated_normal", {"a": 0.5, "b": 3.0}),
    ("truncated_normal", {"a": 3.0, "b": 30.0}),
    ("truncated_normal", {"a": -12.0, "b": -8.0}), ("truncated_normal_abs", {"std": 0.02}),
    ("he_truncated_normal", {}), ("glorot_uniform", {}), ("lecun_normal", {}),
]


@pytest.mark.parametrize("scheme,params", MOMENT_CASES, ids=str)
def test_reference_moments_at_one_million(scheme, params):
    """Mean, variance (CI from the fourth moment), support and KS on 2**20 values."""
    shape = (1024, 1024)
    x = P.sample(scheme, shape, seed=SEED, stream=STREAM, **params)
    assert not moment_errors(x, resolve(scheme, shape, "keras", **params).element)


def test_normal_kurtosis_and_tails():
    """Excess kurtosis within Z sd (var of the sample kurtosis 24/n) and |z| <= ndtri(2**-24)."""
    x = P.sample("normal", (1024, 1024), seed=SEED, stream=STREAM).astype(np.float64).ravel()
    assert abs(stats.kurtosis(x)) < Z * math.sqrt(24.0 / x.size)
    assert np.abs(x).max() <= -stats.norm.ppf(2.0**-24) * (1 + 1e-5)


def test_word_bits_are_balanced():
    """Each of the 32 bit positions is 1 with probability 1/2 (binomial, n words) and the bytes
    are uniform (chi-square, 255 d.o.f., p above the per-test level)."""
    w = P.words(SEED, STREAM, N_STAT)
    bits = ((w[:, None] >> np.arange(32, dtype=np.uint32)) & 1).mean(axis=0)
    assert np.all(np.abs(bits - 0.5) < Z * math.sqrt(0.25 / w.size))
    counts = np.bincount(w.view(np.uint8), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-9


def test_sparse_zero_count_is_exact():
    x = P.sample("sparse", (300, 40), layout="torch", seed=SEED, sparsity=0.25)
    assert np.all((x == 0).sum(axis=0) == math.ceil(0.25 * 300))


# -- frameworks: bit-identical to the reference -------------------------------------------------------
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_words_identical(load_portable, backend):
    mod = load_portable(backend)
    n = 4099
    for draw in (0, 1, 12345):
        got = np.asarray(mod.to_numpy(mod.words(SEED, STREAM, n, draw=draw))).astype(np.uint64)
        np.testing.assert_array_equal(got, P.words(SEED, STREAM, n, draw=draw).astype(np.uint64))
    idx = np.random.default_rng(0).integers(0, 2**32 if backend == "jax" else 2**45, 2000)
    got = np.asarray(mod.to_numpy(mod.words(SEED, STREAM, index=idx))).astype(np.uint64)
    np.testing.assert_array_equal(got, P.words(SEED, STREAM, index=idx).astype(np.uint64))


@pytest.fixture(params=["ckernel", "framework-kernel"])
def cpu_kernel(request, monkeypatch):
    """Both CPU paths of every framework: the compiled C kernel where it applies (torch and JAX CPU
    tensors, TF through the reference), and the framework's own kernel (torch ops, TF ops, the XLA
    program that also runs on GPUs), with the C kernel turned off (``INITSPEC_PORTABLE_KERNEL=numpy``)."""
    if request.param == "framework-kernel":
        monkeypatch.setenv("INITSPEC_PORTABLE_KERNEL", "numpy")
    return request.param


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.key)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_values_identical_to_reference(load_portable, backend, case, cpu_kernel):
    mod = load_portable(backend)
    if backend == "jax" and case.dtype in ("float64", "complex128"):
        pytest.skip("float64 needs jax_enable_x64 (tested in the sharding subprocess)")
    x = mod.sample(case.scheme, case.shape, layout=case.layout, dtype=case.dtype, seed=SEED, stream=STREAM,
                   **case.params)
    got, want = np.asarray(mod.to_numpy(x)), ref(case)
    assert got.dtype == want.dtype and got.shape == want.shape and mod.device_of(x) == "cpu"
    if case.scheme in QR_CASES:
        n = max(got.shape)
        assert max_abs_diff(got, want) <= QR_STABILITY_CONSTANT * n * np.finfo(np.float32).eps
    else:
        assert ulp_distance(got, want) == 0


@pytest.mark.parametrize("case", ELEMENTWISE, ids=lambda c: c.key)
@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_slices_identical_to_reference(load_portable, backend, case):
    mod = load_portable(backend)
    if backend == "jax" and case.dtype in ("float64", "complex128"):
        pytest.skip("float64 needs jax_enable_x64")
    full = ref(case)
    for index in _random_slices(case.shape, np.random.default_rng(11), count=3):
        got = mod.sample_slice(case.scheme, case.shape, index=index, layout=case.layout, dtype=case.dtype,
                               seed=SEED, stream=STREAM, **case.params)
        np.testing.assert_array_equal(np.asarray(mod.to_numpy(got)), full[index])


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_default_layout_is_the_frameworks(load_portable, backend):
    mod = load_portable(backend)
    x = mod.sample("he_normal", (30, 20), seed=SEED)
    plan = resolve("he_normal", (30, 20), mod.DEFAULT_LAYOUT)
    want = P.sample("he_normal", (30, 20), layout=mod.DEFAULT_LAYOUT, seed=SEED)
    np.testing.assert_array_equal(np.asarray(mod.to_numpy(x)), want)
    assert math.isclose(plan.std, {"torch": math.sqrt(2 / 20), "keras": math.sqrt(2 / 30),
                                   "jax": math.sqrt(2 / 30)}[mod.DEFAULT_LAYOUT])


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_framework_errors_are_clear(load_portable, backend):
    mod = load_portable(backend)
    with pytest.raises(ValueError, match="Received: seed="):
        mod.sample("normal", (2, 2), seed=-3)
    with pytest.raises(TypeError, match="Received: stream="):
        mod.sample("normal", (2, 2), stream=7)
    with pytest.raises(ValueError, match="Received: index="):
        mod.sample_slice("normal", (2, 2), index=(slice(0, 3),))
    with pytest.raises(ValueError, match="Received: device="):
        mod.sample("normal", (2, 2), device="tpu")


@pytest.mark.parametrize("backend", FRAMEWORKS)
def test_gpu_unavailable_is_reported(load_portable, backend):
    mod = load_portable(backend)
    ok, reason = mod.device_available("gpu")
    if ok:
        pytest.skip("a GPU is present (tested by the device check script)")
    assert reason
    with pytest.raises(ValueError, match="Received: device="):
        mod.sample("normal", (2, 2), device="gpu")


# -- torch: fill a shard in place; compiled == eager ---------------------------------------------------
@pytest.mark.torch
def test_torch_fill_slice_builds_the_whole_tensor(load_portable):
    pt = load_portable("torch")
    import torch

    shape, world = (10, 6), 4
    full = P.sample("he_normal", shape, layout="torch", seed=SEED, stream=STREAM)
    parts = []
    for rank in range(world):
        rows = slice(rank * shape[0] // world, (rank + 1) * shape[0] // world)
        local = torch.empty(rows.stop - rows.start, shape[1])
        assert pt.fill_slice_(local, shape, (rows,), "he_normal", seed=SEED, stream=STREAM) is local
        parts.append(local)
    np.testing.assert_array_equal(torch.cat(parts).numpy(), full)
    col = torch.empty(10, 2, dtype=torch.float64)
    pt.fill_slice_(col, shape, (slice(None), slice(4, 6)), "he_normal", seed=SEED, stream=STREAM)
    np.testing.assert_array_equal(col.numpy(), full[:, 4:6].astype(np.float64))
    with pytest.raises(ValueError, match="Received: tensor_shard.shape="):
        pt.fill_slice_(torch.empty(3, 6), shape, (slice(0, 2),), "he_normal")
    with pytest.raises(TypeError, match="Received: tensor_shard="):
        pt.fill_slice_(np.empty((2, 6)), shape, (slice(0, 2),), "he_normal")


@pytest.mark.slow
def test_torch_compiled_kernel_is_bit_identical_to_eager(load_portable):
    """The torch.compile'd CPU kernel (used for large tensors) gives the eager values."""
    pt = load_portable("torch")
    import torch

    if not pt.compile_enabled():
        pytest.skip("torch.compile disabled (INITSPEC_PORTABLE_COMPILE=0)")
    keys = pt._keys(P.key_table(SEED, STREAM), torch.device("cpu"))
    n = (1 << 15) + 3
    for kind, draws, prm in (("normal", (0,), _spec.truncation_params(0.0, 1.0, -2.0, 2.0)),
                             ("complex_disk", (0, 1), {"radius": 1.0})):
        eager = pt.run_full(kind, draws, keys, prm, n, compiled=False)
        compiled = pt.run_full(kind, draws, keys, prm, n, compiled=True)
        assert not pt._COMPILE_FAILED, pt._COMPILE_FAILED
        for a, b in zip(eager, compiled):
            if a is not None:
                assert torch.equal(a, b)


# -- JAX: partitioned generation on 8 virtual devices ---------------------------------------------------
SHARDING_SCRIPT = textwrap.dedent("""
    import json, os, re
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as PS
    from initspec.backends import portable as P
    from initspec.backends.jax import portable as PJ

    mesh = Mesh(np.array(jax.devices()).reshape(4, 2), ("x", "y"))
    COLLECTIVES = r"all-gather|all-reduce|all-to-all|collective-permute|reduce-scatter"
    shape, out = (64, 48), {"devices": len(jax.devices()), "cases": []}
    for spec in (PS("x", "y"), PS("x", None), PS(None, "y"), PS(("x", "y"), None)):
        for scheme, dtype in (("he_normal", "float32"), ("he_uniform", "complex64"), ("normal", "float64")):
            sh = NamedSharding(mesh, spec)
            got = PJ.sample_sharded(scheme, shape, sh, seed=3, stream="enc.w", dtype=dtype)
            want = P.sample(scheme, shape, layout="jax", seed=3, stream="enc.w", dtype=dtype)
            shards_ok = all(np.array_equal(np.asarray(s.data), want[s.index]) for s in got.addressable_shards)
            hlo = PJ.lowered_sharded(scheme, shape, sh, seed=3, stream="enc.w", dtype=dtype).as_text()
            local = sh.shard_shape(shape)
            out["cases"].append({
                "spec": str(spec), "scheme": scheme, "dtype": dtype,
                "equal": bool(np.array_equal(np.asarray(got), want)),
                "shards_equal": shards_ok, "n_shards": len(got.addressable_shards), "local": list(local),
                "local_iota": "iota" in hlo and ("[%d,%d]" % local) in hlo,
                "full_shape_in_hlo": ("[%d,%d]" % shape) in hlo and local != shape,
                "collectives": sorted(set(re.findall(COLLECTIVES, hlo))),
            })
    print("RESULT" + json.dumps(out))
""")


@pytest.mark.jax
def test_jax_sharded_generation_is_partitioned_and_exact(load_portable, on_8_cpu_devices):
    load_portable("jax")
    res = json.loads(on_8_cpu_devices(SHARDING_SCRIPT).split("RESULT", 1)[1])
    assert res["devices"] == 8
    for c in res["cases"]:
        assert c["equal"] and c["shards_equal"], c
        assert c["local_iota"] and not c["full_shape_in_hlo"] and not c["collectives"], c


@pytest.mark.parametrize("scheme,dtype", [("he_normal", "float32"), ("truncated_normal", "float32"),
                                          ("normal", "complex64"), ("he_truncated_normal", "complex64")])
@pytest.mark.jax
def test_jax_wide_kernel_gives_the_same_values(load_portable, scheme, dtype):
    """The GPU variant of the JAX kernel (float64 division and sqrt, rounded once) run on the
    CPU gives the reference values bit for bit (as it must: both are correctly rounded)."""
    pj = load_portable("jax")
    import jax

    plan = resolve(scheme, (300, 200), "jax", dtype)
    rec = _spec.recipe_for(plan)
    with pj._x64_scope(True):
        keys, prm, fence = pj._inputs(P.key_table(SEED, STREAM), rec.params, jax.devices("cpu")[0])
        out = pj._values(keys, prm, fence, kind=rec.kind, draws=rec.draws, dtype=plan.dtype, post_clip=None,
                         shape=plan.shape, norm=None, full_shape=plan.shape, order=rec.order, wide=True)
    want = P.sample(scheme, (300, 200), layout="jax", dtype=dtype, seed=SEED, stream=STREAM)
    np.testing.assert_array_equal(np.asarray(out), want)


@pytest.mark.jax
def test_jax_orthogonal_sharding_is_whole_then_placed(load_portable):
    pj = load_portable("jax")
    import jax
    from jax.sharding import SingleDeviceSharding

    x = pj.sample_sharded("orthogonal", (16, 8), SingleDeviceSharding(jax.devices()[0]), seed=SEED)
    np.testing.assert_allclose(np.asarray(x), P.sample("orthogonal", (16, 8), layout="jax", seed=SEED),
                               atol=QR_STABILITY_CONSTANT * 16 * np.finfo(np.float32).eps)
    with pytest.raises(ValueError, match="not element-wise"):
        pj.lowered_sharded("orthogonal", (16, 8), SingleDeviceSharding(jax.devices()[0]))


# -- CLI, bench cases ---------------------------------------------------------------------------------
@pytest.mark.torch
def test_cross_check_section(load_portable):
    load_portable("torch")
    few = [c for c in CASES if c.key in ("normal", "he_uniform[complex64]", "orthogonal")]
    sec = cross_check(["numpy", "torch"], seed=1, cases=few)
    assert set(sec) >= {"max_abs_diff", "max_ulp", "bit_identical_words"}
    assert sec["bit_identical_words"] == {"numpy": True, "torch": True}
    assert sec["max_ulp"]["torch"]["normal"] == 0 and sec["max_abs_diff"]["torch"]["normal"] == 0.0
    assert isinstance(sec["max_ulp"]["torch"]["orthogonal"], int)


def test_cli_check_writes_the_portable_section(tmp_path):
    from initspec.cli import main

    out = tmp_path / "portable.json"
    assert main(["portable", "check", "--backends", "numpy", "--out", str(out), "--strict"]) == 0
    sec = json.loads(out.read_text())
    assert sec["bit_identical_words"] == {"numpy": True}
    assert set(sec["max_ulp"]["numpy"]) == {c.key for c in CASES}
    assert all(v == 0 for v in sec["max_ulp"]["numpy"].values())
    assert main(["portable", "check", "--backends", "numpy,cuda"]) == 2


def test_ulp_distance_counts_representable_steps():
    a = np.array([1.0, -0.0, 0.0, -1.0], dtype=np.float32)
    b = np.nextafter(a, np.float32(np.inf))
    assert ulp_distance(a, b) == 1
    assert ulp_distance(np.float32([-1e-45]), np.float32([1e-45])) == 2
    assert ulp_distance(np.float16([1.0]), np.float16([1.0009766])) == 1


@pytest.mark.parametrize("backend", ("torch", "tensorflow", "jax"))
def test_bench_cases_are_declared(load_portable, backend):
    """Every framework's portable bench has issue 16's 4096x4096 case (>= 0.5x native speed), and
    its ``ours`` is the portable stream (equal to the reference; checked on a small slice)."""
    from initspec import registry

    mod = load_portable(backend)
    cases = mod.bench_cases(device="cpu")
    assert cases and all(isinstance(c, BenchCase) and c.min_speedup == 0.5 and "min_speedup=0.5" in c.label
                         and "4096x4096" in c.label for c in cases)
    assert registry.get(backend).portable_bench  # timed by ``initspec portable bench`` by default
    got = np.asarray(mod.to_numpy(cases[0].sync(cases[0].ours())))
    want = np.asarray(load_portable("numpy").sample("normal", (4096, 4096), seed=0, stream="bench",
                                                    layout=registry.get(backend).layout))
    np.testing.assert_array_equal(got[:64, :64], want[:64, :64])
