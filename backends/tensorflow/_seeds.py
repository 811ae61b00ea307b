"""Seeds of the native adapter: Keras-style seeds (int, None, ``keras.random.SeedGenerator``), TF
stateless seed pairs, and the portable stream's int seed.

Ints map to the stateless seed pair ``[seed mod 2**32, (seed >> 32) mod 2**32]`` (``[seed, 0]`` for
seeds below 2**32, the pair Keras' ``draw_seed`` builds, ``keras/src/random/seed_generator.py``).
"""

from __future__ import annotations

import numbers
import random as _pyrandom
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from initspec.backends.portable._spec import check_seed

__all__ = ["check_keras_seed", "is_int", "portable_seed", "seed_pair"]

_MASK32 = 0xFFFFFFFF


def _int_seed_pair(seed: int) -> tf.Tensor:
    """Stateless seed pair of an int in ``[0, 2**64)``: ``[seed mod 2**32, seed >> 32]`` (other ints
    would wrap silently onto another seed: refused)."""
    s = check_seed(seed)
    return tf.constant([s & _MASK32, (s >> 32) & _MASK32], dtype=tf.int64)


def is_int(x: Any) -> bool:
    """An integral number that is not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_keras_seed(seed: Any) -> Any:
    """Validate a Keras-style ``seed`` (int, None, ``keras.random.SeedGenerator`` or its
    serialised dict); return it (a dict deserialised)."""
    if isinstance(seed, dict):
        seed = keras.saving.deserialize_keras_object(seed)
    if is_int(seed):
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
    if is_int(seed):
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


def portable_seed(seed: Any, context: str) -> int:
    """The portable stream's seed of ``seed`` (None -> 0; an int in ``[0, 2**64)`` as is), or a
    clear error naming ``seed`` and ``context`` (the argument that selected the portable stream)."""
    if seed is None:
        return 0
    if not is_int(seed):
        raise TypeError(
            "Argument `seed` must be an int in [0, 2**64) or None with the portable stream (it is "
            "deterministic; seed=None means 0): a keras.random.SeedGenerator or a TF seed pair only "
            f"seeds the native RNG. Received: seed={seed!r}, {context}"
        )
    return check_seed(seed)
