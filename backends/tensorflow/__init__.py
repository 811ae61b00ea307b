"""TensorFlow / Keras 3 adapter: the spec's schemes as Keras ``Initializer`` classes and TF functions.

Three public faces, all generated from the scheme table (:data:`initspec.schemes.SCHEMES`), so a
new row of the table is a new class and a new function here without new code:

* **Keras initializers** - one ``keras.initializers.Initializer`` subclass per scheme, named in
  CamelCase (``HeNormal``, ``HeTruncatedNormal``, ``GlorotUniform``, ``GlorotNormal``,
  ``Orthogonal``, ``Dirac``, ``DeltaOrthogonal``, ``Sparse``, ``VarianceScaling``, ...; the
  Keras-named ``RandomNormal``/``RandomUniform``/``TruncatedNormal`` have Keras' defaults, and no
  positional argument means something else than in Keras' class of the same name: Keras'
  ``HeNormal(42)`` is seed=42, so ``HeNormal(42)``/``HeTruncatedNormal(42)`` raise here; the exact
  drop-in is :mod:`initspec.backends.keras.initializers`). Usable as
  ``kernel_initializer=``; ``get_config``/``from_config`` round-trip; registered with
  ``keras.saving.register_keras_serializable(package="initspec")`` so ``model.save("m.keras")`` /
  ``keras.models.load_model`` work (import this module before loading: Keras resolves the
  registered name ``"initspec>HeNormal"`` only once the class is registered).
* **TF functions** - ``he_normal(shape, dtype=None, seed=None, *, layout="keras", groups=1,
  fans=None, **params)`` etc. and :func:`initialize` taking the scheme by name, on TensorFlow's
  *stateless* RNG (``tf.random.stateless_normal``, ``stateless_truncated_normal``,
  ``stateless_uniform``).
* :func:`init_model` - re-initializes every variable of a built Keras model in place by rules
  and returns the init report (re-exported from :mod:`initspec.backends.keras.models`, which runs
  on every Keras backend; ``docs/model-init-keras.md``);
* the **uniform harness API** of :mod:`initspec.backends` (:func:`sample`, :func:`to_numpy`, ...).

**Portable stream.** Every Keras class and TF function also takes ``stream: str | None = None``.
``stream=None`` keeps the native behaviour described below. ``stream="dense/kernel"`` draws from
the *portable stream* (:mod:`initspec.backends.portable`) keyed by ``(seed, stream)``: the same
values, bit for bit, as ``initspec.backends.tensorflow.portable.sample`` and the NumPy, torch and
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
(``tensorflow/lite/python/util.py``); this package imports no other framework.

**Modules** (everything public is re-exported here):

* :mod:`._primitives` - :class:`TFBackend`, the ``_core`` primitives on TF ops (no Keras), shared by
  the native functions and the portable stream;
* :mod:`.functions` - :func:`initialize`, :func:`plan_and_sample` and one TF function per scheme;
* :mod:`.initializers` - the Keras classes and :data:`INITIALIZERS`;
* :mod:`.models` - :func:`init_model`, :func:`layout_for_variable` (re-exported from :mod:`initspec.backends.keras.models`);
* :mod:`.portable` - the portable stream on TF ops (no Keras): ``sample``, ``sample_slice``, ``words``;
* :mod:`.harness` - the uniform harness API; :mod:`.bench` - :func:`bench_cases`.
"""

from __future__ import annotations

from . import portable
from ._primitives import BACKEND, DEFAULT_LAYOUT, TFBackend, tf_dtype
from ._seeds import check_keras_seed, portable_seed, seed_pair
from .bench import bench_cases
from .functions import (
    PLAN_CACHE_SIZE,
    SCHEME_FUNCTIONS,
    SchemeFunction,
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
    initialize,
    lecun_normal,
    lecun_truncated_normal,
    lecun_uniform,
    normal,
    ones,
    orthogonal,
    plan_and_sample,
    sparse,
    truncated_normal,
    truncated_normal_abs,
    uniform,
    variance_scaling,
    zeros,
)
from .harness import device_available, device_name, device_of, sample, to_numpy, versions
from .initializers import (
    INITIALIZERS,
    KERAS_PACKAGE,
    Constant,
    DeltaOrthogonal,
    Dirac,
    GlorotNormal,
    GlorotTruncatedNormal,
    GlorotUniform,
    HeNormal,
    HeTruncatedNormal,
    HeUniform,
    Identity,
    LecunNormal,
    LecunTruncatedNormal,
    LecunUniform,
    Normal,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    Sparse,
    SpecInitializer,
    TruncatedNormal,
    TruncatedNormalAbs,
    Uniform,
    VarianceScaling,
    Zeros,
    layout_from_config,
    layout_to_config,
)
from .models import init_model, layout_for_variable

__all__ = [
    "BACKEND",
    "DEFAULT_LAYOUT",
    "INITIALIZERS",
    "KERAS_PACKAGE",
    "PLAN_CACHE_SIZE",
    "SCHEME_FUNCTIONS",
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
    "SchemeFunction",
    "Sparse",
    "SpecInitializer",
    "TFBackend",
    "TruncatedNormal",
    "TruncatedNormalAbs",
    "Uniform",
    "VarianceScaling",
    "Zeros",
    "bench_cases",
    "check_keras_seed",
    "constant",
    "delta_orthogonal",
    "device_available", "device_name",
    "device_of",
    "dirac",
    "glorot_normal",
    "glorot_truncated_normal",
    "glorot_uniform",
    "he_normal",
    "he_truncated_normal",
    "he_uniform",
    "identity",
    "init_model",
    "initialize",
    "layout_for_variable",
    "layout_from_config",
    "layout_to_config",
    "lecun_normal",
    "lecun_truncated_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "plan_and_sample",
    "portable",
    "portable_seed",
    "sample",
    "seed_pair",
    "sparse",
    "tf_dtype",
    "to_numpy",
    "truncated_normal",
    "truncated_normal_abs",
    "uniform",
    "variance_scaling",
    "versions",
    "zeros",
]
