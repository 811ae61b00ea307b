"""The native audit: each framework's own initializers measured in spec terms.

For every :class:`initspec.native.NativeInit` entry of a framework this process can load
(:mod:`initspec.conformance.natives`), the audit draws the framework's own values and runs

1. :func:`~initspec.conformance.checks.check_draw` against the scheme the spec says the native
   *is* (``entry.scheme`` with ``native_params``): all pass -> the spec's description is confirmed;
2. the same checks against the scheme its *name* suggests (``entry.name_suggests``), where that
   differs: failures there are the measured departure (Keras ``GlorotNormal`` is not the
   untruncated ``glorot_normal``; torch ``Linear`` is not ``he_uniform``);
3. a determinism check (same seed -> same values) for random natives;
4. the fan probe (:func:`~initspec.conformance.fanprobe.probe_fans`) for natives whose variance
   depends on the fans: which fan, which scale, which distribution and truncation it measurably
   uses, checked against the spec's description with ``fan_check``.

Native mismatches are *findings*: failing checks get the verdict ``finding`` (never ``fail``), and
each entry yields one ``NativeFinding`` record (conformance/results.py). Complex dtypes are audited
where a framework samples them (``natives.<fw>.COMPLEX``), with a sample large enough to resolve
JAX's 1.87% complex-variance excess, and :data:`VARIANTS` audits calls with non-default arguments
whose departures only show there (``trunc_normal_(std=0.02)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np

from initspec.distributions import Plan, resolve
from initspec.families import FAMILY_TABLE, get_family
from initspec.layouts import compute_fans, get_layout
from initspec.native import NATIVE, NativeInit, native_params, natives_for
from initspec.schemes import get_scheme

from . import checks as C
from . import fanprobe
from .fanprobe import DENSE_PROBE_POINTS, PROBE_POINTS
from .samples import sample_summary
from .seeds import case_seed

NativeDraw = Callable[..., np.ndarray]

#: logical sizes of the audit draw: inputs of a dense weight, inputs/kernel of a conv weight
DENSE_IN = 256
CONV_IN = 32
CONV_KERNEL = (3, 3)
#: rank-4 draws for conv layouts and conv-only schemes
CONV_RANK = 4
#: draws of structured/deterministic natives (exact checks only): (n_in, n_out)
STRUCTURED_SIZE = (64, 128)
#: orthogonal natives: a square-ish matrix (QR cost grows as n^3)
ORTHOGONAL_SIZE = (256, 384)
#: families without a continuous element law (exact checks; no sample-size planning): those
#: declaring an ``audit_size``
STRUCTURED_FAMILIES = tuple(name for name, fam in FAMILY_TABLE.items() if fam.audit_size is not None)
#: the most elements one audit draw may have
MAX_AUDIT_ELEMENTS = 4_000_000
#: relative std error resolved by complex audits: JAX's complex truncated normal has std
#: 0.96196/0.95311 = 1.0093 x the target, so the draw must resolve well under 1% in std
COMPLEX_REL_STD_ERR = 0.003



@dataclass(frozen=True)
class Variant:
    """A native called with non-default arguments (``kwargs`` go to the framework call)."""

    key: str  # NativeInit.key of the base entry
    label: str  # shown as the native name
    kwargs: dict[str, Any]
    params: dict[str, Any]  # the spec scheme's params for this call
    suggests_params: dict[str, Any] = field(default_factory=dict)


#: calls whose departure from their name only shows with non-default arguments
VARIANTS: tuple[Variant, ...] = (
    # torch/nn/init.py::trunc_normal_: a, b are absolute; with std=0.02 the default +-2 bounds are
    # +-100 sigma: practically untruncated, while the name suggests +-2 sigma.
    Variant("torch:torch.nn.init.trunc_normal_", "torch.nn.init.trunc_normal_(std=0.02)", {"std": 0.02},
            {"mean": 0.0, "std": 0.02, "low": -2.0, "high": 2.0},
            {"mean": 0.0, "std": 0.02, "a": -2.0, "b": 2.0}),
)


@dataclass
class AuditCase:
    """One audited call: an entry (possibly a variant), its draw, dtype and seed."""

    entry: NativeInit
    draw: NativeDraw
    dtype: str = "float32"
    label: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: the spec scheme's params of this call (None: ``native_params`` of the entry)
    params: dict[str, Any] | None = None
    suggests_params: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        base = self.label or self.entry.name
        return base if self.dtype == "float32" else f"{base} [{self.dtype}]"

    def values(self, shape: tuple[int, ...], seed: int) -> np.ndarray:
        return np.asarray(self.draw(tuple(shape), int(seed), self.dtype, **self.kwargs))


# ---------------------------------------------------------------------------- shapes
def draw_rank(entry: NativeInit) -> int:
    """Rank of the audit draw: 4 for conv layouts, conv layers and conv-only schemes."""
    lay = get_layout(entry.layout)
    conv = lay.min_rank >= 3 or get_family(get_scheme(entry.scheme).family).conv_only
    return CONV_RANK if conv or "Conv" in entry.name else 2


def layout_shape(layout: str, rank: int, n_in: int, n_out: int, kernel: tuple[int, ...] = CONV_KERNEL
                 ) -> tuple[int, ...]:
    """A weight shape of ``rank`` under ``layout`` with ``n_in`` on its in-role axes, ``n_out`` on
    its out-role axes, the kernel on the receptive axes, and ``n_in`` on batch axes (depthwise
    channels)."""
    roles = get_layout(layout).roles((2,) * rank)
    shape = [1] * rank
    rec = list(kernel) + [1] * rank
    for ax in roles["receptive"]:
        shape[ax] = rec.pop(0)
    for ax in roles["in"] + roles["batch"]:
        shape[ax] = n_in
    for ax in roles["out"]:
        shape[ax] = n_out
    return tuple(shape)


def weight_plan(entry: NativeInit, shape: tuple[int, ...], dtype: str, params: dict[str, Any] | None = None,
                scheme: str | None = None) -> Plan:
    """The spec plan of the values ``entry`` draws for a weight of ``shape`` (a bias: its vector)."""
    lay = get_layout(entry.layout)
    fan_in = compute_fans(shape, lay).fan_in if entry.bias_of else None
    p = dict(params) if params is not None else native_params(entry, fan_in)
    if entry.role == "bias":
        out_axis = lay.roles(shape)["out"][0]
        return resolve(scheme or entry.scheme, (shape[out_axis],), None, dtype, **p)
    return resolve(scheme or entry.scheme, shape, lay, dtype, **p)


def audit_shape(case: AuditCase, alpha: float, plan_n: Callable[..., int]) -> tuple[int, ...]:
    """A weight shape in the entry's layout with enough elements for the statistical checks
    (``plan_n``: 2% std error detected with power 99.9%; complex audits resolve 0.3%)."""
    e = case.entry
    rank = draw_rank(e)
    size = get_family(get_scheme(e.scheme).family).audit_size
    if size is not None:
        n_in, n_out = ORTHOGONAL_SIZE if size == "orthogonal" else STRUCTURED_SIZE
        return layout_shape(e.layout, rank, n_in if rank == 2 else CONV_IN, n_out if rank == 2 else 2 * CONV_IN)
    n_in = DENSE_IN if rank == 2 else CONV_IN
    rec = 1 if rank == 2 else math.prod(CONV_KERNEL)
    trial = layout_shape(e.layout, rank, n_in, n_in)
    plan = weight_plan(e, trial, case.dtype, case.params)
    if plan.element.is_complex:
        n = plan_n(plan, alpha=alpha, rel_std_err=COMPLEX_REL_STD_ERR)
    else:  # at least a normal law's size: every real native of a layout gets ONE shape, so a JIT
        # framework (JAX) compiles each primitive once for all of them
        n = max(plan_n(plan, alpha=alpha), plan_n(resolve("normal", trial, None, "float32"), alpha=alpha))
    n = min(int(n), MAX_AUDIT_ELEMENTS)
    per_out = n_in * rec if e.role != "bias" else 1
    n_out = max(n_in, math.ceil(n / per_out))
    if e.role == "bias":  # the bias has n_out elements; keep the weight (n_in x n_out) moderate
        n_in = max(1, min(n_in, MAX_AUDIT_ELEMENTS // max(n_out, 1)))
    return layout_shape(e.layout, rank, n_in, n_out)


def probe_shapes(entry: NativeInit) -> list[tuple[int, ...]]:
    """Fan-probe shapes in the entry's layout AND rank (a ``Conv2d`` needs rank 4): the fan
    probe's logical points (``fanprobe.PROBE_POINTS``: in, out and receptive field varied
    independently), the receptive field as a square kernel."""
    rank = draw_rank(entry)
    if rank == 2:
        return [layout_shape(entry.layout, 2, i, o, ()) for i, o, _ in DENSE_PROBE_POINTS]
    out = []
    for n_in, n_out, rec in PROBE_POINTS:
        side = math.isqrt(rec)
        kernel = (side,) * (rank - 2) if side**2 == rec and rank == CONV_RANK else (rec,) + (1,) * (rank - 3)
        out.append(layout_shape(entry.layout, rank, n_in, n_out, kernel))
    return out


# ---------------------------------------------------------------------------- audit
def _to_finding(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Native checks never fail the run: ``fail`` becomes ``finding``."""
    for c in checks:
        if c.get("verdict") == "fail":
            c["verdict"] = "finding"
    return checks


