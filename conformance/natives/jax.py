"""JAX natives: ``jax.nn.initializers.*`` with their default arguments (imports jax only,
inside :func:`draws`). Each is called as ``init(jax.random.key(seed), shape, dtype)``.

Complex: ``variance_scaling`` (truncated normal by default) is audited in complex64 too, to
measure JAX's complex std constant (jax/_src/nn/initializers.py::variance_scaling uses 0.95311;
the exact value is 0.96196, see ``initspec.constants``).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

FRAMEWORK = "jax"
IMPORTS = ("jax",)
COMPLEX: dict[str, tuple[str, ...]] = {
    "jax.nn.initializers.variance_scaling": ("complex64",),
    "jax.nn.initializers.normal": ("complex64",),
}


def draws() -> dict[str, Callable[[tuple[int, ...], int, str], np.ndarray]]:
    import jax
    import jax.numpy as jnp

    J = jax.nn.initializers

    def wrap(init: Any):
        def draw(shape: tuple[int, ...], seed: int, dtype: str) -> np.ndarray:
            return np.asarray(init(jax.random.key(int(seed)), tuple(shape), getattr(jnp, dtype))).copy()

        return draw

    return {
        "jax.nn.initializers.zeros": wrap(J.zeros),
        "jax.nn.initializers.ones": wrap(J.ones),
        "jax.nn.initializers.normal": wrap(J.normal()),
        "jax.nn.initializers.uniform": wrap(J.uniform()),
        "jax.nn.initializers.truncated_normal": wrap(J.truncated_normal()),
        "jax.nn.initializers.variance_scaling": wrap(J.variance_scaling(1.0, "fan_in", "truncated_normal")),
        "jax.nn.initializers.glorot_normal": wrap(J.glorot_normal()),
        "jax.nn.initializers.glorot_uniform": wrap(J.glorot_uniform()),
        "jax.nn.initializers.he_normal": wrap(J.he_normal()),
        "jax.nn.initializers.he_uniform": wrap(J.he_uniform()),
        "jax.nn.initializers.lecun_normal": wrap(J.lecun_normal()),
        "jax.nn.initializers.lecun_uniform": wrap(J.lecun_uniform()),
        "jax.nn.initializers.orthogonal": wrap(J.orthogonal()),
        "jax.nn.initializers.delta_orthogonal": wrap(J.delta_orthogonal()),
    }
