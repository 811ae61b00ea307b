"""Property-based fuzz of the jax adapter's uniform harness ``sample(...)`` (issue 15; the
property of :mod:`tests._fuzz`): a clear initspec error, or finite values of the requested shape
and dtype inside the support; fixed examples (``derandomize=True``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from .. import _fuzz

pytestmark = pytest.mark.jax


@settings(settings.get_profile("initspec-fuzz"), max_examples=250)
@given(req=_fuzz.requests())
def test_jax_harness_fuzz(ij, req):
    _fuzz.check_request(ij, "jax", req)


def test_jax_fuzz_outcomes():
    counts = _fuzz.OUTCOMES["jax"]
    print(_fuzz.summary("jax"))
    assert counts["pass"] > 20 and sum(counts.values()) - counts["pass"] > 20, dict(counts)
