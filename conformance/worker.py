"""One backend's conformance run, inside that backend's own process.

``python -m initspec.conformance.worker --config JSON --out PART.json`` runs, for one backend and
each requested device: every case of :data:`initspec.conformance.checks.DEFAULT_MATRIX` drawn through
the backend's uniform harness API (:mod:`initspec.backends`) in the backend's own layout, the exact
and statistical checks of :func:`~initspec.conformance.checks.check_draw`, determinism, the fan
probe of each named variance-scaling scheme, then the native audit of the framework(s) this process
has loaded (:mod:`initspec.conformance.native_audit`) and the seed-claim experiments. It writes a
*partial* results document (``backends``, ``checks``, ``samples``, ``native``, ``experiments``) that
:mod:`initspec.conformance.runner` merges, and prints progress events on stdout as lines starting
with :data:`PROGRESS_PREFIX` followed by a JSON object.

Only the uniform harness API is used, so a new adapter needs nothing here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np

from initspec._jsonio import jsonable, write_atomic
from initspec import registry
from initspec.backends import BackendUnavailable, load
from initspec.distributions import Plan, resolve
from initspec.dtypes import dtype_name
from initspec.errors import unknown
from initspec.layouts import translate
from initspec.schemes import get_scheme

from .records import BackendRun, Check
from . import checks as C
from . import fanprobe
from .native_audit import audit_cases, audit_framework, unavailable_findings
from .natives import load_natives
from .samples import CDF_POINTS, HIST_BINS, HIST_COVERAGE, sample_summary  # noqa: F401 - re-exported
from .seeds import SEED_MODULUS, case_seed  # noqa: F401 - re-exported
from .statistical import MAX_TESTS_PER_LAW

PROGRESS_PREFIX = "@@initspec-progress "
DEVICES = ("cpu", "gpu")
#: spec framework of each backend's default layout (for translating the matrix's shapes)
#: schemes whose fan rule the fan probe recovers from each adapter: one per fan mode and
#: distribution family (every named scheme's std is already checked on a dense and a conv shape
#: by the matrix, which pins its fans; the probe adds the black-box view at 6 shapes)
PROBED_SCHEMES = ("glorot_uniform", "he_normal", "lecun_truncated_normal")
#: sizes of the seed-claim experiments (``initspec.conformance.experiments.DEFAULT`` / ``QUICK``)
EXPERIMENT_SIZES = ("default", "quick")
#: largest seed ``initspec.conformance.experiments.ExperimentConfig`` accepts
EXPERIMENT_SEED_MAX = 2000
#: statistical tests budgeted per native call and law: the most ``check_draw`` runs on one law
NATIVE_TESTS_PER_CALL = MAX_TESTS_PER_LAW


@dataclass
class WorkerConfig:
    """What one backend process runs."""

    backend: str
    devices: tuple[str, ...] = ("cpu",)
    seed: int = 0
    #: family-wise error level of this process's share of the whole run
    alpha: float = 1e-3
    quick: bool = False
    experiments: bool = True
    natives: bool = True
    probes: bool = True
    #: only these schemes of the matrix (canonical names; None: all)
    schemes: tuple[str, ...] | None = None
    #: experiments configuration: "default" (the report's 50 x 256 nets) or "quick" (None: quick
    #: with ``quick``, else default)
    experiments_size: str | None = None

    def validate(self) -> "WorkerConfig":
        registry.get(self.backend)
        for d in self.devices:
            if d not in DEVICES:
                raise unknown("device", "device", d, DEVICES)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"Argument `seed` must be a non-negative int. Received: seed={self.seed!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"Argument `alpha` must be in (0, 1). Received: alpha={self.alpha!r}")
        if self.schemes is not None:
            self.schemes = tuple(get_scheme(s).name for s in self.schemes)
        if self.experiments_size not in (None, *EXPERIMENT_SIZES):
            raise unknown("experiments size", "experiments_size", self.experiments_size, EXPERIMENT_SIZES)
        return self


Progress = Callable[[dict[str, Any]], None]


def experiment_seed(seed: int) -> int:
    """The experiments' seed for a run seed (their validated range is 0..EXPERIMENT_SEED_MAX)."""
    return seed % (EXPERIMENT_SEED_MAX + 1)


