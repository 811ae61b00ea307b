"""Run a bench entry point (``python -m MODULE ... --json PATH``) in a fresh interpreter and read
its JSON record back; a timeout or a failure becomes an ``{"status": "error", "reason": ...}``
record built on ``base``. Shared by ``initspec bench`` and ``initspec bench --models``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: characters of a failed child's stderr kept in the error record
STDERR_TAIL_CHARS = 2000


def run_json_subprocess(module: str, args: list[str], base: dict[str, Any], timeout_s: float,
                        env: dict[str, str] | None = None, prefix: str = "initspec-bench-") -> dict[str, Any]:
    """``python -m module *args --json TMP`` and the record it wrote (``base`` + status on error)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        out = Path(tmp) / "record.json"
        cmd = [sys.executable, "-m", module, *args, "--json", str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        except subprocess.TimeoutExpired:
            return {**base, "status": "error", "reason": f"timed out after {timeout_s:g} s"}
        if proc.returncode != 0 or not out.is_file():
            tail = (proc.stderr or proc.stdout or "")[-STDERR_TAIL_CHARS:].strip()
            return {**base, "status": "error", "reason": f"exit status {proc.returncode}: {tail}"}
        return json.loads(out.read_text(encoding="utf-8"))
