"""Keras' random draws under ``KERAS_BACKEND=tensorflow``, with Keras' values and about 1x memory.

The Keras adapter (:mod:`initspec.backends.keras`) samples exactly as Keras does so that a seed
gives Keras' values. On TensorFlow those calls are eager ops (``keras/src/backend/tensorflow/
random.py``: ``tf.random.stateless_normal(shape, mean=, stddev=, seed=)`` is ``rnd * stddev +
mean``), and eagerly every op allocates a new buffer: 3x the output at the peak, measured. Here the
same ops with the same inputs (Keras' own seed, through ``_cast_seed(draw_seed(seed))``) run in
``tf.function`` graphs (:mod:`._graphs`), where the executor forwards buffers: 1x, the same values
bit for bit. ``Orthogonal`` stays Keras' own sequence: TF's QR kernel (Eigen's
``HouseholderQR``, ``tensorflow/core/kernels/linalg/qr_op_impl.h``) holds its input, its own copy,
an identity block and both factors, 5x the output in Keras and in a graph alike (measured), and
no other kernel gives its values.

:mod:`initspec.backends.keras._sampling` imports this module under the Keras backend this
framework declares (``keras_backend`` in :mod:`initspec.registry`) and uses the draws it defines,
and :func:`portable_sample` for the drop-in's portable stream.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from keras.src.backend.tensorflow.random import _cast_seed
from keras.src.random.seed_generator import draw_seed

from . import _graphs

__all__ = ["NATIVE_BOUND_MEMORY", "normal", "portable_sample", "truncated_normal", "uniform"]

#: drop-in classes whose memory no other kernel can lower, and why: ``initspec bench`` holds
#: their Keras cases to Keras' own peak (:attr:`initspec.backends._bench.BenchCase.memory_bound`)
NATIVE_BOUND_MEMORY: dict[str, str] = {
    "Orthogonal": ("Keras' values are those of TF's QR kernel (Eigen's HouseholderQR: its input, a copy, an "
                   "identity block and both factors; 5x the output) and no other kernel gives them; "
                   "initspec.backends.tensorflow.Orthogonal holds 2x, with the spec's law, not Keras' bits"),
}


def _seed(seed: Any) -> tf.Tensor:
    """Keras' TF seed tensor: ``_cast_seed(draw_seed(seed))`` (``keras/src/backend/tensorflow/random.py``)."""
    return _cast_seed(draw_seed(seed))


def normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: str, seed: Any) -> tf.Tensor:
    """``keras.random.normal(shape, mean, stddev, dtype, seed)``."""
    return _graphs.normal(shape, _seed(seed), mean, stddev, tf.as_dtype(dtype))


def truncated_normal(shape: tuple[int, ...], mean: float, stddev: float, dtype: str, seed: Any) -> tf.Tensor:
    """``keras.random.truncated_normal(shape, mean, stddev, dtype, seed)``."""
    return _graphs.truncated_normal(shape, _seed(seed), mean, stddev, tf.as_dtype(dtype))


def uniform(shape: tuple[int, ...], minval: float, maxval: float, dtype: str, seed: Any) -> tf.Tensor:
    """``keras.random.uniform(shape, minval, maxval, dtype, seed)`` (Keras casts the bounds with
    ``tf.cast``, so do we)."""
    dt = tf.as_dtype(dtype)
    return _graphs.uniform(shape, _seed(seed), tf.cast(minval, dt), tf.cast(maxval, dt), dt)


def portable_sample(scheme: str, shape: tuple[int, ...], **kw: Any) -> tf.Tensor | None:
    """The portable stream through the compiled C kernel of the reference, written into an
    aligned host array that TF adopts without a copy
    (:func:`initspec.backends.tensorflow.portable.sample_host`; ``variable.assign`` then moves it
    to the variable's device), or None where the kernel does not apply. TF's own portable ops run
    the transforms as hundreds of eager TF ops per tensor (measured 9-10 s for 4096x4096 against
    0.38 s for ``tf.random.normal``), and a ``tf.function(jit_compile=True)`` kernel would need
    XLA's FMA fence and compile per shape, so the host kernel is the fast exact path here."""
    from . import portable

    return portable.sample_host(scheme, shape, **kw)
