"""GPU checks for the torch (CUDA) and JAX adapters: values are made on the device (no host round
trip), in every dtype, with exact truncation in bfloat16, orthogonality, device generators/keys
and the laws of the spec on seeded draws.

Run on a GPU machine with ``pytest -m gpu tests/backends/test_gpu.py`` (about a minute); without
a CUDA device every test skips with the reason. Tolerances: see ``tests/spec/_moments.py`` and
``tests/backends/test_torch.py``.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from initspec import resolve
from initspec.dtypes import get_dtype, inner_bounds

from ..spec._moments import Z
from .test_torch import QR_STABILITY_CONSTANT, _orthogonality_error, law_errors

# JAX would otherwise reserve 75 % of the GPU at its first use, next to torch's allocator.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

pytestmark = pytest.mark.gpu

N_SHAPE = (1000, 1000)
SEED = 99
LAW_CASES = [
    ("he_normal", {}), ("he_truncated_normal", {}), ("glorot_uniform", {}), ("truncated_normal_abs", {}),
    ("truncated_normal", {"std": 1.0, "a": 0.5, "b": 3.0}),  # inverse CDF
    ("truncated_normal", {"std": 1.0, "a": -0.45, "b": 0.45}),  # rejection with many refills
    ("truncated_normal_abs", {"std": 0.02}),
]
DTYPES = ("float16", "bfloat16", "float32", "float64")
ORTHOGONAL_SHAPES = [(512, 128), (128, 512), (64, 16, 3, 3)]


def _gpu_backend(load_backend, name: str):
    mod = load_backend(name)
    ok, why = mod.device_available("gpu")
    if not ok:
        pytest.skip(f"no GPU for {name}: {why}")
    return mod


def _check_bf16_truncation(x: np.ndarray, plan) -> None:
    """Strictly inside the bounds; the edge values hold at most the rounding cell's mass."""
    assert x.min() > plan.low and x.max() < plan.high
    lo, hi = inner_bounds(plan.low, plan.high, "bfloat16")
    eps = get_dtype("bfloat16").eps
    cdf = plan.element.cdf
    edges = ((np.sum(x == hi), 1.0 - cdf(hi - abs(hi) * eps)), (np.sum(x == lo), cdf(lo + abs(lo) * eps)))
    for count, mass in edges:
        expected = x.size * mass
        assert count <= expected + Z * math.sqrt(max(expected, 1.0)) + 1


# -- torch on CUDA ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tb(load_backend):
    return _gpu_backend(load_backend, "torch")


@pytest.fixture(scope="module")
def torch(tb):
    import torch

    return torch


@pytest.fixture
def no_host_copies(torch, monkeypatch):
    """Fail if the code under test copies a tensor to the host (``.cpu()``, ``.numpy()``,
    ``.tolist()``, ``.item()``) while the fixture is active; yields a switch to stop watching."""
    calls: list[str] = []
    for name in ("cpu", "numpy", "tolist", "item"):
        real = getattr(torch.Tensor, name)

        def spy(self, *a, _real=real, _name=name, **k):
            calls.append(_name)
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, spy)
    yield calls
    monkeypatch.undo()


@pytest.mark.parametrize("scheme,params", [
    ("he_normal", {}), ("glorot_uniform", {}), ("he_truncated_normal", {}), ("truncated_normal_abs", {}),
    ("truncated_normal", {"a": 3.0, "b": 9.0}), ("orthogonal", {}), ("sparse", {}), ("identity", {}),
    ("zeros", {}),
], ids=str)
def test_torch_values_stay_on_the_gpu(tb, torch, no_host_copies, scheme, params):
    shape = (256, 128)
    x = tb.sample(scheme, shape, device="gpu", seed=SEED, **params)
    w = torch.empty(shape, device="cuda")
    g = torch.Generator(device="cuda").manual_seed(SEED)
    assert tb.initialize_(w, scheme, generator=g, **params) is w
    assert no_host_copies == []
    assert x.device.type == "cuda" and tb.device_of(x) == "gpu" and w.device.type == "cuda"
    assert torch.equal(x, w)  # sample(seed) == the in-place call with a seeded cuda generator


@pytest.mark.parametrize("dtype", DTYPES + ("complex64",))
def test_torch_dtypes_on_gpu(tb, torch, dtype):
    schemes = ("he_normal", "he_truncated_normal", "glorot_uniform", "orthogonal")
    for scheme in schemes if not dtype.startswith("complex") else schemes[:3]:  # no complex orthogonal
        x = tb.sample(scheme, (64, 32), dtype=dtype, device="gpu", seed=SEED)
        assert x.dtype == tb.torch_dtype(dtype) and x.device.type == "cuda"
        assert bool(torch.isfinite(x).all())


def test_torch_bf16_truncation_is_exact_on_gpu(tb, torch):
    x = tb.sample("he_truncated_normal", N_SHAPE, dtype="bfloat16", device="gpu", seed=SEED)
    plan = resolve("he_truncated_normal", N_SHAPE, "torch", "bfloat16")
    _check_bf16_truncation(tb.to_numpy(x).astype(np.float64), plan)


