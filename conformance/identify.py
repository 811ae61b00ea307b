"""``initspec identify MODULE:CALLABLE --layout torch|keras|jax``: fingerprint any initializer.

The callable is treated as a black box and probed exactly like the natives of the audit:

1. it is adapted to ``draw(shape, seed) -> np.ndarray`` (:func:`as_draw`), whatever its calling
   convention: a torch in-place function (``tensor -> None``, e.g. ``torch.nn.init.xavier_normal_``),
   a Keras initializer class or instance (``(shape, dtype) -> tensor``), a JAX initializer
   ``(key, shape, dtype)`` or a factory returning one (``jax.nn.initializers.he_normal``), or a
   plain ``(shape) -> array`` / ``(shape, seed) -> array`` function;
2. structure first: constant, identity, (semi-)orthogonal under the layout's flattening;
3. otherwise the fan probe (:func:`initspec.conformance.fanprobe.probe_fans`) recovers fan
   mode, scale, distribution family and truncation, and every candidate scheme (each named scheme
   of the table with its defaults, plus the scheme fitted from the probe) is checked on one large
   reference draw with :func:`initspec.conformance.checks.check_draw`;
4. the closest scheme is the candidate with the fewest failing checks (ties: the smallest
   ``|log std ratio|``, then named schemes first); every failing check of it is a deviation.

Bad callables (raise, return the wrong shape, cannot be adapted) raise :class:`IdentifyError`
with a one-line message; the CLI turns that into exit status 2.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import numpy as np

from initspec.distributions import Plan, resolve
from initspec.errors import InitSpecError
from initspec.layouts import get_layout
from initspec.schemes import SCHEMES

from . import checks as C
from .fanprobe import expected_fan_terms, probe_fans
from .native_audit import layout_shape

Draw = Callable[[tuple[int, ...], int], np.ndarray]

#: logical (n_in, n_out) of the reference draw (~98k elements: above ``plan_n`` for a normal law
#: at the default alpha) and of the small shape the callable is validated on first
REFERENCE_IN_OUT = (256, 384)
SMOKE_IN_OUT = (8, 12)
CONV_RANK = 4
#: default per-test level of identify's checks (one initializer, a few dozen candidates)
DEFAULT_ALPHA = 1e-4
#: a fitted scale within this relative distance of a simple fraction is snapped to it
SNAP_REL_TOL = 0.03
#: denominators of the simple fractions a fitted scale snaps to (1/3 = torch's a=sqrt(5) rule)
SNAP_MAX_DENOMINATOR = 6
#: absolute tolerance (relative to the largest value) for "all values equal" / "identity"
STRUCTURE_RTOL = 1e-6
#: Gram deviation tolerance of "orthogonal" in float32 ulps per matrix dimension
ORTHO_ULPS_PER_DIM = 8.0
#: |log std ratio| is compared to this many digits (a fitted scale of 2 ties with he's sqrt(2)**2)
SCORE_DIGITS = 9
#: how many candidates the result lists
TOP_CANDIDATES = 6
#: schemes never offered as candidates for a random draw (structure is detected separately)
STRUCTURED = ("zeros", "ones", "constant", "identity", "dirac", "delta_orthogonal", "orthogonal", "sparse")


class IdentifyError(InitSpecError):
    """The callable cannot be loaded, adapted or drawn from (one-line message)."""


# ---------------------------------------------------------------------------- loading
def load_callable(spec: str) -> Any:
    """``"pkg.module:attr.sub"`` -> the object (``"pkg.module.attr"`` also works)."""
    if not isinstance(spec, str) or not spec.strip():
        raise IdentifyError(f"Expected MODULE:CALLABLE, e.g. torch.nn.init:xavier_normal_. Received: {spec!r}")
    if ":" in spec:
        mod_name, _, attr = spec.partition(":")
    else:
        mod_name, _, attr = spec.rpartition(".")
    if not mod_name or not attr:
        raise IdentifyError(f"Expected MODULE:CALLABLE, e.g. torch.nn.init:xavier_normal_. Received: {spec!r}")
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as e:  # noqa: BLE001 - any import failure is the user's input
        raise IdentifyError(f"Cannot import module {mod_name!r} ({type(e).__name__}: {e}). Received: {spec!r}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise IdentifyError(f"Module {mod_name!r} has no attribute {attr!r}. Received: {spec!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise IdentifyError(f"{spec!r} is not callable (it is a {type(obj).__name__}). Received: {spec!r}")
    return obj


# ---------------------------------------------------------------------------- adapting
def _module_of(obj: Any) -> str:
    mod = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "") or ""
    return mod.split(".")[0]


def _params(obj: Any) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return []


def _positional(ps: list[inspect.Parameter], required_only: bool = False) -> list[inspect.Parameter]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in ps if p.kind in kinds and (not required_only or p.default is p.empty)]


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of a torch/TF/JAX/Keras/NumPy array (bfloat16 -> float32)."""
    if hasattr(x, "detach"):  # torch
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":
            x = x.float()
        return x.numpy().copy()
    if _module_of(x) == "keras" or type(x).__name__ == "KerasVariable":
        import keras

        x = keras.ops.convert_to_numpy(x)
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    arr = np.array(x)
    return arr.astype(np.float32) if arr.dtype.name == "bfloat16" else arr


