"""JAX adapter: ``jax.nn.initializers``-style factories for every scheme of the spec.

Every scheme ``NAME`` of the table (:data:`initspec.SCHEMES`) is a factory here, generated from
the table, that returns an initializer ``init(key, shape, dtype=None, out_sharding=None)``::

    from initspec.backends import jax as ij
    init = ij.he_truncated_normal()            # same law as jax.nn.initializers.he_normal()
    w = init(jax.random.key(0), (784, 256))    # float32, jax layout (*receptive, in, out)
    nn.Dense(256, kernel_init=ij.orthogonal(gain=2.0))
    ij.variance_scaling(2.0, "fan_in", "uniform", in_axis=-2, out_axis=-1, batch_axis=())

* Factory arguments are the scheme's parameters (keyword-only, except ``variance_scaling(scale,
  mode, distribution)`` and ``constant(value)``, which keep JAX's positional order: a positional
  ``normal(0.02)`` would silently mean ``mean=0.02`` here, so it is refused), plus ``in_axis``,
  ``out_axis``, ``batch_axis`` (JAX semantics, mapped onto :meth:`initspec.Layout.with_axes`;
  ``None`` keeps the layout's own axes, which for the default ``"jax"`` layout are JAX's defaults
  -2, -1, ()), ``layout`` (a spec layout name or :class:`initspec.Layout`), ``dtype`` (the default
  of ``init``'s ``dtype``) and the spec's ``groups``/``fans`` for the fans.
* Names are the spec's, which are unambiguous: ``he_normal``/``glorot_normal``/``lecun_normal``
  here are the *untruncated* normals; ``jax.nn.initializers.he_normal`` (and Flax's default
  ``lecun_normal``) draw the truncated ones, which are ``he_truncated_normal`` etc. here.
  :func:`initializer` also takes the table's aliases by name (``initializer("xavier_uniform")``).
* ``init`` is traceable: shape and dtype are static, the :class:`initspec.Plan` is resolved in
  Python at trace time and the values come from one jitted program built by the generic
  :func:`initspec.backends._core.sample` over :class:`JaxBackend` primitives. It works under
  ``jax.jit``, ``jax.vmap`` and with ``out_shardings`` (the RNG is ``jax.random``'s, which is
  partitionable); ``out_sharding=`` constrains the output sharding like JAX's own initializers.
* ``dtype=None`` means float32 (the issue's rule; JAX's own initializers use float64 when
  ``jax_enable_x64`` is on). float64/complex128 need ``jax_enable_x64``; integer and bool dtypes
  are refused. float16/bfloat16 are sampled in float32 and cast (``_core``).
* ``key`` is one new-style typed key (``jax.random.key``) or one legacy ``uint32[2]`` key
  (``jax.random.PRNGKey``, wrapped with ``jax.random.wrap_key_data``: both give the same values).
  Anything else raises a ``TypeError``/``ValueError`` at trace time, naming the value.

Truncated normals are exact to the sampler's resolution in every dtype: bounds straddling 0 use
``jax.random.truncated_normal`` (inverse CDF through ``erf``) with the bounds clamped to where
``erf`` still resolves them, and one-sided intervals use the inverse CDF of the lower tail
(``ndtri``), mirrored for the upper tail (see :meth:`JaxBackend.truncated_normal`).

**Portable mode.** Every factory also takes ``stream: str | None = None`` and ``seed: int | None =
None``. ``stream=None`` (the default) is the native behaviour above. A ``str`` (the tensor's name,
e.g. its parameter path ``"params.Dense_0.kernel"``) switches to the *portable stream*
(:mod:`initspec.backends.portable`): the values depend only on ``(seed, stream, shape, dtype,
layout)`` and are the same as every other framework's (NumPy, torch, TensorFlow) for the same
``(seed, stream)`` and logical layout, on CPU and GPU (see that module for the exact guarantees).
``key`` is then accepted for compatibility with Flax/``jax.nn.initializers`` and **ignored** (it may
be ``None``). The portable stream is deterministic: ``seed=None`` means 0; ``seed=`` without
``stream=`` is an error (native initializers take their randomness from ``key``). Portable
initializers work eagerly, under ``jax.jit`` and with ``out_shardings``/``out_sharding=`` (each
device computes only its shard of element-wise schemes, bit-identical to one device).
:func:`init_tree` initialises a whole parameter pytree (e.g. Flax ``params``, or the
``jax.eval_shape`` of one) with each leaf's stream named by its path.

The module also exposes the uniform harness API of :mod:`initspec.backends` (``sample``,
``to_numpy``, ``device_available``, ``device_of``, ``versions``, ``bench_cases``).
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
import inspect
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from initspec.distributions import Plan, resolve
from initspec.dtypes import get_dtype
from initspec.errors import InitSpecError, UnknownNameError, check_shape, unknown
from initspec.layouts import Layout, compute_fans, get_layout
from initspec.schemes import SCHEMES, Scheme, get_scheme

from ._bench import BenchCase
from ._core import Primitives
from ._core import sample as core_sample
from ._rules import split_rule

__all__ = [
    "DEFAULT_LAYOUT", "Initializer", "JaxBackend", "bench_cases", "device_available", "device_of",
    "init_tree", "initializer", "sample", "to_numpy", "versions", *SCHEMES,
]

DEFAULT_LAYOUT = "jax"
#: dtype of ``init(key, shape)`` when neither the call nor the factory names one (the issue's rule)
DEFAULT_DTYPE = "float32"
#: dtypes that exist in JAX only with ``jax_enable_x64``
X64_DTYPES = ("float64", "complex128")
#: factory parameters that may be positional, keeping ``jax.nn.initializers``' order
POSITIONAL_PARAMS: dict[str, tuple[str, ...]] = {
    "variance_scaling": ("scale", "mode", "distribution"),
    "constant": ("value",),
}
AXIS_ARGS = ("in_axis", "out_axis", "batch_axis")
DEVICES = ("cpu", "gpu")
#: JAX platform names that are the harness' "gpu"
GPU_PLATFORMS = frozenset({"gpu", "cuda", "rocm"})
#: seeds accepted by ``jax.random.key`` without overflow (the harness takes non-negative ints)
MAX_SEED = 2**64 - 1


# -- dtypes, keys, axes: validation at trace time --------------------------------------------


def _x64_enabled() -> bool:
    """Whether 64-bit JAX types are on (``jax_enable_x64``, also inside ``jax.enable_x64()``)."""
    return jax.dtypes.canonicalize_dtype(np.float64) == np.dtype(np.float64)


def _dtype_name(dtype: Any) -> str:
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
    if spec_name in X64_DTYPES and not _x64_enabled():
        raise ValueError(
            f"JAX has no {spec_name} while jax_enable_x64 is off (it would silently give "
            f"{'float32' if spec_name == 'float64' else 'complex64'}); enable it with "
            f"jax.config.update('jax_enable_x64', True) or `with jax.enable_x64(True):`. "
            f"Received: dtype={dtype!r}"
        )
    return spec_name


def _jdt(name: str) -> Any:
    """The JAX dtype of a spec dtype name."""
    return jnp.dtype(name)


def _describe(x: Any) -> str:
    """Short repr for error messages (arrays by dtype and shape, never their values)."""
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{type(x).__name__}(dtype={x.dtype}, shape={tuple(x.shape)})"
    return repr(x)


@functools.lru_cache(maxsize=None)
def _raw_key_spec(impl: str) -> jax.ShapeDtypeStruct:
    """Shape/dtype of a legacy raw key under the PRNG implementation ``impl``."""
    del impl  # the cache key; jax.random.key uses the configured default
    return jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0)))


def _as_key(key: Any) -> Any:
    """One typed PRNG key from ``key`` (typed or legacy raw), or a clear error at trace time."""
    typed = getattr(key, "dtype", None) is not None and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    if typed:
        if key.shape != ():
            raise ValueError(
                f"Argument `key` must be a single PRNG key (shape ()); map an initializer over a "
                f"batch of keys with jax.vmap. Received: key={_describe(key)}"
            )
        return key
    if not isinstance(key, (jax.Array, np.ndarray)):
        raise TypeError(
            f"Argument `key` must be a JAX PRNG key (jax.random.key(seed), or a legacy "
            f"jax.random.PRNGKey(seed)), not {type(key).__name__}. Received: key={_describe(key)}"
        )
    raw = _raw_key_spec(str(jax.config.jax_default_prng_impl))
    if key.dtype != raw.dtype:
        raise TypeError(
            f"Argument `key` must be a typed PRNG key or a legacy {raw.dtype}{list(raw.shape)} raw key; "
            f"got dtype {key.dtype}. Received: key={_describe(key)}"
        )
    if tuple(key.shape) != tuple(raw.shape):
        raise ValueError(
            f"Argument `key` must be a single legacy key of shape {tuple(raw.shape)}; map an "
            f"initializer over a batch of keys with jax.vmap. Received: key={_describe(key)}"
        )
    return jax.random.wrap_key_data(key)


def _check_axis_arg(arg: str, value: Any) -> None:
    """``in_axis``/``out_axis``/``batch_axis``: None, an int or a sequence of ints."""
    if value is None:
        return
    items = (value,) if isinstance(value, numbers.Integral) else value
    ok = isinstance(items, Sequence) and not isinstance(items, (str, bytes)) and all(
        isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in items
    )
    if isinstance(value, bool) or not ok:
        raise TypeError(f"Argument `{arg}` must be an int or a sequence of ints. Received: {arg}={value!r}")


def _check_axes_in_range(axes: dict[str, Any], shape: tuple[int, ...]) -> None:
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


# -- primitives -------------------------------------------------------------------------------


def _tail_limit(dtype: str) -> float:
    """Standardised bound ``A`` with ``Phi(-A) = eps(dtype)``: beyond it ``erf`` in ``dtype`` no
    longer resolves the tail from -1 (XLA's float32 erf returns -1 from about -3.8 = -5.4 sigma),
    and the uniform grid of the inverse-CDF sampler (spacing ~eps) holds no more mass there."""
    return float(-stats.norm.ppf(np.finfo(dtype).eps))


class JaxBackend(Primitives):
    """:class:`initspec.backends._core.Primitives` in ``jax.numpy``; ``rng`` is a typed key."""

    name = "jax"
    capabilities = frozenset({"complex", "float16", "bfloat16", "float64", "cpu", "gpu",
                              "jit", "vmap", "sharding"})

    def split(self, rng, n):
        keys = jax.random.split(rng, n)
        return [keys[i] for i in range(n)]

    def normal(self, rng, shape, dtype):
        return jax.random.normal(rng, shape, _jdt(dtype))

    def uniform(self, rng, shape, dtype, low, high):
        dt = _jdt(dtype)
        x = jax.random.uniform(rng, shape, dt, low, high)
        # jax/_src/random/core.py::_uniform returns max(low, u * (high - low) + low): the affine
        # map can round up onto `high`, outside the half-open [low, high).
        return jnp.minimum(x, np.nextafter(np.asarray(high, dt), np.asarray(low, dt)))

    def truncated_normal(self, rng, shape, dtype, a, b):
        """Standard normal truncated to (a, b), exact to the sampler's resolution.

        ``jax.random.truncated_normal`` (jax/_src/random/core.py::_truncated_normal) maps a
        uniform on [erf(a/sqrt2), erf(b/sqrt2)) through erf_inv and clips to the open interval.
        Where erf saturates to -1 (float32: a < about -5.4) the grid's first point u = -1 gives
        -inf, clipped onto the far bound: e.g. bounds (-100, 100) (torch trunc_normal_ defaults
        with std 0.02) put ~2^-23 of the mass at -100 sigma (excess kurtosis ~6 at n = 2^24
        instead of 0). Clamping the bounds to +-:func:`_tail_limit` removes at most eps of mass
        per side, below the sampler's resolution. One-sided intervals (whose mass erf cannot
        resolve near +-1) go through :meth:`_lower_tail`.
        """
        if b <= 0.0:
            return self._lower_tail(rng, shape, dtype, a, b)
        if a >= 0.0:
            return -self._lower_tail(rng, shape, dtype, -b, -a)
        lim = _tail_limit(dtype)
        return jax.random.truncated_normal(rng, max(a, -lim), min(b, lim), shape, _jdt(dtype))

    def _lower_tail(self, rng, shape, dtype, a, b):
        """N(0, 1) truncated to (a, b) with b <= 0: ``ndtri`` of a uniform on (Phi(a), Phi(b)),
        with Phi computed in float64 at trace time (small probabilities keep full precision)."""
        dt = _jdt(dtype)
        finfo = np.finfo(dtype)
        p_hi = float(stats.norm.cdf(b))
        if p_hi < finfo.tiny / finfo.eps:
            raise InitSpecError(
                f"The JAX backend cannot sample a normal truncated this far in the tail in {dtype} "
                f"(P(z < {b:.4g}) = {p_hi:.3g} underflows); use float64 with jax_enable_x64. "
                f"Received: a={a!r}, b={b!r}"
            )
        # drop at most eps of the interval's mass below `a`, as in truncated_normal
        p_lo = max(float(stats.norm.cdf(a)), finfo.eps * p_hi)
        u = jax.random.uniform(rng, shape, dt, p_lo, p_hi)
        x = jax.scipy.special.ndtri(u)
        lo = np.nextafter(np.asarray(a, dt), np.asarray(np.inf, dt))
        hi = np.nextafter(np.asarray(b, dt), np.asarray(-np.inf, dt))
        return jnp.clip(x, lo, hi)

    def full(self, shape, dtype, value):
        return jnp.full(shape, value, _jdt(dtype))

    def eye(self, rows, cols, dtype):
        return jnp.eye(rows, cols, dtype=_jdt(dtype))

    def cast(self, x, dtype):
        return jnp.asarray(x).astype(_jdt(dtype))

    def clip(self, x, lo, hi):
        return jnp.clip(x, jnp.asarray(lo, x.dtype), jnp.asarray(hi, x.dtype))

    def where(self, cond, x, y):
        return jnp.where(cond, x, y)

    sqrt = staticmethod(jnp.sqrt)
    log1p = staticmethod(jnp.log1p)
    cos = staticmethod(jnp.cos)
    sin = staticmethod(jnp.sin)
    sign = staticmethod(jnp.sign)

    def complex(self, re, im, dtype):
        return jax.lax.complex(re, im).astype(_jdt(dtype))

    def reshape(self, x, shape):
        return jnp.reshape(x, shape)

    def transpose(self, x, perm):
        return jnp.transpose(x, perm)

    def pad(self, x, pads):
        return jnp.pad(x, pads)

    def qr(self, x):
        return jnp.linalg.qr(x, mode="reduced")

    def diagonal(self, x):
        return jnp.diagonal(x, axis1=-2, axis2=-1)

    def argsort(self, x, axis):
        return jnp.argsort(x, axis=axis, stable=True)

    def scatter(self, shape, dtype, index, value):
        idx = tuple(np.asarray(index, dtype=np.int32).T)  # static coordinates from the plan
        return jnp.zeros(shape, _jdt(dtype)).at[idx].set(value)

    def to_numpy(self, x):
        return to_numpy(x)


BACKEND = JaxBackend()


@dataclass(frozen=True, eq=False)
class _StaticPlan:
    """A :class:`Plan` as a hashable static argument of ``jax.jit`` (hashed by its content)."""

    key: tuple
    plan: Plan

    @classmethod
    def of(cls, plan: Plan) -> "_StaticPlan":
        p = plan
        key = (p.scheme.name, p.shape, p.dtype, p.layout, p.fans, tuple(sorted(p.params.items())),
               p.sampler, p.mean, p.std, p.low, p.high, p.value, p.gain, p.groups, p.complex_rule)
        return cls(key, plan)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _StaticPlan) and other.key == self.key


@functools.partial(jax.jit, static_argnums=(1, 2))
def _draw(key: Any, static: _StaticPlan, out_sharding: Any) -> Any:
    """One fused program per plan: the generic sampler over the JAX primitives."""
    return _constrained(lambda k: core_sample(BACKEND, k, static.plan), out_sharding, key)


def _constrained(draw: Any, out_sharding: Any, *args: Any) -> Any:
    """``draw(*args)`` (traced) with its output sharded as ``out_sharding`` (None: unconstrained)."""
    if out_sharding is None:
        return draw(*args)
    sharding = _named_sharding(out_sharding)
    explicit = getattr(sharding.mesh, "explicit_axes", ())  # meshes before explicit sharding have none
    if explicit:
        # as jax/_src/random/core.py::maybe_auto_axes: sample with the explicit axes made Auto
        # (the partitioner places the RNG per shard), then reshard to the requested output
        return jax.sharding.auto_axes(draw, out_sharding=sharding, axes=explicit)(*args)
    return jax.lax.with_sharding_constraint(draw(*args), sharding)


def _named_sharding(out_sharding: Any) -> Any:
    """``out_sharding`` as a ``NamedSharding``; a bare ``PartitionSpec`` uses the current mesh."""
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh = jax.sharding.get_abstract_mesh()
        if mesh.empty:
            raise ValueError(
                f"Argument `out_sharding` is a PartitionSpec but no mesh is set (use jax.set_mesh or "
                f"pass a NamedSharding). Received: out_sharding={out_sharding!r}"
            )
        return jax.sharding.NamedSharding(mesh, out_sharding)
    if not isinstance(out_sharding, jax.sharding.NamedSharding):
        raise TypeError(
            f"Argument `out_sharding` must be a NamedSharding, a PartitionSpec or None. "
            f"Received: out_sharding={out_sharding!r}"
        )
    return out_sharding


# -- portable stream --------------------------------------------------------------------------


def _portable_values(scheme: Scheme, shape: tuple[int, ...], layout: Layout, dtype: str, seed: int,
                     stream: str, params: dict[str, Any]) -> Any:
    """:func:`initspec.backends.portable.jax.sample` on the default device; traceable, so it also
    runs inside ``jax.jit`` (element-wise schemes are built from global element indices: under
    ``out_shardings`` each device computes only its shard, bit-identical to one device)."""
    from initspec.backends.portable import jax as pj

    return pj.sample(scheme.name, shape, layout=layout, dtype=dtype, seed=seed, stream=stream,
                     device=jax.devices()[0], **params)


# -- the initializers -------------------------------------------------------------------------


class Initializer:
    """``init(key, shape, dtype=None, out_sharding=None) -> jax.Array`` for one scheme.

    Follows ``jax.nn.initializers.Initializer``; usable as a Flax ``kernel_init``.
    :meth:`plan` gives the resolved :class:`initspec.Plan` (fans, exact moments) for a shape.

    With ``stream`` set (portable mode, see :mod:`initspec.backends.portable`) the values are
    those of the portable stream for ``(seed, stream)``: the same as every other framework's for
    the same logical layout, on CPU and GPU, and independent of ``key`` (accepted for API
    compatibility, ignored, may be ``None``).
    """

    def __init__(self, scheme: Scheme, params: dict[str, Any], *, layout: Any = None, dtype: Any = None,
                 in_axis: Any = None, out_axis: Any = None, batch_axis: Any = None,
                 groups: int = 1, fans: Any = None, stream: str | None = None,
                 seed: int | None = None) -> None:
        axes = dict(zip(AXIS_ARGS, (in_axis, out_axis, batch_axis)))
        for arg, value in axes.items():
            _check_axis_arg(arg, value)
        self.scheme = scheme
        self.params = dict(params)
        self.axes = axes
        self.layout: Layout = get_layout(DEFAULT_LAYOUT if layout is None else layout).with_axes(
            in_axis, out_axis, batch_axis)
        self.dtype = None if dtype is None else _dtype_name(dtype)
        self.groups = groups
        self.fans = fans
        self.stream, self.seed = _check_portable_args(stream, seed)

    def plan(self, shape: Any, dtype: Any = None) -> Plan:
        """The spec's :class:`Plan` for ``shape`` (static) and ``dtype``."""
        name = _dtype_name(self.dtype if dtype is None else dtype)
        shape = check_shape(shape)
        _check_axes_in_range(self.axes, shape)
        return resolve(self.scheme, shape, self.layout, name, groups=self.groups, fans=self.fans,
                       **self.params)

    def __call__(self, key: Any, shape: Any, dtype: Any = None, out_sharding: Any = None) -> Any:
        plan = self.plan(shape, dtype)
        if self.stream is not None:
            return self._portable(plan, out_sharding)
        return _draw(_as_key(key), _StaticPlan.of(plan), out_sharding)

    def _portable(self, plan: Plan, out_sharding: Any) -> Any:
        """Portable values for ``plan``'s shape and dtype (``key`` plays no part)."""
        params = dict(groups=self.groups, fans=self.fans, **self.params)
        draw = functools.partial(_portable_values, self.scheme, plan.shape, self.layout, plan.dtype,
                                 self.seed, self.stream, params)
        if out_sharding is None:
            return draw()
        return jax.jit(lambda: _constrained(draw, out_sharding))()  # a sharding constraint needs a trace

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.params.items()]
        args += [f"{k}={v!r}" for k, v in self.axes.items() if v is not None]
        if self.layout.name != DEFAULT_LAYOUT:
            args.append(f"layout={self.layout.name!r}")
        if self.stream is not None:
            args += [f"stream={self.stream!r}", f"seed={self.seed!r}"]
        return f"initspec.backends.jax.{self.scheme.name}({', '.join(args)})"


