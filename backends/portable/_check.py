"""Cross-backend agreement of the portable stream (framework-free driver).

:func:`cross_check` samples every scheme of the spec (and a few complex/float16 variants) through
each backend's portable module and compares it with the NumPy reference: the maximum absolute
difference, the maximum distance in units in the last place (float32 ulps, float16 ulps for
float16), and whether the raw 32-bit words are identical. The result is the ``portable`` section
of the results document::

    {"max_abs_diff": {backend: {case: float}}, "max_ulp": {backend: {case: int}},
     "bit_identical_words": {backend: bool}, "config": {...}, "unavailable": {backend: reason},
     "skipped": {backend: {case: reason}}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initspec.schemes import SCHEMES

#: default shape of the rank-2 cases (98 304 elements: every PPND7 region is hit)
CHECK_SHAPE = (256, 384)
#: words compared per draw, and element indices probed at random (up to 2**40)
CHECK_WORDS = 1 << 16
CHECK_INDEX_PROBES = 4096
INDEX_PROBE_LIMIT = 1 << 40


@dataclass(frozen=True)
class CheckCase:
    """One sampled tensor compared across backends."""

    key: str
    scheme: str
    shape: tuple[int, ...] = CHECK_SHAPE
    layout: str = "keras"
    dtype: str = "float32"
    params: dict[str, Any] = field(default_factory=dict)
    #: compare with the reference sampled as the same logical weight in another layout
    #: ``(layout, shape, perm)`` and transposed by ``perm`` (one stream = one logical weight)
    ref_as: tuple[str, tuple[int, ...], tuple[int, ...]] | None = None

    def reference(self, ref: Any, seed: int, stream: str) -> np.ndarray:
        layout, shape, perm = self.ref_as or (self.layout, self.shape, None)
        x = ref.sample(self.scheme, shape, layout=layout, dtype=self.dtype, seed=seed, stream=stream, **self.params)
        return x if perm is None else np.ascontiguousarray(np.transpose(x, perm))


_SHAPES = {"dirac": ((8, 4, 3, 3), "torch"), "delta_orthogonal": ((3, 3, 16, 32), "keras")}
_EXTRA = (
    CheckCase("truncated_normal(a=3,b=5)", "truncated_normal", params={"a": 3.0, "b": 5.0}),
    CheckCase("truncated_normal_abs(std=0.02)", "truncated_normal_abs", params={"std": 0.02}),
    CheckCase("constant(0.5)", "constant", params={"value": 0.5}),
    CheckCase("normal[complex64]", "normal", dtype="complex64"),
    CheckCase("he_uniform[complex64]", "he_uniform", dtype="complex64"),
    CheckCase("he_truncated_normal[complex64]", "he_truncated_normal", dtype="complex64"),
    CheckCase("he_truncated_normal[float16]", "he_truncated_normal", dtype="float16"),
    CheckCase("glorot_uniform[float64]", "glorot_uniform", dtype="float64"),
    # torch layouts against the Keras-layout reference of the same logical weight
    CheckCase("he_normal[torch_conv = keras kernel]", "he_normal", (32, 16, 3, 3), "torch_conv",
              ref_as=("keras", (3, 3, 16, 32), (3, 2, 0, 1))),
    CheckCase("glorot_uniform[torch_linear = keras kernel.T]", "glorot_uniform", (384, 256), "torch_linear",
              ref_as=("keras", (256, 384), (1, 0))),
    CheckCase("orthogonal[torch_conv = keras kernel]", "orthogonal", (32, 16, 3, 3), "torch_conv",
              ref_as=("keras", (3, 3, 16, 32), (3, 2, 0, 1))),
)


def check_cases() -> list[CheckCase]:
    """Every scheme of the table at a default shape, then the extra variants."""
    cases = []
    for name in SCHEMES:
        shape, layout = _SHAPES.get(name, (CHECK_SHAPE, "keras"))
        cases.append(CheckCase(name, name, shape, layout))
    return cases + list(_EXTRA)


def _ordered(x: np.ndarray) -> np.ndarray:
    """Integers in the order of the floats ``x`` (adjacent floats differ by 1), int64."""
    int_t = {2: np.int16, 4: np.int32, 8: np.int64}[x.dtype.itemsize]
    bits = x.view(int_t).astype(np.int64)
    top = np.int64(1) << (8 * x.dtype.itemsize - 1)
    return np.where(bits < 0, -(bits + top), bits)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Largest ulp distance between ``a`` and ``b`` (complex: over both parts; float64 arrays
    holding float32-precision values are measured in float32 ulps)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.size == 0:
        return 0
    if np.iscomplexobj(a):
        return max(ulp_distance(a.real, b.real), ulp_distance(a.imag, b.imag))
    if a.dtype == np.float64:
        a, b = a.astype(np.float32), b.astype(np.float32)
    return int(np.max(np.abs(_ordered(np.ascontiguousarray(a)) - _ordered(np.ascontiguousarray(b)))))


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a), np.asarray(b)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64) - b)))


def _module(backend: str) -> Any:
    from . import load

    return load(backend)


def _words_identical(mod: Any, ref: Any, seed: int, stream: str, device: str) -> bool:
    """Words ``0 .. CHECK_WORDS-1`` of draws 0 and 1 and at random large indices agree."""
    probes = np.random.default_rng(seed).integers(0, INDEX_PROBE_LIMIT, CHECK_INDEX_PROBES, dtype=np.int64)
    if mod.__name__.endswith(".jax"):
        probes = probes % (1 << 32)  # uint32 element indices in JAX
    for draw in (0, 1):
        got = mod.to_numpy(mod.words(seed, stream, CHECK_WORDS, draw=draw, device=device))
        got = np.asarray(got, np.uint64)
        if not np.array_equal(got, ref.words(seed, stream, CHECK_WORDS, draw=draw).astype(np.uint64)):
            return False
    got = np.asarray(mod.to_numpy(mod.words(seed, stream, index=probes, device=device)), np.uint64)
    return bool(np.array_equal(got, ref.words(seed, stream, index=probes).astype(np.uint64)))


def cross_check(backends: list[str], *, device: str = "cpu", seed: int = 0, stream: str = "portable-check",
                cases: list[CheckCase] | None = None) -> dict[str, Any]:
    """The ``portable`` results section for ``backends`` (see module docstring). A backend whose
    framework or device is missing is listed under ``unavailable`` with the reason."""
    from initspec.backends import BackendUnavailable

    ref = _module("numpy")
    cases = check_cases() if cases is None else cases
    refs = {c.key: c.reference(ref, seed, stream) for c in cases}
    out: dict[str, Any] = {
        "max_abs_diff": {}, "max_ulp": {}, "bit_identical_words": {}, "unavailable": {}, "skipped": {},
        "config": {"seed": seed, "stream": stream, "device": device, "backends": list(backends),
                   "cases": {c.key: {"scheme": c.scheme, "shape": list(c.shape), "layout": c.layout,
                                     "dtype": c.dtype, "params": dict(c.params),
                                     "reference_layout": (c.ref_as or (c.layout,))[0]} for c in cases}},
    }
    for name in backends:
        try:
            mod = _module(name)
        except BackendUnavailable as e:
            out["unavailable"][name] = str(e)
            continue
        ok, reason = mod.device_available(device)
        if not ok:
            out["unavailable"][name] = reason
            continue
        out["config"].setdefault("versions", {})[name] = mod.versions()
        out["bit_identical_words"][name] = _words_identical(mod, ref, seed, stream, device)
        diffs, ulps = {}, {}
        for c in cases:
            try:
                x = mod.sample(c.scheme, c.shape, layout=c.layout, dtype=c.dtype, seed=seed, stream=stream,
                               device=device, **c.params)
            except (TypeError, ValueError) as e:  # e.g. float64 in JAX without jax_enable_x64
                out["skipped"].setdefault(name, {})[c.key] = f"{type(e).__name__}: {e}"
                continue
            got = np.asarray(mod.to_numpy(x))
            diffs[c.key], ulps[c.key] = max_abs_diff(got, refs[c.key]), ulp_distance(got, refs[c.key])
        out["max_abs_diff"][name], out["max_ulp"][name] = diffs, ulps
    return out

