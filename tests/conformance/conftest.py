"""Options of the conformance tests.

``pytest tests/conformance/test_conformance.py --backend torch`` (repeatable, or comma-separated;
or env ``INITSPEC_BACKEND=torch,jax``) selects the backends whose adapters the conformance
matrix runs against; the default is ``numpy``. A backend requested this way is REQUIRED: if it
cannot load, its tests fail loudly (never a silent skip).

(``--backend`` is registered by this conftest, so pass it with a path under ``tests/conformance``;
the environment variable works from anywhere.)
"""

from __future__ import annotations

import os

DEFAULT_BACKENDS = ("numpy",)


def pytest_addoption(parser):
    parser.addoption("--backend", action="append", default=[],
                     help="backend the conformance matrix runs against (repeatable; required to load)")


def requested_backends(config) -> tuple[tuple[str, ...], bool]:
    """``(backends, explicitly_requested)`` from ``--backend`` / ``INITSPEC_BACKEND``."""
    try:
        opt = config.getoption("--backend")
    except ValueError:  # this conftest was not an initial conftest: the option is not registered
        opt = []
    names = [n.strip() for item in opt for n in item.split(",") if n.strip()]
    if not names:
        names = [n.strip() for n in os.environ.get("INITSPEC_BACKEND", "").split(",") if n.strip()]
    if not names:
        return DEFAULT_BACKENDS, False
    return tuple(dict.fromkeys(names)), True


def pytest_generate_tests(metafunc):
    if "conformance_backend" in metafunc.fixturenames:
        backends, _ = requested_backends(metafunc.config)
        metafunc.parametrize("conformance_backend", backends, scope="session")
