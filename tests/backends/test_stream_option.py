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
