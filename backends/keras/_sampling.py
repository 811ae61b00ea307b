"""Execute a resolved :class:`initspec.Plan` with ``keras.random`` / ``keras.ops`` (any Keras
backend), making exactly the calls Keras' own initializers make, so the values are Keras' for the
same seed; or draw the portable stream on the backend's own framework (:func:`portable_sample`).

Where Keras' own calls hold several outputs in memory, the Keras backend's framework adapter has
a ``keras_random`` module (``initspec.backends.<framework>.keras_random``, found through the
registry's ``keras_backend``, as Keras keeps ``keras/src/backend/<backend>/random.py``) with the
same draws computed in place or in one program: the same values bit for bit (tested against
Keras' own), at most 2x the output but TF's QR (:func:`random_module`). A draw that module does
not define runs on ``keras.random``. The module's ``portable_sample`` draws the portable stream
on its framework (:func:`portable_sample`).

References: ``keras/src/initializers/random_initializers.py`` (``RandomNormal``,
``TruncatedNormal``, ``RandomUniform``, ``VarianceScaling.__call__``, ``Orthogonal.__call__``).
"""

from __future__ import annotations

import functools
import importlib
import math
from types import ModuleType
from typing import Any

import keras
from initspec import registry
from initspec.backends import portable
from initspec.distributions import Plan
from initspec.errors import InitSpecError

__all__ = ["draw", "orthogonal", "portable_sample", "portable_values", "random_module"]


@functools.cache
def _random_module(backend: str) -> ModuleType | None:
    """``<adapter>.keras_random`` of the registered framework whose ``keras_backend`` is
    ``backend`` (:class:`initspec.registry.Framework`), or None where none has one."""
    for fw in registry.frameworks().values():
        if fw.keras_backend == backend:
            name = f"{fw.adapter}.keras_random"
            try:
                return importlib.import_module(name)
            except ModuleNotFoundError as e:
                if e.name != name:  # the module exists but an import inside it failed
                    raise
    return None


def random_module() -> ModuleType | None:
    """The ``keras_random`` module of the current Keras backend's framework adapter
    (``initspec.backends.tensorflow``/``jax``/``torch``), or None (e.g. Keras' ``numpy`` backend):
    its draws give ``keras.random``'s values in less memory; its ``portable_sample`` the portable
    stream on the framework."""
    return _random_module(keras.backend.backend())


def _native(name: str) -> Any:
    """The current backend's ``keras_random.<name>``, or None."""
    module = random_module()
    return None if module is None else getattr(module, name, None)


def draw(plan: Plan, seed: Any, dtype: str) -> Any:
    """The element-wise samplers (normal, truncated normal at +-2 sigma, uniform) of ``plan``."""
    kw = {"dtype": dtype, "seed": seed}
    if plan.sampler == "normal":
        if (fn := _native("normal")) is not None:
            return fn(plan.shape, plan.mean, plan.std, dtype, seed)
        return keras.random.normal(plan.shape, mean=plan.mean, stddev=plan.std, **kw)
    if plan.sampler == "truncated_normal":
        # keras.random.truncated_normal re-draws outside exactly +-2 stddev
        if (plan.low, plan.high) != (plan.mean - 2.0 * plan.std, plan.mean + 2.0 * plan.std):
            raise InitSpecError(
                "keras.random.truncated_normal truncates at +-2 stddev only. "
                f"Received: low={plan.low!r}, high={plan.high!r} for mean={plan.mean!r}, stddev={plan.std!r}"
            )
        if (fn := _native("truncated_normal")) is not None:
            return fn(plan.shape, plan.mean, plan.std, dtype, seed)
        return keras.random.truncated_normal(plan.shape, mean=plan.mean, stddev=plan.std, **kw)
    if plan.sampler == "uniform":
        if (fn := _native("uniform")) is not None:
            return fn(plan.shape, plan.low, plan.high, dtype, seed)
        return keras.random.uniform(plan.shape, minval=plan.low, maxval=plan.high, **kw)
    raise InitSpecError(f"No keras.random sampler for {plan.sampler!r}. Received: scheme={plan.scheme.name!r}")


def orthogonal(shape: tuple[int, ...], gain: float, seed: Any, dtype: str) -> Any:
    """Keras' orthogonal matrix (Saxe et al. 2014): QR of a Gaussian ``(max, min)`` matrix with
    the ``sign(diag R)`` fix, rows = ``prod(shape[:-1])``, columns = ``shape[-1]``."""
    if (fn := _native("orthogonal")) is not None:
        return fn(shape, gain, dtype, seed)
    num_rows, num_cols = math.prod(shape[:-1]), shape[-1]
    a = keras.random.normal((max(num_cols, num_rows), min(num_cols, num_rows)), seed=seed, dtype=dtype)
    q, r = keras.ops.qr(a)
    q = q * keras.ops.sign(keras.ops.diag(r))
    if num_rows < num_cols:
        q = keras.ops.transpose(q)
    return gain * keras.ops.reshape(q, shape)


def portable_sample(scheme: str, shape: tuple[int, ...], *, layout: Any, dtype: str, seed: int, stream: str,
                    **params: Any) -> Any:
    """The portable stream's values of ``(seed, stream)`` (bit-identical to every initspec
    backend) as a tensor of the Keras backend, computed where that backend computes best: the
    backend's ``keras_random.portable_sample`` (:func:`random_module`; on a CPU each runs the
    compiled C kernel into memory its framework adopts, elsewhere the framework's own portable
    kernels), or, where it returns None or there is none (other dtypes and kinds, Keras' ``numpy``
    backend), the NumPy reference, converted."""
    kw = {"layout": layout, "dtype": dtype, "seed": seed, "stream": stream, **params}
    if (fn := _native("portable_sample")) is not None:
        values = fn(scheme, shape, **kw)
        if values is not None:
            return values
    return keras.ops.convert_to_tensor(portable.sample(scheme, shape, **kw))


def portable_values(scheme: str, shape: tuple[int, ...], dtype: str, seed: int, stream: str,
                    fans: tuple[float, float] | None, **params: Any) -> Any:
    """The portable stream's values (:func:`portable_sample`, bit-identical to every other
    initspec backend for the same ``(seed, stream)``) as a tensor of the backend."""
    values = portable_sample(scheme, shape, layout="keras", dtype=dtype, seed=seed, stream=stream, fans=fans,
                             **params)
    return keras.ops.convert_to_tensor(values, dtype=dtype)
