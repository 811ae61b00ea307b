"""Public functions of the NumPy reference: the spec executed with ``numpy.random.Generator``.

Every scheme is a function ``NAME(shape, layout="keras", dtype="float32", seed=None, **params)``
returning an ``np.ndarray``; :func:`initialize` takes the scheme by name and
:func:`plan_and_sample` also returns the resolved :class:`~initspec.distributions.Plan`.
``seed`` is an int or an ``np.random.Generator`` (deterministic for a given int seed).

The per-scheme functions are explicit module-level definitions (one per entry of
:data:`initspec.SCHEMES`, checked by ``tests/spec/test_numpy_reference.py``) so that IDEs and
type checkers see them.
"""

from __future__ import annotations

import numbers
from typing import Any, Protocol

import numpy as np
from initspec.distributions import Plan, resolve
from initspec.schemes import SCHEMES

from .._core import sample as core_sample
from ._primitives import BACKEND, np_dtype

__all__ = [
    "SchemeFunction",
    "as_generator",
    "constant",
    "delta_orthogonal",
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
    "ones",
    "orthogonal",
    "plan_and_sample",
    "sparse",
    "truncated_normal",
    "truncated_normal_abs",
    "uniform",
    "variance_scaling",
    "zeros",
]


def as_generator(seed: Any) -> np.random.Generator:
    """``seed`` (a non-negative int, a ``np.random.Generator`` or None) as a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(
            f"Argument `seed` must be a non-negative int, a numpy Generator or None. Received: seed={seed!r}"
        )
    if seed >= 2**64:  # the same seed range in every backend
        raise ValueError(f"Argument `seed` must be < 2**64. Received: seed={seed!r}")
    return np.random.default_rng(int(seed))


def plan_and_sample(
    scheme: str, shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None, **params: Any
) -> tuple[Plan, np.ndarray]:
    """The resolved plan of ``scheme`` for ``shape`` and its NumPy reference values."""
    plan = resolve(scheme, shape, layout, dtype, **params)
    np_dtype(plan.dtype)
    return plan, np.asarray(core_sample(BACKEND, as_generator(seed), plan))


def initialize(
    scheme: str, shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None, **params: Any
) -> np.ndarray:
    """Sample ``scheme`` for a weight of ``shape`` (see :func:`initspec.resolve`)."""
    return plan_and_sample(scheme, shape, layout, dtype, seed, **params)[1]


class SchemeFunction(Protocol):
    """The signature of every per-scheme function of the NumPy reference."""

    __name__: str

    def __call__(self, shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None,
                 **params: Any) -> np.ndarray: ...


def _make(name: str) -> SchemeFunction:
    def init(shape: Any, layout: Any = "keras", dtype: Any = "float32", seed: Any = None,
             **params: Any) -> np.ndarray:
        return initialize(name, shape, layout, dtype, seed, **params)

    init.__name__ = init.__qualname__ = name
    init.__doc__ = f"{SCHEMES[name].summary}\n\nNumPy reference for scheme {name!r}."
    return init


# one function per scheme of initspec.SCHEMES (explicit, for IDEs and type checkers)
zeros: SchemeFunction = _make("zeros")
ones: SchemeFunction = _make("ones")
constant: SchemeFunction = _make("constant")
normal: SchemeFunction = _make("normal")
uniform: SchemeFunction = _make("uniform")
truncated_normal: SchemeFunction = _make("truncated_normal")
truncated_normal_abs: SchemeFunction = _make("truncated_normal_abs")
variance_scaling: SchemeFunction = _make("variance_scaling")
glorot_normal: SchemeFunction = _make("glorot_normal")
glorot_truncated_normal: SchemeFunction = _make("glorot_truncated_normal")
glorot_uniform: SchemeFunction = _make("glorot_uniform")
he_normal: SchemeFunction = _make("he_normal")
he_truncated_normal: SchemeFunction = _make("he_truncated_normal")
he_uniform: SchemeFunction = _make("he_uniform")
lecun_normal: SchemeFunction = _make("lecun_normal")
lecun_truncated_normal: SchemeFunction = _make("lecun_truncated_normal")
lecun_uniform: SchemeFunction = _make("lecun_uniform")
orthogonal: SchemeFunction = _make("orthogonal")
identity: SchemeFunction = _make("identity")
dirac: SchemeFunction = _make("dirac")
delta_orthogonal: SchemeFunction = _make("delta_orthogonal")
sparse: SchemeFunction = _make("sparse")
