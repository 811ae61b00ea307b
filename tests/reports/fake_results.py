"""A synthetic but realistic results document (``initspec.conformance.results`` schema v2).

Samples are drawn with NumPy from each scheme's exact element distribution
(``initspec.resolve(...).element``), and every statistical check is computed honestly from them
(Bonferroni-corrected intervals, variance interval from the kurtosis), so a plot or a verdict
in the report means what it would mean for a real run. Deliberate defects make the report's
failure paths visible:

* ``FAILING``: (backend, scheme) pairs whose samples are scaled (a wrong std), so their variance
  and KS checks fail;
* a backend run that is unavailable (torch on gpu by default), with ``unavailable`` checks;
* skips with reasons, native ``finding`` checks, native-audit departures from
  :mod:`initspec.native`, fan rows with framework departures, seed-claim experiments (one claim
  failing on one backend) and a ``portable`` section.

``make_results()`` is small and quick (tests); ``large_results()`` is a full 4-backend CPU run
with 30 sample groups (size and speed limits).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from initspec import resolve
from initspec.conformance.results import SCHEMA, SCHEMA_VERSION
from initspec.native import NATIVE

BACKENDS = ("numpy", "torch", "tensorflow", "jax")
#: Each backend's own layout for a Dense(FAN_IN -> FAN_OUT) weight.
DENSE_LAYOUT = {"numpy": "keras", "torch": "torch", "tensorflow": "keras", "jax": "jax"}
VERSIONS = {"numpy": {"numpy": "2.4.0"}, "torch": {"torch": "2.13.0"},
            "tensorflow": {"tensorflow": "2.21.0", "keras": "3.15.1"}, "jax": {"jax": "0.10.2", "flax": "0.12.8"}}
FAN_IN, FAN_OUT = 256, 128
#: (backend, scheme) -> factor applied to the samples: a wrong std.
FAILING = {("tensorflow", "he_truncated_normal"): 1.0 / 0.87962566, ("jax", "glorot_uniform"): 0.93}
#: Stochastic schemes with the parameters used for them.
STOCHASTIC: tuple[tuple[str, dict[str, Any]], ...] = (
    ("normal", {"std": 0.05}), ("uniform", {"low": -0.05, "high": 0.05}),
    ("truncated_normal", {"std": 0.05}), ("truncated_normal_abs", {"std": 0.02}),
    ("variance_scaling", {"scale": 2.0, "mode": "fan_out", "distribution": "uniform"}),
    ("glorot_normal", {}), ("glorot_truncated_normal", {}), ("glorot_uniform", {}),
    ("he_normal", {}), ("he_truncated_normal", {}), ("he_uniform", {}),
    ("lecun_normal", {}), ("lecun_truncated_normal", {}), ("lecun_uniform", {}),
    ("orthogonal", {}), ("sparse", {"sparsity": 0.1, "std": 0.01}),
)
DETERMINISTIC = ("zeros", "ones", "identity")
SMALL_SCHEMES = ("normal", "truncated_normal", "glorot_uniform", "he_normal", "he_truncated_normal",
                 "lecun_truncated_normal", "orthogonal", "sparse")
EXACT_CHECKS = ("shape", "dtype", "device", "determinism")
ALPHA = 1e-3
#: number of statistical tests per sample group (mean, variance, kurtosis, ks)
TESTS_PER_GROUP = 4


def _shape(backend: str) -> list[int]:
    return [FAN_OUT, FAN_IN] if DENSE_LAYOUT[backend] == "torch" else [FAN_IN, FAN_OUT]


def _draw(el: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """n i.i.d. draws of one element's exact law."""
    if el.kind == "sparse":
        x = rng.normal(0.0, el.params["std"], n)
        x[rng.random(n) < el.params["zero_fraction"]] = 0.0
        return x
    return np.asarray(el.rv().rvs(size=n, random_state=rng), dtype=float)


def _pdf(el: Any, x: np.ndarray) -> np.ndarray:
    if el.kind == "sparse":  # continuous part only (the point mass at 0 is not a density)
        return (1 - el.params["zero_fraction"]) * stats.norm.pdf(x, scale=el.params["std"])
    return el.rv().pdf(x)


def _interval(centre: float, half: float) -> list[float]:
    return [centre - half, centre + half]


