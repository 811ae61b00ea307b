"""The small interface a backend implements for the experiments (framework-free base class).

A backend module ``initspec.conformance.experiments.<backend>`` defines ``ENGINE``, a subclass
of :class:`Engine` that runs one MLP family with its own framework and its own autodiff:

* layers ``(kernel, bias)``; every layer but the last applies the activation; the last is a
  linear readout to one output; loss ``0.5 * mean((out - y)^2)``;
* :meth:`Engine.probe` - loss, hidden activations and kernel gradients (one forward/backward);
* :meth:`Engine.train` - ``steps`` full-batch SGD steps, returning new parameters (never
  mutating its input) and the loss before each step plus the final loss.

Kernels are created by the backend's initspec adapter through the uniform harness API
(``initspec.backends.load(name).sample(...)``) in the backend's own layout, so the fans come
from the spec's layouts. Until an adapter provides ``sample``, the NumPy reference draws the
kernel in the same layout and it is converted (``weights_from = "numpy-reference"``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from .tasks import Init

Params = list[tuple[Any, Any]]  # [(kernel, bias)] native tensors
#: The precision every experiment runs in.
DTYPE = "float32"
WEIGHTS_FROM_ADAPTER = "adapter"
WEIGHTS_FROM_REFERENCE = "numpy-reference"


@dataclass
class Probe:
    """One forward/backward pass, copied to NumPy."""

    loss: float
    hidden: list[np.ndarray]  # post-activation output of each hidden layer (batch, units)
    grads: list[np.ndarray]  # d loss / d kernel of every layer (hidden..., readout), (in, out)


def weight_source(backend: str) -> tuple[ModuleType, str]:
    """The module whose ``sample`` draws the kernels, and ``"adapter"`` or ``"numpy-reference"``.

    Raises :class:`initspec.backends.BackendUnavailable` when the framework itself is missing;
    falls back to the NumPy reference only while the adapter module (or its ``sample``) does not
    exist yet.
    """
    from initspec.backends import load
    from initspec.backends import numpy as reference

    try:
        module = load(backend)
    except ModuleNotFoundError as e:  # the adapter module itself is not written yet
        if e.name != f"initspec.backends.{backend}":
            raise
        return reference, WEIGHTS_FROM_REFERENCE
    if callable(getattr(module, "sample", None)):
        return module, WEIGHTS_FROM_ADAPTER
    return reference, WEIGHTS_FROM_REFERENCE


class Engine:
    """Base class: weight creation through the harness API; subclasses add the framework."""

    backend: ClassVar[str] = "abstract"
    #: spec layout of a dense kernel in this framework
    layout: ClassVar[str] = "keras_dense"
    #: True when kernels are stored (in, out); False for torch's (out, in)
    kernel_in_out: ClassVar[bool] = True

    def __init__(self) -> None:
        self.sampler, self.weights_from = weight_source(self.backend)

    # --- to implement ------------------------------------------------------------------
    def from_numpy(self, a: np.ndarray) -> Any:
        raise NotImplementedError

    def to_numpy(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    def probe(self, params: Params, x: Any, y: Any, activation: str) -> Probe:
        raise NotImplementedError

    def train(self, params: Params, x: Any, y: Any, activation: str, steps: int, lr: float
              ) -> tuple[Params, list[float]]:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return {}

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Context the experiments run in (e.g. flush subnormals); default: nothing."""
        yield

    # --- shared ------------------------------------------------------------------------
    def kernel(self, init: Init, n_in: int, n_out: int, seed: int) -> Any:
        """A dense kernel for ``n_in -> n_out`` drawn by the adapter (or the reference)."""
        shape = (n_in, n_out) if self.kernel_in_out else (n_out, n_in)
        w = self.sampler.sample(init.scheme, shape, layout=self.layout, dtype=DTYPE, seed=seed, **init.params)
        return w if self.weights_from == WEIGHTS_FROM_ADAPTER else self.from_numpy(np.asarray(w))

    def init_params(self, init: Init, sizes: Sequence[int], seed_of: Callable[[int], int]) -> Params:
        """Kernels drawn with ``init`` and zero biases for an MLP with layer ``sizes``."""
        return [(self.kernel(init, n_in, n_out, seed_of(i)), self.from_numpy(np.zeros(n_out, np.float32)))
                for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def canonical(self, kernel: np.ndarray) -> np.ndarray:
        """A NumPy kernel as (in, out): column j is unit j's incoming weight vector."""
        return kernel if self.kernel_in_out else kernel.T

    def kernels(self, params: Params) -> list[np.ndarray]:
        """NumPy (in, out) copies of every kernel."""
        return [self.canonical(self.to_numpy(w)) for w, _ in params]
