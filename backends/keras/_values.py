"""New values of one tensor (or gate block) for :func:`initspec.backends.keras.models.init_model`,
on any Keras backend.

* ``stream`` given: the portable stream (:func:`._sampling.portable_sample`), the same
  values as every initspec backend for ``(seed, stream)``, scheme and logical layout.
* otherwise natively: the resolved :class:`initspec.Plan` sampled with ``keras.random`` exactly
  as Keras' own initializers do (:mod:`._sampling`) where Keras has the sampler (normal, uniform,
  truncated normal at +-2 sigma, orthogonal with the output axis last, constants, identity); the
  structured schemes Keras lacks (dirac, delta_orthogonal, sparse, other truncations, batched
  orthogonal) run the NumPy reference with an int seed drawn from the Keras seed generator, so
  they are reproducible from the same ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras
import numpy as np
from initspec.backends import numpy as np_backend
from initspec.backends._core import cached_resolve
from initspec.distributions import Plan
from initspec.dtypes import DTYPES
from initspec.layouts import Layout

from ._sampling import draw, orthogonal, portable_sample

__all__ = ["sample_tensor"]

_FLOATS_NUMPY = ("float16", "float32", "float64")


def _keras_orthogonal_ok(plan: Plan) -> bool:
    """Keras' orthogonal (rows ``prod(shape[:-1])``, columns ``shape[-1]``) is the spec's law
    when the layout's only output axis is the last one and there is no batch axis."""
    if plan.layout is None:
        return False
    roles = plan.layout.roles(plan.shape)
    return not roles["batch"] and tuple(roles["out"]) == (len(plan.shape) - 1,)


def _negative_zero(value: Any) -> bool:
    return isinstance(value, float) and math.copysign(1.0, value) < 0


def _native(plan: Plan, seed: Any, dtype: str) -> Any | None:
    """``plan`` sampled with ``keras.random``/``keras.ops``, or None where Keras has no sampler."""
    if plan.complex_rule is not None:
        return None
    s = plan.sampler
    if s == "constant":  # ops.zeros/ones are about 2x faster than ops.full (BatchNorm: hundreds of vectors)
        if plan.value == 0.0 and not _negative_zero(plan.value):
            return keras.ops.zeros(plan.shape, dtype=dtype)
        if plan.value == 1.0:
            return keras.ops.ones(plan.shape, dtype=dtype)
        return keras.ops.full(plan.shape, plan.value, dtype=dtype)
    if s in ("normal", "uniform"):
        return draw(plan, seed, dtype)
    if s == "truncated_normal" and (plan.low, plan.high) == (plan.mean - 2.0 * plan.std, plan.mean + 2.0 * plan.std):
        return draw(plan, seed, dtype)
    if s == "orthogonal" and _keras_orthogonal_ok(plan):
        return orthogonal(plan.shape, plan.gain, seed, dtype)
    if s == "identity":
        return plan.gain * keras.ops.eye(*plan.shape, dtype=dtype)
    return None


def sample_tensor(scheme: str, shape: tuple[int, ...], dtype: str, *, layout: str | Layout | None, groups: int,
                  fans: tuple[float, float] | None, params: Mapping[str, Any], seed: Any,
                  stream: str | None) -> Any:
    """The values of ``scheme`` for one tensor of ``shape`` (module docstring): a tensor of the
    Keras backend in ``dtype``. ``seed`` is an int (portable) or a ``keras.random.SeedGenerator``."""
    spec_dtype = dtype if dtype in DTYPES else "float32"
    if stream is not None:
        values = portable_sample(scheme, shape, layout=layout, dtype=spec_dtype, seed=seed, stream=stream,
                                 groups=groups, fans=fans, **params)
        return keras.ops.cast(keras.ops.convert_to_tensor(values), dtype)
    plan = cached_resolve(scheme, shape, layout, spec_dtype, groups=groups, fans=fans, **params)
    value = _native(plan, seed, dtype)
    if value is not None:
        return value
    int_seed = int(keras.ops.convert_to_numpy(keras.random.randint((), 0, 2**31 - 1, seed=seed)))
    np_dtype = spec_dtype if spec_dtype in _FLOATS_NUMPY else "float32"
    values = np_backend.initialize(scheme, shape, layout, np_dtype, int_seed, groups=groups, fans=fans, **params)
    return keras.ops.cast(keras.ops.convert_to_tensor(np.asarray(values)), dtype)