def _check_portable_args(stream: Any, seed: Any) -> tuple[str | None, int | None]:
    """``(stream, seed)`` validated: native mode has neither; portable mode's seed None is 0."""
    from initspec.backends.portable._spec import check_stream, portable_seed

    if stream is None:
        if seed is not None:
            raise ValueError(
                f"Argument `seed` is only used by the portable stream: pass `stream` (the tensor's "
                f"name, e.g. 'params.Dense_0.kernel') too, or drop `seed` (native initializers take "
                f"their randomness from `key`). Received: seed={seed!r}, stream=None"
            )
        return None, None
    return check_stream(stream), portable_seed(seed)


def _check_param_names(scheme: Scheme, params: dict[str, Any]) -> None:
    """Refuse unknown and fixed parameters when the factory is called, not at first use."""
    for k, v in params.items():
        if k in scheme.fixed:
            raise ValueError(
                f"Parameter `{k}` is fixed for scheme {scheme.name!r} ({k}={scheme.defaults[k]!r}); "
                f"use variance_scaling to choose it. Received: {k}={v!r}"
            )
        if k not in scheme.defaults:
            close = difflib.get_close_matches(k, [*scheme.params, *_COMMON_KWONLY], n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(
                f"Unknown parameter {k!r} of scheme {scheme.name!r}.{hint} Its parameters: "
                f"{', '.join(scheme.params) or '(none)'}. Received: {k}={v!r}"
            )


def initializer(scheme: "str | Scheme", *, layout: Any = None, dtype: Any = None, in_axis: Any = None,
                out_axis: Any = None, batch_axis: Any = None, groups: int = 1, fans: Any = None,
                stream: str | None = None, seed: int | None = None, **params: Any) -> Initializer:
    """An :class:`Initializer` for ``scheme`` (name or alias) with the scheme's ``params``.

    ``stream="encoder.0.kernel"`` selects the portable stream (see :class:`Initializer`);
    ``seed`` (an int in ``[0, 2**64)``, None = 0) is only valid with it.
    """
    sch = get_scheme(scheme)
    _check_param_names(sch, params)
    return Initializer(sch, params, layout=layout, dtype=dtype, in_axis=in_axis, out_axis=out_axis,
                       batch_axis=batch_axis, groups=groups, fans=fans, stream=stream, seed=seed)


_COMMON_KWONLY = ("in_axis", "out_axis", "batch_axis", "layout", "dtype", "groups", "fans", "stream", "seed")


def _factory_signature(scheme: Scheme) -> inspect.Signature:
    """``NAME(positional..., *, params..., in_axis=None, ..., fans=None)`` for introspection."""
    pos = POSITIONAL_PARAMS.get(scheme.name, ())
    P = inspect.Parameter
    params = [P(n, P.POSITIONAL_OR_KEYWORD, default=scheme.defaults[n]) for n in pos]
    params += [P(n, P.KEYWORD_ONLY, default=scheme.defaults[n]) for n in scheme.params if n not in pos]
    defaults = {"groups": 1}
    params += [P(n, P.KEYWORD_ONLY, default=defaults.get(n)) for n in _COMMON_KWONLY
               if n not in scheme.defaults]  # dirac's own `groups` is the spec's groups
    return inspect.Signature(params)


def _make_factory(name: str) -> Any:
    scheme = SCHEMES[name]
    positional = POSITIONAL_PARAMS.get(name, ())

    def factory(*args: Any, **kwargs: Any) -> Initializer:
        if len(args) > len(positional):
            hint = (f"{name}() takes its parameters by keyword ({', '.join(scheme.params) or 'none'})"
                    if not positional else f"{name}() takes at most {len(positional)} positional arguments "
                    f"({', '.join(positional)})")
            raise TypeError(
                f"{hint}; JAX's positional order differs, so it is not guessed. Received: args={args!r}")
        for arg_name, value in zip(positional, args):
            if arg_name in kwargs:
                raise TypeError(f"{name}() got `{arg_name}` twice. Received: {arg_name}={value!r}")
            kwargs[arg_name] = value
        return initializer(scheme, **kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__signature__ = _factory_signature(scheme)  # type: ignore[attr-defined]
    factory.__doc__ = (f"{scheme.summary}\n\nReturns ``init(key, shape, dtype=None, out_sharding=None)`` "
                       f"sampling scheme {name!r} (see :mod:`initspec.backends.jax`). With "
                       f"``stream=`` (and ``seed=``) it samples the portable stream instead "
                       f"(:mod:`initspec.backends.portable`): the same values in every framework, "
                       f"``key`` ignored.")
    return factory


for _name in SCHEMES:
    globals()[_name] = _make_factory(_name)


# -- whole parameter trees (portable) ---------------------------------------------------------

#: arguments :func:`init_tree` sets itself, refused in a rule's params
_TREE_SET = ("stream", "seed", "layout", "dtype")


def _check_rule(arg: str, rule: Any) -> tuple[Scheme, dict[str, Any]] | None:
    """A rule of :func:`init_tree` (a scheme name, ``(scheme, {params})`` or None) as ``(scheme,
    params)``, names and params checked now; None stays None."""
    split = split_rule(rule, arg)
    if split is None:
        return None
    name, params = split
    for k in _TREE_SET:
        if k in params:
            raise ValueError(f"init_tree sets `{k}` itself; remove it from `{arg}`. Received: {arg}={rule!r}")
    initializer(name, **params)  # unknown schemes and parameters fail now, naming them
    return get_scheme(name), params


def _path_names(path: Sequence[Any]) -> list[str]:
    """Path keys as str: ``DictKey.key``, ``GetAttrKey.name``, ``SequenceKey.idx``."""
    out = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                out.append(str(getattr(k, attr)))
                break
        else:
            out.append(str(k))
    return out


def init_tree(params: Any, weight: Any = "he_normal", bias: Any = "zeros", *, seed: int | None = None,
              prefix: str = "", layout: Any = None) -> Any:
    """A copy of the pytree ``params`` with its kernels and biases drawn from the portable stream.

    Each leaf whose last path key is ``"kernel"`` (rank >= 2) gets the ``weight`` rule and each
    ``"bias"`` leaf the ``bias`` rule; other leaves are returned unchanged. A rule is a scheme
    name, ``(scheme, {params})`` or None (leave those leaves alone). A leaf's stream is ``prefix +
    ".".join(path keys)``, e.g. ``"params.Dense_0.kernel"`` for Flax's ``{"params": {"Dense_0":
    {"kernel": ...}}}``, and its shape and dtype are the leaf's; so a tensor's values depend only
    on ``(seed, its path, shape, dtype, layout)``: not on the order of initialisation nor on the
    other leaves (a sub-tree initialised alone with ``prefix="params.Dense_0."`` equals that part
    of the whole). A bias whose scheme uses fans takes its sibling ``"kernel"``'s fans (as the
    ``weight`` rule computes them; an error without a sibling, unless the rule gives ``fans=``).
    Leaves left alone are returned as they are (a ``ShapeDtypeStruct`` stays one).

    Leaves may be arrays or ``jax.ShapeDtypeStruct`` (``jax.eval_shape(model.init, ...)``), so a
    model can be initialised without first drawing native random weights; under ``jax.jit`` with
    ``out_shardings`` each device computes only its shards. The values are those of
    :mod:`initspec.backends.portable` (the same in NumPy, torch, TensorFlow and JAX for the same
    ``(seed, stream)`` and logical layout, on CPU and GPU). The portable stream is deterministic:
    ``seed=None`` means 0. ``layout`` defaults to ``"jax"`` (``(*receptive, in, out)``).

        abstract = jax.eval_shape(model.init, jax.random.key(0), x)
        params = init_tree(abstract, "he_normal", seed=1)
    """
    from initspec.backends.portable._spec import portable_seed

    rules = {"kernel": _check_rule("weight", weight), "bias": _check_rule("bias", bias)}
    seed = portable_seed(seed)
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder.'). Received: prefix={prefix!r}")
    lay = get_layout(DEFAULT_LAYOUT if layout is None else layout)

    def target(names: list[str], leaf: Any) -> str | None:
        if not names or names[-1] not in rules or rules[names[-1]] is None:
            return None
        if not (hasattr(leaf, "shape") and hasattr(leaf, "dtype")):
            raise TypeError(f"Leaf {prefix + '.'.join(names)!r} must be an array or a jax.ShapeDtypeStruct. "
                            f"Received: {_describe(leaf)}")
        return None if names[-1] == "kernel" and len(leaf.shape) < 2 else names[-1]

    flat = [(_path_names(path), leaf) for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]]
    kernels = {tuple(n[:-1]): tuple(leaf.shape) for n, leaf in flat
               if n and n[-1] == "kernel" and len(getattr(leaf, "shape", ())) >= 2}

    def kernel_fans(shape: tuple[int, ...]) -> tuple[float, float]:
        """The kernel's fans as its rule sees them (axes, groups, fans=), else the layout's."""
        f = None
        if rules["kernel"] is not None:
            w_scheme, w_kw = rules["kernel"]
            f = initializer(w_scheme, layout=lay, **w_kw).plan(shape).fans
        f = compute_fans(shape, lay) if f is None else f
        return f.fan_in, f.fan_out

    def init_leaf(path: Any, leaf: Any) -> Any:
        names = _path_names(path)
        role = target(names, leaf)
        if role is None:
            return leaf
        scheme, kw = rules[role]
        stream = prefix + ".".join(names)
        if role == "bias" and scheme.uses_fans and "fans" not in kw:
            sibling = kernels.get(tuple(names[:-1]))
            if sibling is None:
                raise ValueError(
                    f"Bias {stream!r} has no sibling 'kernel' (rank >= 2) to take fans from, and scheme "
                    f"{scheme.name!r} uses fans: give the rule fans=(fan_in, fan_out) or use a scheme "
                    f"without fans. Received: bias={bias!r}"
                )
            kw = {**kw, "fans": kernel_fans(sibling)}
        init = initializer(scheme, layout=lay, stream=stream, seed=seed, **kw)
        return init(None, tuple(leaf.shape), leaf.dtype)

    return jax.tree_util.tree_map_with_path(init_leaf, params)


# -- uniform harness API ----------------------------------------------------------------------


def _device(device: str) -> Any:
    """The first JAX device of the harness name ``device`` ("cpu" or "gpu")."""
    if device not in DEVICES:
        raise unknown("device", "device", device, DEVICES)
    ok, why = device_available(device)
    if not ok:
        raise RuntimeError(f"{why}. Received: device={device!r}")
    return jax.devices(device)[0]


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"Argument `seed` must be a non-negative int. Received: seed={seed!r}")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"Argument `seed` must be in [0, 2**64). Received: seed={seed!r}")
    return int(seed)


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: str = "cpu", stream: str | None = None, **params: Any) -> Any:
    """Uniform harness API (see :mod:`initspec.backends`): a ``jax.Array`` on ``device``,
    drawn with ``jax.random.key(seed)`` placed there (so the program runs there).

    ``stream="encoder.0.kernel"`` switches to the portable stream
    (:mod:`initspec.backends.portable`): the same values as every other framework for the same
    ``(seed, stream)``, shard-invariant."""
    if stream is not None:
        from .portable import jax as portable

        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout, dtype=dtype,
                               seed=seed, stream=stream, device=device, **params)
    init = initializer(scheme, layout=layout, **params)
    key = jax.device_put(jax.random.key(_seed(seed)), _device(device))
    return init(key, shape, dtype)