def _moments(x: np.ndarray, el: Any, z: float) -> dict[str, dict[str, Any]]:
    """Measured vs exact mean, std and excess kurtosis with acceptance intervals."""
    n = len(x)
    var_half = z * math.sqrt(max(el.fourth_central_moment - el.var**2, 0.0) / n)
    lo_v, hi_v = max(el.var - var_half, 0.0), el.var + var_half
    kurt_half = z * math.sqrt(24.0 / n) * (1 + abs(el.excess_kurtosis or 0.0))
    return {
        "mean": {"measured": float(x.mean()), "expected": el.mean, "interval": _interval(el.mean, z * el.std / math.sqrt(n))},
        "std": {"measured": float(x.std()), "expected": el.std, "interval": [math.sqrt(lo_v), math.sqrt(hi_v)]},
        "excess_kurtosis": {"measured": float(stats.kurtosis(x)), "expected": el.excess_kurtosis,
                            "interval": _interval(el.excess_kurtosis or 0.0, kurt_half)},
        "min": float(x.min()), "max": float(x.max()),
    }


def _check(base: dict[str, Any], name: str, tier: str, measured: Any, expected: Any, verdict: str,
           message: str = "", **extra: Any) -> dict[str, Any]:
    c = {**base, "id": f"{base['_gid']}/{name}", "group": base["_gid"], "check": name, "tier": tier, "measured": measured,
         "expected": expected, "verdict": verdict, "message": message, "interval": None, "p_value": None,
         "alpha": None, "n": None, "std_ratio": None, **extra}
    del c["_gid"]
    return c


