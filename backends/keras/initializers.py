"""Drop-in ``keras.initializers`` on initspec's spec, for every Keras 3 backend.

Same class names, positional order, defaults, attribute names and ``get_config`` keys as
``keras.initializers`` (``keras/src/initializers/{random,constant}_initializers.py``), and Keras'
semantics: ``HeNormal``/``GlorotNormal``/``LecunNormal`` are the *truncated* (+-2 sigma, variance
corrected) normals, i.e. the spec schemes ``he_truncated_normal`` etc.; ``VarianceScaling``'s
``distribution="normal"`` means ``"truncated_normal"`` (``"untruncated_normal"`` is the spec's
``"normal"``); ``HeNormal(42)`` is ``seed=42``. Every call resolves an :class:`initspec.Plan`
(:func:`initspec.distributions.resolve`: fans, std, bounds, validation) and samples it with
``keras.random``/``keras.ops`` exactly as Keras does, so for the same seed the values are Keras'
own, under ``KERAS_BACKEND=tensorflow``, ``jax`` or ``torch``.

Extras (keyword-only, absent from ``get_config`` unless used): ``stream="dense/kernel"`` on the
random initializers draws the portable stream (:mod:`initspec.backends.portable`): the same values
as every initspec backend for ``(seed, stream)``; ``seed`` is then an int in ``[0, 2**64)`` or None
(means 0). Arguments are validated at construction with errors naming the argument and value.
Deliberate differences from Keras are listed in ``docs/drop-in-keras.md``.

Classes register with ``keras.saving.register_keras_serializable(package="initspec.keras")``
(``"initspec.keras>HeNormal"``): import this module before ``keras.models.load_model``.
"""

from __future__ import annotations

import inspect
import numbers
import re
from typing import Any, ClassVar

import keras
import numpy as np
from initspec.backends.portable._spec import check_stream
from initspec.distributions import Plan, resolve
from initspec.dtypes import DTYPES
from initspec.errors import InitSpecError, check_finite

from ._fans import check_axes, compute_fans
from ._sampling import draw, orthogonal, portable_values
from ._seeds import check_seed, make_default_seed, portable_seed

__all__ = [
    "ALL_OBJECTS", "ALL_OBJECTS_DICT", "KERAS_PACKAGE", "STFT", "Constant", "GlorotNormal", "GlorotUniform",
    "HeNormal", "HeUniform", "Identity", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "RandomInitializer", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros",
    "compute_fans", "deserialize", "get", "serialize",
]

#: ``register_keras_serializable`` package (``initspec`` is taken by initspec.backends.tensorflow).
KERAS_PACKAGE = "initspec.keras"
_register = keras.saving.register_keras_serializable(package=KERAS_PACKAGE)
Initializer = keras.initializers.Initializer
#: Keras' STFT initializer, re-exported unchanged: deterministic signal-processing kernels, no spec scheme.
STFT = keras.initializers.STFT

_MODES = ("fan_in", "fan_out", "fan_avg")
#: Keras ``VarianceScaling`` distribution names -> the spec's (``"normal"`` is mapped to
#: ``"truncated_normal"`` first, as Keras does).
_SPEC_DISTRIBUTION = {"truncated_normal": "truncated_normal", "untruncated_normal": "normal", "uniform": "uniform"}


def _dtype(dtype: Any) -> str:
    return keras.backend.standardize_dtype(dtype)


def _shape(shape: Any) -> tuple[int, ...]:
    """A shape (tuple, list, ``TensorShape``) as a tuple of ints; spec validation follows in resolve."""
    try:
        return tuple(d if isinstance(d, bool) else int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"Argument `shape` must be a sequence of ints. Received: shape={shape!r}") from None


def _spec_dtype(dtype: str) -> str:
    """The dtype constant schemes are resolved in: Keras also fills int/bool weights."""
    return dtype if dtype in DTYPES else "float32"