def to_numpy(x: Any) -> np.ndarray:
    """Host copy (the only one; for measuring)."""
    return np.asarray(jax.device_get(x))


def device_available(device: str) -> tuple[bool, str]:
    """``(True, "")`` if JAX has a ``device`` ("cpu"/"gpu") backend, else ``(False, reason)``."""
    if device not in DEVICES:
        raise unknown("device", "device", device, DEVICES)
    try:
        devs = jax.devices(device)
    except RuntimeError as e:
        return False, f"JAX has no {device} backend ({e})"
    return (True, "") if devs else (False, f"JAX lists no {device} device")


def device_of(x: Any) -> str:
    """Where ``x``'s values live: "gpu" or "cpu"."""
    platforms = {d.platform for d in x.devices()}
    return "gpu" if platforms & GPU_PLATFORMS else "cpu"


def versions() -> dict[str, str]:
    """Versions of jax, jaxlib and flax (flax read from metadata, not imported)."""
    out = {}
    for dist in ("jax", "jaxlib", "flax"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


#: (ours: scheme and params, native: jax.nn.initializers factory name and args); same law
BENCH_PAIRS: tuple[tuple[str, dict[str, float], str, tuple[float, ...]], ...] = (
    ("he_truncated_normal", {}, "he_normal", ()),
    ("glorot_uniform", {}, "glorot_uniform", ()),
    ("normal", {"std": 0.02}, "normal", (0.02,)),
    ("uniform", {"low": 0.0, "high": 0.01}, "uniform", (0.01,)),
    ("truncated_normal", {"std": 0.02}, "truncated_normal", (0.02,)),
)
BENCH_SHAPES: tuple[tuple[int, ...], ...] = ((4096, 4096), (3, 3, 256, 256))
BENCH_ORTHOGONAL_SHAPE = (1024, 1024)


def _bench_case(device: str, scheme: str, params: dict[str, float], native: str, native_args: tuple,
                shape: tuple[int, ...]) -> BenchCase:
    """One jitted ours-vs-native pair on ``device``, timed with ``block_until_ready``."""
    key = jax.device_put(jax.random.key(0), _device(device))
    ours_init = initializer(scheme, **params)
    native_init = getattr(jax.nn.initializers, native)(*native_args)
    ours = jax.jit(lambda k: ours_init(k, shape, jnp.float32))
    theirs = jax.jit(lambda k: native_init(k, shape, jnp.float32))
    dims = "x".join(str(d) for d in shape)
    return BenchCase(backend="jax", label=f"{scheme} {dims} float32", ours=lambda: ours(key),
                     native=lambda: theirs(key), native_name=f"jax.nn.initializers.{native}",
                     sync=jax.block_until_ready, device=device)


def bench_cases(devices: Sequence[str] | None = None) -> list[BenchCase]:
    """Adapter vs ``jax.nn.initializers`` on each available device of ``devices`` (default:
    all): the :data:`BENCH_PAIRS` at :data:`BENCH_SHAPES` and orthogonal at 1024x1024."""
    cases = []
    for device in DEVICES if devices is None else devices:
        if not device_available(device)[0]:
            continue
        for shape in BENCH_SHAPES:
            cases += [_bench_case(device, s, p, n, a, shape) for s, p, n, a in BENCH_PAIRS]
        cases.append(_bench_case(device, "orthogonal", {}, "orthogonal", (), BENCH_ORTHOGONAL_SHAPE))
    return cases

