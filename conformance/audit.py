"""``initspec audit``: what a model's own initialization does, tensor by tensor (issue 13).

A framework sampler (:mod:`initspec.backends.torch.audit`, ``keras.audit``, ``jax.audit``) gives a
:class:`~initspec.backends._audit.ModelSample`: the logical tensors and ``draw(seed)``, one fresh
re-initialization of the model per seed. :func:`audit_sample` pools ``seeds`` draws per tensor and

1. **identifies** the law: a constant (every value equal), else the element family (normal,
   uniform, or normal truncated at +-2 sigma, by the smallest Kolmogorov-Smirnov distance at the
   measured std) and the scale: each fan set x mode (fan_in, fan_out, fan_avg) whose fitted
   ``scale = var * fan`` snaps to a simple value (:data:`SIMPLE_SCALES`: 1/3 = torch's
   ``a=sqrt(5)`` rule, 1 = LeCun/Glorot, 2 = He) and passes the variance test, else a plain
   ``std`` snapped to one significant digit (BERT's 0.02, torch Embedding's 1); nothing forced:
   a tensor matching no candidate is ``unidentified`` with its measured mean/std;
2. **tests the expected law** (the native.py entry of the layer or initializer, or a rule such as a
   transformers ``_init_weights``, or the user's ``expect=``): mean (z), variance (z, with the
   law's 4th moment) and KS. Any rejection is a *departure*, worded from the identified law
   ("std 1.020x the expected", "fan taken from fan_out (axis 0) instead of fan_in").

Error control as in the conformance engine (:class:`~initspec.conformance.budget.Budget`): the
family-wise level ``alpha`` is split (Bonferroni) over every test of the run (3 per tensor), so
a conforming model reports a false departure with probability at most ``alpha``. The seed count is
:func:`~initspec.conformance.budget.plan_n` (a 2% std error detected with power 99.9%) over the
tensor's size, capped by ``max_seeds``; the std error each tensor can resolve is reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from initspec.backends._audit import AuditError, AuditTensor, Expected, ModelSample
from initspec.distributions import ElementDistribution, resolve
from scipy import stats as sps

from . import stats as S
from .budget import DEFAULT_ALPHA_TOTAL, STD_POWER, STD_REL_ERROR, Budget

__all__ = ["AuditResult", "Finding", "audit_sample", "identify_values"]

#: scales a fitted variance-scaling scale snaps to (1/3: torch a=sqrt(5); 1: LeCun/Glorot; 2: He)
SIMPLE_SCALES = (Fraction(1, 6), Fraction(1, 4), Fraction(1, 3), Fraction(1, 2), Fraction(2, 3), Fraction(1),
                 Fraction(3, 2), Fraction(2), Fraction(3), Fraction(6))
#: |log| distance within which a fitted scale or std is snapped to a simple value; the variance
#: test then decides (small tensors: a wide snap, the test's interval is wide too)
SNAP_LOG_TOL = math.log(1.25)
#: statistical tests against the expected law, per tensor (mean, variance, KS)
TESTS_PER_TENSOR = 3
MODES = ("fan_in", "fan_out", "fan_avg")
TRUNC_SIGMA = 2.0
DEFAULT_MIN_SEEDS = 4
DEFAULT_MAX_SEEDS = 32


@dataclass
class Finding:
    """The audit of one logical tensor (all plain data: the JSON row)."""

    path: str
    layer: str
    role: str
    shape: list[int]
    n: int
    identified: dict[str, Any]
    measured: dict[str, float]
    expected: dict[str, Any] | None
    verdict: str  # matches | departure | identified | unidentified
    departures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    resolution: float | None = None  #: smallest relative std error detectable with power STD_POWER
    canonical: str = ""  #: canonical name across frameworks (:mod:`initspec.backends._names`), "" if none

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditResult:
    framework: str
    model: str
    how: str
    seeds: int
    alpha: float
    alpha_per_test: float
    findings: list[Finding]

    @property
    def departures(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == "departure"]

    def finding(self, path: str) -> Finding:
        for f in self.findings:
            if f.path == path:
                return f
        raise KeyError(f"No tensor {path!r}. Tensors: {[f.path for f in self.findings]}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "audit", "framework": self.framework, "model": self.model, "how": self.how,
                "seeds": self.seeds, "alpha": self.alpha, "alpha_per_test": self.alpha_per_test,
                "findings": [f.to_dict() for f in self.findings]}

    def table(self) -> Any:
        """A rich Table (``rich.print(result.table())``)."""
        from rich.table import Table

        t = Table(title=f"initspec audit: {self.model} ({self.framework}, {self.seeds} seeds)")
        for col in ("tensor", "shape", "identified", "fan used", "std (meas / spec)", "native / expected",
                    "verdict"):
            t.add_column(col)
        for f in self.findings:
            idf, m = f.identified, f.measured
            std = f"{m['std']:.4g} / {idf['std']:.4g}" if idf.get("std") is not None else f"{m['std']:.4g}"
            exp = f.expected["label"] if f.expected else "-"
            verdict = f.verdict + "".join(f"\n- {d}" for d in f.departures)
            t.add_row(f.path, "x".join(map(str, f.shape)), idf["label"], idf.get("fan_text") or "-", std, exp,
                      verdict)
        return t


# ------------------------------------------------------------------------ laws
def _law(scheme: str, shape: tuple[int, ...], fans: tuple[float, float] | None, **params: Any
         ) -> ElementDistribution:
    return resolve(scheme, shape, layout=None, fans=fans, **params).element


def _family_law(dist: str, std: float) -> ElementDistribution:
    """A zero-mean law of ``dist`` (normal | uniform | truncated_normal at +-2 sigma) with ``std``."""
    return _law("variance_scaling", (1,), (1.0, 1.0), scale=std * std, mode="fan_in", distribution=dist)


def _var_test(x: np.ndarray, law: ElementDistribution, alpha: float) -> S.TestResult:
    n = x.size
    mu4 = law.fourth_central_moment
    se = math.sqrt(max(((mu4 if mu4 is not None else 3 * law.var**2) - law.var**2) / n, 1e-300))
    return S.z_test(float(np.var(x)), law.var, se, alpha, n)


def _mean_test(x: np.ndarray, law: ElementDistribution, alpha: float) -> S.TestResult:
    return S.z_test(float(np.mean(x)), law.mean, math.sqrt(law.var / x.size) or 1e-300, alpha, x.size)


def _ks(x: np.ndarray, law: ElementDistribution, alpha: float) -> S.TestResult | None:
    if law.kind not in ("normal", "uniform", "truncnorm"):
        return None
    return S.ks_test(x, law.cdf, alpha)


def _passes(r: S.TestResult | None) -> bool:
    return r is None or r.interval[0] <= r.measured <= r.interval[1]


def _snap_std(std: float) -> float:
    """``std`` to one significant digit (0.0198 -> 0.02, 0.98 -> 1)."""
    e = math.floor(math.log10(std))
    return round(std / 10**e) * 10**e


def _frac(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _mode_text(mode: str, axes: str, fan_set: str) -> str:
    where = "" if fan_set == "layout" else f" of the {fan_set}"
    return f"{mode}{where}" + (f" ({axes})" if axes and fan_set == "layout" else "")


# ------------------------------------------------------------------------ identification
def identify_values(x: np.ndarray, t: AuditTensor, alpha: float) -> dict[str, Any]:
    """The law of the pooled values ``x`` of tensor ``t`` (module docstring, step 1)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size and np.all(x == x[0]):
        v = float(x[0])
        name = {0.0: "zeros", 1.0: "ones"}.get(v, f"constant({v:.6g})")
        return {"family": "constant", "label": name, "scheme": "constant", "value": v, "std": 0.0,
                "distribution": "point", "mode": None, "scale": None, "fan": None, "fan_text": None}
    m, s = float(np.mean(x)), float(np.std(x))
    if s == 0 or not math.isfinite(s):
        return _unidentified(m, s)
    centred = x - m if abs(m) > 5 * s / math.sqrt(x.size) else x
    dists = {d: S.ks_statistic(centred, _family_law(d, s).cdf)[0] for d in ("normal", "uniform", "truncated_normal")}
    dist = min(dists, key=dists.__getitem__)
    shape = (max(1, x.size),)
    candidates: list[dict[str, Any]] = []
    for fan_set, (fi, fo) in t.fans.items():
        for mode in MODES:
            fan = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
            fitted = s * s * fan
            scale = min(SIMPLE_SCALES, key=lambda f: abs(math.log(fitted / float(f))))
            if abs(math.log(fitted / float(scale))) > SNAP_LOG_TOL:
                continue
            law = _law("variance_scaling", shape, (fi, fo), scale=float(scale), mode=mode, distribution=dist)
            candidates.append({"family": "variance_scaling", "scheme": "variance_scaling", "mode": mode,
                               "scale": float(scale), "distribution": dist, "fan": fan, "fan_set": fan_set,
                               "label": f"variance_scaling({_frac(scale)}, {mode}, {dist})",
                               "fan_text": f"{_mode_text(mode, t.axes, fan_set)} = {fan:g}", "_law": law})
    # a plain law: uniform by its bound (Keras' +-0.05), others by their std (BERT's 0.02)
    std0 = _snap_std(s * math.sqrt(3)) / math.sqrt(3) if dist == "uniform" else _snap_std(s)
    if abs(math.log(std0 / s)) <= SNAP_LOG_TOL:
        law = _family_law(dist, std0)
        label = (f"uniform(+-{std0 * math.sqrt(3):.4g})" if dist == "uniform" else
                 f"{dist}(std={std0:.4g})")
        candidates.append({"family": dist, "scheme": dist, "mode": None, "scale": None, "distribution": dist,
                           "fan": None, "fan_text": None, "label": label, "_law": law})
    e = t.expected
    if e is not None:  # the expected law's own reading first (e.g. glorot of the stacked q/k/v matrix)
        mode = e.params.get("mode") or _scheme_mode(e.scheme)
        candidates.sort(key=lambda c: (c["mode"] != mode or t.fans.get(c.get("fan_set", "")) != e.fans))
    for c in candidates:
        law = c.pop("_law")
        if m != 0 and centred is not x:
            continue
        if _passes(_var_test(centred, law, alpha)) and _passes(_ks(centred, law, alpha)):
            c.update(std=law.std, truncation=TRUNC_SIGMA if dist == "truncated_normal" else None)
            return c
    return _unidentified(m, s, dist)