# --------------------------------------------------------------------------------------------
# random initializers
# --------------------------------------------------------------------------------------------
class RandomInitializer(Initializer):
    """Base of the seeded initializers: Keras' seed rules (:mod:`._seeds`) plus ``stream=``.

    Subclasses name the spec ``scheme`` they resolve and map their Keras arguments to its
    parameters (:meth:`spec_params`)."""

    scheme: ClassVar[str] = ""

    def __init__(self, seed: Any = None, *, stream: str | None = None) -> None:
        self._init_seed = seed
        self.stream = None if stream is None else check_stream(stream)
        checked = check_seed(seed)
        if self.stream is not None:
            self.seed = portable_seed(checked, self.stream)
        else:
            self.seed = make_default_seed() if checked is None else checked

    def spec_params(self) -> dict[str, Any]:
        """The spec scheme's parameters of this initializer."""
        return {}

    def fans(self, shape: tuple[int, ...]) -> tuple[int, int] | None:
        """Explicit fans for :func:`resolve` (None: the ``"keras"`` layout's)."""
        return None

    def plan(self, shape: Any, dtype: Any = None) -> Plan:
        """The resolved spec plan of a call (shape, fans, std/bounds) - what :meth:`__call__` samples."""
        shape = _shape(shape)
        return resolve(self.scheme, shape, "keras", _dtype(dtype), fans=self.fans(shape), **self.spec_params())

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape, dtype = _shape(shape), _dtype(dtype)
        if self.stream is not None:
            return portable_values(self.scheme, shape, dtype, self.seed, self.stream, self.fans(shape),
                                   **self.spec_params())
        return self.sample(self.plan(shape, dtype), dtype)

    def sample(self, plan: Plan, dtype: str) -> Any:
        return draw(plan, self.seed, dtype)

    def get_config(self) -> dict[str, Any]:
        config = {"seed": keras.saving.serialize_keras_object(self._init_seed)}
        return config if self.stream is None else {**config, "stream": self.stream}


@_register
class RandomNormal(RandomInitializer):
    """``N(mean, stddev^2)`` (spec scheme ``normal``); Keras' default ``stddev=0.05``."""

    scheme = "normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None, *,
                 stream: str | None = None) -> None:
        check_finite("mean", mean)
        check_finite("stddev", stddev, nonneg=True)
        self.mean, self.stddev = mean, stddev
        super().__init__(seed=seed, stream=stream)

    def spec_params(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.stddev}

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@_register
class TruncatedNormal(RandomNormal):
    """``N(mean, stddev^2)`` re-drawn outside ``mean +- 2 stddev`` (spec scheme ``truncated_normal``,
    ``a=-2, b=2``; ``stddev`` is the pre-truncation sigma, as Keras)."""

    scheme = "truncated_normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None, *,
                 stream: str | None = None) -> None:
        check_finite("stddev", stddev, positive=True)
        super().__init__(mean, stddev, seed, stream=stream)


@_register
class RandomUniform(RandomInitializer):
    """``U[minval, maxval)`` (spec scheme ``uniform``); Keras' defaults ``+-0.05``."""

    scheme = "uniform"

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None, *,
                 stream: str | None = None) -> None:
        if not check_finite("minval", minval) < check_finite("maxval", maxval):
            raise InitSpecError(f"Argument `minval` must be < `maxval`. Received: minval={minval!r}, maxval={maxval!r}")
        self.minval, self.maxval = minval, maxval
        super().__init__(seed=seed, stream=stream)

    def spec_params(self) -> dict[str, Any]:
        return {"low": self.minval, "high": self.maxval}

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@_register
class VarianceScaling(RandomInitializer):
    """``variance = scale / fan(mode)`` (spec scheme ``variance_scaling``) with Keras' distribution
    names: ``"truncated_normal"`` (default; ``"normal"`` means it too), ``"untruncated_normal"``,
    ``"uniform"``. ``input_axes``/``output_axes`` pick the dims of the fans (:func:`compute_fans`)."""

    scheme = "variance_scaling"

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: Any = None, input_axes: Any = None, output_axes: Any = None, *,
                 stream: str | None = None) -> None:
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not 0.0 < scale < float("inf"):
            raise InitSpecError(f"Argument `scale` must be positive float. Received: scale={scale!r}")
        if mode not in _MODES:
            raise InitSpecError(f"Invalid `mode` argument: {mode!r}. Please use one of {_MODES}. Received: mode={mode!r}")
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        dist = "truncated_normal" if dist == "normal" else dist
        if dist not in _SPEC_DISTRIBUTION:
            raise InitSpecError(
                f"Invalid `distribution` argument: {distribution!r}. Please use one of "
                f"{(*_SPEC_DISTRIBUTION, 'normal')}. Received: distribution={distribution!r}"
            )
        self.scale, self.mode, self.distribution = scale, mode, dist
        self.input_axes = check_axes("input_axes", input_axes)
        self.output_axes = check_axes("output_axes", output_axes)
        super().__init__(seed=seed, stream=stream)

    def spec_params(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": _SPEC_DISTRIBUTION[self.distribution]}

    def fans(self, shape: tuple[int, ...]) -> tuple[int, int] | None:
        if len(shape) >= 2 and (self.input_axes is None or self.output_axes is None):
            return None  # the spec's "keras" layout: Keras' fans for rank >= 2
        return tuple(max(1, f) for f in compute_fans(shape, self.input_axes, self.output_axes))

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config(), "input_axes": self.input_axes, "output_axes": self.output_axes}


