"""Seeds of the Keras drop-in: Keras 3's rules on every Keras backend.

``keras/src/initializers/random_initializers.py::RandomInitializer``: ``seed`` is an int, a
``keras.random.SeedGenerator`` (or its serialised dict), or None, which draws an int once at
construction (``keras/src/random/seed_generator.py::make_default_seed``, Python's ``random``, so
``keras.utils.set_random_seed`` makes it reproducible). The int or generator is passed to
``keras.random.*`` unchanged, so a drop-in initializer draws the same values as Keras' own.
"""

from __future__ import annotations

import numbers
import random as _pyrandom
from typing import Any

import keras
from initspec.backends.portable._spec import portable_seed as _portable_seed

__all__ = ["check_seed", "make_default_seed", "portable_seed"]


def make_default_seed() -> int:
    """The int Keras draws for ``seed=None`` (``python_random.randint(1, int(1e9))``)."""
    return _pyrandom.randint(1, int(1e9))


def check_seed(seed: Any) -> Any:
    """``seed`` validated: an int (not a bool), None, or a ``keras.random.SeedGenerator`` (a
    serialised generator dict is deserialised). Keras raises ``ValueError`` here, so do we."""
    if isinstance(seed, dict):
        seed = keras.saving.deserialize_keras_object(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return int(seed)
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    raise ValueError(
        "Argument `seed` must be an int, None or a keras.random.SeedGenerator "
        f"(type {type(seed).__name__} given). Received: seed={seed!r}"
    )


def portable_seed(seed: Any, stream: str) -> int:
    """The portable stream's seed: None -> 0, an int in ``[0, 2**64)`` as is; a SeedGenerator
    (stateful) is refused with an error naming ``seed`` and ``stream``."""
    if isinstance(seed, keras.random.SeedGenerator):
        raise TypeError(
            "Argument `seed` must be an int in [0, 2**64) or None with the portable stream (it is "
            "deterministic; seed=None means 0): a keras.random.SeedGenerator only seeds keras.random. "
            f"Received: seed={seed!r}, stream={stream!r}"
        )
    return _portable_seed(seed)
