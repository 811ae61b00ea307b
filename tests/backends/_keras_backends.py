"""Run a test module as a script under another Keras backend (``KERAS_BACKEND=jax``/``torch``):
the script prints its results as one JSON line last; a non-zero exit fails the calling test.
:func:`run_checks_main` is the script side (imported as ``_keras_backends`` there: the script's
folder is on ``sys.path``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from typing import Any


def run_under_keras_backend(script: str, backend: str, extra_env: dict[str, str] | None = None) -> Any:
    """``python script backend`` with ``KERAS_BACKEND=backend``; its last stdout line as JSON."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    proc = subprocess.run([sys.executable, script, backend], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_checks_main(checks: dict[str, Callable[[Any], None]], tail: int = 3000) -> None:
    """The script side: check that Keras runs the backend named in ``sys.argv[1]``, run every
    check with ``keras``, print ``{name: "ok" | traceback}`` as the last line."""
    import keras

    if keras.backend.backend() != sys.argv[1]:
        sys.exit(f"KERAS_BACKEND={sys.argv[1]!r} expected, Keras runs {keras.backend.backend()!r}")
    out = {}
    for name, check in checks.items():
        try:
            check(keras)
            out[name] = "ok"
        except Exception:  # noqa: BLE001 - reported to the parent test
            out[name] = traceback.format_exc()[-tail:]
    print(json.dumps(out))