@dataclass
class Adapted:
    """A callable adapted to ``draw(shape, seed)``; ``kind`` says how it is called."""

    draw: Draw
    kind: str
    seeded: bool
    note: str = ""
    #: whether the callable receives the requested dtype (plain functions do not)
    takes_dtype: bool = True


def _torch_inplace(fn: Any, dtype: str) -> Adapted:
    import torch

    takes_gen = any(p.name == "generator" for p in _params(fn))

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        t = torch.empty(tuple(shape), dtype=getattr(torch, dtype))
        if takes_gen:
            out = fn(t, generator=torch.Generator().manual_seed(int(seed)))
        else:
            torch.manual_seed(int(seed))
            out = fn(t)
        return to_numpy(out if isinstance(out, torch.Tensor) else t)

    how = "generator=torch.Generator().manual_seed(seed)" if takes_gen else "torch.manual_seed(seed)"
    return Adapted(draw, "torch in-place (tensor -> None)", True, f"seeded with {how}")


def _keras_initializer(obj: Any, dtype: str) -> Adapted:
    cls = obj if inspect.isclass(obj) else type(obj)
    config = {} if inspect.isclass(obj) else dict(obj.get_config())
    takes_seed = "seed" in {p.name for p in _params(cls.__init__)}

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        init = cls.from_config({**config, "seed": int(seed)}) if takes_seed else (
            cls(**config) if config else cls())
        return to_numpy(init(tuple(shape), dtype=dtype))

    return Adapted(draw, "Keras initializer (shape, dtype) -> tensor", takes_seed,
                   "seeded through the initializer's seed=" if takes_seed else "unseeded (no seed argument)")


def _jax_init(fn: Any, dtype: str, note: str = "") -> Adapted:
    import jax
    import jax.numpy as jnp

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        return to_numpy(fn(jax.random.key(int(seed)), tuple(shape), getattr(jnp, dtype)))

    return Adapted(draw, "JAX initializer (key, shape, dtype)", True, note or "seeded with jax.random.key(seed)")


def _plain(fn: Any, takes_seed: str | None) -> Adapted:
    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        out = fn(tuple(shape), **({takes_seed: int(seed)} if takes_seed else {}))
        return to_numpy(out)

    kind = f"plain (shape, {takes_seed}) -> array" if takes_seed else "plain (shape) -> array"
    return Adapted(draw, kind, takes_seed is not None,
                   f"seeded through {takes_seed}=" if takes_seed else "no seed argument: not reproducible",
                   takes_dtype=False)


_KEY_NAMES = ("key", "rng", "prng_key", "rng_key")
_SEED_NAMES = ("seed", "rng", "generator", "random_state")