class _NamedVarianceScaling(VarianceScaling):
    """A Keras named variance-scaling initializer: ``Cls(seed=None, input_axes=None, output_axes=None)``.

    ``equivalent`` is the spec's name of the same distribution (``HeNormal`` -> ``he_truncated_normal``);
    calls resolve ``variance_scaling`` with Keras' exact ``scale`` (2.0, not ``sqrt(2)**2``)."""

    equivalent: ClassVar[str] = ""
    keras_args: ClassVar[tuple[float, str, str]] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: Any = None, input_axes: Any = None, output_axes: Any = None, *,
                 stream: str | None = None) -> None:
        super().__init__(*self.keras_args, seed=seed, input_axes=input_axes, output_axes=output_axes,
                         stream=stream)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        return {k: config[k] for k in ("seed", "input_axes", "output_axes", "stream") if k in config}


def _named(name: str, equivalent: str, scale: float, mode: str, distribution: str, ref: str) -> type:
    doc = (f"Keras' {name} (spec scheme {equivalent!r}): variance {scale:g} / {mode}, {distribution} "
           f"({ref}). ``{name}(42)`` means ``seed=42``.")
    cls = type(name, (_NamedVarianceScaling,), {
        "equivalent": equivalent, "keras_args": (scale, mode, distribution), "__doc__": doc,
        "__module__": __name__, "__qualname__": name,
    })
    return _register(cls)


GlorotNormal = _named("GlorotNormal", "glorot_truncated_normal", 1.0, "fan_avg", "truncated_normal", "Glorot & Bengio 2010")
GlorotUniform = _named("GlorotUniform", "glorot_uniform", 1.0, "fan_avg", "uniform", "Glorot & Bengio 2010")
HeNormal = _named("HeNormal", "he_truncated_normal", 2.0, "fan_in", "truncated_normal", "He et al. 2015")
HeUniform = _named("HeUniform", "he_uniform", 2.0, "fan_in", "uniform", "He et al. 2015")
LecunNormal = _named("LecunNormal", "lecun_truncated_normal", 1.0, "fan_in", "truncated_normal", "LeCun et al. 1998")
LecunUniform = _named("LecunUniform", "lecun_uniform", 1.0, "fan_in", "uniform", "LeCun et al. 1998")


@_register
class Orthogonal(RandomInitializer):
    """``gain`` times a Haar-random (semi-)orthogonal matrix (spec scheme ``orthogonal``; Saxe et
    al. 2014), by Keras' algorithm: rows ``prod(shape[:-1])``, columns ``shape[-1]``."""

    scheme = "orthogonal"

    def __init__(self, gain: float = 1.0, seed: Any = None, *, stream: str | None = None) -> None:
        check_finite("gain", gain, nonneg=True)
        self.gain = gain
        super().__init__(seed=seed, stream=stream)

    def spec_params(self) -> dict[str, Any]:
        return {"gain": self.gain}

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        if len(_shape(shape)) < 2:
            raise InitSpecError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={tuple(shape)!r} of rank {len(tuple(shape))}."
            )
        return super().__call__(shape, dtype)

    def sample(self, plan: Plan, dtype: str) -> Any:
        return orthogonal(plan.shape, plan.gain, self.seed, dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}


# --------------------------------------------------------------------------------------------
# constant initializers
# --------------------------------------------------------------------------------------------
@_register
class Zeros(Initializer):
    """All zeros (spec scheme ``zeros``); any numeric or bool dtype, as Keras."""

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape, dtype = _shape(shape), _dtype(dtype)
        resolve("zeros", shape, "keras", _spec_dtype(dtype))
        return keras.ops.zeros(shape, dtype=dtype)


