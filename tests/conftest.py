"""Shared test configuration.

Backend selection (array-api-tests style): ``INITSPEC_REQUIRE=torch,jax`` (or
``pytest --require-backend torch``) marks backends as *required*: their tests fail loudly when the
framework cannot load. Backends not required are skipped with the import error as the reason,
never passed. tox sets INITSPEC_REQUIRE for each env. GPU tests (marker ``gpu``) skip with the
framework's own reason through their fixtures (``device_available("gpu")``) when no device is present.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--require-backend", action="append", default=[],
                     help="backend that must load (repeatable); overrides INITSPEC_REQUIRE")


def required_backends(config) -> set[str]:
    opt = config.getoption("--require-backend")
    env = os.environ.get("INITSPEC_REQUIRE", "")
    names = opt or [n for n in env.split(",") if n.strip()]
    return {n.strip() for n in names}


@pytest.fixture(scope="session")
def load_backend(request):
    """``load_backend("torch")`` -> the adapter module, or skip/fail as described above."""
    from initspec.backends import BackendUnavailable, load

    req = required_backends(request.config)

    def _load(name: str):
        try:
            return load(name)
        except BackendUnavailable as e:
            if name in req:
                pytest.fail(f"required backend {name!r} cannot load: {e}", pytrace=False)
            pytest.skip(str(e))

    return _load


# --- test scopes: each test runs in exactly one tox env ------------------------------------
#: The frameworks a test can need (initspec.registry's non-reference backends).
FRAMEWORKS = ("torch", "tensorflow", "jax")
#: Fixtures that bring a framework (tests/backends/conftest.py).
FIXTURE_FRAMEWORK = {
    "tb": "torch", "torch": "torch", "pt": "torch",
    "tfb": "tensorflow", "tf": "tensorflow", "keras": "tensorflow", "ptf": "tensorflow",
    "ij": "jax", "jax": "jax", "pj": "jax",
}
#: Parameter names whose value names the backend a parametrized case runs on.
BACKEND_PARAMS = ("backend", "framework", "conformance_backend", "fw", "name")
SCOPE_ENV = "INITSPEC_TEST_SCOPE"


def frameworks_of(item) -> frozenset[str]:
    """The frameworks a test needs: its markers (``@pytest.mark.torch``; several for a test that
    needs several), the framework fixtures it uses, and a backend-naming parameter's value."""
    fws = {m.name for m in item.iter_markers() if m.name in FRAMEWORKS}
    fws |= {FIXTURE_FRAMEWORK[f] for f in getattr(item, "fixturenames", ()) if f in FIXTURE_FRAMEWORK}
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        for key in BACKEND_PARAMS:
            value = callspec.params.get(key)
            if isinstance(value, str) and value in FRAMEWORKS:
                fws.add(value)
    return frozenset(fws)


def scope_of(item) -> str:
    """``free`` (no framework), one framework's name, or ``multi`` (several, or a real browser)."""
    fws = frameworks_of(item)
    if len(fws) > 1 or item.get_closest_marker("browser") is not None:
        return "multi"
    return next(iter(fws)) if fws else "free"


def pytest_collection_modifyitems(config, items):
    """``INITSPEC_TEST_SCOPE=free|torch|tensorflow|jax|multi`` keeps the tests of that scope only
    (tox sets one per env, so each test runs once; unset: every test). A test classified in the
    wrong scope cannot pass silently: see :func:`pytest_runtest_makereport`."""
    scope = os.environ.get(SCOPE_ENV, "").strip()
    if not scope:
        return
    known = ("free", *FRAMEWORKS, "multi")
    if scope not in known:
        raise pytest.UsageError(f"{SCOPE_ENV} must be one of {', '.join(known)}. Received: {SCOPE_ENV}={scope!r}")
    keep, drop = [], []
    for item in items:
        (keep if scope_of(item) == scope else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


#: Skip reasons that mean "a framework is missing" (initspec's BackendUnavailable, importorskip).
_MISSING_FRAMEWORK = ("is unavailable: importing", "could not import", "No module named", "not installed")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """In a scoped run, a test skipped because a framework is missing was put in the wrong scope
    (its env lacks the framework): that is a failure naming the fix, never a silent skip."""
    report = yield
    scope = os.environ.get(SCOPE_ENV, "").strip()
    if scope and scope != "multi" and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if any(s in reason for s in _MISSING_FRAMEWORK) and "gpu" not in reason.lower():
            report.outcome = "failed"
            report.longrepr = (f"{item.nodeid} ran in scope {scope!r} but needs a framework this env lacks "
                               f"({reason}). Mark it with @pytest.mark.<framework> (tests/conftest.py "
                               "scope rules).")
    return report
