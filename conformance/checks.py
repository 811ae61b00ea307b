"""The conformance check engine: every exact and statistical check of one draw against its plan.

Framework-free: values always arrive as ``np.ndarray`` (the adapter's ``to_numpy``; float16 and
bfloat16 may arrive on a float32 carrier). Each check produces a ``Check`` record of
:mod:`initspec.conformance.results`.

This module is the engine's public face; the code lives in one module per concern:

* :mod:`.exact` - the *exact* tier: ``shape``; ``dtype``; ``finite``; ``constant`` /
  ``structure`` (identity, dirac, delta-orthogonal vs the NumPy reference); ``support``;
  ``orthogonality``; ``sparse_zeros``;
* :mod:`.statistical` - the *statistical* tier (each one test at the per-test level ``alpha`` of
  a :class:`Budget`): ``pileup``, ``mean``, ``variance``, ``kurtosis``, ``ks`` (complex laws:
  ``mean``, ``variance``, ``ks`` of ``|w - mean|^2``, ``phase``);
* :mod:`.engine` - :func:`check_draw` (both tiers on one draw) and :func:`check_determinism`;
* :mod:`.budget` - :class:`Budget` (Bonferroni/Holm), :func:`plan_n` (the ``n`` at which the
  variance test detects a 2% std error with power 99.9%), :func:`draws_needed`,
  :func:`tests_per_plan`, :func:`default_budget`;
* :mod:`.matrix` - :data:`DEFAULT_MATRIX` (shapes sized so one draw suffices at the default run
  budget) and :func:`case_plan`;
* :mod:`.recorder` - building ``Check`` records (:mod:`.records`), :func:`summarize_verdict` / :func:`failures` /
  :func:`format_check`;
* :mod:`.reference` - :func:`reference_draw` (the NumPy reference for every matrix dtype) and
  :func:`reference_run` (a whole run replayed on it, for the false-alarm measurement).
"""

from __future__ import annotations

from .budget import (
    DEFAULT_ALPHA_TOTAL,
    RUN_BACKENDS,
    STD_POWER,
    STD_REL_ERROR,
    Budget,
    default_budget,
    draws_needed,
    plan_n,
    tests_per_plan,
)
from .engine import check_determinism, check_draw
from .exact import (
    CARRIERS,
    COMPLEX_SUPPORT_ULPS,
    LOW_PRECISION,
    ORTH_QR_ULPS_PER_DIM,
    ORTH_ROUNDING_ULPS,
)
from .matrix import (
    CONV,
    DEFAULT_MATRIX,
    DENSE,
    SMALL_CONV_KERAS,
    SMALL_CONV_TORCH,
    SMALL_DENSE,
    SPARSE,
    Case,
    case_plan,
)
from .recorder import failures, format_check, summarize_verdict
from .reference import (
    REPLAY_PROBE_STRIDE,
    REPLAY_SEED_STRIDE,
    fan_probe_cases,
    reference_draw,
    reference_run,
)
from .statistical import COMPLEX_TESTS, MAX_TESTS_PER_LAW, REAL_TESTS

__all__ = [
    "CARRIERS",
    "COMPLEX_SUPPORT_ULPS",
    "COMPLEX_TESTS",
    "CONV",
    "DEFAULT_ALPHA_TOTAL",
    "DEFAULT_MATRIX",
    "DENSE",
    "LOW_PRECISION",
    "MAX_TESTS_PER_LAW",
    "ORTH_QR_ULPS_PER_DIM",
    "ORTH_ROUNDING_ULPS",
    "REAL_TESTS",
    "REPLAY_PROBE_STRIDE",
    "REPLAY_SEED_STRIDE",
    "RUN_BACKENDS",
    "SMALL_CONV_KERAS",
    "SMALL_CONV_TORCH",
    "SMALL_DENSE",
    "SPARSE",
    "STD_POWER",
    "STD_REL_ERROR",
    "Budget",
    "Case",
    "case_plan",
    "check_determinism",
    "check_draw",
    "default_budget",
    "draws_needed",
    "failures",
    "fan_probe_cases",
    "format_check",
    "plan_n",
    "reference_draw",
    "reference_run",
    "summarize_verdict",
    "tests_per_plan",
]
