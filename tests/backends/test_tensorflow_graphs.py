"""TF's stateless random ops inside ``tf.function`` graphs (``backends/tensorflow/_graphs.py``):
the same values as the eager ops bit for bit, a peak memory of about one output instead of three
(measured in a fresh process by the kernel's own peak-RSS figure), and few traces."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def graphs(tf):
    from initspec.backends.tensorflow import _graphs

    return _graphs


SHAPES = [(37, 11), (3, 3, 8, 5), (1,), (0, 4)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_graph_ops_equal_the_eager_ops(tf, graphs, shape, dtype):
    dt = tf.as_dtype(dtype)
    for seed in (tf.constant([1, 2], tf.int32), tf.constant([7, -3], tf.int64)):
        cases = [
            (graphs.normal(shape, seed, 0.25, 2.0, dt),
             tf.random.stateless_normal(shape, seed=seed, mean=0.25, stddev=2.0, dtype=dt)),
            (graphs.truncated_normal(shape, seed, -0.5, 0.02, dt),
             tf.random.stateless_truncated_normal(shape, seed=seed, mean=-0.5, stddev=0.02, dtype=dt)),
            (graphs.truncated_normal(shape, seed, 0.0, 1.0, dt, clip=(-1.0, 1.5)),
             tf.clip_by_value(tf.random.stateless_truncated_normal(shape, seed=seed, dtype=dt),
                              tf.constant(-1.0, dt), tf.constant(1.5, dt))),
            (graphs.uniform(shape, seed, -0.3, 0.7, dt),
             tf.random.stateless_uniform(shape, seed=seed, minval=-0.3, maxval=0.7, dtype=dt)),
            (graphs.uniform(shape, seed, 0.0, 1.0, dt, cap=0.5),
             tf.minimum(tf.random.stateless_uniform(shape, seed=seed, dtype=dt), tf.constant(0.5, dt))),
        ]
        bits = {2: tf.uint16, 4: tf.uint32, 8: tf.uint64}[dt.size]  # compare bit patterns (-0.0, NaN)
        for got, want in cases:
            assert got.dtype == want.dtype and tuple(got.shape) == shape
            np.testing.assert_array_equal(tf.bitcast(got, bits).numpy(), tf.bitcast(want, bits).numpy())


def test_shapes_and_scales_share_traces(tf, graphs):
    """A model's many shapes (one rank) and scales reuse the traced graph."""
    seed = tf.constant([1, 2], tf.int32)
    graphs.normal((5, 6), seed, 0.0, 1.0, tf.float32)
    fn = graphs._graph(graphs._normal)
    before = fn.experimental_get_tracing_count()
    for i in range(6):
        graphs.normal((5 + i, 9 - i), seed, 0.1 * i, 1.0 + i, tf.float32)
    assert fn.experimental_get_tracing_count() - before <= 1  # reduce_retracing: at most one generalisation


_PEAK_SCRIPT = textwrap.dedent("""
    import os, resource
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    from initspec.backends.tensorflow import _graphs
    n = 4096
    seed = tf.constant([3, 4], tf.int32)
    _graphs.normal((3, 3), seed, 0.1, 0.5, tf.float32)  # trace first
    tf.random.stateless_normal((3, 3), seed=seed, mean=0.1, stddev=0.5)
    from initspec.backends._bench_runner import peak_rss_extra
    def extra(fn):
        peak, x = peak_rss_extra(fn, lambda r: r.numpy and r)
        return peak / (n * n * 4)
    graph = extra(lambda: _graphs.normal((n, n), seed, 0.1, 0.5, tf.float32))
    eager = extra(lambda: tf.random.stateless_normal((n, n), seed=seed, mean=0.1, stddev=0.5))
    print(f"PEAKS {graph:.3f} {eager:.3f}")
""")


