"""initspec audit on Flax modules, and a torch vs Flax diff (issue 13)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.jax
jnp = pytest.importorskip("jax.numpy")
nn = pytest.importorskip("flax.linen")

from initspec.conformance.audit_api import audit, diff  # noqa: E402


class M(nn.Module):
    @nn.compact
    def __call__(self, ids, x):
        return nn.Embed(50, 16)(ids), nn.Conv(8, (3, 3))(nn.Dense(12)(x))


def _audit(**kw):
    return audit(M(), jnp.zeros((2, 3), jnp.int32), jnp.zeros((1, 5, 5, 4)), **kw)


def test_native_layers_identified():
    r = _audit()
    assert not r.departures
    assert r.finding("Dense_0.kernel").identified["label"] == "variance_scaling(1, fan_in, truncated_normal)"
    assert r.finding("Conv_0.kernel").verdict == "matches"
    assert r.finding("Embed_0.embedding").identified["label"] == "variance_scaling(1, fan_in, normal)"


class Wide(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.Dense(64)(x)


def test_expect_departure():
    # a 2% std error planted by stating the intended law (expect=): the native default is 2% away
    r = audit(Wide(), jnp.zeros((1, 64)), expect={"Dense_0.kernel": (
        "variance_scaling", {"scale": 1.0404, "mode": "fan_in", "distribution": "truncated_normal"})})
    assert r.finding("Dense_0.kernel").verdict == "departure"


@pytest.mark.parametrize("n_seeds", [pytest.param(50, marks=pytest.mark.slow), 10])
def test_no_false_departure(n_seeds):
    """Embed, Dense and Conv over ``n_seeds`` audits (family-wise level 1e-3 each): no departure
    (docs/audit.md records the 50-seed run). One sample, so ``module.init`` is jitted once."""
    from initspec.conformance.audit import audit_sample
    from initspec.conformance.audit_api import sample

    m = sample(M(), jnp.zeros((2, 3), jnp.int32), jnp.zeros((1, 5, 5, 4)))
    assert [s for s in range(n_seeds) if audit_sample(m, seed=s).departures] == []


@pytest.mark.torch
def test_diff_torch_flax():
    import torch

    class D(nn.Module):
        @nn.compact
        def __call__(self, x):
            return nn.Dense(8)(x)

    a = audit(torch.nn.Linear(4, 8))
    b = audit(D(), jnp.zeros((1, 4)))
    d = diff(a, b, {"weight": "Dense_0.kernel", "bias": "Dense_0.bias"})
    assert d["rows"][0]["b_identified"].startswith("variance_scaling(1, fan_in")
