"""The versioned results document (``results.json``): the contract between the conformance
runner, the seed-claim experiments and the HTML report. Framework-free.

Top level (``SCHEMA_VERSION`` = 2; the JSON Schema is :file:`results.schema.json`, shipped in
this package, see :func:`schema`)::

    {
      "schema": "initspec.results", "version": 2,
      "created": ISO-8601 UTC, "duration_s": float, "command": str,
      "environment": {"python": str, "platform": str, "numpy": str, "scipy": str, "initspec": str},
      "config": {"seed": int, "alpha": float, "backends": [str], "device": str, ...},
      "backends": [BackendRun], "checks": [Check], "samples": {check_group_id: SampleSummary},
      "fans": [FanRow], "native": [NativeFinding], "experiments": Experiments | null,
      "portable": {...} | null, "messages": [str] (notes of the run, e.g. unavailable parts),
      "summary": {"pass": int, "fail": int, "finding": int, "skip": int, "unavailable": int}
    }

The records are the frozen dataclasses of :mod:`initspec.conformance.records`. Verdicts:
``pass``/``fail`` for initspec's own adapters, ``finding`` for a native initializer that departs
from the spec (not a failure), ``skip`` with a reason, ``unavailable`` for a backend/device that
could not run.

Version 2 (over 1): every check names its check group (``group``); every sample summary names
its group (``group``, also its key in ``samples``), its sample size ``n`` and its KS test's
level ``alpha``. :func:`load` still reads version-1 files (:func:`upgrade_v1`).
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from .records import BackendRun, Check, FanRow, NativeFinding, SampleSummary, Verdict, group_id

__all__ = [
    "READS_VERSIONS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "BackendRun",
    "Check",
    "Claim",
    "Experiments",
    "FanRow",
    "NativeFinding",
    "ResultsError",
    "SampleSummary",
    "Verdict",
    "empty_results",
    "load",
    "schema",
    "summarize",
    "upgrade_v1",
    "validate",
    "write_atomic",
]

from initspec._jsonio import write_atomic  # noqa: F401 - re-exported: results are written with it

SCHEMA = "initspec.results"
SCHEMA_VERSION = 2
#: Versions :func:`load` reads (older ones are upgraded to :data:`SCHEMA_VERSION`).
READS_VERSIONS = (1, 2)
#: File name of the JSON Schema in this package.
SCHEMA_FILE = "results.schema.json"


class ResultsError(ValueError):
    """A results file that is not a valid results document: one line naming the file and the
    first offending JSON path."""


class Claim(TypedDict, total=False):
    id: str
    claim: str
    predicate: str
    per_backend: dict[str, dict[str, Any]]  # backend -> {"measured": ..., "verdict": pass|fail}
    verdict: Verdict


class Experiments(TypedDict, total=False):
    config: dict[str, Any]
    claims: list[Claim]
    symmetry: list[dict[str, Any]]  # per backend x scheme: distinct units, ranks, loss curve
    signal: list[dict[str, Any]]  # per backend x scheme x activation: per-layer act std, saturation, grad norm
    trainability: list[dict[str, Any]]


def empty_results(command: str = "", config: dict[str, Any] | None = None) -> dict[str, Any]:
    import datetime
    import platform

    import numpy
    import scipy
    from initspec import __version__

    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": 0.0,
        "command": command,
        "environment": {
            "python": platform.python_version(), "platform": platform.platform(),
            "numpy": numpy.__version__, "scipy": scipy.__version__, "initspec": __version__,
        },
        "config": dict(config or {}),
        "backends": [], "checks": [], "samples": {}, "fans": [], "native": [],
        "experiments": None, "portable": None,
        "summary": {"pass": 0, "fail": 0, "finding": 0, "skip": 0, "unavailable": 0},
    }


def summarize(results: dict[str, Any]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "finding": 0, "skip": 0, "unavailable": 0}
    for c in results.get("checks", []):
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    results["summary"] = counts
    return counts


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read, upgrade (version 1 -> 2) and validate a results document against
    :file:`results.schema.json`. Raises ``FileNotFoundError``, or :class:`ResultsError` (a
    ``ValueError``) naming the file and the first offending JSON path."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No results file at {str(p)!r}. Received: path={str(path)!r}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ResultsError(f"{str(p)!r} is not UTF-8 JSON ({e.reason})") from None
    except RecursionError:
        raise ResultsError(f"{str(p)!r} is not a results document: JSON nested too deeply") from None
    except json.JSONDecodeError as e:
        raise ResultsError(f"{str(p)!r} is not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    return validate(data, source=str(p))


def validate(doc: Any, source: str = "results") -> dict[str, Any]:
    """``doc`` (a parsed results document) upgraded to :data:`SCHEMA_VERSION` and checked against
    the JSON Schema; :class:`ResultsError` names ``source`` and the first offending JSON path."""
    if not isinstance(doc, Mapping):
        raise ResultsError(f"{source!r} is not an initspec results document: `$` must be an object. "
                           f"Received: {_kind(doc)}")
    if doc.get("schema") != SCHEMA:
        raise ResultsError(f"{source!r} is not an initspec results document: `$.schema` must be {SCHEMA!r}. "
                           f"Received: schema={_short(doc.get('schema'))}")
    version = doc.get("version")
    if isinstance(version, bool) or version not in READS_VERSIONS:
        raise ResultsError(f"{source!r} has results schema version {_short(version)}; this initspec reads "
                           f"versions {', '.join(map(str, READS_VERSIONS))}")
    data = upgrade_v1(doc) if version == 1 else dict(doc)
    try:
        error = _first_error(data)
    except RecursionError:
        raise ResultsError(f"{source!r} is not a valid results document: nested too deeply") from None
    if error is not None:
        raise ResultsError(f"{source!r} is not a valid results document: at `{error.json_path}`: "
                           f"{_one_line(error.message)}")
    return data


def _kind(v: Any) -> str:
    return {list: "an array", str: "a string", type(None): "null", bool: "a boolean"}.get(type(v), type(v).__name__)


def _short(v: Any, width: int = 60) -> str:
    text = _one_line(repr(v))
    return text if len(text) <= width else text[: width - 3] + "..."


def _one_line(text: str, width: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a version-:data:`SCHEMA_VERSION` results document."""
    from importlib.resources import files

    return json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())
    return Draft202012Validator(schema())


