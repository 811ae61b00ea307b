"""Recommended gains per nonlinearity, as in ``torch.nn.init.calculate_gain``.

The gain multiplies a standard deviation; a variance-scaling *scale* multiplies a variance,
so ``scale = gain ** 2`` (He/Kaiming: gain sqrt(2) <=> scale 2; He et al. 2015).
"""

from __future__ import annotations

import math

from .errors import check_finite, unknown

#: Fixed gains (torch/nn/init.py, ``calculate_gain``). ``selu`` is 3/4 in torch: chosen
#: so that SELU nets with kaiming_normal_(nonlinearity="linear")... torch documents it as
#: making "the input variance reach a fixed point" for self-normalising nets.
GAINS: dict[str, float] = {
    "linear": 1.0,
    "identity": 1.0,
    "conv1d": 1.0,
    "conv2d": 1.0,
    "conv3d": 1.0,
    "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0,
    "conv_transpose3d": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "selu": 3.0 / 4.0,
}

#: torch's default negative slope for ``calculate_gain("leaky_relu")`` when none is given.
LEAKY_RELU_DEFAULT_SLOPE = 0.01


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for ``nonlinearity``.

    ``leaky_relu`` uses sqrt(2 / (1 + s^2)) with negative slope ``s`` (default 0.01).
    """
    if nonlinearity == "leaky_relu":
        s = LEAKY_RELU_DEFAULT_SLOPE if param is None else check_finite("param", param)
        return math.sqrt(2.0 / (1.0 + s * s))
    if nonlinearity not in GAINS:
        raise unknown("nonlinearity", "nonlinearity", nonlinearity, [*GAINS, "leaky_relu"])
    return GAINS[nonlinearity]


def gain_to_scale(gain: float) -> float:
    """Variance-scaling scale for a std gain: ``scale = gain**2``."""
    return check_finite("gain", gain, nonneg=True) ** 2


def scale_to_gain(scale: float) -> float:
    """Std gain for a variance-scaling scale: ``gain = sqrt(scale)``."""
    return math.sqrt(check_finite("scale", scale, nonneg=True))
