"""NumPy reference backend: the spec executed with ``numpy.random.Generator`` and scipy.

Every scheme is a function ``NAME(shape, layout="keras", dtype="float32", seed=None, **params)``
returning an ``np.ndarray``; ``initialize(scheme, shape, ...)`` takes the scheme by name.
``seed`` is an int or an ``np.random.Generator`` (deterministic for a given int seed).
The truncated normal is exact (rejection from the float64 normal, or scipy's ``truncnorm``
inverse CDF for intervals of small mass); real normal/uniform/truncated draws are written in
chunks, so a call needs little more memory than its output (:mod:`._primitives`).

Modules: :mod:`._primitives` (:class:`NumpyBackend`, shared with the portable stream's NumPy
reference), :mod:`._functions` (the public per-scheme functions), :mod:`._device` and
:mod:`._harness` (the uniform harness API of :mod:`initspec.backends`).
"""

from __future__ import annotations

from ._device import device_available, device_name, device_of, to_numpy, versions
from ._functions import (
    SchemeFunction,
    as_generator,
    constant,
    delta_orthogonal,
    dirac,
    glorot_normal,
    glorot_truncated_normal,
    glorot_uniform,
    he_normal,
    he_truncated_normal,
    he_uniform,
    identity,
    initialize,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    normal,
    ones,
    orthogonal,
    plan_and_sample,
    sparse,
    truncated_normal,
    truncated_normal_abs,
    uniform,
    variance_scaling,
    zeros,
)
from ._harness import DEFAULT_LAYOUT, sample
from ._primitives import BACKEND, NumpyBackend, np_dtype
from .bench import bench_cases

__all__ = [
    "BACKEND",
    "DEFAULT_LAYOUT",
    "NumpyBackend",
    "SchemeFunction",
    "as_generator",
    "bench_cases",
    "constant",
    "delta_orthogonal",
    "device_available", "device_name",
    "device_of",
    "dirac",
    "glorot_normal",
    "glorot_truncated_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "identity",
    "initialize",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "np_dtype",
    "ones",
    "orthogonal",
    "plan_and_sample",
    "sample",
    "sparse",
    "to_numpy",
    "truncated_normal",
    "truncated_normal_abs",
    "uniform",
    "variance_scaling",
    "versions",
    "zeros",
]
