"""initspec: one backend-neutral specification of neural-network weight initialization.

``import initspec`` imports NumPy and scipy only, never a deep-learning framework.

A *scheme* is ``fan rule x scale x distribution`` (:mod:`initspec.schemes`); a *layout* says which
weight axes are in/out/receptive/batch (:mod:`initspec.layouts`); :func:`resolve` gives the exact
element distribution (:mod:`initspec.distributions`); :mod:`initspec.native` describes each
framework's own initializers in these terms. Backends live in :mod:`initspec.backends`.
"""

from __future__ import annotations

from .constants import (
    COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION,
    TRUNCATED_NORMAL_STD_CORRECTION,
    VARIANCE_SCALING_TRUNCATION,
)
from .distributions import ElementDistribution, Plan, resolve
from .dtypes import DTYPES, inner_bounds
from .errors import InitSpecError, UnknownNameError
from .gains import GAINS, calculate_gain, gain_to_scale, scale_to_gain
from .layouts import FAN_MODES, LAYOUTS, Fans, Layout, compute_fans, get_layout
from .schemes import ALIASES, FAMILIES, SCHEMES, Scheme, get_scheme, scheme_names

__version__ = "0.1.0"

__all__ = [
    "ALIASES", "COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION", "DTYPES", "ElementDistribution", "FAMILIES",
    "FAN_MODES", "Fans", "GAINS", "InitSpecError", "LAYOUTS", "Layout", "Plan", "SCHEMES", "Scheme",
    "TRUNCATED_NORMAL_STD_CORRECTION", "UnknownNameError", "VARIANCE_SCALING_TRUNCATION",
    "calculate_gain", "compute_fans", "gain_to_scale", "get_layout", "get_scheme", "inner_bounds",
    "resolve", "scale_to_gain", "scheme_names",
]
