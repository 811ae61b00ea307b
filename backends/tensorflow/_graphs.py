"""TF's stateless random ops run inside ``tf.function`` graphs, for memory.

The same kernels run with the same inputs, so the values equal the eager calls bit for bit (tested;
no XLA, no ``jit_compile``). In a graph, the executor hands an op an input that has no other
consumer, and element-wise kernels write their output into that input's buffer
(``OpKernelContext::forward_input_or_allocate_output``). Eagerly the caller still holds a
reference, so nothing is forwarded: ``tf.random.stateless_normal(..., mean, stddev)``
(``rnd * stddev + mean``) holds 3x its output, and 1x in a graph (measured, 4096x4096 float32:
peak RSS above the process's previous peak).

Shapes, seeds and the distribution's parameters are tensors (one trace per rank, seed dtype and
value dtype: ``reduce_retracing``), so a model's many shapes and scales share a few graphs.
"""

from __future__ import annotations

import functools
from typing import Any

import tensorflow as tf

__all__ = ["normal", "truncated_normal", "uniform"]


def _normal(shape: Any, seed: Any, mean: Any, std: Any) -> Any:
    return tf.random.stateless_normal(shape, seed=seed, mean=mean, stddev=std, dtype=mean.dtype)


def _truncated_normal(shape: Any, seed: Any, mean: Any, std: Any, lo: Any, hi: Any, clip: bool) -> Any:
    x = tf.random.stateless_truncated_normal(shape, seed=seed, mean=mean, stddev=std, dtype=mean.dtype)
    return tf.clip_by_value(x, lo, hi) if clip else x


def _uniform(shape: Any, seed: Any, lo: Any, hi: Any, cap: Any, capped: bool) -> Any:
    x = tf.random.stateless_uniform(shape, seed=seed, minval=lo, maxval=hi, dtype=lo.dtype)
    return tf.minimum(x, cap) if capped else x


@functools.cache
def _graph(fn: Any) -> Any:
    return tf.function(fn, reduce_retracing=True, autograph=False)


def _scalar(x: Any, dtype: tf.DType) -> tf.Tensor:
    """A Python number as a ``dtype`` constant; a tensor as it is (cast where its dtype differs)."""
    return tf.cast(x, dtype) if tf.is_tensor(x) else tf.constant(x, dtype)


def _shape(shape: tuple[int, ...]) -> tf.Tensor:
    return tf.constant(shape, dtype=tf.int64, shape=(len(shape),))


def normal(shape: tuple[int, ...], seed: tf.Tensor, mean: float, std: float, dtype: tf.DType) -> tf.Tensor:
    """``tf.random.stateless_normal(shape, seed, mean=mean, stddev=std, dtype=dtype)``."""
    return _graph(_normal)(_shape(shape), tf.convert_to_tensor(seed), tf.constant(mean, dtype), tf.constant(std, dtype))


def truncated_normal(shape: tuple[int, ...], seed: tf.Tensor, mean: float, std: float, dtype: tf.DType,
                     clip: tuple[float, float] | None = None) -> tf.Tensor:
    """``tf.random.stateless_truncated_normal(...)``, then ``tf.clip_by_value(x, *clip)`` if given."""
    lo, hi = clip if clip is not None else (0.0, 0.0)
    return _graph(_truncated_normal)(_shape(shape), tf.convert_to_tensor(seed), tf.constant(mean, dtype), tf.constant(std, dtype),
                                     tf.constant(lo, dtype), tf.constant(hi, dtype), clip is not None)


def uniform(shape: tuple[int, ...], seed: tf.Tensor, lo: Any, hi: Any, dtype: tf.DType,
            cap: float | None = None) -> tf.Tensor:
    """``tf.random.stateless_uniform(shape, seed, minval=lo, maxval=hi, dtype)``, then
    ``tf.minimum(x, cap)`` if given; ``lo``/``hi`` are Python numbers or ``dtype`` tensors."""
    return _graph(_uniform)(_shape(shape), tf.convert_to_tensor(seed), _scalar(lo, dtype), _scalar(hi, dtype),
                            tf.constant(0.0 if cap is None else cap, dtype), cap is not None)