def _group(backend: str, device: str, scheme: str, params: dict[str, Any], dtype: str, n: int, bins: int,
           grid: int, cdf_points: int, rng: np.random.Generator, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Checks and the sample summary of one (backend, scheme, dtype)."""
    layout = DENSE_LAYOUT[backend]
    shape = _shape(backend)
    gid = f"{backend}/{device}/initspec/{scheme}/{layout}[{','.join(map(str, shape))}]/{dtype}"
    repro = (f"initspec conform --backends {backend} --device {device} --schemes {scheme} --dtypes {dtype} "
             f"--seed {seed}")
    base = {"_gid": gid, "backend": backend, "device": device, "subject": "initspec", "native_name": None,
            "scheme": scheme, "layout": layout, "shape": shape, "dtype": dtype, "params": params, "seed": seed,
            "reproduce": repro}
    checks = [_check(base, c, "exact", True, True, "pass") for c in EXACT_CHECKS]
    if backend == "numpy" and dtype == "bfloat16":
        return [_check(base, "dtype", "exact", None, dtype, "skip", "NumPy has no bfloat16 dtype")], None
    plan = resolve(scheme, shape, layout, dtype, **params)
    el = plan.element
    if el.kind in ("point", "structured"):
        checks.append(_check(base, "constant", "exact", el.mean, el.mean, "pass"))
        return checks, None
    x = _draw(el, n, rng) * FAILING.get((backend, scheme), 1.0)
    a = ALPHA / TESTS_PER_GROUP
    z = float(stats.norm.ppf(1 - a / 2))
    m = _moments(x, el, z)
    for name, key in (("mean", "mean"), ("variance", "std"), ("kurtosis", "excess_kurtosis")):
        mm = m[key]
        ok = mm["interval"][0] <= mm["measured"] <= mm["interval"][1]
        ratio = mm["measured"] / el.std if name == "variance" and el.std > 0 else None
        msg = "" if ok else f"{key} {mm['measured']:.5g} outside [{mm['interval'][0]:.5g}, {mm['interval'][1]:.5g}]"
        checks.append(_check(base, name, "statistical", mm["measured"], mm["expected"], "pass" if ok else "fail", msg,
                             interval=mm["interval"], alpha=a, n=n, std_ratio=ratio))
    if el.kind == "sparse":  # the KS test needs a continuous law; sparse has an atom at 0
        checks.append(_check(base, "ks", "statistical", None, None, "skip",
                             "KS test skipped: the sparse law has an atom at 0 (not continuous)"))
    else:
        ks = stats.kstest(x, el.cdf)
        checks.append(_check(base, "ks", "statistical", float(ks.statistic), 0.0, "pass" if ks.pvalue >= a else "fail",
                             "" if ks.pvalue >= a else f"KS D={ks.statistic:.4f}, p={ks.pvalue:.2e} < {a:.2e}",
                             p_value=float(ks.pvalue), alpha=a, n=n))
    lo, hi = float(x.min()), float(x.max())
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    pdf_x = np.linspace(lo, hi, grid)
    xs = np.sort(x)
    q = np.linspace(0, n - 1, cdf_points).astype(int)
    cdf_diff = (q + 1) / n - np.asarray(el.cdf(xs[q]), dtype=float)
    sample = {"group": gid, "alpha": a, "backend": backend, "device": device, "scheme": scheme, "shape": shape, "dtype": dtype, "layout": layout,
              "params": params, "n": n, "subject": "initspec", "hist_edges": edges.tolist(), "hist_counts": counts.tolist(),
              "pdf_x": pdf_x.tolist(), "pdf_y": _pdf(el, pdf_x).tolist(), "cdf_diff_x": xs[q].tolist(),
              "cdf_diff_y": cdf_diff.tolist(), "moments": m, "bounds": [el.low, el.high]}
    return checks, sample


def _fan_rows() -> list[dict[str, Any]]:
    """Fans of four logical layers in each framework's layout (see initspec.layouts' notes)."""
    k = 9  # 3x3 receptive field
    layers = {  # layer -> spec (fan_in, fan_out), [(framework, layout, shape, fan_in, fan_out, note)]
        "Dense(256->128)": ((256, 128), [
            ("torch", "torch_linear", [128, 256], 256, 128, ""), ("keras", "keras_dense", [256, 128], 256, 128, ""),
            ("flax", "flax_dense", [256, 128], 256, 128, "")]),
        "Conv2D(3x3, 64->128)": ((64 * k, 128 * k), [
            ("torch", "torch_conv", [128, 64, 3, 3], 64 * k, 128 * k, ""),
            ("keras", "keras_conv", [3, 3, 64, 128], 64 * k, 128 * k, ""),
            ("flax", "flax_conv", [3, 3, 64, 128], 64 * k, 128 * k, "")]),
        "ConvTranspose2D(3x3, 64->128)": ((128 * k, 64 * k), [
            ("torch", "torch_conv_transpose", [64, 128, 3, 3], 128 * k, 64 * k, "fan_in from the output channels"),
            ("keras", "keras_conv_transpose", [3, 3, 128, 64], 128 * k, 64 * k, "fan_in from the output channels"),
            ("flax", "flax_conv", [3, 3, 64, 128], 64 * k, 128 * k,
             "flax ConvTranspose kernel is (kh, kw, in, out): fans swapped vs torch/Keras")]),
        "DepthwiseConv2D(3x3, 64 ch, x1)": ((k, k), [
            ("torch", "torch_conv (groups=64)", [64, 1, 3, 3], k, 64 * k, "torch ignores groups in fan_out"),
            ("keras", "keras (compute_fans)", [3, 3, 64, 1], 64 * k, k, "channels counted as inputs"),
            ("flax", "flax_conv (feature_group_count=64)", [3, 3, 1, 64], k, 64 * k, "fan_out counts all channels")]),
    }
    rows = []
    for layer, ((sfi, sfo), frs) in layers.items():
        for fw, layout, shape, fi, fo, note in frs:
            std = {"glorot_uniform": math.sqrt(2.0 / (fi + fo)), "he_normal": math.sqrt(2.0 / fi),
                   "lecun_normal": math.sqrt(1.0 / fi)}
            rows.append({"layer": layer, "framework": fw, "layout": layout, "shape": shape, "fan_in": float(fi),
                         "fan_out": float(fo), "spec_fan_in": float(sfi), "spec_fan_out": float(sfo), "std": std,
                         "note": note})
    return rows


def _native(rng: np.random.Generator, available: Iterable[str]) -> list[dict[str, Any]]:
    """Native-audit findings built from initspec.native's table (measured numbers simulated)."""
    fw_backend = {"torch": "torch", "keras": "tensorflow", "jax": "jax", "flax": "jax", "haiku": "haiku"}
    out = []
    for e in NATIVE:
        if fw_backend[e.framework] not in available:
            out.append({"framework": e.framework, "name": e.name, "claimed": e.name_suggests or e.scheme,
                        "spec_terms": "", "equivalent_scheme": None, "measured": {}, "departures": [],
                        "verdict": "unavailable", "source": e.source})
            continue
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in e.params.items())
        out.append({
            "framework": e.framework, "name": e.name, "claimed": e.name_suggests or e.scheme,
            "spec_terms": f"{e.scheme}({params}) in layout {e.layout}", "equivalent_scheme": e.scheme,
            "measured": {"std_ratio": round(1.0 + rng.normal(0, 0.004), 4), "ks_p": round(float(rng.uniform(0.05, 1)), 3)},
            "departures": list(e.departures), "verdict": "departs" if e.departures else "matches", "source": e.source,
        })
    return out


