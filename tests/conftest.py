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
