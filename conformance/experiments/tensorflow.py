"""TensorFlow engine: the MLP with ``tf.GradientTape`` (kernels in Keras' (in, out) layout).

The loss-and-gradient computation is one ``tf.function`` graph per net shape, shared by the
probe and the SGD steps (eagerly, a 50-layer step is several hundred small ops and ran ~100x
slower). Inside the engine the parameters are *packed* - the square hidden layers 2..L-1 stacked
into one (L-2, n, n) kernel run by ``tf.scan`` - and the activation is a tensor index into
``tf.switch_case``, so the graph's size does not depend on depth and there are three traces in
all instead of one per activation and shape (an unrolled 50-layer step took ~6 s to trace on a
busy machine). TensorFlow flushes subnormals on CPU itself. The session asks for one intra-op
thread (see the torch engine); TensorFlow accepts that only before its runtime starts, so in a
process that already used TensorFlow the setting is left as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import tensorflow as tf

from ._engine import Engine, Params, Probe

#: intra-op threads requested for the experiments' process
THREADS = 1

ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "tanh": tf.math.tanh, "sigmoid": tf.math.sigmoid, "relu": tf.nn.relu, "linear": tf.identity,
}
_INDEX = {name: i for i, name in enumerate(ACTIVATIONS)}

#: flat packed parameters: [w0, b0, stacked middle kernels, stacked middle biases, w_out, b_out]
#: (the two stacked entries are absent when there is no middle layer)
Packed = list[tf.Tensor]


def _pack(params: Params) -> Packed:
    middle = params[1:-1]
    stacked = [tf.stack([w for w, _ in middle]), tf.stack([b for _, b in middle])] if middle else []
    return [*params[0], *stacked, *params[-1]]


def _unpack(packed: Packed) -> Params:
    middle = list(zip(tf.unstack(packed[2]), tf.unstack(packed[3]))) if len(packed) == 6 else []
    return [(packed[0], packed[1]), *middle, (packed[-2], packed[-1])]


def _activate(z: tf.Tensor, index: tf.Tensor) -> tf.Tensor:
    return tf.switch_case(index, [lambda f=f: f(z) for f in ACTIVATIONS.values()])


def _forward(packed: Packed, x: tf.Tensor, index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, Any]:
    """Readout output, first hidden output, stacked outputs of the middle layers (or None)."""
    h0 = h = _activate(tf.matmul(x, packed[0]) + packed[1], index)
    hs = None
    if len(packed) == 6:
        hs = tf.scan(lambda a, wb: _activate(tf.matmul(a, wb[0]) + wb[1], index), (packed[2], packed[3]),
                     initializer=h)
        h = hs[-1]
    return tf.matmul(h, packed[-2]) + packed[-1], h0, hs


@tf.function
def _loss_and_grads(packed: Packed, x: tf.Tensor, y: tf.Tensor, index: tf.Tensor
                    ) -> tuple[tf.Tensor, tf.Tensor, Any, list[tf.Tensor]]:
    """Loss, first hidden output, stacked middle outputs, gradients of the packed parameters."""
    with tf.GradientTape() as tape:
        tape.watch(packed)
        out, h0, hs = _forward(packed, x, index)
        loss = 0.5 * tf.reduce_mean(tf.square(out - y))
    return loss, h0, hs, tape.gradient(loss, packed)


class TensorflowEngine(Engine):
    backend = "tensorflow"
    layout = "keras_dense"  # (in, out)

    def from_numpy(self, a: np.ndarray) -> tf.Tensor:
        return tf.constant(np.asarray(a, dtype=np.float32))

    def to_numpy(self, x: tf.Tensor) -> np.ndarray:
        return np.asarray(x.numpy())

    def versions(self) -> dict[str, str]:
        import keras

        return {"tensorflow": tf.__version__, "keras": keras.__version__}

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with contextlib.suppress(RuntimeError):  # runtime already initialised: keep its threads
            tf.config.threading.set_intra_op_parallelism_threads(THREADS)
            tf.config.threading.set_inter_op_parallelism_threads(THREADS)
        with tf.device("/CPU:0"):
            yield

    def probe(self, params: Params, x: tf.Tensor, y: tf.Tensor, activation: str) -> Probe:
        loss, h0, hs, grads = _loss_and_grads(_pack(params), x, y, tf.constant(_INDEX[activation]))
        hidden = [self.to_numpy(h0), *(list(self.to_numpy(hs)) if hs is not None else [])]
        return Probe(float(loss), hidden, [self.to_numpy(g) for g, _ in _unpack(grads)])

    def train(self, params: Params, x: tf.Tensor, y: tf.Tensor, activation: str, steps: int, lr: float
              ) -> tuple[Params, list[float]]:
        packed, index = _pack(params), tf.constant(_INDEX[activation])
        rate = tf.constant(lr, tf.float32)
        losses = []
        for _ in range(steps):
            loss, _, _, grads = _loss_and_grads(packed, x, y, index)
            packed = [p - rate * g for p, g in zip(packed, grads)]
            losses.append(float(loss))
        losses.append(float(_loss_and_grads(packed, x, y, index)[0]))
        return _unpack(packed), losses


ENGINE = TensorflowEngine