def _native_checks(available: Sequence[str], device: str) -> list[dict[str, Any]]:
    """A few native-subject checks (findings, not failures)."""
    rows = [("torch", "torch.nn.Linear.weight", "he_uniform", 0.5774), ("tensorflow", "keras.initializers.GlorotNormal",
            "glorot_normal", 1.0), ("jax", "jax.nn.initializers.he_normal", "he_normal", 1.0)]
    out = []
    for b, name, scheme, ratio in rows:
        if b not in available:
            continue
        gid = f"{b}/{device}/native/{scheme}/{DENSE_LAYOUT[b]}[{FAN_IN},{FAN_OUT}]/float32"
        out.append({"id": f"{gid}/native_{'variance' if ratio != 1.0 else 'ks'}", "group": gid, "backend": b, "device": device,
                    "subject": "native", "native_name": name, "scheme": scheme, "layout": DENSE_LAYOUT[b],
                    "shape": _shape(b), "dtype": "float32", "params": {}, "check": "variance" if ratio != 1.0 else "ks",
                    "tier": "statistical", "measured": ratio, "expected": 1.0, "interval": None, "p_value": None,
                    "alpha": None, "n": 20000, "seed": 0, "std_ratio": ratio, "verdict": "finding",
                    "message": f"{name} is not {scheme}", "reproduce": f"initspec identify {name}"})
    return out


