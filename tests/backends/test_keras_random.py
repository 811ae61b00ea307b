"""The Keras adapter's draws in less memory (``initspec.backends.<backend>.keras_random``): Keras'
own values bit for bit (every sampler, float32/float16/bfloat16, int and ``SeedGenerator`` seeds,
odd shapes, the torch truncated normal in many blocks) and at most 2x the output in peak memory
where Keras' own call holds 3-9x (the planted contrast). Each Keras backend runs in a fresh
subprocess (this file is the script: ``python test_keras_random.py jax``), so that the peak RSS
is the call's own.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

DTYPES = ("float32", "float16", "bfloat16")
#: (initializer, positional arguments but the seed, shapes)
CASES = [("HeNormal", (), ((8, 6), (3, 3, 4, 5), (7, 5), (1, 3))),
         ("GlorotUniform", (), ((8, 6), (3, 3, 4, 5))),
         ("RandomNormal", (0.1, 0.2), ((8, 6), (5,))),
         ("RandomUniform", (-1.0, 2.0), ((8, 6), (), (5,))),
         ("TruncatedNormal", (0.5, 0.3), ((8, 6), (37, 3))),
         ("Orthogonal", (2.0,), ((8, 6), (6, 8), (3, 3, 4, 5)))]
#: 4096x4096 float32 (64 MiB, above glibc's mmap threshold: the RSS sees each buffer)
BIG = (4096, 4096)
#: peak memory of one call, in outputs: ours at most, Keras' own at least (3x on TF, 4x on JAX,
#: 3x and 9x on torch)
OURS_MAX, KERAS_MIN = 2.0, 2.5


def _np(keras, x):
    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))


def check_module(keras):
    """The backend's ``keras_random`` module is found and used (not a silent fallback)."""
    from initspec.backends.keras import _sampling

    module = _sampling.random_module()
    assert module is not None and module.__name__ == f"initspec.backends.{keras.backend.backend()}.keras_random"


def check_portable(keras):
    """The drop-in's portable stream runs on the backend's framework (``keras_random.portable_sample``
    answers for float32, not the NumPy fallback) and equals the reference bit for bit."""
    from initspec.backends import portable
    from initspec.backends.keras import _sampling
    from initspec.backends.keras import initializers as K

    kw = {"layout": "keras", "dtype": "float32", "seed": 3, "stream": "dense/kernel"}
    assert _sampling.random_module().portable_sample("he_normal", (6, 4), **kw) is not None
    for dtype in ("float32", "float64"):  # float64: the reference, converted
        want = portable.sample("he_truncated_normal", (6, 4), **{**kw, "dtype": dtype})
        got = keras.ops.convert_to_numpy(K.HeNormal(seed=3, stream="dense/kernel")((6, 4), dtype))
        np.testing.assert_array_equal(got, want, err_msg=dtype)


def check_values(keras):
    from initspec.backends.keras import initializers as K

    for name, args, shapes in CASES:
        for dtype in DTYPES if name != "Orthogonal" else ("float32",):
            for shape in shapes:
                for seed in (42, 7):
                    ours = _np(keras, getattr(K, name)(*args, seed=seed)(shape, dtype))
                    want = _np(keras, getattr(keras.initializers, name)(*args, seed=seed)(shape, dtype))
                    assert ours.shape == want.shape == shape, (name, shape)
                    np.testing.assert_array_equal(ours, want, err_msg=f"{name} {shape} {dtype} seed={seed}")
        # a SeedGenerator: the same draws, one after another, and the same final state
        g_ours, g_keras = keras.random.SeedGenerator(5), keras.random.SeedGenerator(5)
        a, b = getattr(K, name)(*args, seed=g_ours), getattr(keras.initializers, name)(*args, seed=g_keras)
        for _ in range(2):
            np.testing.assert_array_equal(_np(keras, a((6, 4))), _np(keras, b((6, 4))), err_msg=name)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(g_ours.state.value),
                                      keras.ops.convert_to_numpy(g_keras.state.value))


