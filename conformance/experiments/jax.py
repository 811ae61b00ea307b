"""JAX engine: the MLP with ``jax.value_and_grad`` under ``jax.jit`` (kernels (in, out)).

Inside the engine the parameters are *packed*: the square hidden layers 2..L-1 are stacked into
one (L-2, n, n) kernel array run by ``jax.lax.scan``, so the compiled program's size, and its
compile time, do not depend on depth (an unrolled or stack-inside-jit 50-layer step took 2-3x
longer to compile). One jitted loss-and-gradient program per net shape serves
both the probe and the SGD steps (the update is a second, tiny program), and the
activation is a traced index into ``jax.lax.switch``, so there is one compilation per net shape
(three in all) instead of one per activation and shape (seven; ~0.75 s CPU each). XLA flushes
subnormals on CPU itself. Every array is committed to the CPU device (the adapter commits its
random draws but not its constants; mixing the two doubled the compilations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._engine import Engine, Params, Probe

ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "tanh": jnp.tanh, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "linear": lambda z: z,
}
_BRANCHES = tuple(ACTIVATIONS.values())
_INDEX = {name: i for i, name in enumerate(ACTIVATIONS)}

#: (first layer, stacked middle layers or None, readout), each (kernel, bias)
Packed = tuple[tuple[Any, Any], "tuple[Any, Any] | None", tuple[Any, Any]]


def _pack(params: Params) -> Packed:
    middle = params[1:-1]
    stacked = (jnp.stack([w for w, _ in middle]), jnp.stack([b for _, b in middle])) if middle else None
    return tuple(params[0]), stacked, tuple(params[-1])


def _unpack_numpy(packed: Packed) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-layer NumPy (kernel, bias) pairs of ``packed`` (one host copy per stacked array:
    iterating over a stacked ``jax.Array`` dispatches one slicing op per layer, ~0.2 s per
    50-layer net)."""
    first, stacked, last = (jax.device_get(part) for part in packed)
    middle = list(zip(*(np.asarray(a) for a in stacked))) if stacked is not None else []
    return [tuple(np.asarray(t) for t in first), *middle, tuple(np.asarray(t) for t in last)]


@jax.jit
def _sgd_update(packed: Packed, grads: Packed, lr: Any) -> Packed:
    return jax.tree.map(lambda p, g: p - lr * g, packed, grads)


def _forward(packed: Packed, x: Any, activation: Any) -> tuple[Any, Any, Any]:
    """Readout output, first hidden output, stacked outputs of the middle layers (or None);
    ``activation`` is a traced index into :data:`ACTIVATIONS`."""

    def f(z: Any) -> Any:
        return jax.lax.switch(activation, _BRANCHES, z)

    (w0, b0), stacked, (wo, bo) = packed
    h0 = h = f(x @ w0 + b0)
    hs = None
    if stacked is not None:
        def layer(a: Any, wb: tuple[Any, Any]) -> tuple[Any, Any]:
            z = f(a @ wb[0] + wb[1])
            return z, z

        h, hs = jax.lax.scan(layer, h, stacked)
    return h @ wo + bo, h0, hs


def _loss(packed: Packed, x: Any, y: Any, activation: Any) -> tuple[Any, tuple[Any, Any]]:
    out, h0, hs = _forward(packed, x, activation)
    return 0.5 * jnp.mean((out - y) ** 2), (h0, hs)


_loss_and_grads = jax.jit(jax.value_and_grad(_loss, has_aux=True))


class JaxEngine(Engine):
    backend = "jax"
    layout = "flax_dense"  # (in, out)

    def __init__(self) -> None:
        super().__init__()
        self.device = jax.devices("cpu")[0]

    def from_numpy(self, a: np.ndarray) -> Any:
        return jax.device_put(np.asarray(a, dtype=np.float32), self.device)

    def kernel(self, init: Any, n_in: int, n_out: int, seed: int) -> Any:
        return jax.device_put(super().kernel(init, n_in, n_out, seed), self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(jax.device_get(x))

    def versions(self) -> dict[str, str]:
        import jaxlib

        return {"jax": jax.__version__, "jaxlib": jaxlib.__version__}

    def probe(self, params: Params, x: Any, y: Any, activation: str) -> Probe:
        (loss, (h0, hs)), grads = _loss_and_grads(_pack(params), x, y, _INDEX[activation])
        hidden = [self.to_numpy(h0), *(list(self.to_numpy(hs)) if hs is not None else [])]
        return Probe(float(loss), hidden, [g for g, _ in _unpack_numpy(grads)])

    def train(self, params: Params, x: Any, y: Any, activation: str, steps: int, lr: float
              ) -> tuple[Params, list[float]]:
        packed, index = _pack(params), _INDEX[activation]
        rate = jnp.float32(lr)
        losses = []
        for _ in range(steps):
            (loss, _), grads = _loss_and_grads(packed, x, y, index)
            packed = _sgd_update(packed, grads, rate)
            losses.append(float(loss))
        losses.append(float(_loss_and_grads(packed, x, y, index)[0][0]))
        return [tuple(self.from_numpy(t) for t in pair) for pair in _unpack_numpy(packed)], losses


ENGINE = JaxEngine
