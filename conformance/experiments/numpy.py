"""NumPy engine: the MLP with hand-written backpropagation (the reference for the others).

Activations and back-propagated deltas smaller than :data:`FLUSH_BELOW` (2^-63 ~ 1.1e-19)
are set to zero after every layer, so that a product of two surviving values (activation x
delta in the weight gradient, activation x weight) is at least 2^-126, the smallest normal
float32: x86 arithmetic on subnormals is ~100x slower (a 50-layer N(0, 0.01^2) pass took 2.4 s
instead of 0.1 s), and such values only appear in the vanishing regimes, where 1e-19 and 0 mean
the same for every predicate (their thresholds are >= 1e-6 of O(1) quantities).
XLA and TensorFlow flush subnormals on CPU by default; the torch engine enables it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._engine import Engine, Params, Probe

#: magnitudes below this are flushed to zero (see the module docstring)
FLUSH_BELOW = np.float32(2.0**-63)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no exp overflow for large |z|


#: the activations; :func:`_derivative` gives their derivatives from the output h (z for relu)
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh, "sigmoid": _sigmoid, "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
}


def _derivative(activation: str, z: np.ndarray, h: np.ndarray) -> np.ndarray | float:
    """d activation / dz at pre-activation ``z`` with output ``h``."""
    if activation == "tanh":
        return 1 - h * h
    if activation == "sigmoid":
        return h * (1 - h)
    if activation == "relu":
        return (z > 0).astype(z.dtype)
    return 1.0


def _flush(a: np.ndarray) -> np.ndarray:
    """Magnitudes below :data:`FLUSH_BELOW` to zero (in place)."""
    a[np.abs(a) < FLUSH_BELOW] = 0
    return a


def _forward(params: Params, x: np.ndarray, activation: str
             ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Readout output, pre-activations and (flushed) outputs of the hidden layers."""
    f = ACTIVATIONS[activation]
    zs, hs, h = [], [], x
    for w, b in params[:-1]:
        z = h @ w + b
        h = _flush(f(z))
        zs.append(z)
        hs.append(h)
    w, b = params[-1]
    return h @ w + b, zs, hs


def _loss_and_grads(params: Params, x: np.ndarray, y: np.ndarray, activation: str
                    ) -> tuple[float, list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Loss 0.5 * mean((out - y)^2), hidden outputs, and (d kernel, d bias) per layer."""
    with np.errstate(all="ignore"):
        out, zs, hs = _forward(params, x, activation)
        r = out - y
        loss = float(0.5 * np.mean(r.astype(np.float64) ** 2))
        delta = r / np.float32(r.size)
        inputs = [x, *hs]
        grads: list[tuple[np.ndarray, np.ndarray]] = []
        for i in range(len(params) - 1, -1, -1):
            if i < len(params) - 1:  # through the activation of hidden layer i
                delta = _flush(delta * _derivative(activation, zs[i], hs[i]))
            grads.append((inputs[i].T @ delta, delta.sum(axis=0)))
            if i:
                delta = delta @ params[i][0].T
    return loss, hs, grads[::-1]


class NumpyEngine(Engine):
    backend = "numpy"
    layout = "keras_dense"  # (in, out)

    def from_numpy(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float32)

    def to_numpy(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)

    def versions(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def probe(self, params: Params, x: np.ndarray, y: np.ndarray, activation: str) -> Probe:
        loss, hs, grads = _loss_and_grads(params, x, y, activation)
        return Probe(loss, hs, [g for g, _ in grads])

    def train(self, params: Params, x: np.ndarray, y: np.ndarray, activation: str, steps: int, lr: float
              ) -> tuple[Params, list[float]]:
        lr32 = np.float32(lr)
        losses = []
        for _ in range(steps):
            loss, _, grads = _loss_and_grads(params, x, y, activation)
            losses.append(loss)
            with np.errstate(all="ignore"):
                params = [(w - lr32 * gw, b - lr32 * gb) for (w, b), (gw, gb) in zip(params, grads)]
        with np.errstate(all="ignore"):
            out = _forward(params, x, activation)[0]
            losses.append(float(0.5 * np.mean((out - y).astype(np.float64) ** 2)))
        return params, losses


ENGINE = NumpyEngine
