"""Issue 15 regressions in the framework adapters: seeds that wrapped silently, plan caches that
equated ``True`` with ``1`` and ``-0.0`` with ``0.0``, overlapping torch tensors, unrepresentable
values, Keras configs and ``assert_conforms`` on torch callables. Each test names its framework."""

from __future__ import annotations

import functools

import numpy as np
import pytest


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
def test_unrepresentable_values_are_refused(load_backend, backend):
    h = load_backend(backend)
    with pytest.raises(ValueError, match=r"float32 .*Received: mean=0.0, std=1e\+39"):
        h.sample("normal", (4, 4), std=1e39)
    with pytest.raises(ValueError, match=r"float16 .*Received: value=70000"):
        h.sample("constant", (4, 4), dtype="float16", value=70000)
    with pytest.raises(ValueError, match=r"No bfloat16 value lies strictly inside"):
        h.sample("truncated_normal_abs", (4, 4), dtype="bfloat16", mean=1, std=1e-3, low=1, high=1.002)
    with pytest.raises(ValueError, match=r"Received: seed=18446744073709551616"):
        h.sample("normal", (4, 4), seed=2**64)
    np.testing.assert_array_equal(h.to_numpy(h.sample("normal", (2, 2), stream="w", seed=None)),
                                  h.to_numpy(h.sample("normal", (2, 2), stream="w", seed=0)))


@pytest.mark.parametrize("backend", ["torch", "tensorflow", "jax"])
def test_plan_caches_keep_type_and_sign(load_backend, backend):
    h = load_backend(backend)
    h.sample("constant", (2, 2), value=0.0)
    assert np.all(np.signbit(h.to_numpy(h.sample("constant", (2, 2), value=-0.0))))
    h.sample("orthogonal", (4, 4), gain=1)
    with pytest.raises(TypeError, match="Received: gain=True"):
        h.sample("orthogonal", (4, 4), gain=True)


def test_tf_seeds_do_not_wrap(tfb):
    with pytest.raises(ValueError, match="Received: seed=-1"):
        tfb.sample("normal", (2, 2), seed=-1)
    assert not np.array_equal(tfb.sample("normal", (2, 2), seed=2**32).numpy(),
                              tfb.sample("normal", (2, 2), seed=0).numpy())


def test_jax_seeds_keep_64_bits(ij):
    a, b = (np.asarray(ij.sample("normal", (2, 2), seed=s)) for s in (2**40, 0))
    assert not np.array_equal(a, b)
    assert ij.sample("normal", (2, 2), seed=2**64 - 1).shape == (2, 2)


def test_keras_fans_and_layout_config(tfb):
    with pytest.raises(TypeError, match="Received: fans=5"):
        tfb.HeNormal(fans=5)
    with pytest.raises(ValueError, match="Received: layout="):
        tfb.HeNormal.from_config({"layout": {"name": "x", "in_axes": 1.5}})


def test_torch_groups_true_after_cached_one(tb, torch):
    tb.dirac_(torch.empty(4, 4, 3), groups=1)
    with pytest.raises(ValueError, match="Received: groups=True"):
        tb.dirac_(torch.empty(4, 4, 3), groups=True)


def test_torch_overlapping_views_are_refused(tb, torch):
    w = torch.zeros(16).as_strided((4, 4), (1, 1))
    with pytest.raises(ValueError, match="overlapping memory.*stride=\\(1, 1\\)"):
        tb.normal_(w)
    tb.normal_(torch.zeros(4, 4).t())  # non-contiguous, not overlapping
    tb.normal_(torch.zeros(8, 8)[::2, 1::3])


def test_assert_conforms_torch_callables(tb, torch):
    from initspec.conformance import assert_conforms

    assert_conforms(tb.he_normal_, "he_normal", layout="torch")
    assert_conforms(functools.partial(torch.nn.init.normal_, std=0.02), "normal", layout="torch", std=0.02)