def as_draw(obj: Any, dtype: str = "float32") -> Adapted:
    """Adapt any supported initializer (see module docstring) to ``draw(shape, seed)``."""
    fw = _module_of(obj)
    if fw == "keras" or (inspect.isclass(obj) and any(b.__module__.startswith("keras") for b in obj.__mro__)):
        if inspect.isclass(obj) or hasattr(obj, "get_config"):
            return _keras_initializer(obj, dtype)
    if inspect.isclass(obj):
        raise IdentifyError(f"{obj.__qualname__} is a class but not a Keras initializer: pass a function or an "
                            f"instance. Received: {obj!r}")
    ps = _params(obj)
    pos = _positional(ps)
    names = [p.name for p in pos]
    if names and names[0] in _KEY_NAMES:
        return _jax_init(obj, dtype)
    if fw == "torch" or (names and names[0] == "tensor"):
        return _torch_inplace(obj, dtype)
    if fw in ("jax", "flax") or not _positional(ps, required_only=True):
        # a factory (every argument has a default): call it and adapt what it returns
        try:
            inner = obj()
        except Exception as e:  # noqa: BLE001
            raise IdentifyError(f"Calling the factory {_name(obj)}() raised {type(e).__name__}: {e}") from None
        if not callable(inner):
            raise IdentifyError(f"{_name(obj)}() returned a {type(inner).__name__}, not an initializer. "
                                f"Received: {obj!r}")
        inner_names = [p.name for p in _positional(_params(inner))]
        if inner_names and inner_names[0] in _KEY_NAMES:
            return _jax_init(inner, dtype, f"factory {_name(obj)}() -> init(key, shape, dtype)")
        return as_draw(inner, dtype)
    seed_arg = next((n for n in names[1:] if n in _SEED_NAMES), None) or next(
        (p.name for p in ps if p.name in _SEED_NAMES), None)
    return _plain(obj, seed_arg)


def returned_dtype(x: np.ndarray) -> str:
    """The spec dtype name of returned values (float32 for a float16/bfloat16 carrier is kept)."""
    from initspec.dtypes import DTYPES

    name = x.dtype.name
    if name not in DTYPES:
        raise IdentifyError(f"the callable returned {name} values; expected one of {', '.join(DTYPES)}.")
    return name


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__name__


def checked_draw(adapted: Adapted, shape: tuple[int, ...], seed: int, label: str) -> np.ndarray:
    """Call the draw; any exception or a wrong shape/type becomes a one-line IdentifyError."""
    try:
        x = adapted.draw(tuple(shape), seed)
    except IdentifyError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's callable failed
        msg = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise IdentifyError(f"{label} raised {type(e).__name__} for shape {tuple(shape)}: {msg}") from None
    if x.dtype.kind not in "fc":
        raise IdentifyError(f"{label} returned {x.dtype} values for shape {tuple(shape)}; expected floats.")
    if tuple(x.shape) != tuple(shape):
        raise IdentifyError(f"{label} returned shape {tuple(x.shape)} for shape {tuple(shape)}.")
    return x


# ---------------------------------------------------------------------------- structure
def _rank(layout: str) -> int:
    return CONV_RANK if get_layout(layout).min_rank >= 3 else 2


def reference_shape(layout: str, n_in: int, n_out: int) -> tuple[int, ...]:
    return layout_shape(layout, _rank(layout), n_in, n_out)


def detect_structure(x: np.ndarray, layout: str) -> tuple[str, dict[str, Any]] | None:
    """``(scheme, params)`` for a constant, identity or (scaled) orthogonal draw, else None."""
    v = x.astype(np.complex128 if x.dtype.kind == "c" else np.float64)
    scale = float(np.max(np.abs(v))) if v.size else 0.0
    tol = STRUCTURE_RTOL * max(scale, 1.0)
    if v.size and np.all(np.abs(v - v.flat[0]) <= tol):
        c = v.flat[0]
        c = complex(c) if x.dtype.kind == "c" and complex(c).imag else float(np.real(c))
        if c == 0:
            return "zeros", {}
        if c == 1:
            return "ones", {}
        return "constant", {"value": c}
    if v.ndim == 2 and x.dtype.kind == "f":
        g = float(v[0, 0])
        if g != 0 and np.allclose(v, g * np.eye(*v.shape), rtol=0, atol=tol):
            return "identity", ({} if g == 1 else {"gain": g})
    lay = get_layout(layout)
    perm, nb, rows, cols = lay.orthogonal_matrix(x.shape)
    m = np.transpose(v.real, perm).reshape(nb, rows, cols)
    small = m @ np.swapaxes(m, 1, 2) if rows <= cols else np.swapaxes(m, 1, 2) @ m
    g2 = float(np.mean(np.diagonal(small, axis1=1, axis2=2)))
    if g2 > 0:
        eps = np.finfo(x.dtype if x.dtype.kind == "f" else np.float32).eps
        dev = float(np.max(np.abs(small - g2 * np.eye(small.shape[-1])[None])))
        if dev <= ORTHO_ULPS_PER_DIM * max(rows, cols) * eps * g2:
            gain = math.sqrt(g2)
            return "orthogonal", ({} if abs(gain - 1) < 1e-6 else {"gain": round(gain, 6)})
    return None


