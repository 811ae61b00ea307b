"""The versioned results document (``results.json``): the contract between the conformance
runner, the seed-claim experiments and the HTML report. Framework-free.

Top level (``SCHEMA_VERSION`` = 1)::

    {
      "schema": "initspec.results", "version": 1,
      "created": ISO-8601 UTC, "duration_s": float, "command": str,
      "environment": {"python": str, "platform": str, "numpy": str, "scipy": str, "initspec": str},
      "config": {"seed": int, "alpha": float, "backends": [str], "device": str, ...},
      "backends": [BackendRun], "checks": [Check], "samples": {check_group_id: SampleSummary},
      "fans": [FanRow], "native": [NativeFinding], "experiments": Experiments | null,
      "portable": {...} | null, "messages": [str] (notes of the run, e.g. unavailable parts),
      "summary": {"pass": int, "fail": int, "finding": int, "skip": int, "unavailable": int}
    }

See the TypedDicts below for each record. Verdicts: ``pass``/``fail`` for initspec's own adapters,
``finding`` for a native initializer that departs from the spec (not a failure), ``skip`` with a
reason, ``unavailable`` for a backend/device that could not run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, TypedDict

from initspec._jsonio import write_atomic  # noqa: F401 - re-exported: results are written with it

SCHEMA = "initspec.results"
SCHEMA_VERSION = 1

Verdict = Literal["pass", "fail", "finding", "skip", "unavailable"]


class BackendRun(TypedDict, total=False):
    backend: str  # numpy | torch | tensorflow | jax | portable-*
    device: str  # cpu | gpu
    status: Literal["ok", "unavailable", "error"]
    reason: str | None
    versions: dict[str, str]  # framework -> version
    device_name: str | None
    duration_s: float


class Check(TypedDict, total=False):
    id: str  # unique: backend/device/subject/scheme/layout[shape]/dtype/check
    backend: str
    device: str
    subject: Literal["initspec", "native", "portable"]
    native_name: str | None  # e.g. "torch.nn.init.xavier_normal_"
    scheme: str  # spec scheme the subject is compared with
    layout: str | None
    shape: list[int]
    dtype: str
    params: dict[str, Any]
    check: str  # shape|dtype|device|constant|support|orthogonality|determinism|mean|variance|kurtosis|ks|fan_probe|...
    tier: Literal["exact", "statistical", "fan"]
    measured: Any
    expected: Any
    interval: list[float] | None  # acceptance interval for `measured`
    p_value: float | None
    alpha: float | None  # per-test level after family-wise correction
    n: int | None
    seed: int | None
    std_ratio: float | None  # measured std / spec std, for the summary matrix
    verdict: Verdict
    message: str
    reproduce: str  # copy-paste command


class SampleSummary(TypedDict, total=False):
    backend: str
    device: str
    scheme: str
    shape: list[int]
    dtype: str
    hist_edges: list[float]
    hist_counts: list[int]
    pdf_x: list[float]  # spec density on a grid (for the overlay)
    pdf_y: list[float]
    cdf_diff_x: list[float]  # empirical CDF - spec CDF
    cdf_diff_y: list[float]
    moments: dict[str, Any]  # {check: {measured, expected, interval, p_value, verdict}}
    bounds: list[float | None]
    n: int  # draws summarised (the histogram may not show values outside its range)
    layout: str
    params: dict[str, Any]
    subject: str  # initspec | native | portable
    native_name: str | None
    group: str  # id of the check group the summary belongs to


class FanRow(TypedDict, total=False):
    layer: str  # Dense(64->128), Conv2D(3x3, 64->128), ConvTranspose2D, Depthwise...
    framework: str
    layout: str
    shape: list[int]
    fan_in: float
    fan_out: float
    spec_fan_in: float
    spec_fan_out: float
    std: dict[str, float]  # scheme -> std for this layer
    note: str


class NativeFinding(TypedDict, total=False):
    framework: str
    name: str  # e.g. "keras.initializers.GlorotNormal", "torch.nn.Linear.weight"
    claimed: str  # what the name suggests, in spec terms
    spec_terms: str  # what it measurably is (fan, scale, distribution, truncation)
    equivalent_scheme: str | None
    measured: dict[str, Any]  # fan mode, scale, std ratio, truncation bound, p-values...
    departures: list[str]  # one sentence each
    verdict: Literal["matches", "departs", "skip", "unavailable"]
    source: str  # cited framework function


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


def load(path: "str | os.PathLike[str]") -> dict[str, Any]:
    """Read and validate a results document (schema name and version)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"No results file at {str(p)!r}. Received: path={str(path)!r}")
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{str(p)!r} is not an initspec results document (schema={data.get('schema')!r}).")
    if data.get("version") != SCHEMA_VERSION:
        raise ValueError(
            f"{str(p)!r} has results schema version {data.get('version')!r}; this initspec reads "
            f"version {SCHEMA_VERSION}."
        )
    return data
