"""Arguments of the JAX initializers, validated at trace time: dtypes, PRNG keys and the
``in_axis``/``out_axis``/``batch_axis`` of :func:`jax.nn.initializers.variance_scaling`.

Shared by native and portable generation (:mod:`initspec.backends.jax.portable` uses
:func:`x64_enabled`). Errors name the offending value (arrays by dtype and shape only).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from initspec.dtypes import get_dtype

DEFAULT_LAYOUT = "jax"
#: dtype of ``init(key, shape)`` when neither the call nor the factory names one (the issue's rule)
DEFAULT_DTYPE = "float32"
#: dtypes that exist in JAX only with ``jax_enable_x64``
X64_DTYPES = ("float64", "complex128")
AXIS_ARGS = ("in_axis", "out_axis", "batch_axis")

__all__ = [
    "AXIS_ARGS", "DEFAULT_DTYPE", "DEFAULT_LAYOUT", "X64_DTYPES", "as_key", "check_axes_in_range",
    "check_axis_arg", "describe", "dtype_name", "x64_enabled",
]


def x64_enabled() -> bool:
    """Whether 64-bit JAX types are on (``jax_enable_x64``, also inside ``jax.enable_x64()``)."""
    return jax.dtypes.canonicalize_dtype(np.float64) == np.dtype(np.float64)


def dtype_name(dtype: Any) -> str:
    """Spec dtype name of a JAX/NumPy/string dtype; ``None`` -> :data:`DEFAULT_DTYPE`."""
    if dtype is None:
        return DEFAULT_DTYPE
    try:
        name = np.dtype(dtype).name  # jnp.float32, jnp.bfloat16, np.dtype, "float16", ...
    except TypeError:
        name = dtype  # let the spec name what is wrong
    if isinstance(name, str) and name.startswith(("int", "uint", "bool")):
        raise TypeError(
            f"Argument `dtype` must be a floating or complex dtype; initializers do not produce "
            f"{name} weights. Received: dtype={dtype!r}"
        )
    spec_name = get_dtype(name).name
    if spec_name in X64_DTYPES and not x64_enabled():
        raise ValueError(
            f"JAX has no {spec_name} while jax_enable_x64 is off (it would silently give "
            f"{'float32' if spec_name == 'float64' else 'complex64'}); enable it with "
            f"jax.config.update('jax_enable_x64', True) or `with jax.enable_x64(True):`. "
            f"Received: dtype={dtype!r}"
        )
    return spec_name


def describe(x: Any) -> str:
    """Short repr for error messages (arrays by dtype and shape, never their values)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{type(x).__name__}(dtype={x.dtype}, shape={tuple(x.shape)})"
    return repr(x)


@functools.cache
def _raw_key_spec(impl: str) -> jax.ShapeDtypeStruct:
    """Shape/dtype of a legacy raw key under the PRNG implementation ``impl``."""
    del impl  # the cache key; jax.random.key uses the configured default
    return jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0)))


def as_key(key: Any) -> Any:
    """One typed PRNG key from ``key`` (typed or legacy raw), or a clear error at trace time."""
    typed = getattr(key, "dtype", None) is not None and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    if typed:
        if key.shape != ():
            raise ValueError(
                f"Argument `key` must be a single PRNG key (shape ()); map an initializer over a "
                f"batch of keys with jax.vmap. Received: key={describe(key)}"
            )
        return key
    if not isinstance(key, (jax.Array, np.ndarray)):
        raise TypeError(
            f"Argument `key` must be a JAX PRNG key (jax.random.key(seed), or a legacy "
            f"jax.random.PRNGKey(seed)), not {type(key).__name__}. Received: key={describe(key)}"
        )
    raw = _raw_key_spec(str(jax.config.jax_default_prng_impl))
    if key.dtype != raw.dtype:
        raise TypeError(
            f"Argument `key` must be a typed PRNG key or a legacy {raw.dtype}{list(raw.shape)} raw key; "
            f"got dtype {key.dtype}. Received: key={describe(key)}"
        )
    if tuple(key.shape) != tuple(raw.shape):
        raise ValueError(
            f"Argument `key` must be a single legacy key of shape {tuple(raw.shape)}; map an "
            f"initializer over a batch of keys with jax.vmap. Received: key={describe(key)}"
        )
    return jax.random.wrap_key_data(key)


def check_axis_arg(arg: str, value: Any) -> None:
    """``in_axis``/``out_axis``/``batch_axis``: None, an int or a sequence of ints."""
    if value is None:
        return
    items = (value,) if isinstance(value, numbers.Integral) else value
    ok = isinstance(items, Sequence) and not isinstance(items, (str, bytes)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in items
    )
    if isinstance(value, bool) or not ok:
        raise TypeError(f"Argument `{arg}` must be an int or a sequence of ints. Received: {arg}={value!r}")


def check_axes_in_range(axes: dict[str, Any], shape: tuple[int, ...]) -> None:
    """Every given axis must index ``shape`` (JAX style: -rank <= axis < rank)."""
    rank = len(shape)
    for arg, value in axes.items():
        if value is None:
            continue
        for a in (value,) if isinstance(value, numbers.Integral) else value:
            if not -rank <= int(a) < rank:
                raise ValueError(
                    f"Argument `{arg}` is out of range for a rank-{rank} weight. "
                    f"Received: {arg}={value!r}, shape={shape!r}"
                )