# ---------------------------------------------------------------------------- candidates
def snap_scale(scale: float) -> float:
    """A fitted scale, snapped to a simple fraction (1/3, 1/2, 1, 2, ...) within 3%."""
    if not (scale > 0 and math.isfinite(scale)):
        return scale
    f = Fraction(scale).limit_denominator(SNAP_MAX_DENOMINATOR)
    return float(f) if f > 0 and abs(float(f) - scale) <= SNAP_REL_TOL * scale else scale


@dataclass
class Candidate:
    scheme: str
    params: dict[str, Any] = field(default_factory=dict)
    named: bool = True
    plan: Plan | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c.get("verdict") in ("fail", "finding")]

    def std_ratio(self) -> float | None:
        for c in self.checks:
            if c.get("check") == "variance" and c.get("std_ratio") is not None:
                return float(c["std_ratio"])
        return None

    def score(self) -> tuple[int, float, int]:
        r = self.std_ratio()
        dist = round(abs(math.log(r)), SCORE_DIGITS) if r and r > 0 else math.inf
        return (len(self.failed), dist, 0 if self.named else 1)

    def label(self) -> str:
        if not self.params:
            return self.scheme
        return f"{self.scheme}({', '.join(f'{k}={_fmt(v)}' for k, v in self.params.items())})"


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


def fitted_candidates(probe: dict[str, Any], x: np.ndarray) -> list[Candidate]:
    """The schemes the probe's measurements describe: variance scaling with the recovered fan
    mode/scale/distribution, or (constant variance) normal/uniform/truncated normal fitted to the
    reference draw's mean and std."""
    mode, dist = probe.get("mode"), probe.get("distribution")
    out: list[Candidate] = []
    v = x.astype(np.float64).ravel() if x.dtype.kind == "f" else None
    if mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        dists = [dist] if dist in ("normal", "uniform", "truncated_normal") else ["normal", "uniform", "truncated_normal"]
        for d in dists:
            out.append(Candidate("variance_scaling", {"scale": snap_scale(float(probe["scale"])), "mode": mode,
                                                      "distribution": d}, named=False))
    elif v is not None and v.size:
        mean, std = float(v.mean()), float(v.std())
        mean = 0.0 if abs(mean) < 3 * std / math.sqrt(v.size) else mean
        out.append(Candidate("normal", {"mean": mean, "std": std}, named=False))
        half = math.sqrt(3.0) * std
        out.append(Candidate("uniform", {"low": mean - half, "high": mean + half}, named=False))
        c = probe.get("truncation_sigma")
        if c:
            from scipy import stats

            sigma = std / float(stats.truncnorm(-c, c).std())
            out.append(Candidate("truncated_normal", {"mean": mean, "std": sigma, "a": -round(c, 2), "b": round(c, 2)},
                                 named=False))
    return out


def named_candidates() -> list[Candidate]:
    return [Candidate(n) for n in SCHEMES if n not in STRUCTURED]


