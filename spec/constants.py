"""Named numerical constants of the spec (no magic numbers in shared code)."""

from __future__ import annotations

import math

from scipy import stats

#: Standard deviation of N(0, 1) truncated to (-2, 2). Dividing the target std by this
#: constant makes a +-2 sigma truncated normal have exactly the target std.
#: Used by keras ``VarianceScaling`` (``keras/src/initializers/random_initializers.py``)
#: and ``jax.nn.initializers.variance_scaling``. Checked against scipy in the tests.
TRUNCATED_NORMAL_STD_CORRECTION: float = 0.87962566103423978

#: Truncation half-width, in standard deviations of the *pre-truncation* normal, used by
#: every variance-scaling truncated normal (Keras, JAX, Flax, this spec).
VARIANCE_SCALING_TRUNCATION: float = 2.0

#: Exact std correction for a *complex* standard normal (E|z|^2 = 1) whose modulus is
#: truncated to 2: sqrt(E[|z|^2 | |z| < 2]) with |z|^2 ~ Exp(1):
#: sqrt(1 - 4 e^-4 / (1 - e^-4)) = 0.96196...
COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION: float = math.sqrt(
    1.0 - 4.0 * math.exp(-4.0) / (1.0 - math.exp(-4.0))
)

#: The constant JAX uses instead (``jax._src.nn.initializers.variance_scaling``,
#: comment "stddev of complex standard normal truncated to 2"). It equals sqrt(1 - 5 e^-4),
#: which omits the renormalisation by P(|z| < 2), so JAX's complex truncated normal has
#: variance (0.96196/0.95311)^2 = 1.0187 times the target. Recorded as a native quirk.
JAX_COMPLEX_TRUNCATED_NORMAL_CONSTANT: float = 0.95311164380491208

#: torch.nn.init.kaiming_uniform_ default ``a`` used by nn.Linear / nn.ConvNd.reset_parameters:
#: gain sqrt(2 / (1 + 5)) = sqrt(1/3), so the weight is U(+-1/sqrt(fan_in)).
TORCH_DEFAULT_KAIMING_A: float = math.sqrt(5.0)


def _truncnorm_std(a: float, b: float) -> float:
    return float(stats.truncnorm(a, b).std())


__all__ = [
    "TRUNCATED_NORMAL_STD_CORRECTION",
    "VARIANCE_SCALING_TRUNCATION",
    "COMPLEX_TRUNCATED_NORMAL_STD_CORRECTION",
    "JAX_COMPLEX_TRUNCATED_NORMAL_CONSTANT",
    "TORCH_DEFAULT_KAIMING_A",
]
