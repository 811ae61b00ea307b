"""Execute a resolved :class:`initspec.Plan` with ``keras.random`` / ``keras.ops`` (any Keras
backend), making exactly the calls Keras' own initializers make, so the values are Keras' for the
same seed; or draw the portable stream on the backend's own framework (:func:`portable_sample`).

Where Keras' own calls hold several outputs in memory, the Keras backend's framework adapter has
a ``keras_random`` module (``initspec.backends.<framework>.keras_random``, found through the
registry's ``keras_backend``, as Keras keeps ``keras/src/backend/<backend>/random.py``) with the
same draws computed in place or in one program: the same values bit for bit (tested against
Keras' own), at most 2x the output but TF's QR (:func:`random_module`). A draw that module does
not define runs on ``keras.random``.

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
    only its draws' memory differs from ``keras.random``'s."""
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
    backend) as a tensor of the Keras backend, computed where that backend computes best:

    * ``jax``: :func:`initspec.backends.jax.portable.sample` on JAX's default device (on a CPU the
      compiled C kernel into a host buffer JAX adopts; on GPUs XLA's flat size-class kernels);
    * ``torch``: :func:`initspec.backends.torch.portable.sample` on Keras' torch device (on the
      CPU the compiled C kernel writes the new tensor's memory);
    * ``tensorflow``: the compiled C kernel of the reference, written into an aligned host array
      that TF adopts without a copy (:func:`initspec.backends.tensorflow.portable.sample_host`);
      ``variable.assign`` then moves it to the variable's device. Other dtypes and kinds (and
      ``numpy``): the NumPy reference, converted. TF's own portable ops run the transforms as
      hundreds of eager TF ops per tensor (measured 9-10 s for 4096x4096 against 0.38 s for
      ``tf.random.normal``), and a ``tf.function(jit_compile=True)`` kernel would need XLA's
      FMA fence and compile per shape, so the host kernel is the fast exact path there.

    float32 only goes to the framework adapters (JAX float64 needs ``jax_enable_x64``); other
    dtypes use the reference too.
    """
    backend = keras.backend.backend()
    kw = {"layout": layout, "dtype": dtype, "seed": seed, "stream": stream, **params}
    if dtype == "float32" and backend == "jax":
        import jax
        from initspec.backends.jax import portable as jax_portable

        return jax_portable.sample(scheme, shape, device=jax.devices()[0], **kw)
    if dtype == "float32" and backend == "torch":
        import torch
        from initspec.backends.torch import portable as torch_portable
        from keras.src.backend.torch.core import get_device

        return torch_portable.sample(scheme, shape, device=torch.device(get_device()), **kw)
    if backend == "tensorflow":
        from initspec.backends.tensorflow import portable as tf_portable

        host = tf_portable.sample_host(scheme, shape, **kw)  # the compiled kernel, adopted by TF without a copy
        if host is not None:
            return host
    return keras.ops.convert_to_tensor(portable.sample(scheme, shape, **kw))


def portable_values(scheme: str, shape: tuple[int, ...], dtype: str, seed: int, stream: str,
                    fans: tuple[float, float] | None, **params: Any) -> Any:
    """The portable stream's values (:func:`portable_sample`, bit-identical to every other
    initspec backend for the same ``(seed, stream)``) as a tensor of the backend."""
    values = portable_sample(scheme, shape, layout="keras", dtype=dtype, seed=seed, stream=stream, fans=fans,
                             **params)
    return keras.ops.convert_to_tensor(values, dtype=dtype)
