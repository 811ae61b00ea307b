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
import numpy as np
from initspec.backends.portable._spec import portable_seed as _portable_seed

__all__ = ["SeedSequence", "check_seed", "make_default_seed", "portable_seed"]


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


class SeedSequence(keras.random.SeedGenerator):
    """The seeds ``gen.next()`` would return, one per call, without ``gen``'s per-call state update.

    ``SeedGenerator.next()`` (``keras/src/random/seed_generator.py``, ``ordered=True``) returns its
    state ``[s, c]`` and assigns ``[s, c + 1]`` (wrapping in the state's dtype): three backend ops
    and a variable assign per draw, about half a millisecond on TensorFlow, paid once per variable
    by a whole-model init (a ResNet-50 draws 54 kernels). This stand-in reads the state once, hands
    out ``[s, c]``, ``[s, c + 1]``... as fresh tensors (what ``keras.random`` does with an int seed),
    and :meth:`commit` stores the final state once: the same seeds, values and final generator state
    as calling ``gen.next()`` each time. Eager code only (it keeps a Python counter).
    """

    def __init__(self, gen: keras.random.SeedGenerator) -> None:  # no super().__init__: no new variable
        self.gen = gen
        self.name = gen.name
        self.backend = gen.backend
        self.dtype = gen.state.dtype
        self._base = np.asarray(keras.ops.convert_to_numpy(gen.state.value))
        self.count = 0

    def _at(self, k: int) -> np.ndarray:
        return self._base + np.array([0, k]).astype(self._base.dtype)  # wraps in the dtype, as the state does

    def next(self, ordered: bool = True) -> Any:
        if not ordered:
            raise NotImplementedError("SeedSequence replays ordered draws only")
        out = self.backend.convert_to_tensor(self._at(self.count), dtype=self.dtype)
        self.count += 1
        return out

    def commit(self) -> None:
        """Store the state after the draws handed out (``gen`` continues from there)."""
        if self.count:
            self.gen.state.assign(self.backend.convert_to_tensor(self._at(self.count), dtype=self.dtype))
