"""Run the three experiments on one backend, evaluate the claims, merge backends.

``run_experiments(backend, config)`` returns the ``experiments`` section of the results document
(:class:`initspec.conformance.results.Experiments`) for ONE backend; the conformance runner calls
it in one process per backend and combines the outputs with :func:`merge_experiments`, which
decides each claim's overall verdict (every backend that ran must reach the same verdict).
"""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from initspec import registry
from initspec.backends import BackendUnavailable
from initspec.errors import InitSpecError, unknown

from . import metrics
from ._engine import Engine
from .claims import CLAIMS, evaluate_claims, merge_claims
from .config import ExperimentConfig
from .tasks import (
    ACTIVATIONS, SIGNAL_INITS, SYMMETRY_ACTIVATION, SYMMETRY_INITS, TRAIN_REPLICATES, TRAIN_RUNS, Init, inits, layer_seed,
    signal_task, symmetry_task, train_task,
)

EXPERIMENTS = ("symmetry", "signal", "trainability")


def load_engine(backend: str) -> Engine:
    """The backend's engine; raises :class:`BackendUnavailable` if its framework is missing."""
    fw = registry.get(backend)
    if fw.experiments is None:
        raise unknown("backend with an experiments engine", "backend", backend,
                      [f.name for f in registry.frameworks().values() if f.experiments])
    try:
        module = importlib.import_module(fw.experiments)
    except ImportError as e:
        raise BackendUnavailable(
            f"Backend {backend!r} is unavailable for the experiments: {type(e).__name__}: {e}") from e
    return module.ENGINE()


def _describe(init: Init) -> dict[str, Any]:
    return {"init": init.key, "label": init.label, "scheme": init.scheme, "params": dict(init.params)}


def run_symmetry(engine: Engine, config: ExperimentConfig) -> list[dict[str, Any]]:
    """Train the small tanh MLP from each symmetry init; count distinct units per hidden layer."""
    task = symmetry_task(config)
    x, y = engine.from_numpy(task.x), engine.from_numpy(task.y)
    table = inits(config)
    records = []
    for key in SYMMETRY_INITS:
        init = table[key]
        params0 = engine.init_params(init, task.sizes, lambda i: layer_seed(config, "symmetry", i))
        before = engine.kernels(params0)
        params, losses = engine.train(params0, x, y, SYMMETRY_ACTIVATION, config.sym_steps, config.sym_lr)
        probe = engine.probe(params, x, y, SYMMETRY_ACTIVATION)
        after = engine.kernels(params)
        layers = []
        for i, h in enumerate(probe.hidden):
            with np.errstate(invalid="ignore"):
                moved = float(np.max(np.abs(after[i].astype(np.float64) - before[i])))
            layers.append({
                "layer": i + 1, "units": int(after[i].shape[1]),
                "distinct_units": metrics.distinct_count(after[i]),
                "distinct_outputs": metrics.distinct_count(h),
                "distinct_grads": metrics.distinct_count(engine.canonical(probe.grads[i])),
                "rank": metrics.activation_rank(h),
                "max_weight_change": moved,
            })
        records.append({"backend": engine.backend, "weights_from": engine.weights_from, **_describe(init),
                        "activation": SYMMETRY_ACTIVATION, "steps": config.sym_steps, "lr": config.sym_lr,
                        "layers": layers, "loss_curve": losses, "initial_loss": losses[0],
                        "final_loss": losses[-1], "baseline_loss": task.baseline_loss})
    return records


def run_signal(engine: Engine, config: ExperimentConfig) -> list[dict[str, Any]]:
    """One forward/backward pass of the deep net per init x activation; per-layer statistics."""
    task = signal_task(config)
    x, y = engine.from_numpy(task.x), engine.from_numpy(task.y)
    table = inits(config)
    records = []
    for key in SIGNAL_INITS:
        init = table[key]
        params = engine.init_params(init, task.sizes, lambda i: layer_seed(config, "signal", i))
        for activation in ACTIVATIONS:
            probe = engine.probe(params, x, y, activation)
            grads = [engine.canonical(g) for g in probe.grads[: config.depth]]
            records.append({"backend": engine.backend, "weights_from": engine.weights_from, **_describe(init),
                            "activation": activation, "depth": config.depth, "width": config.width,
                            "loss": probe.loss, **metrics.layer_stats(probe.hidden, grads, activation)})
    return records


def run_trainability(engine: Engine, config: ExperimentConfig) -> list[dict[str, Any]]:
    """A fixed SGD budget for the deep nets of :data:`TRAIN_RUNS`; the loss curve. Runs listed in
    :data:`TRAIN_REPLICATES` are repeated with independent weights; the record of the first draw
    carries the others' losses under ``replicates``."""
    task = train_task(config)
    x, y = engine.from_numpy(task.x), engine.from_numpy(task.y)
    table = inits(config)
    records = []
    for activation, key in TRAIN_RUNS:
        init = table[key]
        lr = config.train_lr(activation)
        runs = []
        for rep in range(TRAIN_REPLICATES.get((activation, key), 1)):
            params = engine.init_params(init, task.sizes,
                                        lambda i, rep=rep: layer_seed(config, "trainability", i, rep))
            runs.append(engine.train(params, x, y, activation, config.steps, lr)[1])
        losses = runs[0]
        rec = {"backend": engine.backend, "weights_from": engine.weights_from, **_describe(init),
               "activation": activation, "depth": config.train_depth, "width": config.train_width,
               "steps": config.steps, "lr": lr, "loss_curve": losses,
               "initial_loss": losses[0], "final_loss": losses[-1],
               "baseline_loss": task.baseline_loss}
        if len(runs) > 1:
            rec["replicates"] = [{"replicate": rep, "initial_loss": c[0], "final_loss": c[-1]}
                                 for rep, c in enumerate(runs[1:], start=1)]
        records.append(rec)
    return records