def _failed(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in checks if c.get("verdict") in ("fail", "finding")]


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.5g}"
    if isinstance(x, (list, tuple)) and all(isinstance(v, (int, float)) for v in x):
        return "[" + ", ".join(_fmt(float(v)) for v in x) + "]"
    return str(x)


def describe_plan(plan: Plan) -> str:
    """One line: the law, its std and support, and the fans it used, in spec terms."""
    e = plan.element
    parts = [f"{plan.scheme.name}({', '.join(f'{k}={_fmt(v)}' for k, v in plan.params.items())})"]
    if e.law.continuous_part:
        parts.append(f"{e.kind} law, std {_fmt(e.std)}")
    if plan.sampler == "truncated_normal" and not e.is_complex:
        a, b = plan.element.params.get("a"), plan.element.params.get("b")
        parts.append(f"truncated at {_fmt(a)}..{_fmt(b)} sigma of the pre-truncation normal")
    elif e.low is not None and e.high is not None and not e.law.degenerate:
        parts.append(f"support [{_fmt(e.low)}, {_fmt(e.high)}]")
    if plan.fans is not None:
        parts.append(f"fan_in {_fmt(plan.fans.fan_in)}, fan_out {_fmt(plan.fans.fan_out)}")
    if e.is_complex:
        parts.append(f"complex ({e.complex_rule}), E|w|^2 {_fmt(e.var)}")
    return "; ".join(parts)


