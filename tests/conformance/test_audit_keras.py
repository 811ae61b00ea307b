"""initspec audit on Keras models (issue 13)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.tensorflow
keras = pytest.importorskip("keras")

from initspec.backends._audit import AuditError  # noqa: E402
from initspec.conformance.audit_api import audit  # noqa: E402


class Off(keras.initializers.GlorotUniform):
    def __call__(self, shape, dtype=None):
        return super().__call__(shape, dtype) * 1.02


def _model():
    inp = keras.Input((8, 16))
    x = keras.layers.Dense(24, name="dense")(inp)  # named: Keras' auto names depend on earlier tests
    x = keras.layers.Conv1D(12, 3, name="conv1d")(x)
    x = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8, name="multi_head_attention")(x, x)
    return keras.Model(inp, x)


def test_native_layers_identified():
    r = audit(_model())
    assert not r.departures
    k = r.finding("dense/kernel")
    assert k.identified["label"] == "variance_scaling(1, fan_avg, uniform)" and k.verdict == "matches"
    assert r.finding("multi_head_attention/query/kernel").verdict == "matches"
    e = audit(keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(50, 16)]))
    assert e.findings[0].identified["label"] == "uniform(+-0.05)"


def test_planted_departure():
    p = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, kernel_initializer=Off(seed=1))])
    f = audit(p).findings[0]
    assert f.verdict == "departure" and "std 1.0" in f.departures[0]


@pytest.mark.parametrize("n_seeds", [pytest.param(50, marks=pytest.mark.slow), 10])
def test_no_false_departure(n_seeds):
    """A conforming model over ``n_seeds`` audits (each at family-wise level 1e-3): no departure
    (docs/audit.md records the 50-seed run)."""
    inp = keras.Input((6, 8))
    m = keras.Model(inp, keras.layers.Conv1D(8, 3)(keras.layers.Dense(12)(inp)))
    e = keras.Sequential([keras.Input((5,), dtype="int32"), keras.layers.Embedding(20, 8)])
    assert [s for s in range(n_seeds) for r in (audit(m, seed=s), audit(e, seed=s)) if r.departures] == []


def test_unbuilt():
    with pytest.raises(Exception, match="not built"):
        audit(keras.Sequential([keras.layers.Dense(3)]))
    with pytest.raises(AuditError):
        audit(keras.Sequential([keras.Input((3,)), keras.layers.ReLU()]))