RUNNERS: dict[str, Callable[[Engine, ExperimentConfig], list[dict[str, Any]]]] = {
    "symmetry": run_symmetry, "signal": run_signal, "trainability": run_trainability,
}


def run_experiments(backend: str, config: ExperimentConfig | dict[str, Any] | None = None, *,
                    experiments: Sequence[str] = EXPERIMENTS, catch_errors: bool = True) -> dict[str, Any]:
    """The ``experiments`` results section for ONE backend.

    A missing framework gives ``status: "unavailable"`` (claims ``unavailable``) instead of an
    exception; with ``catch_errors`` an exception while setting up the backend or inside an
    experiment is recorded (``status: "error"`` with the traceback) and the claims that need it
    fail with that error. Non-finite numbers are never errors: they are the measured outcome.
    """
    registry.get(backend)
    config = config if isinstance(config, ExperimentConfig) else ExperimentConfig.from_dict(config)
    bad = [e for e in experiments if e not in EXPERIMENTS]
    if bad:
        raise unknown("experiment", "experiments", bad[0], EXPERIMENTS)
    info: dict[str, Any] = {"backend": backend, "status": "ok", "reason": None, "errors": {},
                            "duration_s": {}, "cpu_s": {}}
    try:
        engine = load_engine(backend)
    except BackendUnavailable as e:
        info.update(status="unavailable", reason=str(e))
        return _section(backend, config, info, evaluate_claims(backend, None, config, unavailable=str(e)))
    except Exception as e:  # noqa: BLE001 - e.g. a broken adapter module; recorded, see docstring
        if not catch_errors:
            raise
        return failed_result(backend, config, f"setting up the backend raised {type(e).__name__}: {e}")
    info.update(weights_from=engine.weights_from, versions=engine.versions())
    out = _section(backend, config, info, [])
    with engine.session():
        for name in experiments:
            start, cpu = time.perf_counter(), time.process_time()
            try:
                out[name] = RUNNERS[name](engine, config)
            except Exception as e:  # noqa: BLE001 - recorded, see docstring
                if not catch_errors:
                    raise
                info["status"] = "error"
                info["errors"][name] = f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"
            info["duration_s"][name] = round(time.perf_counter() - start, 3)
            info["cpu_s"][name] = round(time.process_time() - cpu, 3)
    for key in ("duration_s", "cpu_s"):
        info[key]["total"] = round(sum(info[key].values()), 3)
    out["claims"] = evaluate_claims(backend, out, config, errors=info["errors"], ran=experiments)
    return out


def _section(backend: str, config: ExperimentConfig, info: dict[str, Any], claims: list[dict[str, Any]]
             ) -> dict[str, Any]:
    """An ``experiments`` section for one backend with no records yet."""
    return {"config": config.as_dict(), "backends": {backend: info}, "claims": claims,
            "symmetry": [], "signal": [], "trainability": []}


def failed_result(backend: str, config: ExperimentConfig, reason: str) -> dict[str, Any]:
    """The section of a backend whose run produced nothing (set-up failed, its process died):
    status ``"error"`` and every claim ``fail`` with ``reason``."""
    info = {"backend": backend, "status": "error", "reason": reason,
            "errors": {e: reason for e in EXPERIMENTS}, "duration_s": {}, "cpu_s": {}}
    return _section(backend, config, info, evaluate_claims(backend, {}, config, errors=info["errors"]))


def merge_experiments(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Combine per-backend ``experiments`` sections (same config) into one, with each claim's
    overall verdict decided by :func:`initspec.conformance.experiments.claims.merge_claims`."""
    parts = [p for p in parts if p]
    if not parts:
        raise InitSpecError("merge_experiments needs at least one per-backend result. Received: parts=[]")
    config = parts[0].get("config")
    for p in parts[1:]:
        if p.get("config") != config:
            diff = sorted(k for k in set(config) | set(p.get("config") or {})
                          if config.get(k) != (p.get("config") or {}).get(k))
            raise InitSpecError(
                f"Cannot merge experiments run with different configs (differ in {', '.join(diff)}). "
                f"Received: backends={[b for q in parts for b in q.get('backends', {})]}"
            )
    merged: dict[str, Any] = {"config": config, "backends": {}, **{name: [] for name in EXPERIMENTS}}
    for p in parts:
        dup = set(p.get("backends", {})) & set(merged["backends"])
        if dup:
            raise InitSpecError(f"Backend {sorted(dup)[0]!r} appears twice. Received: backends={sorted(dup)}")
        merged["backends"].update(p.get("backends", {}))
        for name in EXPERIMENTS:
            merged[name].extend(p.get(name) or [])
    merged["claims"] = merge_claims([p.get("claims") or [] for p in parts])
    return merged


__all__ = ["CLAIMS", "EXPERIMENTS", "failed_result", "load_engine", "merge_experiments", "run_experiments"]
