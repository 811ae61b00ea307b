"""Benchmark: render a full 4-backend CPU report (30 sample groups x 4 backends, 20 000 draws each)
from its JSON file, as ``initspec report`` does. Prints timings and size; asserts nothing.

    python -m tests.reports.bench_render [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from initspec.conformance.results import write_atomic
from initspec.reports import write_report

from .fake_results import large_results

#: The issue's budget for rendering from JSON.
BUDGET_S = 10.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        doc = large_results()
        src = write_atomic(Path(tmp) / "results.json", doc)
        walls, cpus = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            info = write_report(src, Path(tmp) / "report.html")
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        print(f"results.json: {src.stat().st_size / 1e6:.2f} MB, {len(doc['samples'])} sample summaries, "
              f"{len(doc['checks'])} checks")
        print(f"report.html:  {info.bytes / 1e6:.2f} MB")
        print(f"render from JSON: median {statistics.median(walls):.2f} s wall, "
              f"{statistics.median(cpus):.2f} s CPU over {args.repeat} runs (budget {BUDGET_S:.0f} s)")


if __name__ == "__main__":
    main()