def test_graph_normal_holds_one_output_where_eager_holds_three(tf):
    """Peak RSS of one call above the RSS before it (sampled, and the kernel's ``ru_maxrss`` where
    the call sets a new peak) in a fresh process: the graph's ``rnd * std + mean`` reuses one
    buffer; the eager op (the planted contrast) holds three outputs."""
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT], capture_output=True, text=True, timeout=300)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("PEAKS")), None)
    assert line is not None, out.stderr[-2000:]
    graph, eager = map(float, line.split()[1:])
    assert graph <= 1.3 and eager >= 2.5, (graph, eager)


_ORTHOGONAL_PEAK_SCRIPT = textwrap.dedent("""
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    from initspec.backends import tensorflow as tfb
    from initspec.backends._bench_runner import peak_rss_extra
    n = 3072  # 36 MiB: above glibc's mmap threshold, so every buffer shows in the RSS
    def extra(fn):
        fn()  # warm
        peak, x = peak_rss_extra(fn, lambda r: r.numpy and r)
        return peak / (n * n * 4)
    host = extra(lambda: tfb.sample("orthogonal", (n, n), seed=1))
    eager_qr = extra(lambda: tf.linalg.qr(tf.random.stateless_normal((n, n), seed=[1, 2]))[0])
    print(f"PEAKS {host:.3f} {eager_qr:.3f}")
""")


def test_host_orthogonal_holds_two_outputs_where_tf_qr_holds_more(tf):
    """The TF adapter's orthogonal on the CPU (LAPACK in place, :mod:`._host_qr`): at most 2x its
    output plus LAPACK's workspace, in a fresh process; ``tf.linalg.qr`` of the Gaussian (the
    planted contrast) holds 4x and more."""
    out = subprocess.run([sys.executable, "-c", _ORTHOGONAL_PEAK_SCRIPT], capture_output=True, text=True, timeout=300)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("PEAKS")), None)
    assert line is not None, out.stderr[-2000:]
    host, eager_qr = map(float, line.split()[1:])
    assert host <= 2.05 and eager_qr >= 3.5, (host, eager_qr)


@pytest.mark.parametrize("shape,layout,groups", [((64, 32), "keras", 1), ((24, 40), "keras", 1), ((3, 3, 8, 16), "keras", 1),
                                                 ((16, 8, 3, 3), "torch", 1), ((12, 3, 3, 3), "torch", 2),
                                                 ((3, 3, 16, 8), "jax", 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_host_orthogonal_equals_tf_qr_to_rounding(tf, monkeypatch, shape, layout, groups, dtype):
    """LAPACK's QR on the host and ``tf.linalg.qr`` (the generic path, host path off) of the same
    Gaussian give the same matrix up to rounding: |dQ| <= 16 kappa(A) n eps (the QR's perturbation
    bound, kappa the Gaussian's condition number); graph and eager give identical values."""
    from initspec.backends._core import sample
    from initspec.backends.tensorflow import _host_qr, _primitives
    from initspec.distributions import resolve

    plan = resolve("orthogonal", shape, layout, dtype, gain=1.5, groups=groups)
    seed = tf.constant([5, 6], tf.int64)
    backend = _primitives.TFBackend()
    host = tf.cast(sample(backend, seed, plan), tf.float64).numpy()
    assert np.array_equal(tf.cast(tf.function(lambda: sample(backend, seed, plan))(), tf.float64).numpy(), host)
    monkeypatch.setattr(_host_qr, "applies", lambda *a: False)
    generic = tf.cast(sample(backend, seed, plan), tf.float64).numpy()
    _, nb, rows, cols = plan.layout.orthogonal_matrix(shape)
    n, m = max(rows, cols), min(rows, cols)
    cdt = "float64" if dtype == "float64" else "float32"
    gauss = tf.random.stateless_normal((nb, n, m), seed=seed, dtype=cdt).numpy().astype(np.float64)
    kappa = max(np.linalg.cond(g) for g in gauss)
    eps = np.finfo(cdt).eps
    tol = 1.5 * 16 * kappa * n * eps  # 1.5: the gain
    if dtype == "bfloat16":  # both rounded to bfloat16 at the end: one bf16 ulp (of |x| <= 1.5) may differ
        tol += 1.5 * 2.0 ** -8
    assert np.abs(host - generic).max() <= tol
