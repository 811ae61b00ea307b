"""The conformance matrix as tests: every case of ``DEFAULT_MATRIX`` drawn through one backend's
adapter (its uniform harness API, in its own layout) and judged by ``check_draw`` - the same
code path as ``initspec conform`` (:func:`initspec.conformance.worker.run_case`).

Select backends with ``--backend torch`` or ``INITSPEC_BACKEND=torch,jax`` (default: numpy). A
requested backend that cannot load FAILS; dtypes a framework does not have (NumPy bfloat16, JAX
float64 without x64) are skips with the adapter's reason. The family-wise budget covers the
whole matrix on one backend (Bonferroni, ``checks.default_budget(n_backends=1)``).
"""

from __future__ import annotations

import pytest

from initspec.backends import BackendUnavailable, load
from initspec.errors import UnknownNameError
from initspec.conformance import checks as C
from initspec.conformance.worker import backend_cases, case_seed, run_case

from .conftest import requested_backends

BASE_SEED = 20240611
CASE_INDICES = range(len(C.DEFAULT_MATRIX))


@pytest.fixture(scope="session")
def adapter(request, conformance_backend):
    """The backend's adapter module; a requested backend that cannot load fails loudly."""
    _, explicit = requested_backends(request.config)
    try:
        return load(conformance_backend)
    except UnknownNameError as e:
        pytest.fail(f"--backend/INITSPEC_BACKEND: {e}", pytrace=False)
    except BackendUnavailable as e:
        if explicit:
            pytest.fail(f"requested backend {conformance_backend!r} cannot load: {e}", pytrace=False)
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def alpha() -> float:
    return C.default_budget(n_backends=1).per_test()


def _ids(i: int) -> str:
    scheme, layout, shape, dtype, params = C.DEFAULT_MATRIX[i]
    p = "".join(f",{k}={v}" for k, v in params.items())
    return f"{i:02d}-{scheme}{p}-{layout}-{dtype}"


@pytest.mark.parametrize("index", CASE_INDICES, ids=_ids)
def test_matrix_case(adapter, conformance_backend, alpha, index):
    case = next(c for c in backend_cases(conformance_backend, C.DEFAULT_MATRIX) if c.index == index)
    res = run_case(C, adapter, conformance_backend, case, device="cpu", alpha=alpha,
                   seed=case_seed(BASE_SEED, index))
    skipped = [c for c in res.checks if c["verdict"] == "skip" and c["check"] == "sample"]
    if skipped:
        pytest.skip(skipped[0]["message"])
    failed = C.failures(res.checks)
    assert not failed, "\n".join(C.format_check(c) + f"\n    reproduce: {c['reproduce']}" for c in failed)
    assert any(c["check"] == "shape" for c in res.checks)
