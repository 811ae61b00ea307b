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
    return _module("initspec.backends.torch.portable")


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
    return _module("initspec.backends.tensorflow.portable")


@pytest.fixture(scope="module")
def ij(load_backend):
    return load_backend("jax")


@pytest.fixture(scope="module")
def jax(ij):
    return _module("jax")


@pytest.fixture(scope="module")
def pj(ij):
    return _module("initspec.backends.jax.portable")


@pytest.fixture(scope="session")
def on_8_cpu_devices():
    """``run(script)``: run a Python script in a subprocess whose JAX sees 8 virtual CPU devices
    (the flag must be set before JAX initialises) and return its stdout; a failure shows the
    script's output."""
    import os
    import subprocess
    import sys

    def run(script: str, timeout: int = 900) -> str:
        env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        return proc.stdout

    return run
