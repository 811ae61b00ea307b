"""The Keras 3 initializers: one ``keras.initializers.Initializer`` subclass per spec scheme, named in
CamelCase (``HeNormal``, ``GlorotUniform``, ...), and :data:`INITIALIZERS` by scheme name.

No Keras trap: where a class shares a name with a ``keras.initializers`` class, positional
arguments stop where Keras would read a seed (``HeTruncatedNormal(42)`` raises, explaining that
Keras' ``HeNormal(42)`` means seed=42), and the Keras-named ``RandomNormal``/``RandomUniform``/
``TruncatedNormal`` have Keras' defaults (std 0.05, U[-0.05, 0.05)). The exact Keras drop-in
is :mod:`initspec.backends.keras.initializers`.

Each class is an explicit module-level name (IDEs and type checkers see it), registered with
``keras.saving.register_keras_serializable(package="initspec")`` under its class name
(``"initspec>HeNormal"``) and with ``__module__`` the public ``initspec.backends.tensorflow``, so
``get_config``/``from_config`` and ``model.save``/``keras.models.load_model`` round-trip.
``tests/backends/test_tensorflow.py`` checks that the classes cover :data:`initspec.SCHEMES` exactly.
"""

from __future__ import annotations

import dataclasses
import random as _pyrandom
from typing import Any, ClassVar

import keras
import tensorflow as tf
from initspec.backends.portable._spec import check_stream
from initspec.distributions import resolve
from initspec.errors import UnknownNameError, unknown
from initspec.layouts import LAYOUTS, Layout, check_fans, get_layout, layout_from_dict
from initspec.schemes import get_scheme

from ._naming import COMMON_ARGS, class_name, param_names, scheme_doc
from ._primitives import DEFAULT_LAYOUT
from ._seeds import check_keras_seed, portable_seed
from .functions import check_groups, initialize

__all__ = [
    "INITIALIZERS",
    "KERAS_PACKAGE",
    "Constant",
    "DeltaOrthogonal",
    "Dirac",
    "GlorotNormal",
    "GlorotTruncatedNormal",
    "GlorotUniform",
    "HeNormal",
    "HeTruncatedNormal",
    "HeUniform",
    "Identity",
    "LecunNormal",
    "LecunTruncatedNormal",
    "LecunUniform",
    "Normal",
    "Ones",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "Sparse",
    "SpecInitializer",
    "TruncatedNormal",
    "TruncatedNormalAbs",
    "Uniform",
    "VarianceScaling",
    "Zeros",
    "layout_from_config",
    "layout_to_config",
]

#: Keras ``register_keras_serializable`` package: classes serialise as ``"initspec>HeNormal"``.
KERAS_PACKAGE = "initspec"
#: The public module the classes live in (their ``__module__``, as before the package split).
_PUBLIC_MODULE = "initspec.backends.tensorflow"
#: Distribution names accepted on top of the spec's (Keras spells the untruncated normal so).
_DISTRIBUTION_SYNONYMS = {"untruncated_normal": "normal"}


def layout_to_config(layout: Any) -> Any:
    """JSON form of a ``layout=`` argument: a name, or the fields of a custom :class:`Layout`."""
    if isinstance(layout, str) or layout is None:
        return layout
    if isinstance(layout, Layout):
        if LAYOUTS.get(layout.name) == layout:
            return layout.name
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(layout).items()}
    raise TypeError(f"Argument `layout` must be a layout name or Layout. Received: layout={layout!r}")


def layout_from_config(config: Any) -> Any:
    """Inverse of :func:`layout_to_config`."""
    if isinstance(config, dict):
        return layout_from_dict(config)  # every field validated (a malformed config names its field)
    return config


#: Shapes on which parameter values are validated at construction (resolve allocates nothing):
#: rank 3 for the conv-only schemes; a wide out axis for sparse, where resolve divides by the
#: non-zero fraction 1 - ceil(sparsity * n_out) / n_out.
_PROBE_SHAPES = {"dirac": (1, 1, 1), "delta_orthogonal": (1, 1, 1), "sparse": (1, 2**20)}
_DEFAULT_PROBE_SHAPE = (1, 1)


def _check_keras_backend() -> None:
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "initspec.backends.tensorflow initializers return TensorFlow tensors and need the Keras "
            f"TensorFlow backend (KERAS_BACKEND=tensorflow). Received: backend={keras.backend.backend()!r}"
        )


