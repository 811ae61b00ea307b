"""The TF functions: one per spec scheme (``he_normal(shape, dtype=None, seed=None, *, layout="keras",
groups=1, fans=None, stream=None, **params)``, ...) and :func:`initialize` taking the scheme by name,
on TensorFlow's *stateless* RNG (``tf.random.stateless_normal``, ``stateless_truncated_normal``,
``stateless_uniform``) or, with ``stream=``, the portable stream. See the package docstring for the
seed, layout and numerics rules.

Each per-scheme function is an explicit module-level name (IDEs and type checkers see it);
``tests/backends/test_tensorflow.py`` checks that they cover :data:`initspec.SCHEMES` exactly.
"""

from __future__ import annotations

import functools
import numbers
from typing import Any, Protocol

import tensorflow as tf
from initspec.backends._core import Keyed
from initspec.backends._core import sample as core_sample
from initspec.backends.portable._spec import check_stream
from initspec.distributions import Plan, resolve
from initspec.errors import InitSpecError
from initspec.schemes import Scheme, get_scheme

from . import portable
from ._naming import scheme_doc
from ._primitives import BACKEND, DEFAULT_LAYOUT
from ._seeds import portable_seed, seed_pair

__all__ = [
    "PLAN_CACHE_SIZE",
    "SCHEME_FUNCTIONS",
    "SchemeFunction",
    "check_groups",
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
    "normalise_shape",
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


def normalise_shape(shape: Any) -> Any:
    """A ``tf.TensorShape`` as a tuple (Keras passes one); anything else as is."""
    if isinstance(shape, tf.TensorShape):
        return tuple(shape.as_list())
    return shape


def check_groups(groups: Any) -> int:
    """``groups`` as an int >= 1, or an :class:`InitSpecError` naming the value."""
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise InitSpecError(f"Argument `groups` must be an int >= 1. Received: groups={groups!r}")
    return int(groups)


#: Resolved plans are cached: resolving a truncated normal builds a scipy ``truncnorm`` for its exact
#: moments (~10 ms), which would dominate the call for small weights.
PLAN_CACHE_SIZE = 512


#: Value types a cache key may hold; the type is part of the key, so ``True`` never hits the entry
#: of ``1`` (resolve rejects bools).
_CACHEABLE = (int, float, complex, str)


@functools.lru_cache(maxsize=PLAN_CACHE_SIZE)
def _cached_resolve(key: Keyed) -> Plan:
    scheme, shape, layout, dtype, groups, fans, params = key.args
    return resolve(scheme, shape, layout, dtype, groups=groups, fans=fans, **{k: v for k, _, v in params})


def _resolve(sch: Scheme, shape: Any, layout: Any, dtype: Any, groups: int, fans: Any,
             params: dict[str, Any]) -> Plan:
    """:func:`initspec.resolve`, cached for plain arguments (int dims, scalar parameters, hashable
    layout and dtype); anything else, invalid input included, goes to resolve directly."""
    plain = (isinstance(shape, (tuple, list)) and all(type(d) is int for d in shape)
             and (fans is None or isinstance(fans, (tuple, list)))
             and all(type(v) in _CACHEABLE for v in [*(fans or ()), *params.values()]))
    if plain:
        try:  # keyed by type and sign (typed_key): -0.0 never hits the plan of 0.0
            key = Keyed(sch.name, tuple(shape), layout, dtype, groups, None if fans is None else tuple(fans),
                        tuple(sorted((k, type(v), v) for k, v in params.items())))
        except TypeError:
            plain = False
    if not plain:
        return resolve(sch, shape, layout, dtype, groups=groups, fans=fans, **params)
    return _cached_resolve(key)


def plan_and_sample(
    scheme: str | Scheme,
    shape: Any,
    layout: Any = DEFAULT_LAYOUT,
    dtype: Any = None,
    seed: Any = None,
    *,
    groups: int = 1,
    fans: tuple[float, float] | None = None,
    **params: Any,
) -> tuple[Plan, tf.Tensor]:
    """Resolve ``scheme`` and sample it on TF (see the module docstring for the arguments).
    ``dirac``/``delta_orthogonal`` read ``layout``'s axes (the spec permutes them, see
    :attr:`initspec.Plan.perm`)."""
    sch = get_scheme(scheme)
    shape = normalise_shape(shape)
    groups = check_groups(groups)
    rng = seed_pair(seed)  # validates seed before any work
    plan = _resolve(sch, shape, layout, dtype, groups, fans, params)
    return plan, core_sample(BACKEND, rng, plan)


def initialize(
    scheme: str | Scheme,
    shape: Any,
    dtype: Any = None,
    seed: Any = None,
    *,
    layout: Any = DEFAULT_LAYOUT,
    groups: int = 1,
    fans: tuple[float, float] | None = None,
    stream: str | None = None,
    **params: Any,
) -> tf.Tensor:
    """Values of ``scheme`` for a weight of ``shape`` as a ``tf.Tensor`` (float32 by default).

    ``stream="dense/kernel"`` draws from the portable stream (see the module docstring): ``seed``
    an int in ``[0, 2**64)`` or None (means 0), the values of
    ``initspec.backends.tensorflow.portable.sample``."""
    if stream is not None:
        check_stream(stream)
        return _portable_sample(scheme, shape, dtype, portable_seed(seed, f"stream={stream!r}"), stream,
                                layout=layout, groups=groups, fans=fans, params=params)
    return plan_and_sample(scheme, shape, layout, dtype, seed, groups=groups, fans=fans, **params)[1]


def _portable_sample(scheme: str | Scheme, shape: Any, dtype: Any, seed: int, stream: str, *, layout: Any,
                     groups: int, fans: Any, params: dict[str, Any]) -> tf.Tensor:
    """:func:`initspec.backends.tensorflow.portable.sample` on the CPU."""
    return portable.sample(scheme, normalise_shape(shape), layout=layout, dtype=dtype, seed=seed,
                           stream=stream, device="cpu", groups=check_groups(groups), fans=fans, **params)


class SchemeFunction(Protocol):
    """Signature of the per-scheme TF functions (``he_normal``, ...)."""

    __name__: str

    def __call__(self, shape: Any, dtype: Any = None, seed: Any = None, *, layout: Any = DEFAULT_LAYOUT,
                 groups: int = 1, fans: tuple[float, float] | None = None, stream: str | None = None,
                 **params: Any) -> tf.Tensor: ...


def _make_function(scheme: str) -> SchemeFunction:
    """The TF function of ``scheme``: :func:`initialize` with the scheme bound."""
    sch = get_scheme(scheme)

    def init(shape: Any, dtype: Any = None, seed: Any = None, *, layout: Any = DEFAULT_LAYOUT,
             groups: int = 1, fans: tuple[float, float] | None = None, stream: str | None = None,
             **params: Any) -> tf.Tensor:
        return initialize(sch.name, shape, dtype, seed, layout=layout, groups=groups, fans=fans,
                          stream=stream, **params)

    init.__name__ = init.__qualname__ = sch.name
    init.__doc__ = scheme_doc(sch, "TF function (stateless RNG; stream= selects the portable stream)")
    return init


# one function per row of initspec.SCHEMES, in table order
zeros = _make_function("zeros")
ones = _make_function("ones")
constant = _make_function("constant")
normal = _make_function("normal")
uniform = _make_function("uniform")
truncated_normal = _make_function("truncated_normal")
truncated_normal_abs = _make_function("truncated_normal_abs")
variance_scaling = _make_function("variance_scaling")
glorot_normal = _make_function("glorot_normal")
glorot_truncated_normal = _make_function("glorot_truncated_normal")
glorot_uniform = _make_function("glorot_uniform")
he_normal = _make_function("he_normal")
he_truncated_normal = _make_function("he_truncated_normal")
he_uniform = _make_function("he_uniform")
lecun_normal = _make_function("lecun_normal")
lecun_truncated_normal = _make_function("lecun_truncated_normal")
lecun_uniform = _make_function("lecun_uniform")
orthogonal = _make_function("orthogonal")
identity = _make_function("identity")
dirac = _make_function("dirac")
delta_orthogonal = _make_function("delta_orthogonal")
sparse = _make_function("sparse")

#: The per-scheme functions, by scheme name.
SCHEME_FUNCTIONS: dict[str, SchemeFunction] = {f.__name__: f for f in (
    zeros, ones, constant, normal, uniform, truncated_normal, truncated_normal_abs, variance_scaling,
    glorot_normal, glorot_truncated_normal, glorot_uniform, he_normal, he_truncated_normal, he_uniform,
    lecun_normal, lecun_truncated_normal, lecun_uniform, orthogonal, identity, dirac, delta_orthogonal,
    sparse,
)}