@dataclass
class Case:
    """One matrix case placed in a backend's own layout."""

    index: int
    scheme: str
    layout: str
    shape: tuple[int, ...]
    dtype: str
    params: dict[str, Any] = field(default_factory=dict)
    #: the matrix's logical layout/shape this case was translated from
    logical: tuple[str, tuple[int, ...]] | None = None

    def label(self) -> str:
        p = "".join(f",{k}={v}" for k, v in self.params.items())
        return f"{self.scheme}{p} {self.layout}{list(self.shape)} {self.dtype}"


def _layout_name(layout: Any) -> str:
    return layout if isinstance(layout, str) else layout.name


def backend_cases(backend: str, matrix: list[tuple], quick: bool = False,
                  schemes: "tuple[str, ...] | None" = None) -> list[Case]:
    """The matrix's cases in ``backend``'s default layout (``initspec.layouts.translate``: the same
    logical layer; dirac/delta_orthogonal honour the layout too); layouts without an equivalent
    in that framework (keras_depthwise, conv_transpose in JAX) keep theirs.
    ``quick``: the first float32 case of each scheme; ``schemes``: only those."""
    out: list[Case] = []
    seen: set[str] = set()
    entry = registry.get(backend)
    fw = entry.layout if entry.matrix_in_own_layout else None
    for i, (scheme, layout, shape, dtype, params) in enumerate(matrix):
        if quick and (dtype != "float32" or scheme in seen):
            continue
        if schemes is not None and scheme not in schemes:
            continue
        seen.add(scheme)
        lay, shp = _layout_name(layout), tuple(shape)
        logical = None
        if fw is not None:
            try:
                new_shape, new_layout = translate(shp, lay, fw)
            except ValueError:
                pass
            else:
                if (new_layout.name, new_shape) != (lay, shp):
                    logical = (lay, shp)
                lay, shp = new_layout.name, tuple(new_shape)
        out.append(Case(i, scheme, lay, shp, dtype, dict(params or {}), logical))
    return out


def reproduce_call(backend: str, case: Case, seed: int, device: str) -> str:
    """A copy-paste command that redraws exactly these values."""
    params = "".join(f", {k}={v!r}" for k, v in case.params.items())
    return (
        f"python -c \"from initspec.backends import load; b = load('{backend}'); "
        f"x = b.to_numpy(b.sample('{case.scheme}', {case.shape!r}, layout='{case.layout}', "
        f"dtype='{case.dtype}', seed={seed}, device='{device}'{params})); print(x.mean(), x.std())\""
    )


def base_check(meta: dict[str, Any], plan_like: dict[str, Any], check: str, tier: str, verdict: str,
               message: str, **extra: Any) -> dict[str, Any]:
    """A :class:`~initspec.conformance.records.Check` record built here (availability, errors,
    device), as a dict; its id is made by :func:`~initspec.conformance.records.group_id`."""
    return Check.make(
        backend=meta.get("backend"), device=meta.get("device"), subject=meta.get("subject", "initspec"),
        native_name=meta.get("native_name"), scheme=plan_like.get("scheme"), layout=plan_like.get("layout"),
        shape=plan_like.get("shape") or (), dtype=plan_like.get("dtype"), params=plan_like.get("params"),
        check=check, tier=tier, verdict=verdict, message=message, seed=meta.get("seed"),
        reproduce=meta.get("reproduce", ""), **extra,
    ).as_dict()


def _case_dict(case: Case) -> dict[str, Any]:
    return {"scheme": case.scheme, "layout": case.layout, "shape": case.shape, "dtype": case.dtype,
            "params": case.params}


def is_unsupported(err: BaseException, dtype: str) -> bool:
    """An adapter refusing a dtype it does not have (a skip, not a failure)."""
    return isinstance(err, (TypeError, ValueError)) and dtype in str(err) and "dtype" in str(err)


# ---------------------------------------------------------------------------- one case
@dataclass
class CaseResult:
    checks: list[dict[str, Any]]
    plan: Plan | None = None
    values: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def draw_case(C: ModuleType, mod: ModuleType, case: Case, plan: Plan, seed: int, device: str,
              alpha: float) -> tuple[Any, np.ndarray, int]:
    """The native value of the first draw, and all draws' values stacked when one draw is
    smaller than :func:`~initspec.conformance.checks.plan_n` needs (``draws_needed``)."""
    n_draws = C.draws_needed(plan, alpha)
    x = mod.sample(case.scheme, case.shape, layout=case.layout, dtype=case.dtype, seed=seed, device=device,
                   **case.params)
    if n_draws == 1:
        return x, mod.to_numpy(x), 1
    more = [mod.to_numpy(mod.sample(case.scheme, case.shape, layout=case.layout, dtype=case.dtype,
                                    seed=case_seed(seed, k), device=device, **case.params))
            for k in range(1, n_draws)]
    return x, np.stack([mod.to_numpy(x), *more]), n_draws