# ---------------------------------------------------------------------------- identify
def identify(obj: Any, layout: str = "keras", *, seed: int = 0, alpha: float = DEFAULT_ALPHA,
             dtype: str = "float32", label: str | None = None) -> dict[str, Any]:
    """Fingerprint an initializer (see module docstring). Returns a JSON-able dict with
    ``closest`` (scheme, params, passes, deviations), ``nearest_named``, ``probe``,
    ``candidates`` (best first) and ``determinism``."""
    lay = get_layout(layout).name
    label = label or _name(obj)
    adapted = as_draw(obj, dtype)
    checked_draw(adapted, reference_shape(lay, *SMOKE_IN_OUT), seed, label)
    shape = reference_shape(lay, *REFERENCE_IN_OUT)
    x = checked_draw(adapted, shape, seed, label)
    if not np.all(np.isfinite(x)):
        raise IdentifyError(f"{label} returned non-finite values for shape {shape}.")
    meta = {"backend": _module_of(obj) or "user", "device": "cpu", "subject": "native", "native_name": label,
            "seed": seed, "reproduce": f"initspec identify {label} --layout {lay} --seed {seed}"}
    got = returned_dtype(x)
    out: dict[str, Any] = {"callable": label, "kind": adapted.kind, "seeding": adapted.note, "layout": lay,
                           "shape": list(shape), "dtype": got, "requested_dtype": dtype, "seed": seed,
                           "alpha": alpha, "notes": []}
    if got != dtype and adapted.takes_dtype:
        out["notes"].append(f"asked for {dtype}, it returned {got}; compared in {got}")
    dtype = got
    structure = detect_structure(x, lay)
    probe = None
    if structure is not None:
        candidates = [Candidate(structure[0], structure[1])]
    else:
        try:
            probe = probe_fans(lambda s, k: checked_draw(adapted, s, k, label), lay, seed=seed)
        except IdentifyError:
            raise
        except (ValueError, InitSpecError) as e:
            raise IdentifyError(f"the fan probe failed on {label}: {e}") from None
        candidates = fitted_candidates(probe, x) + named_candidates()
    for cand in candidates:
        try:
            cand.plan = resolve(cand.scheme, shape, lay, dtype, **cand.params)
        except (ValueError, TypeError):
            continue
        cand.checks = C.check_draw(x, cand.plan, alpha=alpha, meta=meta)
    ranked = sorted((c for c in candidates if c.plan is not None), key=lambda c: c.score())
    if not ranked:
        raise IdentifyError(f"no spec scheme could be compared with {label} for shape {shape}.")
    best = ranked[0]
    named = next((c for c in ranked if c.named), None)
    out["probe"] = _probe_summary(probe)
    out["closest"] = _describe(best, probe)
    out["nearest_named"] = _describe(named, probe) if named is not None and named is not best else None
    out["candidates"] = [{"scheme": c.label(), "failed": [f["check"] for f in c.failed], "std_ratio": c.std_ratio()}
                         for c in ranked[:TOP_CANDIDATES]]
    det = C.check_determinism(lambda s: checked_draw(adapted, shape, s, label), (seed, seed + 1), meta,
                              plan=best.plan)
    out["determinism"] = [{"check": c["check"], "verdict": "pass" if c["verdict"] == "pass" else "fail",
                           "message": c["message"]} for c in det]
    return out


def _probe_summary(probe: dict[str, Any] | None) -> dict[str, Any] | None:
    if probe is None:
        return None
    keys = ("mode", "scale", "gain", "distribution", "truncation_sigma", "residual")
    return {k: probe.get(k) for k in keys} | {
        "per_shape": [{k: p.get(k) for k in ("shape", "fan_in", "fan_out", "std")} for p in probe.get("per_shape", [])]}


def _describe(c: Candidate, probe: dict[str, Any] | None) -> dict[str, Any]:
    """A candidate with its deviations, each one sentence."""
    devs = [f"{f['check']}: {f['message']}" for f in c.failed]
    if probe is not None and c.plan is not None:
        exp = expected_fan_terms(c.plan, c.plan.layout)
        if exp is not None:
            if probe["mode"] != exp["mode"]:
                devs.append(f"fan: measured {probe['mode']}, {c.scheme} uses {exp['mode']}")
            elif exp["scale"] and abs(probe["scale"] / exp["scale"] - 1) > SNAP_REL_TOL:
                devs.append(f"scale: measured {probe['scale']:.4g} / {probe['mode']}, {c.scheme} has "
                            f"{exp['scale']:.4g} (std x{math.sqrt(probe['scale'] / exp['scale']):.4f})")
            if probe["distribution"] != exp["distribution"]:
                devs.append(f"distribution: measured {probe['distribution']}, {c.scheme} is {exp['distribution']}")
            elif exp.get("truncation_sigma") and probe.get("truncation_sigma"):
                ct, cw = probe["truncation_sigma"], exp["truncation_sigma"]
                if abs(ct - cw) > 0.05 * cw:
                    devs.append(f"truncation: measured +-{ct:.3g} sigma, {c.scheme} truncates at +-{cw:g} sigma")
    return {"scheme": c.scheme, "params": {k: _plain_value(v) for k, v in c.params.items()}, "label": c.label(),
            "named": c.named, "passes": not c.failed, "std_ratio": c.std_ratio(), "deviations": devs,
            "spec": c.plan.summary() if c.plan is not None else None}


def _plain_value(v: Any) -> Any:
    return [v.real, v.imag] if isinstance(v, complex) else v
