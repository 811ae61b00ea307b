"""The NumPy reference for every matrix dtype, and a whole run replayed on it.

:func:`reference_draw` emulates bfloat16 (which NumPy lacks) on a float32 carrier;
:func:`reference_run` replays every check of one run on the reference (a correct adapter), which
measures the engine's false-alarm rate (``tests/conformance/test_false_alarm.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from initspec.backends import _core
from initspec.backends import numpy as ref
from initspec.backends.numpy import NumpyBackend
from initspec.distributions import resolve

from . import stats as S
from .engine import check_draw
from .fanprobe import expected_fan_terms, fan_check, probe_fans, probe_shapes
from .matrix import DEFAULT_MATRIX, Case, case_plan

__all__ = ["REPLAY_PROBE_STRIDE", "REPLAY_SEED_STRIDE", "fan_probe_cases", "reference_draw", "reference_run"]


def reference_draw(
    scheme: str,
    shape: Sequence[int],
    layout: Any = "keras",
    dtype: str = "float32",
    seed: int = 0,
    **params: Any,
) -> np.ndarray:
    """Values of the NumPy reference backend for ``dtype``; bfloat16 (which NumPy lacks) is the
    same sampler run in float32 and rounded to the bfloat16 grid, with the spec's inner-bound
    clipping (``initspec.backends._core``) - a float32 carrier, as adapters' ``to_numpy`` give."""
    plan = resolve(scheme, shape, layout, dtype, **params)
    if plan.dtype != "bfloat16":
        return ref.initialize(scheme, shape, layout, dtype, seed, **params)
    return np.asarray(_core.sample(_bf16_backend(), ref.as_generator(seed), plan))


@lru_cache(maxsize=1)
def _bf16_backend() -> Any:
    class _Bfloat16Numpy(NumpyBackend):
        """NumPy primitives with a bfloat16 storage dtype on a float32 carrier."""

        def _store(self, x: Any, dtype: str) -> np.ndarray:
            return S.round_to_dtype(np.asarray(x, dtype=np.float32), "bfloat16").astype(np.float32)

        def clip(self, x, lo, hi):  # only ever applied to stored (bfloat16) values
            return self._store(super().clip(x, lo, hi), "bfloat16")

        def cast(self, x, dtype):
            return self._store(x, dtype) if dtype == "bfloat16" else super().cast(x, dtype)

        def full(self, shape, dtype, value):
            return (
                self._store(np.full(shape, value), dtype)
                if dtype == "bfloat16"
                else super().full(shape, dtype, value)
            )

        def eye(self, rows, cols, dtype):
            return super().eye(rows, cols, "float32" if dtype == "bfloat16" else dtype)

        def scatter(self, shape, dtype, index, value):
            return super().scatter(shape, "float32" if dtype == "bfloat16" else dtype, index, value)

    return _Bfloat16Numpy()


#: base seed b, case i -> draw seed b * REPLAY_SEED_STRIDE + i (distinct over a whole replay)
REPLAY_SEED_STRIDE = 10_000
#: the fan probe j of a replay starts at seed offset len(cases) + REPLAY_PROBE_STRIDE * j
REPLAY_PROBE_STRIDE = 100


def fan_probe_cases(cases: Iterable[Case] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """One ``(scheme, layout, params)`` per distinct float32 case of ``cases`` (default
    :data:`DEFAULT_MATRIX`) whose variance is a fan rule or a constant (fan-probe targets)."""
    out, seen = [], set()
    for c in DEFAULT_MATRIX if cases is None else cases:
        key = (c.scheme, c.layout, repr(sorted(c.params.items())))
        if c.dtype == "float32" and key not in seen and expected_fan_terms(case_plan(c)) is not None:
            seen.add(key)
            out.append((c.scheme, c.layout, dict(c.params)))
    return out


def reference_run(
    base_seed: int, alpha: float, *, cases: Sequence[Case] | None = None, probes: bool = True
) -> list[dict[str, Any]]:
    """Every check of one run of the NumPy reference (a correct adapter) at per-test level
    ``alpha``: :func:`check_draw` on each case (default :data:`DEFAULT_MATRIX`) and, with
    ``probes``, the fan probe of each :func:`fan_probe_cases` entry. Used to measure the engine's
    false-alarm rate over many base seeds (a module-level function, so it runs in worker processes)."""
    cases = list(DEFAULT_MATRIX if cases is None else cases)
    out: list[dict[str, Any]] = []
    for i, case in enumerate(cases):
        seed = base_seed * REPLAY_SEED_STRIDE + i
        x = reference_draw(case.scheme, case.shape, case.layout, case.dtype, seed, **case.params)
        out += check_draw(x, case_plan(case), alpha=alpha, meta={"backend": "numpy", "seed": seed})
    for j, (scheme, layout, params) in enumerate(fan_probe_cases(cases) if probes else []):
        seed = base_seed * REPLAY_SEED_STRIDE + len(cases) + REPLAY_PROBE_STRIDE * j

        def draw(
            shape: tuple[int, ...],
            s: int,
            scheme: str = scheme,
            layout: str = layout,
            params: dict[str, Any] = params,
        ) -> np.ndarray:
            return reference_draw(scheme, shape, layout, "float32", s, **params)

        result = probe_fans(draw, layout, seed=seed)
        plan = resolve(scheme, probe_shapes(layout)[0], layout, **params)
        out += fan_check(result, plan, {"backend": "numpy", "seed": seed}, alpha=alpha)
    return out
