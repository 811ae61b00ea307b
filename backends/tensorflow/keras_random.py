"""Keras' random draws under ``KERAS_BACKEND=tensorflow``, with Keras' values and about 1x memory.

The Keras adapter (:mod:`initspec.backends.keras`) samples exactly as Keras does so that a seed
gives Keras' values. On TensorFlow those calls are eager ops (``keras/src/backend/tensorflow/
random.py``: ``tf.random.stateless_normal(shape, mean=, stddev=, seed=)`` is ``rnd * stddev +
mean``), and eagerly every op allocates a new buffer: 3x the output at the peak, measured. Here the
same ops with the same inputs (Keras' own seed, through ``_cast_seed(draw_seed(seed))``) run in
``tf.function`` graphs (:mod:`._graphs`), where the executor forwards buffers: 1x, the same values
bit for bit. :func:`orthogonal` runs Keras' ``Orthogonal.__call__`` sequence in one graph.

:mod:`initspec.backends.keras._sampling` imports this module by the Keras backend's name and uses
the draws it defines.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import tensorflow as tf
from keras.src.backend.tensorflow.random import _cast_seed
from keras.src.random.seed_generator import draw_seed

from . import _graphs

__all__ = ["normal", "orthogonal", "truncated_normal", "uniform"]


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


def _orthogonal(a: tf.Tensor, gain: tf.Tensor, transpose: bool, shape: tf.Tensor) -> tf.Tensor:
    q, r = tf.linalg.qr(a, full_matrices=False)  # keras.ops.qr(a) (mode "reduced")
    q = q * tf.sign(tf.linalg.diag_part(r))      # q *= ops.sign(ops.diag(r))
    if transpose:
        q = tf.transpose(q)
    return gain * tf.reshape(q, shape)


@functools.cache
def _orthogonal_graph() -> Any:
    return tf.function(_orthogonal, reduce_retracing=True, autograph=False)


def orthogonal(shape: tuple[int, ...], gain: float, dtype: str, seed: Any) -> tf.Tensor:
    """``keras.initializers.Orthogonal(gain, seed)(shape, dtype)``: a Gaussian ``(max, min)``
    matrix (:func:`normal`), its reduced QR, ``q * sign(diag(r))``, transposed for wide shapes,
    times ``gain``; the QR and the rest in one graph."""
    rows, cols = math.prod(shape[:-1]), shape[-1]
    dt = tf.as_dtype(dtype)
    a = normal((max(rows, cols), min(rows, cols)), 0.0, 1.0, dtype, seed)
    return _orthogonal_graph()(a, tf.constant(gain, dt), rows < cols, tf.constant(shape, tf.int64, (len(shape),)))