def run_case(C: ModuleType, mod: ModuleType, backend: str, case: Case, *, device: str, alpha: float, seed: int,
             determinism: bool = True) -> CaseResult:
    """Every check of one matrix case drawn through an adapter module (the uniform harness API):
    a ``sample``/``resolve`` error is one failing (or, for a dtype the framework lacks, skipped)
    check; then device, ``check_draw`` and (``determinism``) same-seed/different-seed checks."""
    meta: dict[str, Any] = {"backend": backend, "device": device, "subject": "initspec", "native_name": None,
                            "seed": seed, "reproduce": reproduce_call(backend, case, seed, device)}
    try:
        plan = resolve(case.scheme, case.shape, case.layout, case.dtype, **case.params)
    except Exception as e:  # noqa: BLE001 - a matrix/spec inconsistency is a failure, reported
        return CaseResult([base_check(meta, _case_dict(case), "resolve", "exact", "fail", f"resolve() failed: {e}")])
    try:
        x, values, n_draws = draw_case(C, mod, case, plan, seed, device, alpha)
    except Exception as e:  # noqa: BLE001
        verdict = "skip" if is_unsupported(e, case.dtype) else "fail"
        return CaseResult([base_check(meta, _case_dict(case), "sample", "exact", verdict,
                                      f"sample() raised {type(e).__name__}: {e}")], plan)
    where = _safe(lambda: mod.device_of(x), "?")
    checks = [base_check(meta, _case_dict(case), "device", "exact", "pass" if where == device else "fail",
                         f"values live on {where!r}" + ("" if where == device else f", expected {device!r}"),
                         measured=where, expected=device)]
    checks += C.check_draw(values, plan, alpha=alpha, meta={**meta, "native_dtype": _native_dtype(x)}, draws=n_draws)
    if determinism:
        def draw(s: int) -> np.ndarray:
            return mod.to_numpy(mod.sample(case.scheme, case.shape, layout=case.layout, dtype=case.dtype, seed=s,
                                           device=device, **case.params))

        try:
            checks += C.check_determinism(draw, (seed, case_seed(seed, 1)), meta, plan=plan)
        except Exception as e:  # noqa: BLE001
            checks.append(base_check(meta, _case_dict(case), "determinism", "exact", "fail",
                                     f"redrawing raised {type(e).__name__}: {e}"))
    return CaseResult(checks, plan, values, meta)


