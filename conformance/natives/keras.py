"""Keras 3 natives: ``keras.initializers.*`` and the default kernel/bias init of ``Dense``,
``Conv2D``, ``Conv2DTranspose``, ``DepthwiseConv2D`` and ``Embedding`` (imports keras only, inside
:func:`draws`).

Initializers are built with ``seed=seed`` (keras/src/initializers/random_initializers.py:
an int seed gives the same values on every call); layers use their default (unseeded)
initializers, which draw their seed from Python's ``random`` (``keras.random.make_default_seed``),
so layers are built right after ``keras.utils.set_random_seed(seed)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

FRAMEWORK = "keras"
IMPORTS = ("keras",)
COMPLEX: dict[str, tuple[str, ...]] = {}


def draws() -> dict[str, Callable[[tuple[int, ...], int, str], np.ndarray]]:
    import keras

    def values(x: Any) -> np.ndarray:
        return np.asarray(keras.ops.convert_to_numpy(x)).copy()

    def initializer(cls: Any, *, seeded: bool = True):
        def draw(shape: tuple[int, ...], seed: int, dtype: str) -> np.ndarray:
            init = cls(seed=int(seed)) if seeded else cls()
            return values(init(tuple(shape), dtype=dtype))

        return draw

    def layer(build: Callable[[tuple[int, ...], str], Any], attr: str):
        def draw(shape: tuple[int, ...], seed: int, dtype: str) -> np.ndarray:
            keras.utils.set_random_seed(int(seed))
            return values(getattr(build(shape, dtype), attr))

        return draw

    L = keras.layers

    def dense(s, dt):  # kernel (in, out)
        lay = L.Dense(s[1], dtype=dt)
        lay.build((None, s[0]))
        return lay

    def conv(s, dt):  # kernel (*k, in, out)
        lay = L.Conv2D(s[-1], tuple(s[:-2]), dtype=dt)
        lay.build((None, 8, 8, s[-2]))
        return lay

    def conv_t(s, dt):  # kernel (*k, out, in)
        lay = L.Conv2DTranspose(s[-2], tuple(s[:-2]), dtype=dt)
        lay.build((None, 8, 8, s[-1]))
        return lay

    def depthwise(s, dt):  # kernel (*k, channels, multiplier)
        lay = L.DepthwiseConv2D(tuple(s[:-2]), depth_multiplier=s[-1], dtype=dt)
        lay.build((None, 8, 8, s[-2]))
        return lay

    def embedding(s, dt):  # (input_dim, output_dim)
        lay = L.Embedding(s[0], s[1], dtype=dt)
        lay.build((None,))
        return lay

    K = keras.initializers
    return {
        "keras.initializers.Zeros": initializer(K.Zeros, seeded=False),
        "keras.initializers.Ones": initializer(K.Ones, seeded=False),
        "keras.initializers.RandomNormal": initializer(K.RandomNormal),
        "keras.initializers.RandomUniform": initializer(K.RandomUniform),
        "keras.initializers.TruncatedNormal": initializer(K.TruncatedNormal),
        "keras.initializers.VarianceScaling": initializer(K.VarianceScaling),
        "keras.initializers.GlorotNormal": initializer(K.GlorotNormal),
        "keras.initializers.GlorotUniform": initializer(K.GlorotUniform),
        "keras.initializers.HeNormal": initializer(K.HeNormal),
        "keras.initializers.HeUniform": initializer(K.HeUniform),
        "keras.initializers.LecunNormal": initializer(K.LecunNormal),
        "keras.initializers.LecunUniform": initializer(K.LecunUniform),
        "keras.initializers.Orthogonal": initializer(K.Orthogonal),
        "keras.initializers.Identity": initializer(K.Identity, seeded=False),
        "keras.layers.Dense.kernel": layer(dense, "kernel"),
        "keras.layers.Dense.bias": layer(dense, "bias"),
        "keras.layers.Conv2D.kernel": layer(conv, "kernel"),
        "keras.layers.Conv2DTranspose.kernel": layer(conv_t, "kernel"),
        "keras.layers.DepthwiseConv2D.depthwise_kernel": layer(depthwise, "kernel"),
        "keras.layers.Embedding.embeddings": layer(embedding, "embeddings"),
    }