def _experiments(backends: Sequence[str], depth: int, steps: int, rng: np.random.Generator) -> dict[str, Any]:
    """Signal propagation, symmetry breaking, trainability and claims, from simple closed forms."""
    layers = np.arange(1, depth + 1)
    decay = {("relu", "he_normal"): 1.0, ("relu", "glorot_normal"): math.sqrt(0.5 * 1.5),
             ("relu", "lecun_normal"): math.sqrt(0.5), ("relu", "orthogonal"): math.sqrt(0.5),
             ("tanh", "he_normal"): 1.08, ("tanh", "glorot_normal"): 0.97, ("tanh", "lecun_normal"): 0.97,
             ("tanh", "orthogonal"): 0.985}
    signal = []
    for (act, scheme), f in decay.items():
        for b in backends:
            noise = np.exp(rng.normal(0, 0.01, depth).cumsum())
            act_std = (f ** layers * noise).tolist()
            grad = (f ** (depth - layers + 1) * noise[::-1]).tolist()
            signal.append({"backend": b, "weights_from": b, "init": scheme, "label": scheme, "scheme": scheme,
                           "params": {}, "activation": act, "depth": depth, "width": 256, "loss": 1.0,
                           "act_std": act_std, "grad_norm": grad, "saturation": [0.0] * depth,
                           "nonfinite_layer": None})
    t = np.arange(steps)
    symmetry, train = [], []
    for scheme, distinct, rate in (("zeros", 1, 0.0), ("constant", 1, 0.002), ("normal", 256, 0.03),
                                   ("glorot_uniform", 256, 0.04)):
        for b in backends:
            loss = np.abs(2.3 * np.exp(-rate * t) + 0.02 + rng.normal(0, 0.003, steps).cumsum() * 0.01)
            layers_ = [{"layer": i + 1, "units": 64, "distinct_units": min(distinct, 64), "distinct_outputs": 1,
                        "distinct_grads": 1, "rank": 1 if distinct == 1 else 64, "max_weight_change": 0.01}
                       for i in range(2)]
            symmetry.append({"backend": b, "weights_from": b, "init": scheme, "label": scheme, "scheme": scheme,
                             "params": {}, "activation": "tanh", "steps": steps, "lr": 0.1, "layers": layers_,
                             "loss_curve": loss.tolist(), "initial_loss": float(loss[0]),
                             "final_loss": float(loss[-1]), "baseline_loss": 2.3})
    for scheme, rate in (("he_normal", 0.05), ("lecun_normal", 0.02), ("glorot_uniform", 0.03)):
        for b in backends:
            r = rate * (0.4 if (b, scheme) == ("jax", "glorot_uniform") else 1.0)
            loss = np.abs(2.3 * np.exp(-r * t) + 0.01 + rng.normal(0, 0.002, steps))
            train.append({"backend": b, "weights_from": b, "init": scheme, "label": scheme, "scheme": scheme,
                          "params": {}, "activation": "tanh", "depth": 8, "width": 128, "steps": steps, "lr": 0.05,
                          "initial_loss": float(loss[0]), "final_loss": float(loss[-1]), "baseline_loss": 2.3,
                          "loss_curve": loss.tolist()})

    def per_backend(measure: Mapping[str, float], ok: Any) -> dict[str, dict[str, Any]]:
        return {b: {"measured": round(measure[b], 4), "verdict": "pass" if ok(measure[b]) else "fail"} for b in backends}

    final = {(r["backend"], r["scheme"]): r["final_loss"] for r in train}
    he_ratio = {r["backend"]: r["act_std"][-1] / r["act_std"][0] for r in signal
                if (r["activation"], r["scheme"]) == ("relu", "he_normal")}
    lecun = {r["backend"]: r["act_std"][-1] for r in signal if (r["activation"], r["scheme"]) == ("relu", "lecun_normal")}
    zeros = {r["backend"]: float(max(L["distinct_units"] for L in r["layers"])) for r in symmetry
             if r["scheme"] == "zeros"}
    glorot = {b: final[(b, "glorot_uniform")] for b in backends}
    claims = [
        {"id": "he-relu-preserves-signal", "claim": f"He (fan_in, gain sqrt 2) keeps the ReLU activation std within "
         f"a factor 2 over {depth} layers", "predicate": "0.5 <= act_std[L]/act_std[1] <= 2",
         "per_backend": per_backend(he_ratio, lambda v: 0.5 <= v <= 2)},
        {"id": "lecun-relu-vanishes", "claim": f"LeCun with ReLU halves the second moment per layer: act std below "
         f"1e-3 at depth {depth}", "predicate": "act_std[L] < 1e-3", "per_backend": per_backend(lecun, lambda v: v < 1e-3)},
        {"id": "zeros-never-break-symmetry", "claim": "All-zero weights never break symmetry: one distinct unit "
         "after training", "predicate": "distinct_units == 1", "per_backend": per_backend(zeros, lambda v: v == 1)},
        {"id": "glorot-tanh-trains", "claim": f"Glorot uniform trains a tanh MLP below loss 0.1 in {steps} steps",
         "predicate": "final_loss < 0.1", "per_backend": per_backend(glorot, lambda v: v < 0.1)},
    ]
    for c in claims:
        c["verdict"] = "pass" if all(v["verdict"] == "pass" for v in c["per_backend"].values()) else "fail"
    return {"config": {"depth": depth, "width": 256, "steps": steps, "seeds": [0, 1, 2], "batch": 128},
            "claims": claims, "symmetry": symmetry, "signal": signal, "trainability": train}


def _portable(backends: Sequence[str], schemes: Sequence[str], rng: np.random.Generator) -> dict[str, Any]:
    others = [b for b in backends if b != "numpy"]
    diff = {b: {s: float(abs(rng.normal(0, 3e-8))) for s in schemes} for b in others}
    ulp = {b: {s: int(rng.integers(0, 3)) for s in schemes} for b in others}
    return {"max_abs_diff": diff, "max_ulp": ulp, "reference": "numpy", "dtype": "float32"}