def _unidentified(m: float, s: float, dist: str | None = None) -> dict[str, Any]:
    return {"family": "unidentified", "scheme": None, "distribution": dist, "mode": None, "scale": None,
            "fan": None, "fan_text": None, "std": None,
            "label": f"unidentified (mean {m:.4g}, std {s:.4g}" + (f", closest family {dist})" if dist else ")")}


# ------------------------------------------------------------------------ departures
def _expected_dict(e: Expected, law: ElementDistribution) -> dict[str, Any]:
    return {"label": e.label, "scheme": e.scheme, "params": dict(e.params), "native": e.native, "source": e.source,
            "std": law.std, "mean": law.mean, "distribution": law.kind,
            "fans": list(e.fans) if e.fans else None}


def _departures(x: np.ndarray, t: AuditTensor, law: ElementDistribution, idf: dict[str, Any],
                alpha: float) -> list[str]:
    e = t.expected
    assert e is not None
    x = np.asarray(x, dtype=np.float64).ravel()
    if law.kind == "point":
        bad = int(np.sum(x != law.mean))
        return [] if bad == 0 else [f"{bad} of {x.size} values differ from {e.label} = {law.mean:g} "
                                    f"(identified {idf['label']})"]
    out = []
    if idf["family"] == "constant":
        return [f"all values are {idf['value']:g}: {e.label} draws random values"]
    mean, var = _mean_test(x, law, alpha), _var_test(x, law, alpha)
    if not _passes(mean):
        out.append(f"mean {mean.measured:.4g}, expected {law.mean:.4g} (p={mean.p_value:.2g})")
    if not _passes(var):
        ratio = math.sqrt(var.measured / law.var)
        out.append(f"std {ratio:.4f}x the expected {e.label}'s {law.std:.4g} (p={var.p_value:.2g})")
        exp_mode = e.params.get("mode") or _scheme_mode(e.scheme)
        if idf.get("mode") and exp_mode and idf["mode"] != exp_mode:
            out.append(f"fan taken from {idf['fan_text']} instead of {exp_mode}")
    ks = _ks(x - (np.mean(x) if not _passes(mean) else 0.0), law, alpha) if _passes(var) else None
    if not _passes(ks):
        assert ks is not None
        out.append(f"distribution is {idf.get('distribution') or 'other'}, expected {law.kind} "
                   f"(KS D={ks.measured:.3g}, p={ks.p_value:.2g})")
    return out


