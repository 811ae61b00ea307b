"""A backend added through the registry alone (docs/adding-a-backend.md): the minimal plugin of
``tests/plugins/minimal_backend.py`` (a NumPy-subclass "framework" whose own layout is torch's)
passes the whole conformance matrix, in process and through ``initspec conform`` with
``INITSPEC_PLUGINS`` (the workers are other processes: they load the plugin from the variable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from initspec import registry
from initspec.backends import load
from initspec.conformance import checks as C
from initspec.conformance.worker import backend_cases, case_seed, run_case
from initspec.errors import InitSpecError

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "tests.plugins.minimal_backend"
BASE_SEED = 20240611


@pytest.fixture(scope="module")
def minimal():
    from tests.plugins import minimal_backend

    yield minimal_backend
    registry.unregister(minimal_backend.NAME)


def test_registered_backend_is_everywhere(minimal):
    assert minimal.NAME in registry.names()
    assert load(minimal.NAME) is minimal
    assert registry.parse_names(f"numpy,{minimal.NAME}") == ("numpy", minimal.NAME)
    assert minimal.NAME in registry.colors()


def test_matrix_passes_on_the_registered_backend(minimal):
    alpha = C.default_budget(n_backends=1).per_test()
    cases = backend_cases(minimal.NAME, C.DEFAULT_MATRIX)
    assert len(cases) == len(C.DEFAULT_MATRIX)
    assert {c.layout for c in cases} <= {"torch_linear", "torch_conv", "torch_conv_transpose", "keras_depthwise", "torch"}
    failed, passed = [], 0
    for case in cases:
        res = run_case(C, minimal, minimal.NAME, case, device="cpu", alpha=alpha, seed=case_seed(BASE_SEED, case.index))
        failed += C.failures(res.checks)
        passed += sum(c["verdict"] == "pass" for c in res.checks)
    assert not failed, "\n".join(C.format_check(c) for c in failed)
    assert passed > 500


def test_runner_loads_the_plugin_in_its_workers(tmp_path):
    env = {**os.environ, "INITSPEC_PLUGINS": PLUGIN,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "initspec.cli", "conform", "--backends", "minimal", "--device", "cpu", "--quick",
           "--no-report", "--no-progress", "--out", str(tmp_path)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [(b["backend"], b["status"]) for b in doc["backends"]] == [("minimal", "ok")]
    assert doc["summary"]["pass"] > 0 and doc["summary"]["fail"] == 0
    assert not any("minimal" in m and "Unknown backend" in m for m in doc["messages"])


def test_a_broken_plugin_is_an_error_naming_it():
    code = "import initspec.registry as r; r.names()"
    res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "INITSPEC_PLUGINS": "no_such_plugin_xyz"},
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode != 0 and "no_such_plugin_xyz" in res.stderr and "INITSPEC_PLUGINS" in res.stderr


def test_registering_a_taken_name_or_a_bad_entry_is_refused():
    with pytest.raises(InitSpecError, match="already registered"):
        registry.register(registry.get("numpy"))
    with pytest.raises(InitSpecError, match="name"):
        registry.Framework(name="not a name", imports=("numpy",), adapter="x", label="x", layout="torch")
    with pytest.raises(InitSpecError, match="devices"):
        registry.Framework(name="x", imports=("numpy",), adapter="x", label="x", layout="torch", devices=("tpu",))
    with pytest.raises(InitSpecError, match="Unknown backend"):
        registry.get("mxnet")