def make_results(
    *,
    schemes: Sequence[str] = SMALL_SCHEMES,
    dtypes: Sequence[str] = ("float32",),
    backends: Sequence[str] = BACKENDS,
    device: str = "cpu",
    unavailable: Sequence[tuple[str, str]] = (("torch", "gpu"),),
    n: int = 2000,
    bins: int = 30,
    grid: int = 64,
    cdf_points: int = 64,
    seed: int = 1234,
    versions: Mapping[str, Mapping[str, str]] | None = None,
    experiments: bool = True,
    depth: int = 24,
    steps: int = 120,
    max_groups: int | None = None,
) -> dict[str, Any]:
    """A results document (plain JSON types) with the defects listed in the module docstring."""
    rng = np.random.default_rng(seed)
    versions = {**VERSIONS, **(versions or {})}
    params = dict(STOCHASTIC)
    doc: dict[str, Any] = {
        "schema": SCHEMA, "version": SCHEMA_VERSION, "created": "2026-11-29T12:00:00+00:00", "duration_s": 184.2,
        "command": f"initspec conform --backends {','.join(backends)} --device {device} --seed {seed}",
        "environment": {"python": "3.11.9", "platform": "Linux-6.1-x86_64", "numpy": "2.4.0", "scipy": "1.17.0",
                        "initspec": "0.1.0"},
        "config": {"seed": seed, "alpha": ALPHA, "backends": list(backends), "device": device, "n": n},
        "backends": [], "checks": [], "samples": {}, "fans": _fan_rows(), "native": _native(rng, backends),
        "experiments": None, "portable": None, "summary": {},
    }
    for b in backends:
        doc["backends"].append({"backend": b, "device": device, "status": "ok", "reason": None,
                                "versions": dict(versions[b]), "device_name": "x86_64 CPU" if device == "cpu" else "NVIDIA H200",
                                "duration_s": round(float(rng.uniform(5, 60)), 1)})
    for b, dev in unavailable:
        reason = "CUDA is not available (torch.cuda.is_available() is False)" if dev == "gpu" else "framework missing"
        doc["backends"].append({"backend": b, "device": dev, "status": "unavailable", "reason": reason,
                                "versions": dict(versions.get(b, {})), "device_name": None, "duration_s": 0.0})
        for s in schemes[:3]:
            doc["checks"].append({"id": f"{b}/{dev}/initspec/{s}/-/float32/device",
                                  "group": f"{b}/{dev}/initspec/{s}/-/float32", "backend": b, "device": dev,
                                  "subject": "initspec", "scheme": s, "check": "device", "tier": "exact",
                                  "verdict": "unavailable", "message": reason, "reproduce": "", "shape": [],
                                  "dtype": "float32"})
    groups = [(s, d) for d in dtypes for s in schemes]
    if max_groups is not None:
        groups = groups[:max_groups]
    for s, d in groups:
        for b in backends:
            checks, sample = _group(b, device, s, params.get(s, {}), d, n, bins, grid, cdf_points, rng, seed)
            doc["checks"] += checks
            if sample is not None:
                doc["samples"][checks[0]["id"].rsplit("/", 1)[0]] = sample
    for s in DETERMINISTIC:
        for b in backends:
            checks, _ = _group(b, device, s, {}, "float32", n, bins, grid, cdf_points, rng, seed)
            doc["checks"] += checks
    doc["checks"] += _native_checks(backends, device)
    if "numpy" in backends:
        doc["checks"].append({"id": f"numpy/{device}/initspec/normal/keras[256,128]/bfloat16/dtype",
                              "group": f"numpy/{device}/initspec/normal/keras[256,128]/bfloat16", "backend": "numpy",
                              "device": device, "subject": "initspec", "scheme": "normal", "check": "dtype",
                              "tier": "exact", "verdict": "skip", "message": "NumPy has no bfloat16 dtype",
                              "reproduce": "", "shape": [256, 128], "dtype": "bfloat16"})
    if experiments:
        doc["experiments"] = _experiments(backends, depth, steps, rng)
    doc["portable"] = _portable(backends, [s for s, _ in STOCHASTIC[:6]], rng)
    counts = {"pass": 0, "fail": 0, "finding": 0, "skip": 0, "unavailable": 0}
    for c in doc["checks"]:
        counts[c["verdict"]] += 1
    doc["summary"] = counts
    return doc


def large_results(**kw: Any) -> dict[str, Any]:
    """A full 4-backend CPU run: 30 sample groups (16 stochastic schemes x 2 dtypes, first 30),
    20 000 draws each, 80 bins, 256-point density grid, 512-point CDF difference."""
    opts = dict(schemes=[s for s, _ in STOCHASTIC], dtypes=("float32", "float64"), n=20000, bins=80, grid=256,
                cdf_points=512, max_groups=30, depth=48, steps=300)
    opts.update(kw)
    return make_results(**opts)
