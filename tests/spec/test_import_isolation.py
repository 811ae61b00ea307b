"""`import initspec` (and its NumPy reference, the spec CLI helpers) imports no framework."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "tensorflow", "jax", "keras", "flax")

CODE = """
import sys
import initspec, initspec.layouts, initspec.native, initspec.distributions
import initspec.backends, initspec.backends.numpy, initspec.conformance.results
loaded = sorted(m for m in sys.modules if m.split('.')[0] in {fw!r})
print(','.join(loaded))
"""


def test_import_initspec_pulls_no_framework():
    out = subprocess.run([sys.executable, "-c", CODE.format(fw=FRAMEWORKS)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_spec_sources_have_no_framework_imports():
    import pathlib
    import re

    import initspec

    root = pathlib.Path(initspec.__file__).parent
    pat = re.compile(r"^\s*(import|from)\s+(torch|tensorflow|jax|keras|flax)\b", re.M)
    bad = [p.name for p in root.glob("*.py") if pat.search(p.read_text())]
    assert bad == []


def test_every_source_package_is_packaged():
    """pyproject's explicit package list covers every folder holding Python modules."""
    import pathlib
    import tomllib

    root = pathlib.Path(__file__).resolve().parents[2]
    cfg = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs = cfg["package-dir"]
    listed = set(cfg["packages"])
    for pkg, folder in dirs.items():
        for init in (root / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(root / folder)
            name = ".".join([pkg, *rel.parts]) if rel.parts else pkg
            assert name in listed, f"{name} ({init.parent}) is missing from [tool.setuptools] packages"
