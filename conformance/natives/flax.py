"""Flax natives: default kernel/bias init of ``flax.linen.Dense`` and ``Conv`` and the default
``Embed`` init (imports flax/jax only, inside :func:`draws`). Each module is initialised with
``module.init(jax.random.key(seed), x)`` on a zero input of the right width."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

FRAMEWORK = "flax"
IMPORTS = ("flax", "jax")
COMPLEX: dict[str, tuple[str, ...]] = {}


def draws() -> dict[str, Callable[[tuple[int, ...], int, str], np.ndarray]]:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    def module(build: Callable[[tuple[int, ...], Any], tuple[Any, Any]], name: str):
        def draw(shape: tuple[int, ...], seed: int, dtype: str) -> np.ndarray:
            dt = getattr(jnp, dtype)
            mod, x = build(shape, dt)
            params = mod.init(jax.random.key(int(seed)), x)["params"]
            return np.asarray(params[name]).copy()

        return draw

    def dense(s, dt):  # kernel (in, out)
        return nn.Dense(s[1], param_dtype=dt), jnp.zeros((1, s[0]), dt)

    def conv(s, dt):  # kernel (*k, in, out)
        return nn.Conv(s[-1], tuple(s[:-2]), param_dtype=dt), jnp.zeros((1, *s[:-2], s[-2]), dt)

    def embed(s, dt):  # embedding (num_embeddings, features)
        return nn.Embed(s[0], s[1], param_dtype=dt), jnp.zeros((1,), jnp.int32)

    return {
        "flax.linen.Dense.kernel": module(dense, "kernel"),
        "flax.linen.Dense.bias": module(dense, "bias"),
        "flax.linen.Conv.kernel": module(conv, "kernel"),
        "flax.linen.Embed.embedding": module(embed, "embedding"),
    }
