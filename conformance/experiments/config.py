"""Configuration of the seed-claim experiments: sizes, budgets and learning rates, validated.

Every size is a parameter with a documented range; out-of-range or mistyped values raise
``ValueError``/``TypeError`` naming the argument (``Received: depth=0``). ``DEFAULT`` is the
report's configuration (the issue's 50 x 256 deep nets); ``QUICK`` is the reduced one the
framework tests use (same verdicts, a fraction of the time).
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from initspec.errors import InitSpecError

#: (low, high) inclusive ranges of the integer parameters.
INT_RANGES: dict[str, tuple[int, int]] = {
    "seed": (0, 2000),  # seeds stay < 2**31 after the per-layer offsets (see tasks.layer_seed)
    "sym_inputs": (2, 256),
    "sym_width": (4, 512),
    "sym_depth": (1, 8),
    "sym_samples": (8, 4096),
    "sym_steps": (1, 10_000),
    "depth": (2, 200),  # first/last-layer ratios need two layers
    "width": (16, 2048),
    "batch": (8, 4096),
    "train_depth": (2, 200),
    "train_width": (8, 1024),
    "train_batch": (8, 4096),
    "steps": (1, 10_000),
}

#: (low, high) ranges of the real parameters; the low end is exclusive.
FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "sym_lr": (0.0, 10.0),
    "lr_tanh": (0.0, 10.0),
    "lr_relu": (0.0, 10.0),
    "small_std": (0.0, 1.0),
    "large_std": (0.0, 100.0),
    "constant_value": (0.0, 10.0),
}


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes and budgets of the three experiments (all seeded, all deterministic).

    * symmetry: an MLP with ``sym_depth`` tanh hidden layers of ``sym_width`` units on
      ``sym_samples`` points of a fixed teacher task with ``sym_inputs`` inputs, trained for
      ``sym_steps`` full-batch SGD steps at ``sym_lr``;
    * signal: ``depth`` hidden layers of ``width`` units (input dimension ``width``, so every
      layer is square and Glorot = LeCun), one forward/backward pass on ``batch`` inputs;
    * trainability: ``train_depth`` x ``train_width`` nets on ``train_batch`` points,
      ``steps`` full-batch SGD steps at ``lr_tanh`` / ``lr_relu`` (one rate per activation,
      the same for every init: plain SGD on a 50-layer ReLU net diverged for some seeds at the
      tanh rate, and learned nothing in 40 steps at rates that kept it stable for all seeds
      when the width was 64; at width 128 and 1e-3 it learned for all 8 seeds tried).

    ``small_std``/``large_std`` are the "too small"/"too large" N(0, std^2) inits;
    ``constant_value`` is the non-zero constant init.
    """

    seed: int = 0
    sym_inputs: int = 8
    sym_width: int = 32
    sym_depth: int = 2
    sym_samples: int = 256
    sym_steps: int = 200
    sym_lr: float = 0.1
    depth: int = 50
    width: int = 256
    batch: int = 64
    train_depth: int = 50
    train_width: int = 128
    train_batch: int = 64
    steps: int = 40
    lr_tanh: float = 0.01
    lr_relu: float = 0.001
    small_std: float = 0.01
    large_std: float = 1.0
    constant_value: float = 0.1

    def __post_init__(self) -> None:
        for name, (lo, hi) in INT_RANGES.items():
            _check_int(name, getattr(self, name), lo, hi)
        for name, (lo, hi) in FLOAT_RANGES.items():
            object.__setattr__(self, name, _check_float(name, getattr(self, name), lo, hi))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (recorded in the results)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ExperimentConfig:
        """Build from a dict; unknown keys raise ``ValueError`` naming them."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        extra = sorted(set(data) - known)
        if extra:
            raise InitSpecError(
                f"Unknown experiment parameter(s) {', '.join(extra)}. Known: {', '.join(sorted(known))}. "
                f"Received: {', '.join(f'{k}={data[k]!r}' for k in extra)}"
            )
        return cls(**data)

    def train_lr(self, activation: str) -> float:
        """The trainability learning rate for ``activation`` (tanh or relu)."""
        return self.lr_relu if activation == "relu" else self.lr_tanh

    def with_(self, **changes: Any) -> ExperimentConfig:
        """A validated copy with ``changes``."""
        return replace(self, **changes)


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"Argument `{name}` must be an int in [{lo}, {hi}]. Received: {name}={value!r}")
    if not lo <= value <= hi:
        raise InitSpecError(f"Argument `{name}` must be in [{lo}, {hi}]. Received: {name}={value!r}")
    return int(value)


def _check_float(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be a real number in ({lo}, {hi}]. Received: {name}={value!r}")
    v = float(value)
    if not (lo < v <= hi):  # also rejects NaN
        raise InitSpecError(f"Argument `{name}` must be in ({lo}, {hi}]. Received: {name}={value!r}")
    return v


#: The report's configuration (issue 5: 50-layer x 256-unit deep nets for the signal probe).
DEFAULT = ExperimentConfig()

#: Reduced configuration for the per-framework tests: same regimes and verdicts, less work.
#: Width stays >= 128 so that N(0, 1) still saturates most sigmoid units (sigma_z ~ sqrt(width)).
QUICK = ExperimentConfig(sym_steps=120, depth=20, width=128, train_depth=30)
