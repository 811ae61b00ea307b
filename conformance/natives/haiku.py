"""Haiku natives (``haiku/_src/basic.py::Linear``). Haiku is not an initspec dependency: when it
is missing, its entries are recorded as unavailable."""

from __future__ import annotations

from typing import Any

import numpy as np

FRAMEWORK = "haiku"
IMPORTS = ("haiku", "jax")
COMPLEX: dict[str, tuple[str, ...]] = {}


def draws() -> dict[str, Any]:
    import haiku as hk
    import jax
    import jax.numpy as jnp

    def linear_w(shape: tuple[int, ...], seed: int, dtype: str) -> np.ndarray:
        n_in, n_out = shape

        def f(x):  # noqa: ANN001, ANN202
            return hk.Linear(n_out)(x)

        params = hk.transform(f).init(jax.random.PRNGKey(seed), jnp.zeros((1, n_in), dtype))
        return np.asarray(params["linear"]["w"])

    return {"haiku.Linear.w": linear_w}
