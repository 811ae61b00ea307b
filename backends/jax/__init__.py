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

The package also exposes the uniform harness API of :mod:`initspec.backends` (``sample``,
``to_numpy``, ``device_available``, ``device_of``, ``versions``, ``bench_cases``).

Modules (imports flow downwards only; none imports this package's ``__init__``):

* :mod:`~initspec.backends.jax._checks` - dtypes, keys and axes validated at trace time;
* :mod:`~initspec.backends.jax._primitives` - :class:`JaxBackend`, the one primitives class of
  native and portable generation;
* :mod:`~initspec.backends.jax._kernel` and :mod:`~initspec.backends.jax.portable` - the portable
  stream in JAX ops (element-wise kernel, FMA fence, sharding; :class:`PortableJax`);
* :mod:`~initspec.backends.jax._sharding`, :mod:`~initspec.backends.jax._initializer` -
  ``out_sharding=`` and :class:`Initializer`/:func:`initializer`;
* :mod:`~initspec.backends.jax._fans` - JAX's fan rule where explicit axes name a case the
  spec's layouts refuse (rank-0/1 shapes, overlapping roles);
* :mod:`~initspec.backends.jax.factories` - one explicit factory per scheme (JAX's defaults for
  ``normal``/``uniform``/``truncated_normal``);
* :mod:`~initspec.backends.jax.nn_initializers` - the drop-in ``jax.nn.initializers`` (JAX's
  names, arguments and laws; differences in ``docs/drop-in-jax.md``);
* :mod:`~initspec.backends.jax._walk` - roles of Flax leaves, rule matching and sampling shared by
  the model helpers (all or nothing; :mod:`initspec.backends._model` makes the report);
* :mod:`~initspec.backends.jax.tree` - :func:`init_tree` (pytrees, path rules);
* :mod:`~initspec.backends.jax.linen` - :func:`init_linen` (linen modules: class rules, logical
  attention fans, native fallback); :mod:`~initspec.backends.jax.nnx` - :func:`init_nnx_`
  (``flax.nnx`` modules, in place). Both import Flax only when called;
* :mod:`~initspec.backends.jax.harness`, :mod:`~initspec.backends.jax.bench` - the harness API.
"""

from __future__ import annotations

from ._checks import DEFAULT_DTYPE as DEFAULT_DTYPE
from ._checks import X64_DTYPES as X64_DTYPES
from ._initializer import Initializer, initializer
from ._primitives import BACKEND as BACKEND
from ._primitives import JaxBackend
from .bench import bench_cases
from .factories import (
    POSITIONAL_PARAMS as POSITIONAL_PARAMS,
)
from .factories import (
    constant,
    delta_orthogonal,
    dirac,
    glorot_normal,
    glorot_truncated_normal,
    glorot_uniform,
    he_normal,
    he_truncated_normal,
    he_uniform,
    identity,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    normal,
    ones,
    orthogonal,
    sparse,
    truncated_normal,
    truncated_normal_abs,
    uniform,
    variance_scaling,
    zeros,
)
from .harness import DEFAULT_LAYOUT, device_available, device_name, device_of, sample, to_numpy, versions
from .linen import init_linen
from .nnx import init_nnx_
from .tree import init_tree


# the factories are exactly initspec.SCHEMES (tests/backends/test_jax.py checks it)
__all__ = [
    "DEFAULT_LAYOUT", "Initializer", "JaxBackend", "bench_cases", "constant", "delta_orthogonal",
    "device_available", "device_name", "device_of", "dirac", "glorot_normal", "glorot_truncated_normal", "glorot_uniform",
    "he_normal", "he_truncated_normal", "he_uniform", "identity", "init_linen", "init_nnx_", "init_tree", "initializer",
    "lecun_normal", "lecun_truncated_normal", "lecun_uniform", "normal", "ones", "orthogonal", "sample",
    "sparse", "to_numpy", "truncated_normal", "truncated_normal_abs", "uniform", "variance_scaling",
    "versions", "zeros",
]
