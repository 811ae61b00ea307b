"""Property-based fuzz of the tensorflow adapter's uniform harness ``sample(...)`` (issue 15; the
property of :mod:`tests._fuzz`): a clear initspec error, or finite values of the requested shape
and dtype inside the support; fixed examples (``derandomize=True``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from .. import _fuzz

pytestmark = pytest.mark.tensorflow


@settings(settings.get_profile("initspec-fuzz"), max_examples=250)
@given(req=_fuzz.requests())
def test_tensorflow_harness_fuzz(tfb, req):
    _fuzz.check_request(tfb, "tensorflow", req)


def test_tensorflow_fuzz_outcomes():
    counts = _fuzz.OUTCOMES["tensorflow"]
    print(_fuzz.summary("tensorflow"))
    assert counts["pass"] > 20 and sum(counts.values()) - counts["pass"] > 20, dict(counts)
