"""Shared fixtures of the adapter tests: each framework's adapter (``tb``, ``tfb``, ``ij``), its
portable module (``pt``, ``ptf``, ``pj``) and the framework itself (``torch``, ``tf``, ``keras``,
``jax``). Each skips with the import error as reason, or fails where INITSPEC_REQUIRE names the
framework (see ``tests/conftest.py``); a test file may override one (``test_gpu.py`` does)."""

from __future__ import annotations

import importlib

import pytest


def _module(name: str):
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def tb(load_backend):
    return load_backend("torch")


@pytest.fixture(scope="module")
def torch(tb):
    return _module("torch")


@pytest.fixture(scope="module")
def pt(tb):
    return _module("initspec.backends.portable.torch")


@pytest.fixture(scope="module")
def tfb(load_backend):
    return load_backend("tensorflow")


@pytest.fixture(scope="module")
def tf(tfb):
    return _module("tensorflow")


@pytest.fixture(scope="module")
def keras(tfb):
    return _module("keras")


@pytest.fixture(scope="module")
def ptf(tfb):
    return _module("initspec.backends.portable.tensorflow")


@pytest.fixture(scope="module")
def ij(load_backend):
    return load_backend("jax")


@pytest.fixture(scope="module")
def jax(ij):
    return _module("jax")


@pytest.fixture(scope="module")
def pj(ij):
    return _module("initspec.backends.portable.jax")