# ---------------------------------------------------------------------------- the run
class Worker:
    """Runs every check of one backend and collects a partial results document."""

    def __init__(self, cfg: WorkerConfig, progress: Progress | None = None) -> None:
        self.cfg = cfg.validate()
        self.progress = progress or (lambda ev: None)
        self.part: dict[str, Any] = {"backends": [], "checks": [], "samples": {}, "native": [],
                                     "experiments": None, "messages": []}

    # -- progress -------------------------------------------------------------------------
    def _emit(self, event: str, **kw: Any) -> None:
        self.progress({"event": event, "backend": self.cfg.backend, **kw})

    def note(self, message: str) -> None:
        self.part["messages"].append(message)
        self._emit("note", message=message)

    # -- entry ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        t0 = time.perf_counter()
        try:
            mod = load(cfg.backend)
        except BackendUnavailable as e:
            for dev in cfg.devices:
                self._unavailable(dev, str(e), {})
            if cfg.natives:
                for fw in registry.get(cfg.backend).natives:
                    self.part["native"].extend(unavailable_findings(fw, str(e)))
            self._emit("done")
            return self.part
        versions = _safe(lambda: dict(mod.versions()), {})
        cases = backend_cases(cfg.backend, list(C.DEFAULT_MATRIX), quick=cfg.quick, schemes=cfg.schemes)
        devices = []
        for dev in cfg.devices:
            ok, reason = _safe(lambda: tuple(mod.device_available(dev)), (False, "device_available() raised"))  # noqa: B023 - called at once
            if ok:
                devices.append(dev)
            else:
                self._unavailable(dev, reason or f"no {dev} device", versions)
        natives = self._native_modules() if cfg.natives and "cpu" in devices else []
        total = len(devices) * (len(cases) + (0 if cfg.quick or not cfg.probes else len(PROBED_SCHEMES)))
        total += sum(m.n_cases for m in natives)
        total += 1 if cfg.experiments else 0
        self._emit("start", total=total)
        alpha = self._alpha_per_test(C, cases, devices, natives)
        timings = self.part.setdefault("timings", {"import_s": round(time.perf_counter() - t0, 3)})
        for dev in devices:
            t_dev = time.perf_counter()
            self._run_device(C, mod, dev, cases, alpha)
            timings[f"{dev}_s"] = round(time.perf_counter() - t_dev, 3)
            self.part["backends"].append(BackendRun(
                backend=cfg.backend, device=dev, status="ok", versions=versions,
                device_name=_safe(lambda: mod.device_name(dev), None),  # noqa: B023 - called at once
                duration_s=round(time.perf_counter() - t_dev, 3),
            ).as_dict())
        t_nat = time.perf_counter()
        if natives:
            for nm in natives:
                checks, findings = audit_framework(
                    nm.module, backend=cfg.backend, seed=cfg.seed, alpha=alpha, probes=cfg.probes and not cfg.quick,
                    on_step=lambda name: self._emit("step", label=f"native {name}"), draws=nm.draws_cache,
                    samples=self.part["samples"],
                )
                self.part["checks"].extend(checks)
                self.part["native"].extend(findings)
        for fw, reason in getattr(self, "_native_unavailable", []):
            self.part["native"].extend(unavailable_findings(fw, reason))
        timings["natives_s"] = round(time.perf_counter() - t_nat, 3)
        t_exp = time.perf_counter()
        if cfg.experiments:
            self._experiments()
        timings["experiments_s"] = round(time.perf_counter() - t_exp, 3)
        self.part["duration_s"] = round(time.perf_counter() - t0, 3)
        self._emit("done")
        return self.part

    # -- pieces ---------------------------------------------------------------------------
    def _unavailable(self, device: str, reason: str, versions: dict[str, str]) -> None:
        meta = {"backend": self.cfg.backend, "device": device, "subject": "initspec"}
        self.part["backends"].append(BackendRun(backend=self.cfg.backend, device=device, status="unavailable",
                                                reason=reason, versions=versions, duration_s=0.0).as_dict())
        self.part["checks"].append(base_check(meta, {"scheme": "*"}, "availability", "exact", "unavailable", reason))

    def _native_modules(self) -> list[Any]:
        out = []
        self._native_unavailable: list[tuple[str, str]] = []
        for fw in registry.get(self.cfg.backend).natives:
            mod, reason = load_natives(fw)
            if mod is None:
                self._native_unavailable.append((fw, reason))
                continue
            try:
                draws = mod.draws()
            except Exception as e:  # noqa: BLE001 - a framework API change is reported, not fatal
                self._native_unavailable.append((fw, f"building its native callables failed: {e!r}"))
                continue
            out.append(_NativeModule(mod, draws, len(audit_cases(mod, draws))))
        return out

    def _alpha_per_test(self, C: ModuleType, cases: list[Case], devices: list[str], natives: list[Any]) -> float:
        """Bonferroni share of this process's alpha (``cfg.alpha``) over its planned statistical
        tests: the matrix cases on each device, the native audits (two laws each), the probes."""
        per_device = 0
        for case in cases:
            try:
                per_device += C.tests_per_plan(resolve(case.scheme, case.shape, case.layout, case.dtype, **case.params))
            except Exception:  # noqa: BLE001 - a case that does not resolve is reported when it runs
                continue
        native_tests = sum(2 * NATIVE_TESTS_PER_CALL * n for n in (m.n_cases for m in natives))
        probes = 0 if self.cfg.quick or not self.cfg.probes else len(PROBED_SCHEMES)
        n_tests = per_device * len(devices) + native_tests + probes * len(devices)
        return float(C.Budget(alpha_total=self.cfg.alpha, n_tests=max(1, n_tests)).per_test())

    def _run_device(self, C: ModuleType, mod: ModuleType, device: str, cases: list[Case], alpha: float) -> None:
        cfg = self.cfg
        summarized: set[str] = set()
        determinism_done: set[str] = set()
        for case in cases:
            self._emit("step", label=f"{device} {case.label()}")
            res = run_case(C, mod, cfg.backend, case, device=device, alpha=alpha, seed=case_seed(cfg.seed, case.index),
                           determinism=case.scheme not in determinism_done)
            determinism_done.add(case.scheme)
            self.part["checks"].extend(res.checks)
            once = f"{cfg.backend}/{device}/{case.scheme}"  # one summary per scheme and device
            if res.values is not None and once not in summarized and case.dtype == "float32":
                summ = _safe(lambda: sample_summary(res.values, res.plan, res.checks, res.meta), None)  # noqa: B023
                if summ is not None:
                    self.part["samples"][summ["group"]] = summ
                    summarized.add(once)
        if cfg.probes and not cfg.quick:
            self._probe_adapter(C, mod, device, alpha)

    def _probe_adapter(self, C: ModuleType, mod: ModuleType, device: str, alpha: float) -> None:
        cfg = self.cfg
        layout = mod.DEFAULT_LAYOUT
        for i, scheme in enumerate(PROBED_SCHEMES):
            seed = case_seed(cfg.seed, 10_000 + i)
            self._emit("step", label=f"{device} fan probe {scheme}")

            def draw(shape: tuple[int, ...], s: int, _scheme: str = scheme) -> np.ndarray:
                return mod.to_numpy(mod.sample(_scheme, tuple(shape), layout=layout, dtype="float32", seed=s,
                                               device=device))

            meta = {"backend": cfg.backend, "device": device, "subject": "initspec", "native_name": None,
                    "seed": seed, "layout": layout,
                    "reproduce": f"initspec identify initspec.backends.{cfg.backend}:{scheme} --layout {layout}"}
            try:
                result = fanprobe.probe_fans(draw, layout, seed=seed)
                self.part["checks"].extend(fanprobe.fan_check(result, scheme, meta, alpha=alpha))
            except Exception as e:  # noqa: BLE001
                self.part["checks"].append(base_check(
                    meta, {"scheme": scheme, "layout": layout, "dtype": "float32"}, "fan_probe", "fan", "fail",
                    f"fan probe raised {type(e).__name__}: {e}"))

    def _experiments(self) -> None:
        self._emit("step", label="experiments")
        try:
            from initspec.conformance.experiments import DEFAULT, QUICK, run_experiments
        except ImportError as e:
            self.note(f"experiments skipped: initspec.conformance.experiments is not available ({e})")
            return
        try:
            size = self.cfg.experiments_size or ("quick" if self.cfg.quick else "default")
            base = QUICK if size == "quick" else DEFAULT
            self.part["experiments"] = run_experiments(self.cfg.backend,
                                                       base.with_(seed=experiment_seed(self.cfg.seed)))
        except Exception as e:  # noqa: BLE001 - experiments never abort the conformance run
            self.note(f"experiments failed on {self.cfg.backend}: {type(e).__name__}: {e}")
            self.part["experiments_error"] = traceback.format_exc(limit=5)


