"""A drop-in ``jax.nn.initializers``, implemented on initspec's spec and samplers.

Every public name of ``jax.nn.initializers`` (jax 0.10.2, ``jax/_src/nn/initializers.py``) with
JAX's names, positional order, defaults and laws::

    from initspec.backends.jax import nn_initializers as init   # instead of jax.nn.initializers
    w = init.he_normal()(key, (784, 256))           # truncated normal, as jax's he_normal
    b = init.zeros(key, (256,))                    # zeros/ones are initializers, not factories
    nn.Dense(256, kernel_init=init.variance_scaling(2.0, "fan_in", "uniform", in_axis=-2))

JAX's semantics kept: ``normal(stddev=1e-2)``; ``uniform(scale=1e-2)`` is U[0, scale) (not
centred); ``truncated_normal(stddev, dtype, lower, upper)`` is ``stddev * N(0, 1)`` truncated to
``(lower, upper)`` with **no** std correction (the std is ``0.8796 * stddev`` for the default
bounds); ``he_normal``/``glorot_normal``/``lecun_normal`` are *truncated* normals (+-2 sigma,
corrected), ``kaiming_*``/``xavier_*`` their aliases; the fans follow
``_compute_fans`` (explicit ``in_axis``/``out_axis``/``batch_axis`` on rank-0/1 shapes and
overlapping axes as JAX allows, see :mod:`initspec.backends.jax._fans`); ``orthogonal``'s
``column_axis`` holds the orthonormal units; ``dtype=None`` is JAX's default float dtype
(float64 under ``jax_enable_x64``). Initializers trace under ``jax.jit``/``jax.vmap`` and take
``out_sharding=`` as JAX's.

initspec's extras: arguments are validated when the factory is called, with errors naming the
argument and the value; zero-size shapes return zeros (JAX's variance scaling divides by zero);
every factory takes keyword-only ``stream=``/``seed=`` for the portable stream
(:mod:`initspec.backends.portable`: the same values in every framework, ``key`` ignored).
The deliberate differences from JAX are listed in ``docs/drop-in-jax.md``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from initspec.errors import InitSpecError, check_finite, check_shape, unknown
from initspec.layouts import FAN_MODES
from initspec.schemes import get_scheme
from jax.nn.initializers import Initializer

from ._checks import check_axes_in_range, check_axis_arg, dtype_name, x64_enabled
from ._initializer import Initializer as SpecInitializer

__all__ = [
    "Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones",
    "orthogonal", "truncated_normal", "uniform", "variance_scaling", "xavier_normal", "xavier_uniform",
    "zeros",
]

#: ``variance_scaling``'s distributions in JAX (the spec has the same three)
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
RealNumeric = Any
AxisArg = int | Sequence[int]


def default_float_dtype() -> str:
    """JAX's ``dtypes.default_float_dtype()``: float64 under ``jax_enable_x64``, else float32."""
    return "float64" if x64_enabled() else "float32"


class DropInInitializer(SpecInitializer):
    """``init(key, shape, dtype=None, out_sharding=None)`` of one drop-in factory.

    A spec :class:`~initspec.backends.jax._initializer.Initializer` with JAX's ``dtype=None``
    rule, zeros for zero-size shapes, ``key`` ignored by the constant initializers (as in JAX)
    and the JAX-only axis arguments (``column_axis``) checked against the shape.
    """

    def __init__(self, call: str, scheme: str, params: dict[str, Any], *, jax_axes: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(get_scheme(scheme), params, **kwargs)
        self.call = call
        self.jax_axes = dict(jax_axes or {})

    def _check_jax_axes(self, shape: tuple[int, ...]) -> None:
        """``column_axis`` indexes the shape (delta_orthogonal: its ``(in, out)`` slice)."""
        check_axes_in_range(self.jax_axes, shape[-2:] if self.scheme.name == "delta_orthogonal" else shape)

    def plan(self, shape: Any, dtype: Any = None) -> Any:
        shape = check_shape(shape)
        self._check_jax_axes(shape)
        if dtype is None and self.dtype is None:
            dtype = default_float_dtype()
        return super().plan(shape, dtype)

    def __call__(self, key: Any, shape: Any, dtype: Any = None, out_sharding: Any = None) -> Any:
        shape = check_shape(shape)
        if math.prod(shape) == 0:
            check_axes_in_range(self.axes, shape)
            self._check_jax_axes(shape)
            name = dtype_name(dtype if dtype is not None else self.dtype or default_float_dtype())
            return jnp.zeros(shape, jnp.dtype(name), out_sharding=out_sharding)
        if self.scheme.deterministic and self.stream is None:
            key = jax.random.key(0)  # unused by constants; JAX ignores `key` here
        return super().__call__(key, shape, dtype, out_sharding)

    def __repr__(self) -> str:
        return f"initspec.backends.jax.nn_initializers.{self.call}"


def _scalar(value: Any) -> Any:
    """A concrete 0-d array as a Python scalar (anything else unchanged, for the checks to name)."""
    if hasattr(value, "shape") and tuple(value.shape) == () and hasattr(value, "item"):
        try:
            return value.item()
        except jax.errors.ConcretizationTypeError:
            return value
    return value


def _arg(arg: str, value: Any) -> float:
    """A finite real factory argument (numbers and concrete 0-d arrays), or a clear error."""
    return check_finite(arg, _scalar(value))


def _nonzero(arg: str, value: Any) -> float:
    v = _arg(arg, value)
    if v == 0.0:
        raise InitSpecError(
            f"Argument `{arg}` must be non-zero (it would give all zeros; use zeros or "
            f"constant(0.0)). Received: {arg}={value!r}"
        )
    return v


def _axes(**axes: Any) -> dict[str, Any]:
    for arg, value in axes.items():
        check_axis_arg(arg, value)
    return axes


def _column_axis(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Argument `column_axis` must be an int. Received: column_axis={value!r}")
    return int(value)


def _call(name: str, **args: Any) -> str:
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items() if v is not None)})"


