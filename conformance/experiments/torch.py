"""PyTorch engine: the MLP with ``torch.autograd`` (kernels in torch's (out, in) layout).

Runs with ``torch.set_flush_denormal(True)`` (restored to torch's default, off, afterwards) so
that the vanishing regimes do not hit the slow subnormal path (see the NumPy engine), and with
:data:`THREADS` intra-op thread(s) (restored afterwards): the matrices are at most a few hundred
wide, and on a busy 2-core machine two OpenMP threads made 50 SGD steps of the small MLP ~90x
slower (11.8 s vs 0.13 s) through spin-wait contention.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import numpy as np
import torch

from ._engine import Engine, Params, Probe

#: intra-op threads while the experiments run
THREADS = 1

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda z: z,
}


def _forward(params: Params, x: torch.Tensor, activation: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    f, h, hidden = ACTIVATIONS[activation], x, []
    for w, b in params[:-1]:
        h = f(torch.nn.functional.linear(h, w, b))  # h @ w.T + b, torch/nn/functional.py::linear
        hidden.append(h)
    w, b = params[-1]
    return torch.nn.functional.linear(h, w, b), hidden


def _loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.mean((out - y) ** 2)


def _loss_and_grads(params: Params, x: torch.Tensor, y: torch.Tensor, activation: str
                    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Loss, hidden outputs and gradients (kernel, bias per layer, flat) via autograd."""
    leaves = [t.detach().requires_grad_(True) for pair in params for t in pair]
    pairs = list(zip(leaves[0::2], leaves[1::2]))
    out, hidden = _forward(pairs, x, activation)
    loss = _loss(out, y)
    grads = torch.autograd.grad(loss, leaves)
    return loss.detach(), [h.detach() for h in hidden], list(grads)


class TorchEngine(Engine):
    backend = "torch"
    layout = "torch_linear"  # (out, in)
    kernel_in_out = False

    def from_numpy(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(a, dtype=np.float32))

    def to_numpy(self, x: torch.Tensor) -> np.ndarray:
        return x.detach().cpu().numpy()

    def versions(self) -> dict[str, str]:
        return {"torch": torch.__version__}

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        threads = torch.get_num_threads()
        torch.set_num_threads(THREADS)
        torch.set_flush_denormal(True)
        try:
            yield
        finally:
            torch.set_flush_denormal(False)
            torch.set_num_threads(threads)

    def probe(self, params: Params, x: torch.Tensor, y: torch.Tensor, activation: str) -> Probe:
        loss, hidden, grads = _loss_and_grads(params, x, y, activation)
        return Probe(float(loss), [self.to_numpy(h) for h in hidden], [self.to_numpy(g) for g in grads[0::2]])

    def train(self, params: Params, x: torch.Tensor, y: torch.Tensor, activation: str, steps: int, lr: float
              ) -> tuple[Params, list[float]]:
        losses = []
        flat = [t.detach() for pair in params for t in pair]
        for _ in range(steps):
            loss, _, grads = _loss_and_grads(list(zip(flat[0::2], flat[1::2])), x, y, activation)
            losses.append(float(loss))
            with torch.no_grad():
                flat = [t - lr * g for t, g in zip(flat, grads)]
        params = list(zip(flat[0::2], flat[1::2]))
        with torch.no_grad():
            losses.append(float(_loss(_forward(params, x, activation)[0], y)))
        return params, losses


ENGINE = TorchEngine