@dataclass
class _NativeModule:
    module: ModuleType
    draws_cache: dict[str, Any]
    n_cases: int = 0


def _safe(fn: Callable[[], Any], default: Any) -> Any:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - optional metadata only
        return default


def _native_dtype(x: Any) -> str | None:
    """The framework's own dtype name of a returned tensor (None when it has no dtype)."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    try:
        return dtype_name(dt)
    except (TypeError, ValueError):
        return str(dt)


def _print_progress(ev: dict[str, Any]) -> None:
    sys.stdout.write(PROGRESS_PREFIX + json.dumps(ev) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """``python -m initspec.conformance.worker --config '{"backend": "numpy", ...}' --out PART.json``."""
    ap = argparse.ArgumentParser(prog="initspec.conformance.worker")
    ap.add_argument("--config", required=True, help="WorkerConfig as JSON")
    ap.add_argument("--out", required=True, help="partial results JSON to write")
    args = ap.parse_args(argv)
    raw = json.loads(args.config)
    raw["devices"] = tuple(raw.get("devices", ("cpu",)))
    if raw.get("schemes") is not None:
        raw["schemes"] = tuple(raw["schemes"])
    cfg = WorkerConfig(**raw)
    part = Worker(cfg, _print_progress).run()
    part["config"] = asdict(cfg)
    write_atomic(args.out, jsonable(part))
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through the runner's subprocess
    sys.exit(main())