def _first_error(doc: Mapping[str, Any]) -> Any:
    """The first schema error in document order (shallowest, then by path), or None."""
    from jsonschema.exceptions import best_match

    errors = list(_validator().iter_errors(doc))
    if not errors:
        return None
    return best_match(sorted(errors, key=lambda e: (len(e.absolute_path), [str(x) for x in e.absolute_path])))


# ---------------------------------------------------------------------------------------------
# version 1 -> 2
# ---------------------------------------------------------------------------------------------
def _gid(check_id: str) -> str:
    return check_id.rsplit("/", 1)[0]


def upgrade_v1(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A version-1 document as version 2 (a copy; malformed parts are left for the schema to
    report). Checks get ``group`` (their id without the last segment, else made by
    :func:`~initspec.conformance.records.group_id`); each sample summary gets the group of its
    KS check - found by the sample's key, else by (backend, device, subject, scheme, dtype), else
    by (backend, device, scheme) - its ``n`` (the KS check's, else the histogram total) and
    ``alpha`` (the KS check's)."""
    out = dict(doc, version=SCHEMA_VERSION)
    checks = doc.get("checks")
    if isinstance(checks, list):
        out["checks"] = [_upgrade_check(c) if isinstance(c, Mapping) else c for c in checks]
    samples = doc.get("samples")
    if isinstance(samples, Mapping):
        ks = _ks_index(out.get("checks") or [])
        out["samples"] = {k: _upgrade_sample(str(k), s, ks) if isinstance(s, Mapping) else s
                          for k, s in samples.items()}
    return out


def _upgrade_check(c: Mapping[str, Any]) -> dict[str, Any]:
    c = dict(c)
    if "group" not in c:
        if isinstance(c.get("id"), str) and "/" in c["id"]:
            c["group"] = _gid(c["id"])
        else:
            c["group"] = group_id(backend=c.get("backend", "?"), device=c.get("device") or "cpu",
                                  subject=c.get("subject") or "initspec", native_name=c.get("native_name"),
                                  scheme=c.get("scheme"), params=c.get("params") if isinstance(c.get("params"), Mapping)
                                  else None, layout=c.get("layout"), shape=c.get("shape") or (), dtype=c.get("dtype"))
    return c


def _ks_index(checks: list[Any]) -> dict[Any, dict[str, Any]]:
    """Version-1 KS checks by group id, (backend, device, subject, scheme, dtype) and (backend,
    device, scheme): {"group", "n" (largest), "alpha" (smallest)}."""
    idx: dict[Any, dict[str, Any]] = {}
    for c in checks:
        if not isinstance(c, Mapping) or c.get("check") != "ks":
            continue
        dev = c.get("device") or "cpu"
        for key in (c.get("group"), (c.get("backend"), dev, c.get("subject") or "initspec", c.get("scheme"),
                                     c.get("dtype")), (c.get("backend"), dev, c.get("scheme"))):
            e = idx.setdefault(key, {"group": c.get("group"), "n": None, "alpha": None})
            if _is_num(c.get("n")):
                e["n"] = max(int(c["n"]), e["n"] or 0)
            if _is_num(c.get("alpha")):
                e["alpha"] = min(float(c["alpha"]), e["alpha"] if e["alpha"] is not None else float("inf"))
    return idx


def _upgrade_sample(key: str, s: Mapping[str, Any], ks: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    s = dict(s)
    dev = s.get("device") or "cpu"
    hit = next((ks[k] for k in (key, (s.get("backend"), dev, s.get("subject") or "initspec", s.get("scheme"),
                                      s.get("dtype")), (s.get("backend"), dev, s.get("scheme"))) if k in ks), None)
    s.setdefault("subject", "initspec")
    s.setdefault("group", (hit or {}).get("group") or key)
    if not _is_num(s.get("n")):
        n = (hit or {}).get("n")
        s["n"] = n if n is not None else int(sum(c for c in s.get("hist_counts") or [] if _is_num(c)))
    if "alpha" not in s:
        s["alpha"] = (hit or {}).get("alpha")
    return s


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
