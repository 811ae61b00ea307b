"""Fixed synthetic tasks, the initializations compared, and the seed plan (framework-free).

The data (inputs and targets) come from NumPy with fixed seeds, so every backend trains on the
same numbers; only the weights differ, drawn by each backend's own initspec adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import ExperimentConfig

#: Activations of the signal-propagation sweep (the symmetry MLP uses tanh).
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")
SYMMETRY_ACTIVATION = "tanh"

#: Seed plan: kernel ``layer`` of experiment ``exp`` gets
#: ``seed * SEED_STRIDE + EXPERIMENT_STRIDE * exp + layer`` (< 2**31 for seed <= 2000).
SEED_STRIDE = 1_000_000
EXPERIMENT_STRIDE = 10_000
EXPERIMENT_INDEX = {"symmetry": 0, "signal": 1, "trainability": 2}
#: Replicate ``r >= 1`` of a replicated run uses experiment index ``REPLICATE_INDEX_BASE + r - 1``
#: (its own seeds, still < 2**31: at most ``SEED_STRIDE / EXPERIMENT_STRIDE - 3`` replicates).
REPLICATE_INDEX_BASE = len(EXPERIMENT_INDEX)
#: NumPy seeds of the data (inputs, teacher) per experiment; fixed, independent of the weights.
DATA_SEED = {"symmetry": 11, "signal": 12, "trainability": 13}
#: Hidden units of the teacher network that makes the targets.
TEACHER_HIDDEN = 16
#: Gain of the teacher's hidden pre-activations (makes the target clearly non-linear).
TEACHER_GAIN = 2.0


@dataclass(frozen=True)
class Init:
    """One initialization: a key for the results, the spec scheme and its parameters."""

    key: str
    scheme: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def random(self) -> bool:
        return self.scheme not in ("zeros", "ones", "constant")


def inits(config: ExperimentConfig) -> dict[str, Init]:
    """The initializations of issue 5, keyed by result key."""
    rows = [
        Init("zeros", "zeros", {}, "zeros"),
        Init("constant", "constant", {"value": config.constant_value},
             f"constant({config.constant_value:g})"),
        Init("normal_small", "normal", {"std": config.small_std}, f"N(0, {config.small_std:g}^2)"),
        Init("normal_large", "normal", {"std": config.large_std}, f"N(0, {config.large_std:g}^2)"),
        Init("glorot_normal", "glorot_normal", {}, "glorot_normal"),
        Init("glorot_uniform", "glorot_uniform", {}, "glorot_uniform"),
        Init("he_normal", "he_normal", {}, "he_normal"),
        Init("he_uniform", "he_uniform", {}, "he_uniform"),
        Init("lecun_normal", "lecun_normal", {}, "lecun_normal"),
        Init("orthogonal", "orthogonal", {}, "orthogonal"),
    ]
    return {r.key: r for r in rows}


#: Inits trained in the symmetry experiment (the two symmetric ones plus random controls).
SYMMETRY_INITS = ("zeros", "constant", "glorot_uniform", "glorot_normal", "he_normal", "lecun_normal",
                  "orthogonal")
#: Inits of the signal-propagation sweep: all of them, with every activation.
SIGNAL_INITS = ("zeros", "constant", "normal_small", "normal_large", "glorot_normal", "glorot_uniform",
                "he_normal", "he_uniform", "lecun_normal", "orthogonal")
#: (activation, init) pairs of the short trainability runs: the bad inits and the matched ones.
TRAIN_RUNS = (
    ("tanh", "normal_small"), ("tanh", "normal_large"), ("tanh", "glorot_normal"), ("tanh", "orthogonal"),
    ("relu", "normal_small"), ("relu", "normal_large"), ("relu", "glorot_normal"), ("relu", "he_normal"),
)
#: Trainability runs repeated with independent weights (replicates), so that a claim about them is
#: a statement over several draws rather than one: He + ReLU learning in 30-50 layers is slow and
#: its final / initial loss ratio has a tail towards 1 (max 0.72-0.83 over 50 seeds per engine, one
#: seed of 200 did not train; docs/measurements/claims-spread.md).
TRAIN_REPLICATES: dict[tuple[str, str], int] = {("relu", "he_normal"): 3}


def layer_seed(config: ExperimentConfig, experiment: str, layer: int, replicate: int = 0) -> int:
    """Seed of one kernel: distinct per layer, experiment and replicate, shared across inits
    (common random numbers: e.g. glorot_normal and lecun_normal draw the same normals on square
    layers). Replicate 0 is the experiment's own draw."""
    index = EXPERIMENT_INDEX[experiment] if replicate == 0 else REPLICATE_INDEX_BASE + replicate - 1
    return config.seed * SEED_STRIDE + EXPERIMENT_STRIDE * index + layer


@dataclass(frozen=True)
class Task:
    """Inputs ``x`` (n, d_in), targets ``y`` (n, 1), float32, and the layer sizes of the net."""

    x: np.ndarray
    y: np.ndarray
    sizes: tuple[int, ...]  # d_in, hidden..., 1

    @property
    def baseline_loss(self) -> float:
        """Loss 0.5 * mean((y - mean y)^2) of the best constant prediction (targets are
        standardised, so this is 0.5)."""
        return float(0.5 * np.mean((self.y - self.y.mean()) ** 2))


def _teacher_task(n: int, d_in: int, hidden: tuple[int, ...], seed: int) -> Task:
    """Standardised targets of a fixed random one-hidden-layer tanh teacher on N(0, 1) inputs."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    a = rng.standard_normal((d_in, TEACHER_HIDDEN)) * (TEACHER_GAIN / np.sqrt(d_in))
    c = rng.standard_normal((TEACHER_HIDDEN, 1))
    y = np.tanh(x.astype(np.float64) @ a) @ c
    y = (y - y.mean()) / y.std()
    return Task(x, y.astype(np.float32), (d_in, *hidden, 1))


def symmetry_task(config: ExperimentConfig) -> Task:
    """The small MLP's task: ``sym_samples`` points, ``sym_inputs`` inputs."""
    return _teacher_task(config.sym_samples, config.sym_inputs, (config.sym_width,) * config.sym_depth,
                         DATA_SEED["symmetry"])


def signal_task(config: ExperimentConfig) -> Task:
    """The deep probe's task: ``batch`` inputs of dimension ``width`` (square layers)."""
    return _teacher_task(config.batch, config.width, (config.width,) * config.depth, DATA_SEED["signal"])


def train_task(config: ExperimentConfig) -> Task:
    """The trainability task: ``train_batch`` inputs of dimension ``train_width``."""
    return _teacher_task(config.train_batch, config.train_width, (config.train_width,) * config.train_depth,
                         DATA_SEED["trainability"])