# -- the constant initializers (plain functions in JAX) ---------------------------------------


def zeros(key: Any, shape: Any, dtype: Any = None, out_sharding: Any = None) -> Any:
    """An array of zeros (``key`` is ignored), as ``jax.nn.initializers.zeros``."""
    return _ZEROS(key, shape, dtype, out_sharding)


def ones(key: Any, shape: Any, dtype: Any = None, out_sharding: Any = None) -> Any:
    """An array of ones (``key`` is ignored), as ``jax.nn.initializers.ones``."""
    return _ONES(key, shape, dtype, out_sharding)


_ZEROS = DropInInitializer("zeros", "zeros", {})
_ONES = DropInInitializer("ones", "ones", {})


def constant(value: Any, dtype: Any = None) -> Initializer:
    """All elements ``value`` (a real or complex scalar); ``key`` is ignored."""
    value = _scalar(value)
    if isinstance(value, complex):
        v: Any = complex(_arg("value.real", value.real), _arg("value.imag", value.imag))
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = _arg("value", value)
    else:
        raise TypeError(
            f"Argument `value` must be a real or complex scalar (jax's constant also broadcasts "
            f"arrays; the spec's constant scheme is one value). Received: value={value!r}"
        )
    return DropInInitializer(_call("constant", value=value, dtype=dtype), "constant", {"value": v}, dtype=dtype)


# -- random factories with JAX's arguments ------------------------------------------------------


def uniform(scale: RealNumeric = 1e-2, dtype: Any = None, *, stream: str | None = None,
            seed: int | None = None) -> Initializer:
    """U[0, ``scale``) (not centred), as ``jax.nn.initializers.uniform``; a negative ``scale``
    gives U(scale, 0], as ``uniform(key) * scale`` does in JAX."""
    s = _nonzero("scale", scale)
    low, high = (0.0, s) if s > 0 else (s, 0.0)
    return DropInInitializer(_call("uniform", scale=scale, dtype=dtype), "uniform", {"low": low, "high": high},
                             dtype=dtype, stream=stream, seed=seed)


def normal(stddev: RealNumeric = 1e-2, dtype: Any = None, *, stream: str | None = None,
           seed: int | None = None) -> Initializer:
    """N(0, ``stddev``^2) (complex dtypes: ``E|w|^2 = stddev^2``), as ``jax.nn.initializers.normal``."""
    s = abs(_arg("stddev", stddev))  # N(0, 1) * s has the law of N(0, 1) * |s|
    return DropInInitializer(_call("normal", stddev=stddev, dtype=dtype), "normal", {"mean": 0.0, "std": s},
                             dtype=dtype, stream=stream, seed=seed)


def truncated_normal(stddev: RealNumeric = 1e-2, dtype: Any = None, lower: RealNumeric = -2.0,
                     upper: RealNumeric = 2.0, *, stream: str | None = None,
                     seed: int | None = None) -> Initializer:
    """``stddev * N(0, 1)`` truncated to ``(lower, upper)``, with **no** std correction (the
    std is ``stddev`` times that of the truncated standard normal), as JAX's."""
    s = _nonzero("stddev", stddev)
    lo, hi = _arg("lower", lower), _arg("upper", upper)
    if not lo < hi:
        raise InitSpecError(f"Argument `lower` must be < `upper`. Received: lower={lower!r}, upper={upper!r}")
    a, b = (lo, hi) if s > 0 else (-hi, -lo)  # x * s with s < 0 is -x * |s|
    return DropInInitializer(_call("truncated_normal", stddev=stddev, dtype=dtype, lower=lower, upper=upper),
                             "truncated_normal", {"mean": 0.0, "std": abs(s), "a": a, "b": b},
                             dtype=dtype, stream=stream, seed=seed)


