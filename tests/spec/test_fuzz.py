"""Property-based fuzz of the NumPy reference harness (issue 15; see :mod:`tests._fuzz`): every
request over schemes x shapes x dtypes x parameters x layouts gives a clear initspec error or
finite, correctly shaped and typed values inside the support. Framework-free; fixed examples
(``derandomize=True``), well under 60 s."""

from __future__ import annotations

from hypothesis import given, settings

from initspec.backends import load

from .. import _fuzz

NP = load("numpy")


@settings(settings.get_profile("initspec-fuzz"), max_examples=600)
@given(_fuzz.requests())
def test_numpy_harness_fuzz(req):
    _fuzz.check_request(NP, "numpy", req)


def test_numpy_fuzz_outcomes():
    """Both outcomes occur (the strategies reach valid and invalid requests); counts in -s output."""
    counts = _fuzz.OUTCOMES["numpy"]
    print(_fuzz.summary("numpy"))
    assert counts["pass"] > 50 and sum(counts.values()) - counts["pass"] > 50, dict(counts)
