"""``python -m initspec.conformance.experiments BACKEND [--config JSON] --out FILE``.

Runs the experiments for one backend in this process and writes its ``experiments`` section
(:func:`initspec.conformance.experiments.run_experiments`) to ``FILE`` as JSON. ``initspec
experiments`` starts one such process per backend, so that no two frameworks share a process.
Exit status 0 when the file was written (whatever the verdicts), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from initspec.conformance.results import write_atomic

from .config import ExperimentConfig
from .driver import run_experiments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m initspec.conformance.experiments")
    parser.add_argument("backend")
    parser.add_argument("--config", default="{}", help="ExperimentConfig fields as a JSON object")
    parser.add_argument("--out", required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    try:
        config = ExperimentConfig.from_dict(json.loads(args.config))
        part = run_experiments(args.backend, config)
    except (ValueError, TypeError) as e:  # bad config or backend name (json errors are ValueErrors)
        print(f"initspec experiments: error: {e}", file=sys.stderr)
        return 2
    write_atomic(args.out, part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
