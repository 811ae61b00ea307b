"""Execute a resolved :class:`initspec.Plan` with ``keras.random`` / ``keras.ops`` (any Keras
backend), making exactly the calls Keras' own initializers make, so the values are Keras' for the
same seed; or draw the portable stream (NumPy reference, converted with ``keras.ops``).

References: ``keras/src/initializers/random_initializers.py`` (``RandomNormal``,
``TruncatedNormal``, ``RandomUniform``, ``VarianceScaling.__call__``, ``Orthogonal.__call__``).
"""

from __future__ import annotations

import math
from typing import Any

import keras
from initspec.backends import portable
from initspec.distributions import Plan
from initspec.errors import InitSpecError

__all__ = ["draw", "orthogonal", "portable_values"]


def draw(plan: Plan, seed: Any, dtype: str) -> Any:
    """The element-wise samplers (normal, truncated normal at +-2 sigma, uniform) of ``plan``."""
    kw = {"dtype": dtype, "seed": seed}
    if plan.sampler == "normal":
        return keras.random.normal(plan.shape, mean=plan.mean, stddev=plan.std, **kw)
    if plan.sampler == "truncated_normal":
        # keras.random.truncated_normal re-draws outside exactly +-2 stddev
        if (plan.low, plan.high) != (plan.mean - 2.0 * plan.std, plan.mean + 2.0 * plan.std):
            raise InitSpecError(
                "keras.random.truncated_normal truncates at +-2 stddev only. "
                f"Received: low={plan.low!r}, high={plan.high!r} for mean={plan.mean!r}, stddev={plan.std!r}"
            )
        return keras.random.truncated_normal(plan.shape, mean=plan.mean, stddev=plan.std, **kw)
    if plan.sampler == "uniform":
        return keras.random.uniform(plan.shape, minval=plan.low, maxval=plan.high, **kw)
    raise InitSpecError(f"No keras.random sampler for {plan.sampler!r}. Received: scheme={plan.scheme.name!r}")


def orthogonal(shape: tuple[int, ...], gain: float, seed: Any, dtype: str) -> Any:
    """Keras' orthogonal matrix (Saxe et al. 2014): QR of a Gaussian ``(max, min)`` matrix with
    the ``sign(diag R)`` fix, rows = ``prod(shape[:-1])``, columns = ``shape[-1]``."""
    num_rows, num_cols = math.prod(shape[:-1]), shape[-1]
    a = keras.random.normal((max(num_cols, num_rows), min(num_cols, num_rows)), seed=seed, dtype=dtype)
    q, r = keras.ops.qr(a)
    q = q * keras.ops.sign(keras.ops.diag(r))
    if num_rows < num_cols:
        q = keras.ops.transpose(q)
    return gain * keras.ops.reshape(q, shape)


def portable_values(scheme: str, shape: tuple[int, ...], dtype: str, seed: int, stream: str,
                    fans: tuple[float, float] | None, **params: Any) -> Any:
    """The portable stream's values (:func:`initspec.backends.portable.sample`, bit-identical to
    every other initspec backend for the same ``(seed, stream)``) as a tensor of the backend."""
    values = portable.sample(scheme, shape, layout="keras", dtype=dtype, seed=seed, stream=stream,
                             fans=fans, **params)
    return keras.ops.convert_to_tensor(values, dtype=dtype)
