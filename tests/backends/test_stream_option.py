"""Every adapter's harness ``sample(..., stream=...)`` gives the portable stream: the same values
as the NumPy reference for the same (seed, stream), in the adapter's own layout."""

from __future__ import annotations

import numpy as np
import pytest

from initspec.backends import numpy as ref

CASES = [("he_normal", (64, 32)), ("glorot_uniform", (3, 3, 8, 16)), ("he_truncated_normal", (128, 16))]


@pytest.mark.parametrize("backend", ["numpy", "torch", "tensorflow", "jax"])
@pytest.mark.parametrize("scheme,shape", CASES)
def test_stream_option_matches_reference(load_backend, backend, scheme, shape):
    mod = load_backend(backend)
    layout = mod.DEFAULT_LAYOUT
    want = ref.sample(scheme, shape, layout=layout, seed=11, stream="encoder.0.weight")
    got = mod.to_numpy(mod.sample(scheme, shape, layout=layout, seed=11, stream="encoder.0.weight"))
    np.testing.assert_array_equal(got, want)
    other = ref.sample(scheme, shape, layout=layout, seed=11, stream="encoder.1.weight")
    assert not np.array_equal(other, want)  # the stream name matters


def test_stream_must_be_a_string():
    with pytest.raises(TypeError, match="stream"):
        ref.sample("he_normal", (4, 4), seed=0, stream=3)


def _idiomatic_fc_weight(backend: str, mod) -> np.ndarray:
    """A Dense/Linear 8 -> 16 weight through each framework's idiomatic API, as (in, out)."""
    if backend == "torch":
        import torch

        return mod.to_numpy(mod.he_normal_(torch.empty(16, 8), stream="fc.weight", seed=1)).T
    if backend == "tensorflow":
        return mod.to_numpy(mod.HeNormal(stream="fc.weight", seed=1)((8, 16)))
    if backend == "jax":
        return mod.to_numpy(mod.he_normal(stream="fc.weight", seed=1)(None, (8, 16)))
    return mod.sample("he_normal", (8, 16), layout="keras", seed=1, stream="fc.weight")


@pytest.mark.parametrize("backend", ["numpy", "torch", "tensorflow", "jax"])
def test_idiomatic_apis_give_one_logical_weight(load_backend, backend):
    """README's promise: torch ``Linear`` weight == Keras ``Dense`` kernel.T == Flax kernel.T."""
    from initspec.backends import portable

    want = portable.sample("he_normal", (8, 16), layout="keras", seed=1, stream="fc.weight")
    np.testing.assert_array_equal(_idiomatic_fc_weight(backend, load_backend(backend)), want)
