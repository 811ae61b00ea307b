"""The Keras 3 initializers: one ``keras.initializers.Initializer`` subclass per spec scheme, named in
CamelCase (``HeNormal``, ``GlorotUniform``, ...; the table's Keras-style aliases ``RandomNormal`` /
``RandomUniform`` name the same classes), and :data:`INITIALIZERS` by scheme name.

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

    def __init__(self, *args: Any, seed: Any = None, layout: Any = DEFAULT_LAYOUT, groups: int = 1,
                 fans: tuple[float, float] | list[float] | None = None, stream: str | None = None,
                 **params: Any) -> None:
        sch = get_scheme(self.scheme)
        names = param_names(sch)
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__} takes at most {len(names)} positional parameter(s) {names}. "
                f"Received: args={args!r}"
            )
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
        self.params = {**{n: sch.defaults[n] for n in names}, **params}
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


def _make_class(scheme: str) -> type[SpecInitializer]:
    """The registered Keras initializer class of ``scheme``."""
    sch = get_scheme(scheme)
    cls = type(class_name(sch.name), (SpecInitializer,), {
        "scheme": sch.name, "__module__": _PUBLIC_MODULE, "__doc__": scheme_doc(sch, "Keras initializer"),
    })
    return keras.saving.register_keras_serializable(package=KERAS_PACKAGE)(cls)


# one class per row of initspec.SCHEMES, in table order
Zeros = _make_class("zeros")
Ones = _make_class("ones")
Constant = _make_class("constant")
Normal = _make_class("normal")
Uniform = _make_class("uniform")
TruncatedNormal = _make_class("truncated_normal")
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

# the table's Keras-style CamelCase aliases that are not class names already
RandomNormal = Normal
RandomUniform = Uniform

#: scheme name -> Keras initializer class
INITIALIZERS: dict[str, type[SpecInitializer]] = {cls.scheme: cls for cls in (
    Zeros, Ones, Constant, Normal, Uniform, TruncatedNormal, TruncatedNormalAbs, VarianceScaling,
    GlorotNormal, GlorotTruncatedNormal, GlorotUniform, HeNormal, HeTruncatedNormal, HeUniform,
    LecunNormal, LecunTruncatedNormal, LecunUniform, Orthogonal, Identity, Dirac, DeltaOrthogonal,
    Sparse,
)}