def variance_scaling(scale: RealNumeric, mode: str, distribution: str, in_axis: AxisArg = -2,
                     out_axis: AxisArg = -1, batch_axis: AxisArg = (), dtype: Any = None, *,
                     stream: str | None = None, seed: int | None = None) -> Initializer:
    """Variance ``scale / n`` with ``n`` the fan of ``mode``; ``distribution`` one of
    ``truncated_normal`` (+-2 sigma, corrected), ``normal``, ``uniform`` (complex: the disk),
    as ``jax.nn.initializers.variance_scaling``."""
    s = _arg("scale", scale)
    if not s > 0:
        raise InitSpecError(f"Argument `scale` must be > 0. Received: scale={scale!r}")
    if mode not in FAN_MODES:
        raise unknown("fan mode", "mode", mode, FAN_MODES)
    if distribution not in DISTRIBUTIONS:
        raise unknown("distribution", "distribution", distribution, DISTRIBUTIONS)
    axes = _axes(in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    call = _call("variance_scaling", scale=scale, mode=mode, distribution=distribution, **axes, dtype=dtype)
    return DropInInitializer(call, "variance_scaling", {"scale": s, "mode": mode, "distribution": distribution},
                             dtype=dtype, stream=stream, seed=seed, **axes)


def _variance_scaling_preset(name: str, scheme: str, rule: str) -> Callable[..., Initializer]:
    """``NAME(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None)``: ``variance_scaling`` with
    the fixed ``rule`` (the spec scheme ``scheme``)."""

    def factory(in_axis: AxisArg = -2, out_axis: AxisArg = -1, batch_axis: AxisArg = (), dtype: Any = None, *,
                stream: str | None = None, seed: int | None = None) -> Initializer:
        axes = _axes(in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
        return DropInInitializer(_call(name, **axes, dtype=dtype), scheme, {}, dtype=dtype, stream=stream,
                                 seed=seed, **axes)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (f"``variance_scaling({rule})``, as ``jax.nn.initializers.{name}`` (spec scheme "
                       f"{scheme!r}).")
    return factory


glorot_uniform = _variance_scaling_preset("glorot_uniform", "glorot_uniform", "1.0, 'fan_avg', 'uniform'")
glorot_normal = _variance_scaling_preset("glorot_normal", "glorot_truncated_normal",
                                         "1.0, 'fan_avg', 'truncated_normal'")
lecun_uniform = _variance_scaling_preset("lecun_uniform", "lecun_uniform", "1.0, 'fan_in', 'uniform'")
lecun_normal = _variance_scaling_preset("lecun_normal", "lecun_truncated_normal",
                                        "1.0, 'fan_in', 'truncated_normal'")
he_uniform = _variance_scaling_preset("he_uniform", "he_uniform", "2.0, 'fan_in', 'uniform'")
he_normal = _variance_scaling_preset("he_normal", "he_truncated_normal", "2.0, 'fan_in', 'truncated_normal'")
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def orthogonal(scale: RealNumeric = 1.0, column_axis: int = -1, dtype: Any = None, *,
               stream: str | None = None, seed: int | None = None) -> Initializer:
    """Haar-random orthogonal: the units along ``column_axis`` are orthonormal (or all other
    axes, flattened, if there are fewer of them), times ``scale``, as JAX's ``orthogonal``."""
    g = abs(_arg("scale", scale))  # -Q has the law of Q
    col = _column_axis(column_axis)
    # the spec flattens the out axes to the rows of a matrix whose columns are all other axes
    return DropInInitializer(_call("orthogonal", scale=scale, column_axis=column_axis, dtype=dtype),
                             "orthogonal", {"gain": g}, in_axis=(), out_axis=col,
                             jax_axes={"column_axis": col}, dtype=dtype, stream=stream, seed=seed)


def delta_orthogonal(scale: RealNumeric = 1.0, column_axis: int = -1, dtype: Any = None, *,
                     stream: str | None = None, seed: int | None = None) -> Initializer:
    """Delta-orthogonal conv kernel (Xiao et al. 2018, arXiv:1806.05393): zero except an
    orthogonal ``(in, out)`` slice at the spatial centre ``(k - 1) // 2``, as JAX's.
    ``column_axis`` indexes that ``(in, out)`` slice (-2..1); the law does not depend on it."""
    g = abs(_arg("scale", scale))
    col = _column_axis(column_axis)
    return DropInInitializer(_call("delta_orthogonal", scale=scale, column_axis=column_axis, dtype=dtype),
                             "delta_orthogonal", {"gain": g}, jax_axes={"column_axis": col}, dtype=dtype,
                             stream=stream, seed=seed)
