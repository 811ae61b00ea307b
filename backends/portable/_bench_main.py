"""Run one framework's portable ``bench_cases()`` (``python -m initspec.backends.portable._bench_main
--backend torch --device cpu --json out.json``), timed by :func:`initspec.backends._bench_runner.run_case`
(interleaved rounds, medians). ``initspec portable bench`` starts one process per framework."""

from __future__ import annotations

import argparse
import traceback
from typing import Any

from initspec import registry
from initspec._jsonio import write_atomic

from .._bench_runner import cases_for, run_case

#: registered frameworks with a portable module (the registry's ``portable``); one whose module has
#: no portable bench cases (the NumPy reference: the others are timed against it) is reported so
FRAMEWORKS = tuple(name for name, f in registry.frameworks().items() if f.portable)


def run(backend: str, device: str, repeats: int, warmup: int) -> dict[str, Any]:
    """The record of ``backend``'s portable bench on ``device`` (same shape as ``initspec bench``)."""
    from initspec.backends import BackendUnavailable

    from . import load

    record: dict[str, Any] = {"backend": f"portable-{backend}", "device": device, "status": "ok",
                              "reason": None, "versions": {}, "cases": []}
    try:
        mod = load(backend)
    except BackendUnavailable as e:
        return {**record, "status": "unavailable", "reason": str(e)}
    record["versions"] = mod.versions()
    ok, why = mod.device_available(device)
    if not ok:
        return {**record, "status": "unavailable", "reason": why}
    cases = cases_for(mod, device) if hasattr(mod, "bench_cases") else []
    if not cases:
        return {**record, "status": "unavailable", "reason": f"{mod.__name__} has no portable bench cases on {device}"}
    for case in cases:
        try:
            record["cases"].append(run_case(case, repeats, warmup))
        except Exception as e:  # noqa: BLE001 - report the case, keep the others
            record["cases"].append({"case": case.label, "ok": False, "error": f"{type(e).__name__}: {e}",
                                    "traceback": traceback.format_exc()})
            record["status"] = "error"
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m initspec.backends.portable._bench_main")
    ap.add_argument("--backend", required=True, choices=FRAMEWORKS)
    ap.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--json", dest="json_path", required=True)
    args = ap.parse_args(argv)
    write_atomic(args.json_path, run(args.backend, args.device, max(args.repeats, 1), max(args.warmup, 0)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