def _scheme_mode(scheme: str) -> str | None:
    from initspec.schemes import get_scheme

    return get_scheme(scheme).defaults.get("mode")


def _name_note(t: AuditTensor, law: ElementDistribution) -> list[str]:
    e = t.expected
    if e is None or not e.name_suggests or law.var == 0:
        return []
    try:
        named = _law(e.name_suggests, t.shape if len(t.shape) >= 2 else (1,), e.fans)
    except Exception:  # noqa: BLE001 - a name we cannot resolve for this tensor: no note
        return []
    r = law.var / named.var
    fr = Fraction(r).limit_denominator(12)
    ratio = _frac(fr) if abs(float(fr) / r - 1) < 1e-6 else f"{r:.4g}"
    return [f"variance is {ratio} of {e.name_suggests}'s, which its name suggests (std {math.sqrt(r):.3f}x)"]


# ------------------------------------------------------------------------ the run
def plan_seeds(tensors: list[AuditTensor], alpha: float, min_seeds: int, max_seeds: int) -> int:
    """Re-initializations for the smallest tensor to detect a 2% std error of a normal law (at
    level ``alpha``, power :data:`STD_POWER`: :func:`~initspec.conformance.budget.plan_n`), capped."""
    from .budget import plan_n

    need = plan_n(resolve("normal", (1,), layout=None), rel_std_err=STD_REL_ERROR, alpha=alpha)
    per = [math.ceil(need / max(1, math.prod(t.shape))) for t in tensors]
    return int(min(max_seeds, max(min_seeds, max(per))))