def _check_positional(cls: type[SpecInitializer], names: tuple[str, ...], args: tuple[Any, ...]) -> None:
    """Positional parameters up to ``cls.max_positional``; beyond it a ``TypeError`` saying what
    Keras' class of the same name would have read (the trap ``HeTruncatedNormal(42)`` = gain 42)."""
    limit = len(names) if cls.max_positional is None else cls.max_positional
    if len(args) <= limit:
        return
    name = cls.__name__
    if name in _KERAS_NAMES:
        keyword = ", ".join(f"{n}=..." for n in ("seed", *names[limit:]))
        raise TypeError(
            f"{name} takes at most {limit} positional parameter(s) {names[:limit]}: keras.initializers."
            f"{_KERAS_NAMES[name]} reads its next positional argument as the seed, so here every other "
            f"argument is keyword-only ({keyword}). For "
            f"Keras' own semantics use initspec.backends.keras.initializers.{_KERAS_NAMES[name]}. "
            f"Received: args={args!r}"
        )
    raise TypeError(f"{name} takes at most {limit} positional parameter(s) {names[:limit]}. Received: args={args!r}")


class SpecInitializer(keras.initializers.Initializer):
    """Base of the generated Keras initializers: ``scheme`` names the row of the spec's table.

    ``Cls(*params, seed=None, layout="keras", groups=1, fans=None, stream=None, **params)``:
    positional arguments are the scheme's parameters in table order (``VarianceScaling(2.0,
    "fan_out", "uniform")``). Parameter names and values are checked at construction.

    ``stream="dense/kernel"`` switches to the portable stream (:mod:`initspec.backends.portable`,
    see the module docstring): the same values as every other framework for the same ``(seed,
    stream)``, logical layout and dtype, on CPU and GPU; deterministic (every call returns the same
    values; ``seed=None`` means 0). ``get_config`` then holds ``"stream"``.
    """

    scheme: ClassVar[str] = ""
    #: How many leading parameters may be given positionally (None: all). Where a Keras class of
    #: the same name reads a positional argument differently (``keras.initializers.HeNormal(42)``
    #: is seed=42), positional use stops before it and raises with an explanation.
    max_positional: ClassVar[int | None] = None
    #: Parameter defaults replacing the scheme table's (Keras' own, on the Keras-named aliases).
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, seed: Any = None, layout: Any = DEFAULT_LAYOUT, groups: int = 1,
                 fans: tuple[float, float] | list[float] | None = None, stream: str | None = None,
                 **params: Any) -> None:
        sch = get_scheme(self.scheme)
        names = param_names(sch)
        _check_positional(type(self), names, args)
        for n, v in zip(names, args):
            if n in params:
                raise TypeError(f"{type(self).__name__} got parameter `{n}` twice. Received: {n}={v!r}")
            params[n] = v
        for k, v in params.items():
            if k not in names and k not in sch.fixed:
                err = str(unknown(f"parameter of {type(self).__name__}", k, k, [*names, *COMMON_ARGS]))
                raise UnknownNameError(f"{err.rsplit(' Received:', 1)[0]} Received: {k}={v!r}")
        if "distribution" in params:
            dist = params["distribution"]
            params["distribution"] = _DISTRIBUTION_SYNONYMS.get(dist, dist)
        self.stream = None if stream is None else check_stream(stream)
        self._init_seed = check_keras_seed(seed)
        if self.stream is not None:
            self.seed = portable_seed(self._init_seed, f"stream={self.stream!r}")
        else:
            self.seed = _pyrandom.randint(1, 2**62) if self._init_seed is None else self._init_seed
        self.layout = layout_from_config(layout)
        get_layout(self.layout)  # unknown names fail here
        self.groups = check_groups(groups)
        self.fans = None if fans is None else check_fans(fans)
        self.params = {**{n: self.defaults.get(n, sch.defaults[n]) for n in names}, **params}
        probe = _PROBE_SHAPES.get(sch.name, _DEFAULT_PROBE_SHAPE)
        resolve(sch, probe, "jax", "float32", **self.params)  # parameter values fail now, not at build

    def __call__(self, shape: Any, dtype: Any = None) -> tf.Tensor:
        _check_keras_backend()
        return initialize(self.scheme, shape, dtype or keras.backend.floatx(), self.seed,
                          layout=self.layout, groups=self.groups, fans=self.fans, stream=self.stream,
                          **self.params)

    def get_config(self) -> dict[str, Any]:
        return {
            **self.params,
            "seed": keras.saving.serialize_keras_object(self._init_seed),
            "layout": layout_to_config(self.layout),
            "groups": self.groups,
            "fans": None if self.fans is None else list(self.fans),
            **({} if self.stream is None else {"stream": self.stream}),
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


#: Classes whose name (or alias) is Keras' -> that Keras class name, when a positional argument
#: would mean something else here: Keras' named variance-scaling classes take ``(seed, ...)``
#: (``HeNormal(42)`` is seed=42; here the only parameter is ``gain``); ``TruncatedNormal``/
#: ``RandomNormal``/``RandomUniform`` take ``(mean, stddev, seed)`` / ``(minval, maxval, seed)``.
_KERAS_NAMES = {
    **{class_name(n): class_name(n.replace("_truncated", "")) for n in (
        "glorot_normal", "glorot_truncated_normal", "glorot_uniform", "he_normal", "he_truncated_normal",
        "he_uniform", "lecun_normal", "lecun_truncated_normal", "lecun_uniform")},
    "TruncatedNormal": "TruncatedNormal", "RandomNormal": "RandomNormal", "RandomUniform": "RandomUniform",
}
#: Positional limits where Keras' class of the same name reads a seed next (see _KERAS_NAMES).
_MAX_POSITIONAL = {**{name: 0 for name in _KERAS_NAMES}, "TruncatedNormal": 2, "RandomNormal": 2, "RandomUniform": 2}


def _make_class(scheme: str, name: str | None = None, defaults: dict[str, Any] | None = None,
                doc: str = "") -> type[SpecInitializer]:
    """The registered Keras initializer class of ``scheme`` (``name``: an alias class with
    parameter ``defaults`` of its own)."""
    sch = get_scheme(scheme)
    name = name or class_name(sch.name)
    cls = type(name, (SpecInitializer,), {
        "scheme": sch.name, "__module__": _PUBLIC_MODULE, "max_positional": _MAX_POSITIONAL.get(name),
        "defaults": dict(defaults or {}), "__doc__": scheme_doc(sch, "Keras initializer") + doc,
    })
    return keras.saving.register_keras_serializable(package=KERAS_PACKAGE)(cls)


#: Keras' defaults on the Keras-named classes (keras/src/initializers/random_initializers.py)
_KERAS_DEFAULTS_DOC = ("\n\nKeras-named: Keras' defaults ({}); further arguments keyword-only. Parameter "
                       "names are the spec's; initspec.backends.keras.initializers.{} is the exact drop-in.")


# one class per row of initspec.SCHEMES, in table order
Zeros = _make_class("zeros")
Ones = _make_class("ones")
Constant = _make_class("constant")
Normal = _make_class("normal")
Uniform = _make_class("uniform")
TruncatedNormal = _make_class("truncated_normal", defaults={"std": 0.05},
                              doc=_KERAS_DEFAULTS_DOC.format("std=0.05", "TruncatedNormal"))
TruncatedNormalAbs = _make_class("truncated_normal_abs")
VarianceScaling = _make_class("variance_scaling")
GlorotNormal = _make_class("glorot_normal")
GlorotTruncatedNormal = _make_class("glorot_truncated_normal")
GlorotUniform = _make_class("glorot_uniform")
HeNormal = _make_class("he_normal")
HeTruncatedNormal = _make_class("he_truncated_normal")
HeUniform = _make_class("he_uniform")
LecunNormal = _make_class("lecun_normal")
LecunTruncatedNormal = _make_class("lecun_truncated_normal")
LecunUniform = _make_class("lecun_uniform")
Orthogonal = _make_class("orthogonal")
Identity = _make_class("identity")
Dirac = _make_class("dirac")
DeltaOrthogonal = _make_class("delta_orthogonal")
Sparse = _make_class("sparse")

# The table's Keras-style CamelCase aliases: classes of their own with Keras' defaults (std 0.05,
# U[-0.05, 0.05)), registered under their own names; saved "Normal"/"Uniform" configs still load.
RandomNormal = _make_class("normal", "RandomNormal", {"std": 0.05},
                           _KERAS_DEFAULTS_DOC.format("mean=0.0, std=0.05", "RandomNormal"))
RandomUniform = _make_class("uniform", "RandomUniform", {"low": -0.05, "high": 0.05},
                            _KERAS_DEFAULTS_DOC.format("low=-0.05, high=0.05", "RandomUniform"))

#: scheme name -> Keras initializer class
INITIALIZERS: dict[str, type[SpecInitializer]] = {cls.scheme: cls for cls in (
    Zeros, Ones, Constant, Normal, Uniform, TruncatedNormal, TruncatedNormalAbs, VarianceScaling,
    GlorotNormal, GlorotTruncatedNormal, GlorotUniform, HeNormal, HeTruncatedNormal, HeUniform,
    LecunNormal, LecunTruncatedNormal, LecunUniform, Orthogonal, Identity, Dirac, DeltaOrthogonal,
    Sparse,
)}
