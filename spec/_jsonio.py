"""Atomic JSON files (framework-free): the one writer of every layer's JSON documents.

Lives in the spec layer so that backends (benchmarks), conformance (results) and the CLI share it
without a backend importing conformance. ``initspec.conformance.results.write_atomic`` re-exports it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable", "write_atomic"]


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _sanitize(o: Any) -> Any:
    """``o`` with non-finite floats (Python or NumPy) as None, keys as str, tuples as lists."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {str(k): _sanitize(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_sanitize(v) for v in o]
    if isinstance(o, np.floating) and not np.isfinite(o):
        return None
    return o


def write_atomic(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    """Write JSON to ``path`` atomically (temp file in the same folder + ``os.replace``): an
    interrupted run never leaves a half-written file over a good one. NaN/inf become null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_sanitize(data), default=_json_default, indent=1, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def jsonable(o: Any) -> Any:
    """``o`` with complex numbers as ``[re, im]``, tuples as lists and numpy scalars/arrays as
    Python values (the results document is plain JSON)."""
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return jsonable(o.tolist())
    if isinstance(o, np.generic):
        o = o.item()
    if isinstance(o, complex):
        return [o.real, o.imag]
    return o
