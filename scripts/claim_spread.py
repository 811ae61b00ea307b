"""Spread of the trainability claims' measured quantity over seeds and BLAS thread counts.

    python scripts/claim_spread.py --threads 1 --seeds 0:50 > spread1.tsv

Runs the NumPy engine's trainability experiment at the report's DEFAULT config for tanh with
N(0, 1) (too large) and Glorot normal, one seed at a time, under ``threadpool_limits(threads)``,
and prints ``threads seed init final_loss baseline_loss initial_loss`` per run. The margins of
``large_init_training_unstable`` (``UNSTABLE_MIN_BASELINE_RATIO``) were set from this output
(docs/measurements/claims-spread.md).
"""

from __future__ import annotations

import argparse

from threadpoolctl import threadpool_limits

from initspec.conformance.experiments import DEFAULT
from initspec.conformance.experiments import driver
from initspec.conformance.experiments.driver import load_engine, run_trainability

RUNS = (("tanh", "normal_large"), ("tanh", "glorot_normal"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seeds", default="0:50", help="start:stop")
    args = ap.parse_args()
    start, stop = (int(x) for x in args.seeds.split(":"))
    driver.TRAIN_RUNS = RUNS  # only the runs the claim compares
    engine = load_engine("numpy")
    print("threads\tseed\tinit\tfinal_loss\tbaseline_loss\tinitial_loss")
    with threadpool_limits(limits=args.threads):
        for seed in range(start, stop):
            for r in run_trainability(engine, DEFAULT.with_(seed=seed)):
                print(f"{args.threads}\t{seed}\t{r['init']}\t{r['final_loss']}\t{r['baseline_loss']}\t"
                      f"{r['initial_loss']}", flush=True)


if __name__ == "__main__":
    main()