@pytest.mark.parametrize("scheme,params", LAW_CASES, ids=str)
def test_torch_laws_on_gpu(tb, torch, scheme, params):
    x = tb.sample(scheme, N_SHAPE, device="gpu", seed=SEED, **params)
    plan = resolve(scheme, N_SHAPE, "torch", "float32", **params)
    assert not law_errors(tb.to_numpy(x).astype(np.float64), plan.element, "float32")


@pytest.mark.parametrize("shape", ORTHOGONAL_SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_orthogonal_on_gpu(tb, torch, shape, dtype):
    w = tb.orthogonal_(torch.empty(shape, dtype=tb.torch_dtype(dtype), device="cuda"),
                       generator=torch.Generator(device="cuda").manual_seed(SEED))
    m = tb.to_numpy(w).astype(np.float64).reshape(shape[0], -1)
    assert _orthogonality_error(m) <= QR_STABILITY_CONSTANT * max(m.shape) * get_dtype(dtype).eps


def test_torch_generators_on_gpu(tb, torch):
    g = lambda: torch.Generator(device="cuda").manual_seed(5)  # noqa: E731
    a = tb.he_truncated_normal_(torch.empty(300, 200, device="cuda"), generator=g())
    b = tb.he_truncated_normal_(torch.empty(300, 200, device="cuda"), generator=g())
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="Received: generator="):
        tb.he_normal_(torch.empty(4, 4, device="cuda"), generator=torch.Generator().manual_seed(0))


def test_torch_views_and_modules_on_gpu(tb, torch):
    big = torch.zeros(12, 10, device="cuda")
    tb.he_truncated_normal_(big[:, 2:7], generator=torch.Generator(device="cuda").manual_seed(1))
    assert bool((big[:, :2] == 0).all()) and bool((big[:, 7:] == 0).all()) and bool((big[:, 2:7] != 0).all())
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Conv2d(4, 8, 3, groups=2)).cuda()
    tb.init_module_(net, weight="he_truncated_normal", bias="zeros",
                    generator=torch.Generator(device="cuda").manual_seed(2))
    assert all(p.device.type == "cuda" for p in net.parameters())
    assert bool((net[0].bias == 0).all())


def test_torch_bench_cases_on_gpu(tb, torch, monkeypatch):
    from initspec.backends import _bench_runner as runner

    monkeypatch.setattr(tb.bench, "BENCH_SHAPES", (("64x64", (64, 64)),))
    monkeypatch.setattr(tb.bench, "ORTHOGONAL_BENCH_SHAPES", ())
    cases = runner.cases_for(tb, "gpu")
    assert cases and all(c.device == "gpu" for c in cases)
    rec = runner.run_case(cases[0], repeats=2, warmup=1)
    assert rec["ours_ms"] > 0 and rec["native_ms"] > 0


# -- JAX on GPU -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jb(load_backend):
    return _gpu_backend(load_backend, "jax")


@pytest.mark.jax
@pytest.mark.parametrize("scheme,params", LAW_CASES, ids=str)
def test_jax_laws_on_gpu(jb, scheme, params):
    x = jb.sample(scheme, N_SHAPE, device="gpu", seed=SEED, **params)
    assert jb.device_of(x) == "gpu"
    plan = resolve(scheme, N_SHAPE, "jax", "float32", **params)
    assert not law_errors(jb.to_numpy(x).astype(np.float64), plan.element, "float32")


@pytest.mark.jax
@pytest.mark.parametrize("dtype", ("float16", "bfloat16", "float32"))
def test_jax_dtypes_on_gpu(jb, dtype):
    for scheme in ("he_normal", "he_truncated_normal", "glorot_uniform", "orthogonal"):
        x = jb.sample(scheme, (32, 64), dtype=dtype, device="gpu", seed=SEED)
        assert jb.device_of(x) == "gpu" and str(x.dtype) == dtype and x.shape == (32, 64)
        assert np.isfinite(jb.to_numpy(x).astype(np.float64)).all()


@pytest.mark.jax
def test_jax_bf16_truncation_is_exact_on_gpu(jb):
    x = jb.sample("he_truncated_normal", N_SHAPE, dtype="bfloat16", device="gpu", seed=SEED)
    assert jb.device_of(x) == "gpu"
    plan = resolve("he_truncated_normal", N_SHAPE, "jax", "bfloat16")
    _check_bf16_truncation(jb.to_numpy(x).astype(np.float64), plan)


@pytest.mark.jax
@pytest.mark.parametrize("shape", [(128, 512), (512, 128), (3, 3, 16, 64)], ids=str)
def test_jax_orthogonal_on_gpu(jb, shape):
    x = jb.sample("orthogonal", shape, device="gpu", seed=SEED)
    assert jb.device_of(x) == "gpu"
    m = jb.to_numpy(x).astype(np.float64).reshape(-1, shape[-1]).T  # jax layout: out axis last
    assert _orthogonality_error(m) <= QR_STABILITY_CONSTANT * max(m.shape) * get_dtype("float32").eps


@pytest.mark.jax
def test_jax_determinism_on_gpu(jb):
    a = jb.to_numpy(jb.sample("he_truncated_normal", (300, 200), device="gpu", seed=3))
    b = jb.to_numpy(jb.sample("he_truncated_normal", (300, 200), device="gpu", seed=3))
    c = jb.to_numpy(jb.sample("he_truncated_normal", (300, 200), device="gpu", seed=4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