def describe_probe(probe: dict[str, Any]) -> str:
    """The fan probe's result in one phrase."""
    bits = [f"fan {probe.get('mode')}", f"scale {_fmt(probe.get('scale'))}"]
    if probe.get("distribution"):
        bits.append(str(probe["distribution"]))
    if probe.get("truncation_sigma") is not None:
        bits.append(f"truncated at +-{_fmt(probe['truncation_sigma'])} sigma")
    return ", ".join(bits)


def check_sentence(c: dict[str, Any], against: str) -> str:
    """A failing check as one sentence of a departure."""
    iv = c.get("interval")
    where = f" (accepted {_fmt(iv)})" if iv else ""
    return (f"Measured against {against}: {c.get('check')} = {_fmt(c.get('measured'))}, expected "
            f"{_fmt(c.get('expected'))}{where}. {c.get('message') or ''}").strip()


def audit_case(case: AuditCase, *, backend: str, seed: int, alpha: float, probes: bool = True,
               device: str = "cpu", samples: dict[str, Any] | None = None
               ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Audit one native call: ``(checks, NativeFinding)`` (see the module docstring). With
    ``samples``, a histogram summary of the draw against the claimed law is added to it."""
    e = case.entry
    shape = audit_shape(case, alpha, C.plan_n)
    repro = (f"python -c \"from initspec.conformance.natives import load_natives; m, _ = load_natives("
             f"'{e.framework}'); x = m.draws()['{e.name}']({shape!r}, {seed}, '{case.dtype}'"
             + "".join(f", {k}={v!r}" for k, v in case.kwargs.items()) + ")\"")
    meta = {"backend": backend, "device": device, "subject": "native", "native_name": case.name,
            "seed": seed, "reproduce": repro}
    finding: dict[str, Any] = {
        "framework": e.framework, "name": case.name, "source": e.source, "equivalent_scheme": None,
        "claimed": "", "spec_terms": "", "measured": {"shape": list(shape), "dtype": case.dtype, "seed": seed},
        "departures": list(e.departures), "verdict": "matches",
    }
    checks: list[dict[str, Any]] = []
    try:
        values = case.values(shape, seed)
        claimed_plan = weight_plan(e, shape, case.dtype, case.params)
    except Exception as err:  # noqa: BLE001 - the framework refused: report, never abort
        finding.update(verdict="skip", spec_terms=f"could not be drawn: {type(err).__name__}: {err}")
        return checks, finding
    suggests = e.name_suggests if e.name_suggests and e.name_suggests != e.scheme else None
    finding["claimed"] = suggests or e.scheme
    finding["spec_terms"] = describe_plan(claimed_plan)
    got = _to_finding(C.check_draw(values, claimed_plan, alpha=alpha, meta=meta))
    checks += got
    if samples is not None:
        try:
            summ = sample_summary(values, claimed_plan, got, meta)
        except Exception:  # noqa: BLE001 - a plot summary is optional
            summ = None
        if summ is not None:
            samples[summ["group"]] = summ
    confirmed = not _failed(got)
    finding["measured"].update(_moments(values, claimed_plan, got))
    finding["measured"]["spec_description_confirmed"] = confirmed
    if confirmed:
        finding["equivalent_scheme"] = e.scheme
    else:
        finding["departures"].append(
            f"The spec describes {case.name} as {e.scheme}, but the measurement disagrees: "
            + " ".join(check_sentence(c, e.scheme) for c in _failed(got)[:3]))
    name_ok = True
    if suggests:
        try:
            sp = weight_plan(e, shape, case.dtype, case.suggests_params or {}, scheme=suggests)
        except Exception as err:  # noqa: BLE001
            finding["departures"].append(f"{suggests} cannot be resolved for this weight: {err}")
        else:
            got_s = _to_finding(C.check_draw(values, sp, alpha=alpha, meta=meta))
            checks += got_s
            bad = _failed(got_s)
            name_ok = not bad
            finding["measured"]["vs_name"] = {"scheme": suggests, "failed_checks": [c["check"] for c in bad],
                                              "std_ratio": _std_ratio(values, sp)}
            if bad:
                finding["departures"].append(check_sentence(bad[0], f"{suggests} (what the name suggests)"))
    # determinism on the first fan-probe shape: small, and already compiled for the probe (JAX)
    det_shape = probe_shapes(e)[0]
    det_plan = weight_plan(e, det_shape, case.dtype, case.params)
    det = C.check_determinism(lambda s: case.values(det_shape, s), (seed, seed + 1), meta, plan=det_plan)
    checks += _to_finding(det)
    reproducible = not _failed(det)
    for c in _failed(det):
        finding["departures"].append(f"Not reproducible from its seed: {c.get('message')}")
    if probes and _probe_applies(e):
        pc, probe = _probe(case, seed, alpha, claimed_plan, meta)
        checks += pc
        finding["measured"]["fan_probe"] = probe
        if probe and "error" not in probe:
            finding["spec_terms"] += f". Measured: {describe_probe(probe)}"
        elif probe:
            finding["departures"].append(f"The fan probe could not run: {probe['error']}")
        if _failed(pc):
            confirmed = False
            finding["departures"].append(check_sentence(_failed(pc)[0], "the spec's fan rule"))
    finding["measured"]["reproducible"] = reproducible
    finding["verdict"] = "matches" if confirmed and name_ok and reproducible else "departs"
    return checks, finding


def _probe_applies(e: NativeInit) -> bool:
    """Probe natives whose variance is a fan rule (weights; a bias vector has no fans of its own,
    its fan_in dependence is checked by the claimed law's bounds at the audit shape)."""
    return get_family(get_scheme(e.scheme).family).fan_rule == "variance_scaling" and e.role != "bias"


def _probe(case: AuditCase, seed: int, alpha: float, plan: Plan, meta: dict[str, Any]
           ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    e = case.entry
    try:
        probe = fanprobe.probe_fans(lambda shape, s: case.values(shape, s), e.layout,
                                    shapes=probe_shapes(e), seed=seed)
    except Exception as err:  # noqa: BLE001
        return [], {"error": f"{type(err).__name__}: {err}"}
    return _to_finding(fanprobe.fan_check(probe, plan, meta, alpha=alpha)), _jsonable(probe)


def _jsonable(probe: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in probe.items() if k != "per_shape"} | {"per_shape": probe.get("per_shape", [])}


def _std_ratio(values: np.ndarray, plan: Plan) -> float | None:
    e = plan.element
    if not e.std or not math.isfinite(e.std):
        return None
    v = np.asarray(values)
    s = math.sqrt(float(np.mean(np.abs(v - e.mean) ** 2))) if e.is_complex else float(np.std(v.astype(np.float64)))
    return s / e.std


def _moments(values: np.ndarray, plan: Plan, checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Measured std ratio, min/max and the p-values of the statistical checks."""
    v = np.asarray(values)
    r = np.abs(v) if np.iscomplexobj(v) else v
    out: dict[str, Any] = {"std_ratio": _std_ratio(values, plan), "min": float(np.min(r)) if r.size else None,
                           "max": float(np.max(r)) if r.size else None}
    out["p_values"] = {c["check"]: c.get("p_value") for c in checks if c.get("p_value") is not None}
    return out


# ---------------------------------------------------------------------------- per framework
def audit_cases(module: ModuleType, draws: dict[str, NativeDraw] | None = None) -> list[AuditCase]:
    """Every audited call of a natives module (``draws``: its callables, built if None): its
    entries in float32, their complex dtypes, and the :data:`VARIANTS` of its entries."""
    draws = module.draws() if draws is None else draws
    entries = {n.name: n for n in natives_for(module.FRAMEWORK) if n.audit}
    cases = []
    for name, draw in draws.items():
        e = entries.get(name)
        if e is None:
            continue
        cases.append(AuditCase(e, draw))
        for dt in getattr(module, "COMPLEX", {}).get(name, ()):
            cases.append(AuditCase(e, draw, dtype=dt))
    for v in VARIANTS:
        base = next((c for c in cases if c.entry.key == v.key and c.dtype == "float32"), None)
        if base is None:
            continue
        cases.append(AuditCase(base.entry, base.draw, label=v.label, kwargs=dict(v.kwargs), params=dict(v.params),
                               suggests_params=dict(v.suggests_params)))
    return cases


def audit_framework(module: ModuleType, *, backend: str, seed: int, alpha: float, probes: bool = True,
                    on_step: Callable[[str], None] | None = None, device: str = "cpu",
                    draws: dict[str, NativeDraw] | None = None, samples: dict[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Audit every native call of one framework module; ``(checks, findings)``. Entries of the
    framework that the module has no callable for are recorded as ``skip`` findings."""
    cases = audit_cases(module, draws)
    checks: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for i, case in enumerate(cases):
        if on_step:
            on_step(case.name)
        c, f = audit_case(case, backend=backend, seed=case_seed(seed, 20_000 + i), alpha=alpha, probes=probes,
                          device=device, samples=samples)
        checks += c
        findings.append(f)
    covered = {c.entry.name for c in cases}
    for e in natives_for(module.FRAMEWORK):
        if e.audit and e.name not in covered:
            findings.append(_empty_finding(e, "skip", f"no callable for {e.name} in natives/{module.FRAMEWORK}.py"))
    return checks, findings


def _empty_finding(e: NativeInit, verdict: str, reason: str) -> dict[str, Any]:
    return {"framework": e.framework, "name": e.name, "claimed": e.name_suggests or e.scheme,
            "spec_terms": reason, "equivalent_scheme": None, "measured": {}, "departures": list(e.departures),
            "verdict": verdict, "source": e.source}


def unavailable_findings(framework: str, reason: str) -> list[dict[str, Any]]:
    """One ``unavailable`` finding per entry of a framework that cannot be imported."""
    return [_empty_finding(e, "unavailable", f"{framework} is unavailable: {reason}")
            for e in NATIVE if e.framework == framework and e.audit]
