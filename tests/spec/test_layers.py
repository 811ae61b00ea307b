"""The layer rules (pyproject ``[tool.importlinter]``: spec imports no other layer; backends never
import conformance, reports or cli; reports import no framework and no backend; conformance never
imports cli) and mypy on the spec layer, through ``scripts/lint.py`` (import-linter and mypy on
the package namespace)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_layer_rules_and_spec_types():
    pytest.importorskip("importlinter", reason="import-linter is a test dependency (initspec[test])")
    pytest.importorskip("mypy", reason="mypy is a test dependency (initspec[test])")
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "lint.py")], capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
