"""TensorFlow / Keras 3 adapter: the spec's schemes as Keras ``Initializer`` classes and TF functions.

Three public faces, all generated from the scheme table (:data:`initspec.schemes.SCHEMES`), so a
new row of the table is a new class and a new function here without new code:

* **Keras initializers** - one ``keras.initializers.Initializer`` subclass per scheme, named in
  CamelCase (``HeNormal``, ``HeTruncatedNormal``, ``GlorotUniform``, ``GlorotNormal``,
  ``Orthogonal``, ``Dirac``, ``DeltaOrthogonal``, ``Sparse``, ``VarianceScaling``, ...; the table's
  Keras-style aliases ``RandomNormal``/``RandomUniform`` name the same classes). Usable as
  ``kernel_initializer=``; ``get_config``/``from_config`` round-trip; registered with
  ``keras.saving.register_keras_serializable(package="initspec")`` so ``model.save("m.keras")`` /
  ``keras.models.load_model`` work (import this module before loading: Keras resolves the
  registered name ``"initspec>HeNormal"`` only once the class is registered).
* **TF functions** - ``he_normal(shape, dtype=None, seed=None, *, layout="keras", groups=1,
  fans=None, **params)`` etc. and :func:`initialize` taking the scheme by name, on TensorFlow's
  *stateless* RNG (``tf.random.stateless_normal``, ``stateless_truncated_normal``,
  ``stateless_uniform``).
* :func:`init_model` - re-initializes every kernel and bias of a built Keras model in place, by
  layer type (``by_type=``), natively or from the portable stream (``portable=True``);
* the **uniform harness API** of :mod:`initspec.backends` (:func:`sample`, :func:`to_numpy`, ...).

**Portable stream.** Every Keras class and TF function also takes ``stream: str | None = None``.
``stream=None`` keeps the native behaviour described below. ``stream="dense/kernel"`` draws from
the *portable stream* (:mod:`initspec.backends.portable`) keyed by ``(seed, stream)``: the same
values, bit for bit, as ``initspec.backends.portable.tensorflow.sample`` and the NumPy, torch and
JAX backends give for the same ``(seed, stream)``, scheme, logical layout and dtype, on CPU and GPU
(structured schemes such as orthogonal agree to QR rounding). ``seed`` must then be an int in
``[0, 2**64)`` or None: the portable stream is deterministic, so ``seed=None`` means 0 and every
call returns the same values (a ``keras.random.SeedGenerator`` or a TF seed pair is refused). The
values are computed on the CPU (a variable copies them to its device).

**Names follow the spec, not Keras.** ``GlorotNormal``/``HeNormal``/``LecunNormal`` here are the
*UNTRUNCATED* normals (torch ``xavier_normal_``/``kaiming_normal_``). Keras' own
``keras.initializers.GlorotNormal``/``HeNormal``/``LecunNormal`` are *truncated* (+-2 sigma) normals:
they are ``GlorotTruncatedNormal``/``HeTruncatedNormal``/``LecunTruncatedNormal`` here. Likewise
Keras ``VarianceScaling(distribution="normal")`` silently means *truncated*; here
``distribution="normal"`` is the untruncated normal (``"untruncated_normal"`` is accepted as a
synonym) and ``"truncated_normal"`` the truncated one. Parameter names are the spec's (``std``,
``low``/``high``, ``gain``), not Keras' (``stddev``, ``minval``/``maxval``).

**Layouts.** Default ``layout="keras"``: Dense ``(in, out)``, Conv ``(*k, in/groups, out)``,
ConvTranspose ``(*k, out, in)`` (fan_in from axis -2, as Keras). ``layout=`` takes any spec layout
name or :class:`initspec.Layout` (e.g. ``get_layout("keras").with_axes(...)``), ``groups=`` divides
fan_out (grouped convolutions), ``fans=(fan_in, fan_out)`` overrides the fans (biases, rank < 2).
``Dirac`` and ``DeltaOrthogonal`` are defined by the spec in a fixed axis order (torch
``(out, in, *k)`` and ``(*k, in, out)``); the Keras classes and TF functions read the given
``layout``'s in/out/receptive axes, so ``Dirac()`` on a ``Conv2D`` kernel ``(kh, kw, in, out)`` gives
the identity convolution (and ``groups=`` is the layer's groups).

**Seed semantics** (Keras 3's, ``keras/src/initializers/random_initializers.py::RandomInitializer``,
whose docstring says "an initializer seeded with an integer or `None` (unseeded) will produce the
same random values across multiple calls"):

* ``seed=int``: every call of every instance with that seed returns the same values;
* ``seed=None``: a random int seed is drawn **once, at construction** (from Python's ``random``,
  as Keras' ``make_default_seed``, so ``keras.utils.set_random_seed`` makes it reproducible):
  repeated calls of one instance repeat, two instances differ. ``get_config`` stores ``None``
  (as Keras), so a deserialised copy draws a new seed - saved models keep their *weights*;
* ``seed=keras.random.SeedGenerator(...)``: fresh values on every call (``SeedGenerator.next``),
  reproducible from the generator's own seed.

Anything else (a string, a float, a bool) raises ``TypeError`` naming the value. The TF functions
also take a TF stateless seed (an int tensor/sequence of shape ``[2]``), and ``seed=None`` there
draws a fresh seed per call (as ``tf.random.normal`` without a seed).

Ints map to the stateless seed pair ``[seed mod 2**32, (seed >> 32) mod 2**32]`` (``[seed, 0]``
for seeds below 2**32, the pair Keras' ``draw_seed`` builds), and ``_core`` derives sub-seeds with
``tf.random.experimental.stateless_split``.

Values for a seed are the same eagerly and inside ``tf.function``; under XLA
(``jit_compile=True``) TF's ``auto_select`` picks another RNG algorithm, so values differ (as for
Keras' own initializers), and the exact open-bound guarantees below are only established for
eager/graph execution.

**Devices.** Tensors are created under the caller's ``tf.device`` scope (no placement is forced);
the harness :func:`sample` opens ``tf.device("/GPU:0")`` for ``device="gpu"``.

**Numerics.** float16/bfloat16 are sampled in float32 and cast (``_core``); truncated normals are
exact in every dtype: TF's ``stateless_truncated_normal`` (rejection at exactly +-2 sigma,
``tensorflow/core/lib/random/random_distributions.h::TruncatedNormalDistribution``) for the
standard truncation, the inverse CDF (``tf.math.ndtri``) in float64 for any other bounds; results
are clamped to the dtype-representable interval strictly inside the open bounds only when rounding
can reach a bound (decided exactly from float arithmetic on the extreme possible draw, so the
common float32 case costs no extra pass). Uniforms never reach ``high``
(``tensorflow/core/lib/random/random_distributions_utils.h::Uint32ToFloat`` draws ``u <= 1 - 2**-23``;
the extreme value of ``u * (high - low) + low`` is checked the same way).

The Keras classes need the Keras **TensorFlow** backend (the default); they return ``tf.Tensor``.
Note: ``import tensorflow`` itself imports JAX when JAX is installed
(``tensorflow/lite/python/util.py``); this module imports no other framework.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import random as _pyrandom
from collections.abc import Iterator, Mapping
from typing import Any, Callable, ClassVar

import keras
import numpy as np
import tensorflow as tf

from initspec.constants import VARIANCE_SCALING_TRUNCATION
from initspec.distributions import Plan, resolve
from initspec.dtypes import inner_bounds, next_below
from initspec.errors import InitSpecError, UnknownNameError, unknown
from initspec.layouts import LAYOUTS, Layout, compute_fans, get_layout
from initspec.schemes import SCHEMES, Scheme, get_scheme
from initspec.backends._bench import BenchCase
from initspec.backends._core import Primitives, compute_dtype
from initspec.backends._core import sample as core_sample
from initspec.backends._rules import Rule, by_type_rules, check_by_type, refuse_reserved, split_rule
from initspec.backends.portable._spec import check_seed, check_stream

DEFAULT_LAYOUT = "keras"
#: Keras ``register_keras_serializable`` package: classes serialise as ``"initspec>HeNormal"``.
KERAS_PACKAGE = "initspec"

_MASK32 = 0xFFFFFFFF
#: Largest uniform draw of TF's float kernels: 23 (float32) / 52 (float64) random mantissa bits in
#: [1, 2) minus 1 (random_distributions_utils.h::Uint32ToFloat, random_distributions.h::Uint64ToDouble).
_UNIFORM_MAX = {"float32": np.float32(1.0 - 2.0**-23), "float64": np.float64(1.0 - 2.0**-52)}
_NP_REAL = {"float32": np.float32, "float64": np.float64}
#: |a + 2|, |b - 2| below this (float64 rounding of the spec's own (low - mean) / std) count as the
#: standard +-2 sigma truncation that TF's stateless_truncated_normal samples.
_STANDARD_TRUNCATION_SLACK = 8 * 2.0**-52 * VARIANCE_SCALING_TRUNCATION
#: Schemes the spec defines in a fixed axis order whatever the layout:
#: torch ``(out, in, *k)`` or jax ``(*k, in, out)``.
#: Distribution names accepted on top of the spec's (Keras spells the untruncated normal so).
_DISTRIBUTION_SYNONYMS = {"untruncated_normal": "normal"}
#: Arguments every initializer takes besides its scheme's parameters.
_COMMON_ARGS = ("seed", "layout", "groups", "fans")


# --------------------------------------------------------------------------------------------
# dtypes
# --------------------------------------------------------------------------------------------
def tf_dtype(dtype: str) -> tf.DType:
    """The ``tf.DType`` of a spec dtype name."""
    return tf.as_dtype(dtype)


def _largest_at_most(x: float, dtype: str) -> float:
    """Largest value representable in ``dtype`` that is <= ``x``."""
    if x == 0:
        return 0.0
    below = next_below(x, dtype)
    return x if -next_below(-below, dtype) == x else below


def _closed_inner(lo: float, hi: float, dtype: str) -> tuple[float, float]:
    """Largest ``[lo', hi'] subset of [lo, hi]`` whose ends are representable in ``dtype``
    (clamping to these never moves a value outside ``[lo, hi]`` through rounding)."""
    return -_largest_at_most(-lo, dtype), _largest_at_most(hi, dtype)


def _is_standard_truncation(a: float, b: float) -> bool:
    """Whether (a, b) is the +-2 sigma interval of ``tf.random.stateless_truncated_normal``."""
    k = VARIANCE_SCALING_TRUNCATION
    return abs(a + k) <= _STANDARD_TRUNCATION_SLACK and abs(b - k) <= _STANDARD_TRUNCATION_SLACK


def _affine_extremes(zmax: float, scale: float, shift: float, dtype: str) -> tuple[float, float]:
    """Exact ``(fl(fl(-zmax * scale) + shift), fl(fl(zmax * scale) + shift))`` in ``dtype``: the
    extreme outputs of TF's ``rnd * scale + shift`` (two separate kernels, IEEE rounding, monotone)
    for draws ``|rnd| <= zmax``."""
    t = _NP_REAL[dtype]
    z, s, m = t(zmax), t(scale), t(shift)
    return float(t(-z * s) + m), float(t(z * s) + m)


# --------------------------------------------------------------------------------------------
# the primitives
# --------------------------------------------------------------------------------------------
class TFBackend(Primitives):
    """:class:`~initspec.backends._core.Primitives` on TensorFlow ops. ``rng`` is a stateless seed
    pair (int tensor of shape [2]); ``split`` derives new pairs with ``stateless_split``."""

    name = "tensorflow"
    capabilities = frozenset({"complex", "float16", "bfloat16", "float64", "cpu", "gpu"})

    # RNG ------------------------------------------------------------------------------------
    def split(self, rng: tf.Tensor, n: int) -> list[tf.Tensor]:
        return tf.unstack(tf.random.experimental.stateless_split(rng, num=n))

    def normal(self, rng: tf.Tensor, shape: tuple[int, ...], dtype: str) -> tf.Tensor:
        return tf.random.stateless_normal(shape, seed=rng, dtype=tf_dtype(dtype))

    def uniform(self, rng: tf.Tensor, shape: tuple[int, ...], dtype: str, low: float,
                high: float) -> tf.Tensor:
        """U[low, high) in ``dtype`` (float32/float64): ``minval`` is the smallest representable
        value >= low; values are clamped below ``high`` only if rounding can reach it."""
        lo, _ = _closed_inner(low, high, dtype)
        x = tf.random.stateless_uniform(shape, seed=rng, minval=lo, maxval=high, dtype=tf_dtype(dtype))
        t = _NP_REAL[dtype]
        lo_t, hi_t = t(lo), t(high)
        top = float(t(_UNIFORM_MAX[dtype] * t(hi_t - lo_t)) + lo_t)
        _, hi_in = inner_bounds(low, high, dtype)
        return tf.minimum(x, tf.constant(hi_in, x.dtype)) if top > hi_in else x

    def truncated_normal(self, rng: tf.Tensor, shape: tuple[int, ...], dtype: str, a: float,
                         b: float) -> tf.Tensor:
        """Standard normal truncated to (a, b), exactly: TF's rejection sampler for +-2, otherwise
        the inverse CDF in float64 on the side of 0 where the interval's tail mass is accurate."""
        if _is_standard_truncation(a, b):
            return tf.random.stateless_truncated_normal(shape, seed=rng, dtype=tf_dtype(dtype))
        flip = a > 0  # both bounds in the upper tail: sample -x on (-b, -a), where ndtr is accurate
        lo, hi = (-b, -a) if flip else (a, b)
        from scipy.special import ndtr

        u = tf.random.stateless_uniform(shape, seed=rng, minval=float(ndtr(lo)), maxval=float(ndtr(hi)),
                                        dtype=tf.float64)
        x = tf.clip_by_value(tf.math.ndtri(u), lo, hi)
        return tf.cast(-x if flip else x, tf_dtype(dtype))

    # fused fast paths (see _core.sample) ---------------------------------------------------------
    def fast_normal(self, rng: tf.Tensor, plan: Plan) -> Any:
        """Real normal in one TF op (``rnd * std + mean``, as Keras' own)."""
        if plan.complex_rule is not None:
            return NotImplemented
        x = tf.random.stateless_normal(plan.shape, seed=rng, mean=plan.mean, stddev=plan.std,
                                       dtype=tf_dtype(compute_dtype(plan.dtype)))
        return self.cast(x, plan.dtype)

    def fast_truncated_normal(self, rng: tf.Tensor, plan: Plan) -> Any:
        """The +-2 sigma truncated normal in one TF op; the clamp into the open bounds is applied
        only when rounding of ``rnd * std + mean`` can reach a bound (always for float16/bfloat16)."""
        if plan.complex_rule is not None:
            return NotImplemented
        a, b = (plan.low - plan.mean) / plan.std, (plan.high - plan.mean) / plan.std
        if not _is_standard_truncation(a, b):
            return NotImplemented
        cdt = compute_dtype(plan.dtype)
        x = tf.random.stateless_truncated_normal(plan.shape, seed=rng, mean=plan.mean, stddev=plan.std,
                                                 dtype=tf_dtype(cdt))
        lo, hi = inner_bounds(plan.low, plan.high, plan.dtype)
        if cdt != plan.dtype:
            return self.clip(self.cast(x, plan.dtype), lo, hi)
        zmax = float(np.nextafter(_NP_REAL[cdt](VARIANCE_SCALING_TRUNCATION), _NP_REAL[cdt](0)))
        e_lo, e_hi = _affine_extremes(zmax, plan.std, plan.mean, cdt)
        return x if lo <= e_lo and e_hi <= hi else self.clip(x, lo, hi)

    # construction / elementwise ------------------------------------------------------------------
    def full(self, shape: tuple[int, ...], dtype: str, value: Any) -> tf.Tensor:
        return tf.fill(shape, tf.constant(value, dtype=tf_dtype(dtype)))

    def eye(self, rows: int, cols: int, dtype: str) -> tf.Tensor:
        return tf.eye(rows, cols, dtype=tf_dtype(dtype))

    def cast(self, x: tf.Tensor, dtype: str) -> tf.Tensor:
        t = tf_dtype(dtype)
        return x if x.dtype == t else tf.cast(x, t)

    def clip(self, x: tf.Tensor, lo: float, hi: float) -> tf.Tensor:
        """Clamp into ``[lo, hi]``; bounds are first rounded inward to ``x.dtype``."""
        lo_r, hi_r = _closed_inner(lo, hi, x.dtype.name)
        return tf.clip_by_value(x, tf.constant(lo_r, x.dtype), tf.constant(hi_r, x.dtype))

    def where(self, cond: tf.Tensor, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        return tf.where(cond, x, y)

    def sqrt(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.sqrt(x)

    def log1p(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.log1p(x)

    def cos(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.cos(x)

    def sin(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.sin(x)

    def sign(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.sign(x)

    def complex(self, re: tf.Tensor, im: tf.Tensor, dtype: str) -> tf.Tensor:
        return self.cast(tf.complex(re, im), dtype)

    # shape / linear algebra -----------------------------------------------------------------------
    def reshape(self, x: tf.Tensor, shape: tuple[int, ...]) -> tf.Tensor:
        return tf.reshape(x, shape)

    def transpose(self, x: tf.Tensor, perm: tuple[int, ...]) -> tf.Tensor:
        return x if tuple(perm) == tuple(range(len(perm))) else tf.transpose(x, perm)

    def pad(self, x: tf.Tensor, pads: list[tuple[int, int]]) -> tf.Tensor:
        return tf.pad(x, pads)

    def qr(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.linalg.qr(x, full_matrices=False)

    def diagonal(self, x: tf.Tensor) -> tf.Tensor:
        return tf.linalg.diag_part(x)

    def argsort(self, x: tf.Tensor, axis: int) -> tf.Tensor:
        return tf.argsort(x, axis=axis, stable=True)

    def scatter(self, shape: tuple[int, ...], dtype: str, index: np.ndarray, value: float) -> tf.Tensor:
        updates = tf.fill([index.shape[0]], tf.constant(value, dtype=tf_dtype(dtype)))
        return tf.scatter_nd(tf.constant(index, tf.int64), updates, shape)

    def to_numpy(self, x: tf.Tensor) -> np.ndarray:
        return x.numpy()


BACKEND = TFBackend()


# --------------------------------------------------------------------------------------------
# seeds
# --------------------------------------------------------------------------------------------
def _int_seed_pair(seed: int) -> tf.Tensor:
    """Stateless seed pair of an int: ``[seed mod 2**32, (seed >> 32) mod 2**32]``."""
    s = int(seed)
    return tf.constant([s & _MASK32, (s >> 32) & _MASK32], dtype=tf.int64)


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_keras_seed(seed: Any) -> Any:
    """Validate a Keras-style ``seed`` (int, None, ``keras.random.SeedGenerator`` or its
    serialised dict); return it (a dict deserialised)."""
    if isinstance(seed, dict):
        seed = keras.saving.deserialize_keras_object(seed)
    if _is_int(seed):
        return int(seed)
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    raise TypeError(
        "Argument `seed` must be an int, None or a keras.random.SeedGenerator "
        f"(type {type(seed).__name__} given). Received: seed={seed!r}"
    )


def seed_pair(seed: Any) -> tf.Tensor:
    """A stateless TF seed (int64 tensor of shape [2]) from ``seed``: an int, a
    ``keras.random.SeedGenerator`` (advanced: fresh values per call), a shape-[2] int
    tensor/sequence (used as is), or None (a fresh random seed)."""
    if seed is None:
        return _int_seed_pair(_pyrandom.getrandbits(63))
    if _is_int(seed):
        return _int_seed_pair(seed)
    if isinstance(seed, keras.random.SeedGenerator):
        return tf.cast(seed.next(), tf.int64)
    if isinstance(seed, (tf.Tensor, np.ndarray, list, tuple)):
        arr = tf.convert_to_tensor(seed)
        if arr.shape == (2,) and arr.dtype.is_integer:
            return tf.cast(arr, tf.int64)
    raise TypeError(
        "Argument `seed` must be an int, None, a keras.random.SeedGenerator or a TF stateless "
        f"seed (int tensor of shape [2]). Received: seed={seed!r}"
    )


# --------------------------------------------------------------------------------------------
# resolving and sampling
# --------------------------------------------------------------------------------------------
def _normalise_shape(shape: Any) -> Any:
    if isinstance(shape, tf.TensorShape):
        return tuple(shape.as_list())
    return shape


def _check_groups(groups: Any) -> int:
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
def _cached_resolve(scheme: str, shape: tuple[int, ...], layout: Any, dtype: Any, groups: int, fans: Any,
                    params: tuple[tuple[str, type, Any], ...]) -> Plan:
    return resolve(scheme, shape, layout, dtype, groups=groups, fans=fans, **{k: v for k, _, v in params})


def _resolve(sch: Scheme, shape: Any, layout: Any, dtype: Any, groups: int, fans: Any,
             params: dict[str, Any]) -> Plan:
    """:func:`initspec.resolve`, cached for plain arguments (int dims, scalar parameters, hashable
    layout and dtype); anything else, invalid input included, goes to resolve directly."""
    plain = (isinstance(shape, (tuple, list)) and all(type(d) is int for d in shape)
             and (fans is None or isinstance(fans, (tuple, list)))
             and all(type(v) in _CACHEABLE for v in [*(fans or ()), *params.values()]))
    if plain:
        key = (sch.name, tuple(shape), layout, dtype, groups, None if fans is None else tuple(fans),
               tuple(sorted((k, type(v), v) for k, v in params.items())))
        try:
            hash(key)
        except TypeError:
            plain = False
    if not plain:
        return resolve(sch, shape, layout, dtype, groups=groups, fans=fans, **params)
    return _cached_resolve(*key)


def plan_and_sample(
    scheme: "str | Scheme",
    shape: Any,
    layout: Any = DEFAULT_LAYOUT,
    dtype: Any = None,
    seed: Any = None,
    *,
    groups: int = 1,
    fans: "tuple[float, float] | None" = None,
    **params: Any,
) -> tuple[Plan, tf.Tensor]:
    """Resolve ``scheme`` and sample it on TF (see the module docstring for the arguments).
    ``dirac``/``delta_orthogonal`` read ``layout``'s axes (the spec permutes them, see
    :attr:`initspec.Plan.perm`)."""
    sch = get_scheme(scheme)
    shape = _normalise_shape(shape)
    groups = _check_groups(groups)
    rng = seed_pair(seed)  # validates seed before any work
    plan = _resolve(sch, shape, layout, dtype, groups, fans, params)
    return plan, core_sample(BACKEND, rng, plan)


def initialize(
    scheme: "str | Scheme",
    shape: Any,
    dtype: Any = None,
    seed: Any = None,
    *,
    layout: Any = DEFAULT_LAYOUT,
    groups: int = 1,
    fans: "tuple[float, float] | None" = None,
    stream: str | None = None,
    **params: Any,
) -> tf.Tensor:
    """Values of ``scheme`` for a weight of ``shape`` as a ``tf.Tensor`` (float32 by default).

    ``stream="dense/kernel"`` draws from the portable stream (see the module docstring): ``seed``
    an int in ``[0, 2**64)`` or None (means 0), the values of
    ``initspec.backends.portable.tensorflow.sample``."""
    if stream is not None:
        check_stream(stream)
        return _portable_sample(scheme, shape, dtype, portable_seed(seed, f"stream={stream!r}"), stream,
                                layout=layout, groups=groups, fans=fans, params=params)
    return plan_and_sample(scheme, shape, layout, dtype, seed, groups=groups, fans=fans, **params)[1]


def portable_seed(seed: Any, context: str) -> int:
    """The portable stream's seed of ``seed`` (None -> 0; an int in ``[0, 2**64)`` as is), or a
    clear error naming ``seed`` and ``context`` (the argument that selected the portable stream)."""
    if seed is None:
        return 0
    if not _is_int(seed):
        raise TypeError(
            "Argument `seed` must be an int in [0, 2**64) or None with the portable stream (it is "
            "deterministic; seed=None means 0): a keras.random.SeedGenerator or a TF seed pair only "
            f"seeds the native RNG. Received: seed={seed!r}, {context}"
        )
    return check_seed(seed)


def _portable_sample(scheme: "str | Scheme", shape: Any, dtype: Any, seed: int, stream: str, *, layout: Any,
                     groups: int, fans: Any, params: dict[str, Any]) -> tf.Tensor:
    """``initspec.backends.portable.tensorflow.sample`` on the CPU (imported on first use)."""
    from initspec.backends.portable import tensorflow as portable

    return portable.sample(scheme, _normalise_shape(shape), layout=layout, dtype=dtype, seed=seed,
                           stream=stream, device="cpu", groups=_check_groups(groups), fans=fans, **params)


# --------------------------------------------------------------------------------------------
# Keras initializers
# --------------------------------------------------------------------------------------------
def _class_name(scheme_name: str) -> str:
    return "".join(part.capitalize() for part in scheme_name.split("_"))


def _param_names(sch: Scheme) -> tuple[str, ...]:
    """The scheme's own parameters, in table order (``groups`` is the common argument)."""
    return tuple(p for p in sch.params if p not in _COMMON_ARGS)


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
        return Layout(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
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
                 fans: "tuple[float, float] | list[float] | None" = None, stream: str | None = None,
                 **params: Any) -> None:
        sch = get_scheme(self.scheme)
        names = _param_names(sch)
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
                err = str(unknown(f"parameter of {type(self).__name__}", k, k, [*names, *_COMMON_ARGS]))
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
        self.groups = _check_groups(groups)
        self.fans = None if fans is None else tuple(fans)
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


def _doc(sch: Scheme, what: str) -> str:
    """Docstring of a generated class/function: the table's summary plus the loud naming notes."""
    lines = [sch.summary, "", f"{what} for the spec scheme {sch.name!r}."]
    trunc = sch.name.replace("_normal", "_truncated_normal")
    if sch.name.endswith("_normal") and trunc in SCHEMES and trunc != sch.name:
        lines += ["", f"NOTE: {_class_name(sch.name)} is the UNTRUNCATED normal. Keras' own "
                      f"keras.initializers.{_class_name(sch.name)} is the TRUNCATED (+-2 sigma) normal: "
                      f"that one is {_class_name(trunc)} here."]
    if sch.name == "variance_scaling":
        lines += ["", "NOTE: distribution='normal' is the UNTRUNCATED normal here (Keras maps 'normal' "
                      "to 'truncated_normal'); 'untruncated_normal' is accepted as a synonym."]
    names = _param_names(sch)
    if names:
        lines += ["", "Parameters (defaults): " + ", ".join(f"{n}={sch.defaults[n]!r}" for n in names)]
    return "\n".join(lines)


def _make_class(sch: Scheme) -> type[SpecInitializer]:
    cls = type(_class_name(sch.name), (SpecInitializer,), {
        "scheme": sch.name, "__module__": __name__, "__doc__": _doc(sch, "Keras initializer"),
    })
    return keras.saving.register_keras_serializable(package=KERAS_PACKAGE)(cls)


def _make_function(sch: Scheme) -> Callable[..., tf.Tensor]:
    def init(shape: Any, dtype: Any = None, seed: Any = None, *, layout: Any = DEFAULT_LAYOUT,
             groups: int = 1, fans: "tuple[float, float] | None" = None, stream: str | None = None,
             **params: Any) -> tf.Tensor:
        return initialize(sch.name, shape, dtype, seed, layout=layout, groups=groups, fans=fans,
                          stream=stream, **params)

    init.__name__ = init.__qualname__ = sch.name
    init.__doc__ = _doc(sch, "TF function (stateless RNG; stream= selects the portable stream)")
    return init


INITIALIZERS: dict[str, type[SpecInitializer]] = {}
for _sch in SCHEMES.values():
    INITIALIZERS[_sch.name] = globals()[_class_name(_sch.name)] = _make_class(_sch)
    globals()[_sch.name] = _make_function(_sch)
    for _alias in _sch.aliases:  # Keras-style CamelCase aliases of the table (RandomNormal, ...)
        if _alias[:1].isupper() and _alias not in globals():
            globals()[_alias] = INITIALIZERS[_sch.name]
del _sch, _alias


# --------------------------------------------------------------------------------------------
# whole models
# --------------------------------------------------------------------------------------------


def _variable_kind(name: str) -> str | None:
    """``"weight"`` for ``kernel``/``*_kernel`` (recurrent_kernel, depthwise_kernel...), ``"bias"``
    for ``bias``, else None."""
    if name == "kernel" or name.endswith("_kernel"):
        return "weight"
    return "bias" if name == "bias" else None


_DEPTHWISE = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)
_CONV_TRANSPOSE = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose)


def layout_for_variable(layer: keras.layers.Layer, name: str) -> str:
    """The spec layout of ``layer``'s kernel ``name``: depthwise kernels (``DepthwiseConv*``,
    ``SeparableConv*.depthwise_kernel``) -> ``keras_depthwise``, ``Conv*Transpose`` kernels ->
    ``keras_conv_transpose``, anything else (Dense, Conv, recurrent kernels...) -> ``keras``."""
    if name == "depthwise_kernel" or (name == "kernel" and isinstance(layer, _DEPTHWISE)):
        return "keras_depthwise"
    if name == "kernel" and isinstance(layer, _CONV_TRANSPOSE):
        return "keras_conv_transpose"
    return DEFAULT_LAYOUT


_Visit = tuple[keras.layers.Layer, "dict[str, Rule] | None", list[Any]]


def _walk(layer: keras.layers.Layer, by_type: Mapping[type, Any], bias: Rule,
          inherited: dict[str, Rule] | None, seen: set[int]) -> Iterator[_Visit]:
    """``(layer, by_type rules or None, own variables)`` for ``layer`` and its sublayers, depth first;
    a sublayer without a ``by_type`` entry inherits its parent's (an LSTM's rules reach its cell)."""
    if id(layer) in seen:
        return
    seen.add(id(layer))
    rules = by_type_rules(layer, by_type, bias) or inherited
    children = list(layer._flatten_layers(include_self=False, recursive=False))
    nested = {id(v) for child in children for v in child.weights}
    yield layer, rules, [v for v in layer.weights if id(v) not in nested]
    for child in children:
        yield from _walk(child, by_type, bias, rules, seen)


def _kernel_fans(layer: keras.layers.Layer, own: list[Any], groups: int) -> tuple[float, float] | None:
    """Fans of the layer's ``kernel`` (else its last ``*_kernel``, e.g. SeparableConv's pointwise)."""
    kernels = [v for v in own if _variable_kind(v.name) == "weight"]
    kernel = next((v for v in kernels if v.name == "kernel"), kernels[-1] if kernels else None)
    if kernel is None or len(kernel.shape) < 2:
        return None
    f = compute_fans(tuple(kernel.shape), layout_for_variable(layer, kernel.name), groups=groups)
    return f.fan_in, f.fan_out


def init_model(model: keras.layers.Layer, weight: Rule = "glorot_uniform", bias: Rule = "zeros", *,
               by_type: Mapping[type, Any] | None = None, seed: Any = None, portable: bool = False,
               prefix: str = "") -> keras.layers.Layer:
    """Re-initialize, in place (``variable.assign``), the kernels and biases of every layer of the
    built Keras ``model`` (or layer), nested models and sublayers included, and return it.

    Variables named ``kernel`` or ``*_kernel`` (``recurrent_kernel``, ``depthwise_kernel``...) get
    the ``weight`` rule, ``bias`` the ``bias`` rule; other variables are untouched. A rule is a
    scheme name, ``(scheme, {params})`` (the dict may also set ``layout``, ``groups``, ``fans``) or
    None (leave alone). ``by_type={keras.layers.Conv2D: "he_normal", keras.layers.LSTM: {"weight":
    "orthogonal", "bias": None}}`` overrides per layer class: the most specific class of the MRO
    wins; a plain rule sets the kernels (biases keep the ``bias`` rule), a dict sets ``weight``
    and/or ``bias`` (a missing key leaves them alone); sublayers without an entry of their own follow
    their parent's (an LSTM's entry covers its cell). The layout follows the layer
    (:func:`layout_for_variable`), the layer's ``groups`` enters the kernel's fans, and a bias whose
    scheme needs fans gets the kernel's fans.

    ``portable=False`` (default): this module's Keras initializers, natively seeded: ``seed=None``
    draws a random seed per variable, an int (or a ``keras.random.SeedGenerator``) seeds one
    generator that all variables draw from in turn (reproducible, but order-dependent).

    ``portable=True``: each variable's values come from the portable stream
    (:mod:`initspec.backends.portable`) named ``prefix + variable.path`` (e.g. ``"dense/kernel"``)
    with ``seed`` (an int in ``[0, 2**64)``; the stream is deterministic, so None means 0). A
    variable's values then depend only on ``(seed, stream)``, scheme and layout: not on the order of
    the layers, on which other layers exist, or on the framework (the same as NumPy, torch and JAX
    give for that stream and logical layout, on CPU and GPU). ``init_model(model.layers[1],
    portable=True)`` gives that layer exactly the values ``init_model(model, portable=True)`` would
    (``variable.path`` does not depend on where the walk starts). ``prefix`` needs ``portable=True``.

    An unbuilt model (or sublayer) raises: build it first (``keras.Input``, ``model.build`` or one call).
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"Argument `model` must be a keras Model or Layer. Received: model={model!r}")
    if not isinstance(portable, bool):
        raise TypeError(f"Argument `portable` must be a bool. Received: portable={portable!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder/'). Received: prefix={prefix!r}")
    if portable:
        seed = portable_seed(seed, "portable=True")
    elif prefix:
        raise InitSpecError(
            "Argument `prefix` names the portable streams; pass portable=True. "
            f"Received: prefix={prefix!r}, portable=False")
    else:
        seed = check_keras_seed(seed)
        if seed is not None and not isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.SeedGenerator(seed)  # one generator: distinct values per variable
    by_type = check_by_type(by_type, "layer")
    for rule, arg in ((weight, "weight"), (bias, "bias")):
        split = split_rule(rule, arg)
        if split is not None:
            get_scheme(split[0])
    visits = list(_walk(model, by_type, bias, None, set()))
    for layer, _, _ in visits:
        if not layer.built:
            raise InitSpecError(
                f"Layer {layer.name!r} ({type(layer).__name__}) is not built, so its weights do not exist "
                "yet; build the model first (keras.Input, model.build(input_shape) or one call on data). "
                f"Received: model={model.name!r}"
            )
    jobs = []  # every rule is checked (initializers built) before any variable changes
    for layer, rules, own in visits:
        rules = rules or {"weight": weight, "bias": bias}
        groups = getattr(layer, "groups", 1)
        groups = int(groups) if _is_int(groups) else 1
        for var in own:
            kind = _variable_kind(var.name)
            rule = None if kind is None else split_rule(
                rules.get(kind), f"{kind} rule for {type(layer).__name__}.{var.name}")
            if rule is None:
                continue
            scheme, kw = rule
            refuse_reserved(kw, ("seed", "stream"), kind, f"{type(layer).__name__}.{var.name}", rule,
                            "seed=/portable= to init_model")
            kw.setdefault("layout", layout_for_variable(layer, var.name) if kind == "weight"
                          else DEFAULT_LAYOUT)
            kw.setdefault("groups", groups if kind == "weight" else 1)
            if kind == "bias" and "fans" not in kw and get_scheme(scheme).uses_fans:
                kw["fans"] = _kernel_fans(layer, own, groups)
            jobs.append((var, INITIALIZERS[get_scheme(scheme).name](
                seed=seed, stream=prefix + var.path if portable else None, **kw)))
    for var, init in jobs:
        var.assign(init(tuple(var.shape), var.dtype))
    return model


# --------------------------------------------------------------------------------------------
# uniform harness API (see initspec.backends)
# --------------------------------------------------------------------------------------------
_DEVICE_SCOPE = {"cpu": "/CPU:0", "gpu": "/GPU:0"}


def device_available(device: str) -> tuple[bool, str]:
    """(available, reason if not) for ``"cpu"``/``"gpu"``."""
    if device == "cpu":
        return True, ""
    if device == "gpu":
        if tf.config.list_physical_devices("GPU"):
            return True, ""
        return False, f"TensorFlow {tf.__version__} sees no GPU (CPU-only build or no CUDA device)"
    return False, f"unknown device {device!r} (expected 'cpu' or 'gpu')"


def _device_scope(device: str) -> str:
    if device not in _DEVICE_SCOPE:
        raise unknown("device", "device", device, _DEVICE_SCOPE)
    ok, why = device_available(device)
    if not ok:
        raise ValueError(f"Device {device!r} is not available: {why}. Received: device={device!r}")
    return _DEVICE_SCOPE[device]


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", stream: str | None = None, **params: Any) -> tf.Tensor:
    """Uniform harness API: the spec's ``resolve`` + ``_core.sample`` verbatim.

    ``stream="encoder/kernel"`` switches to the portable stream (:mod:`initspec.backends.portable`):
    the same values as every other framework for the same ``(seed, stream)``."""
    if stream is not None:
        from .portable import tensorflow as portable

        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout, dtype=dtype,
                               seed=seed, stream=stream, device=device, **params)
    with tf.device(_device_scope(device)):
        return plan_and_sample(scheme, shape, DEFAULT_LAYOUT if layout is None else layout, dtype, seed,
                               **params)[1]


def to_numpy(x: Any) -> np.ndarray:
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def device_of(x: Any) -> str:
    return "gpu" if "GPU" in (getattr(x, "device", "") or "").upper() else "cpu"


def versions() -> dict[str, str]:
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}


# --------------------------------------------------------------------------------------------
# benchmarks
# --------------------------------------------------------------------------------------------
BENCH_SHAPES = ((4096, 4096), (3, 3, 256, 256))
ORTHOGONAL_BENCH_SHAPE = (1024, 1024)
BENCH_SEED = 1234
#: Keras' default std / limit for RandomNormal, TruncatedNormal and RandomUniform.
KERAS_DEFAULT_SPREAD = 0.05

#: (label, ours: (class name, params), native: (keras class name, kwargs), shapes)
_BenchPair = tuple[str, str, dict[str, Any], str, dict[str, Any], tuple[tuple[int, ...], ...]]
_BENCH_PAIRS: tuple[_BenchPair, ...] = (
    ("he_normal", "HeNormal", {}, "VarianceScaling",
     {"scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal"}, BENCH_SHAPES),
    ("he_truncated_normal", "HeTruncatedNormal", {}, "HeNormal", {}, BENCH_SHAPES),
    ("glorot_uniform", "GlorotUniform", {}, "GlorotUniform", {}, BENCH_SHAPES),
    ("normal", "RandomNormal", {"std": KERAS_DEFAULT_SPREAD}, "RandomNormal",
     {"stddev": KERAS_DEFAULT_SPREAD}, BENCH_SHAPES),
    ("uniform", "RandomUniform", {"low": -KERAS_DEFAULT_SPREAD, "high": KERAS_DEFAULT_SPREAD},
     "RandomUniform", {"minval": -KERAS_DEFAULT_SPREAD, "maxval": KERAS_DEFAULT_SPREAD}, BENCH_SHAPES),
    ("truncated_normal", "TruncatedNormal", {"std": KERAS_DEFAULT_SPREAD}, "TruncatedNormal",
     {"stddev": KERAS_DEFAULT_SPREAD}, BENCH_SHAPES),
    ("orthogonal", "Orthogonal", {}, "Orthogonal", {}, (ORTHOGONAL_BENCH_SHAPE,)),
)


def _sync(device: str) -> Callable[[Any], Any]:
    def sync(result: Any) -> Any:
        if device == "gpu":
            tf.test.experimental.sync_devices()
        return result

    return sync


def _on(device: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with tf.device(_DEVICE_SCOPE[device]):
            return fn()

    return run


def bench_cases(device: str | None = None) -> list[BenchCase]:
    """Ours vs the Keras native initializer with the same distribution, float32, int seeds, on
    ``device`` (default: the CPU and, when TF sees one, the GPU). Target: ours <= 1.10x native."""
    cases = []
    wanted = ("cpu", "gpu") if device is None else (device,)
    devices = [d for d in wanted if device_available(d)[0]]
    for label, ours_name, ours_kw, native_name, native_kw, shapes in _BENCH_PAIRS:
        ours = globals()[ours_name](seed=BENCH_SEED, **ours_kw)
        native = getattr(keras.initializers, native_name)(seed=BENCH_SEED, **native_kw)
        for shape in shapes:
            for device in devices:
                cases.append(BenchCase(
                    backend="tensorflow",
                    label=f"{label} {'x'.join(map(str, shape))} float32",
                    ours=_on(device, lambda o=ours, s=shape: o(s, "float32")),
                    native=_on(device, lambda n=native, s=shape: n(s, "float32")),
                    native_name=f"keras.initializers.{native_name}",
                    sync=_sync(device),
                    device=device,
                ))
    return cases


__all__ = [
    "BACKEND", "DEFAULT_LAYOUT", "INITIALIZERS", "KERAS_PACKAGE", "SpecInitializer", "TFBackend",
    "bench_cases", "check_keras_seed", "device_available", "device_of", "init_model", "initialize",
    "layout_for_variable", "layout_from_config", "layout_to_config", "plan_and_sample", "portable_seed",
    "sample", "seed_pair", "tf_dtype", "to_numpy", "versions",
    *SCHEMES, *(_class_name(n) for n in SCHEMES), "RandomNormal", "RandomUniform",
]
