"""TensorFlow engine: the MLP with ``tf.GradientTape`` (kernels in Keras' (in, out) layout).

Graph mode: the loss-and-gradient computation is a ``tf.function`` (one trace per activation
and net shape), and a whole training run - every SGD step and the loss curve - is one more, with
the steps in a graph loop (eagerly, a 50-layer step is several hundred small ops and ran ~100x
slower; a Python loop over a traced step cost ~1.5 ms per call; a ``tf.scan`` over the layers,
or one trace for all activations via ``tf.switch_case``, was slower because of TensorFlow's
per-iteration loop overhead). The graphs take the square hidden layers 2..L-1 *packed* into one
(L-2, n, n) tensor (unstacked inside): 6 graph inputs instead of 2(L+1) made the whole run ~30%
cheaper in CPU time. TensorFlow flushes subnormals on CPU itself.

Measured behaviour worth knowing: in graph mode Grappler fuses MatMul + BiasAdd + Relu into one
oneDNN kernel that returns 0 for a NaN pre-activation (eager ``tf.nn.relu`` returns NaN), so an
overflowed N(0, 1) ReLU net turns into an all-zero one here, with loss = baseline instead of NaN.

The session asks for one intra-op thread (see the torch engine); TensorFlow accepts that only
before its runtime starts, so in a process that already used TensorFlow it stays as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

from ._engine import Engine, Params, Probe

#: intra-op threads requested for the experiments' process
THREADS = 1

ACTIVATIONS: dict[str, Callable[[tf.Tensor], tf.Tensor]] = {
    "tanh": tf.math.tanh, "sigmoid": tf.math.sigmoid, "relu": tf.nn.relu, "linear": tf.identity,
}


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


def _forward(packed: Packed, x: tf.Tensor, activation: str) -> tuple[tf.Tensor, list[tf.Tensor]]:
    f, h, hidden = ACTIVATIONS[activation], x, []
    params = _unpack(packed)
    for w, b in params[:-1]:
        h = f(tf.matmul(h, w) + b)
        hidden.append(h)
    w, b = params[-1]
    return tf.matmul(h, w) + b, hidden


@tf.function
def _loss_and_grads(packed: Packed, x: tf.Tensor, y: tf.Tensor, activation: str
                    ) -> tuple[tf.Tensor, list[tf.Tensor], list[tf.Tensor]]:
    """Loss, hidden outputs, gradients of the packed parameters."""
    with tf.GradientTape() as tape:
        tape.watch(packed)
        out, hidden = _forward(packed, x, activation)
        loss = 0.5 * tf.reduce_mean(tf.square(out - y))
    return loss, hidden, tape.gradient(loss, packed)


@tf.function
def _train_graph(packed: Packed, x: tf.Tensor, y: tf.Tensor, activation: str, steps: tf.Tensor,
                 lr: tf.Tensor) -> tuple[Packed, tf.Tensor]:
    """``steps`` SGD steps in one graph: the new parameters and the loss before each step and
    after the last."""
    losses = tf.TensorArray(tf.float32, size=steps + 1)
    for i in tf.range(steps):
        loss, _, grads = _loss_and_grads(packed, x, y, activation)
        packed = [p - lr * g for p, g in zip(packed, grads)]
        losses = losses.write(i, loss)
    losses = losses.write(steps, _loss_and_grads(packed, x, y, activation)[0])
    return packed, losses.stack()


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
        loss, hidden, grads = _loss_and_grads(_pack(params), x, y, activation)
        return Probe(float(loss), [self.to_numpy(h) for h in hidden],
                     [self.to_numpy(g) for g, _ in _unpack(grads)])

    def train(self, params: Params, x: tf.Tensor, y: tf.Tensor, activation: str, steps: int, lr: float
              ) -> tuple[Params, list[float]]:
        packed, losses = _train_graph(_pack(params), x, y, activation, tf.constant(steps),
                                      tf.constant(lr, tf.float32))
        return _unpack(packed), [float(v) for v in losses.numpy()]


ENGINE = TensorflowEngine