def _resolution(n: int, alpha: float) -> float:
    za, zb = S.z_two_sided(alpha), float(sps.norm.isf(1.0 - STD_POWER))
    return math.sqrt(1 + (za + zb) * math.sqrt(2.0 / max(n, 1))) - 1


def audit_sample(sample: ModelSample, *, seed: int = 0, seeds: int | None = None,
                 alpha: float = DEFAULT_ALPHA_TOTAL, min_seeds: int = DEFAULT_MIN_SEEDS,
                 max_seeds: int = DEFAULT_MAX_SEEDS) -> AuditResult:
    """Audit ``sample`` with ``seeds`` re-initializations (default :func:`plan_seeds`) starting at
    ``seed``; ``alpha`` is the family-wise level of the whole audit."""
    S.check_alpha(alpha)
    budget = Budget(alpha, TESTS_PER_TENSOR * len(sample.tensors))
    per_test = budget.per_test()
    if seeds is None:
        seeds = plan_seeds(sample.tensors, per_test, min_seeds, max_seeds)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise AuditError(f"Argument `seeds` must be an int >= 1. Received: seeds={seeds!r}")
    pools: dict[str, list[np.ndarray]] = {t.path: [] for t in sample.tensors}
    for k in range(seeds):
        values = sample.draw(seed * 100_003 + k)
        for t in sample.tensors:
            pools[t.path].append(np.asarray(values[t.path], dtype=np.float64).ravel())
    findings = [_audit_tensor(t, np.concatenate(pools[t.path]), per_test) for t in sample.tensors]
    return AuditResult(sample.framework, sample.model, sample.how, seeds, alpha, per_test, findings)


def _audit_tensor(t: AuditTensor, x: np.ndarray, alpha: float) -> Finding:
    idf = identify_values(x, t, alpha)
    measured = {"mean": float(np.mean(x)), "std": float(np.std(x)),
                "excess_kurtosis": float(sps.kurtosis(x)) if np.std(x) > 0 else 0.0}
    exp, deps, notes = None, [], list(t.notes)
    if t.expected is not None:
        e = t.expected
        law = _law(e.scheme, t.shape if (len(t.shape) >= 2 or e.fans) else (max(1, math.prod(t.shape)),),
                   e.fans, **e.params)
        exp = _expected_dict(e, law)
        deps = _departures(x, t, law, idf, alpha)
        notes += _name_note(t, law) + list(e.documented)
    if deps:
        verdict = "departure"
    elif idf["family"] == "unidentified":
        verdict = "unidentified" if t.expected is None else "matches"
    else:
        verdict = "matches" if t.expected is not None else "identified"
    return Finding(t.path, t.layer, t.role, list(t.shape), int(x.size), idf, measured, exp, verdict, deps, notes,
                   None if idf["family"] == "constant" else _resolution(x.size, alpha), t.canonical)

