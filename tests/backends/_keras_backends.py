"""Run a test module as a script under another Keras backend (``KERAS_BACKEND=jax``/``torch``):
the script prints its results as one JSON line last; a non-zero exit fails the calling test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def run_under_keras_backend(script: str, backend: str, extra_env: dict[str, str] | None = None) -> Any:
    """``python script backend`` with ``KERAS_BACKEND=backend``; its last stdout line as JSON."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    proc = subprocess.run([sys.executable, script, backend], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