def check_torch_blocks(keras):
    """torch's truncated normal drawn in many small blocks (tails under 16 normals merged) equals
    Keras' one-piece draw; a planted wrong blocking is caught by the once-per-dtype check."""
    if keras.backend.backend() != "torch":
        return
    import torch
    from initspec.backends.keras import initializers as K
    from initspec.backends.torch import keras_random

    real = keras_random.BLOCK_ELEMENTS
    keras_random.BLOCK_ELEMENTS = 64  # 16 output elements a block
    try:
        for dtype in DTYPES:
            for shape in ((7, 5), (3, 37), (16, 4), (5, 3, 11)):
                ours = _np(keras, K.TruncatedNormal(0.0, 1.0, seed=3)(shape, dtype))
                want = _np(keras, keras.initializers.TruncatedNormal(0.0, 1.0, seed=3)(shape, dtype))
                np.testing.assert_array_equal(ours, want, err_msg=f"{shape} {dtype}")
    finally:
        keras_random.BLOCK_ELEMENTS = real
    real_blocked = keras_random._blocked
    keras_random._blocked = lambda *a, **k: real_blocked(*a, **k) + 1  # planted wrong blocks
    keras_random.blocks_usable.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="differ from one draw"):
            assert not keras_random.blocks_usable(torch.float32)
    finally:
        keras_random._blocked = real_blocked
        keras_random.blocks_usable.cache_clear()
    assert keras_random.blocks_usable(torch.float32)


def check_memory(keras):
    """Peak extra RSS of one 4096x4096 call, in outputs (a warm-up call first)."""
    from initspec.backends._bench_runner import peak_rss_extra
    from initspec.backends.keras import initializers as K

    nbytes = 4 * BIG[0] * BIG[1]
    sync = lambda x: (x, keras.ops.convert_to_numpy(x[:1, :1]))[0]  # noqa: E731 - wait for the values
    for name in ("HeNormal", "GlorotUniform"):
        peaks = {}
        for label, module in (("ours", K), ("keras", keras.initializers)):
            init = getattr(module, name)(seed=1)
            sync(init(BIG))
            gc.collect()
            peak, out = peak_rss_extra(lambda: init(BIG), sync)
            del out
            gc.collect()
            peaks[label] = peak / nbytes
        assert peaks["ours"] <= OURS_MAX and peaks["keras"] >= KERAS_MIN, (name, peaks)


def check_bench_bound(keras):
    """Only ``Orthogonal`` on TF declares its memory bound to Keras' own (TF's QR kernel gives its
    values), and ``initspec bench`` carries the reason into that case alone."""
    from initspec.backends.keras import bench

    cases = bench.bench_cases(keras.backend.backend())
    bound = {c.label.split(" ")[2] for c in cases if c.memory_bound}
    assert bound == ({"Orthogonal"} if keras.backend.backend() == "tensorflow" else set()), bound
    assert all("QR kernel" in c.memory_bound for c in cases if c.memory_bound)


CHECKS = {f.__name__: f for f in (check_module, check_portable, check_values, check_torch_blocks, check_memory,
                                  check_bench_bound)}


@pytest.mark.tensorflow
@pytest.mark.parametrize("backend", ["tensorflow", pytest.param("jax", marks=pytest.mark.jax),
                                     pytest.param("torch", marks=pytest.mark.torch)])
def test_keras_random_draws(backend):
    from tests.backends._keras_backends import run_under_keras_backend  # not importable in the script run

    pytest.importorskip(backend)
    results = run_under_keras_backend(__file__, backend)
    assert results == {k: "ok" for k in CHECKS}, "\n".join(f"{k}: {v}" for k, v in results.items() if v != "ok")


if __name__ == "__main__":  # subprocess entry: python test_keras_random.py <keras backend>
    from _keras_backends import run_checks_main  # this folder is sys.path[0] in the script run

    run_checks_main(CHECKS, tail=3000)