@_register
class Ones(Initializer):
    """All ones (spec scheme ``ones``); any numeric or bool dtype, as Keras."""

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape, dtype = _shape(shape), _dtype(dtype)
        resolve("ones", shape, "keras", _spec_dtype(dtype))
        return keras.ops.ones(shape, dtype=dtype)


def _check_value(value: Any) -> Any:
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if not isinstance(value, complex):
            check_finite("value", value)
        return value
    if keras.ops.is_tensor(value) or isinstance(value, (np.ndarray, np.generic, list, tuple)):
        return value
    raise TypeError(f"Argument `value` must be a number or an array (tensor, ndarray, list). Received: value={value!r}")


@_register
class Constant(Initializer):
    """``value`` everywhere (spec scheme ``constant``); an array ``value`` is broadcast to the
    shape, as Keras' ``ops.cast(value) * ops.ones(shape)``."""

    def __init__(self, value: Any = 0.0) -> None:
        self.value = _check_value(value)

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape, dtype = _shape(shape), _dtype(dtype)
        if isinstance(self.value, numbers.Number):
            resolve("constant", shape, "keras", _spec_dtype(dtype), value=self.value)
        else:
            vshape = tuple(keras.ops.shape(self.value))
            try:
                np.broadcast_shapes(vshape, shape)
            except ValueError:
                raise InitSpecError(
                    f"Argument `value` of shape {vshape} does not broadcast to the weight shape. "
                    f"Received: shape={shape!r}"
                ) from None
        return keras.ops.cast(self.value, dtype=dtype) * keras.ops.ones(shape=shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"value": keras.saving.serialize_keras_object(self.value)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constant:
        return cls(keras.saving.deserialize_keras_object(config["value"]))


@_register
class Identity(Initializer):
    """``gain`` on the diagonal of a 2-D weight (spec scheme ``identity``)."""

    def __init__(self, gain: float = 1.0) -> None:
        check_finite("gain", gain)
        self.gain = gain

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        shape, dtype = _shape(shape), _dtype(dtype)
        plan = resolve("identity", shape, "keras", _spec_dtype(dtype), gain=self.gain)
        return plan.gain * keras.ops.eye(*shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


# --------------------------------------------------------------------------------------------
# get / serialize / deserialize
# --------------------------------------------------------------------------------------------
ALL_OBJECTS = (
    Initializer, Constant, Identity, Ones, STFT, Zeros, GlorotNormal, GlorotUniform, HeNormal, HeUniform,
    LecunNormal, LecunUniform, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
)


def _snake(name: str) -> str:
    """Keras' ``to_snake_case`` (``keras/src/utils/naming.py``): ``"GlorotUniform"`` -> ``"glorot_uniform"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


#: Name -> class, as ``keras.initializers.ALL_OBJECTS_DICT`` (class names, snake_case names, aliases).
ALL_OBJECTS_DICT: dict[str, Any] = {
    **{cls.__name__: cls for cls in ALL_OBJECTS}, **{_snake(cls.__name__): cls for cls in ALL_OBJECTS},
    "IdentityInitializer": Identity, "normal": RandomNormal, "one": Ones, "STFTInitializer": STFT,
    "OrthogonalInitializer": Orthogonal, "uniform": RandomUniform, "zero": Zeros,
}


def serialize(initializer: Any) -> Any:
    """The initializer's configuration as a Python dict (``keras.initializers.serialize``)."""
    return keras.saving.serialize_keras_object(initializer)


def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """An initializer from its configuration; Keras' class names resolve to the drop-in's."""
    return keras.saving.deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT,
                                                 custom_objects=custom_objects)


def get(identifier: Any) -> Any:
    """``keras.initializers.get``: None, a name (``"he_normal"``), a config dict, a class, a
    callable, or a tensor/ndarray (returned as a function checking the requested shape)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    elif keras.ops.is_tensor(identifier) or isinstance(identifier, (np.generic, np.ndarray)):

        def initialize_fn(shape: Any, dtype: Any = None) -> Any:
            dtype = _dtype(dtype)
            if _shape(shape) != _shape(identifier.shape):
                raise ValueError(
                    f"Expected `shape` to be {identifier.shape} for direct tensor as initializer. "
                    f"Received shape={shape}"
                )
            return keras.ops.cast(identifier, dtype)

        obj = initialize_fn
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret initializer identifier: {identifier}. Received: identifier={identifier!r}")
