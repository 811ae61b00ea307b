"""Layer rules (import-linter) and types of the spec layer (mypy), on the installed namespace.

The source folders are mapped onto one import namespace (``spec/`` -> ``initspec``,
``backends/`` -> ``initspec.backends``, ...; ``[tool.setuptools.package-dir]``), which neither
import-linter's graph builder (grimp) nor mypy's module finder can follow: both need each
package's modules under its directory. This copies the folders into that shape in a temporary
directory, then runs, with the project's own configuration (pyproject.toml):

* ``lint-imports`` - the ``[tool.importlinter]`` contracts (the layer rules);
* ``mypy`` on every module of the spec layer (``initspec.*`` from ``spec/``, the registry included).

    python scripts/lint.py        # non-zero if either fails
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _copy_namespace(tmp: str, package_dir: dict[str, str]) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package, folder in sorted(package_dir.items()):
        shutil.copytree(ROOT / folder, Path(tmp, *package.split(".")), ignore=ignore, dirs_exist_ok=True)


def main() -> int:
    package_dir: dict[str, str] = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-dir"]
    spec_modules = sorted(p.stem for p in (ROOT / package_dir["initspec"]).glob("*.py") if p.stem != "__init__")
    with tempfile.TemporaryDirectory(prefix="initspec-lint-") as tmp:
        _copy_namespace(tmp, package_dir)
        env = {**os.environ, "PYTHONPATH": tmp + os.pathsep + os.environ.get("PYTHONPATH", ""), "MYPYPATH": tmp}
        layers = subprocess.run(
            [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())",
             str(PYPROJECT), "--no-cache"], cwd=tmp, env=env, check=False).returncode
        mods = [a for m in ["", *spec_modules] for a in ("-m", f"initspec.{m}" if m else "initspec")]
        types = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(PYPROJECT), *mods],
                               cwd=tmp, env=env, check=False).returncode
    print(f"lint: import-linter exit {layers}, mypy exit {types}")
    return max(layers, types)


if __name__ == "__main__":
    sys.exit(main())
