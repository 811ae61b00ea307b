"""The scheme table: every initializer the spec knows, as data.

A scheme is a *family* (how to sample) plus parameter defaults. Variance-scaling schemes are
``fan rule x scale x distribution``: ``variance = scale / fan(mode)`` where ``fan`` comes from a
layout (:mod:`initspec.layouts`). Named schemes fix ``mode`` and ``distribution``; their ``gain``
(``scale = gain**2``) can be changed, e.g. ``glorot_uniform(gain=calculate_gain("tanh"))``.

**Names are unambiguous.** ``glorot_normal`` here is the *untruncated* normal (torch
``xavier_normal_``); the truncated one that Keras ``GlorotNormal`` and
``jax.nn.initializers.glorot_normal`` draw is ``glorot_truncated_normal``. The same holds for
``he_*`` and ``lecun_*``. The spec never equates the two; ``initspec show`` spells out which one
each framework's call is.

References: Glorot & Bengio (2010) "Understanding the difficulty of training deep feedforward
neural networks"; He et al. (2015) "Delving Deep into Rectifiers"; LeCun et al. (1998)
"Efficient BackProp"; Saxe et al. (2014) "Exact solutions to the nonlinear dynamics of learning
in deep linear neural networks"; Xiao et al. (2018) "Dynamical Isometry and a Mean Field Theory
of CNNs" (delta-orthogonal); Martens (2010) "Deep learning via Hessian-free optimization" (sparse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import unknown

GLOROT = "Glorot & Bengio 2010"
HE = "He et al. 2015"
LECUN = "LeCun et al. 1998"
SAXE = "Saxe et al. 2014"
XIAO = "Xiao et al. 2018"
MARTENS = "Martens 2010"

#: Families: how a backend samples. Every scheme maps onto exactly one.
FAMILIES = (
    "constant",
    "normal",
    "uniform",
    "truncated_normal",  # bounds in std units of the pre-truncation normal (a, b)
    "truncated_normal_abs",  # absolute bounds (low, high): torch.nn.init.trunc_normal_
    "variance_scaling",
    "orthogonal",
    "identity",
    "dirac",
    "delta_orthogonal",
    "sparse",
)

VS_DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")


@dataclass(frozen=True)
class Scheme:
    """One row of the table."""

    name: str
    family: str
    defaults: dict[str, Any]
    #: parameters that define the scheme's identity and cannot be overridden
    fixed: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    summary: str = ""
    references: tuple[str, ...] = ()
    #: complex dtypes allowed
    complex_ok: bool = False
    #: needs fans (a layout) to resolve
    uses_fans: bool = False
    #: deterministic values (no RNG consumed)
    deterministic: bool = False

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(k for k in self.defaults if k not in self.fixed)


def _vs(name: str, mode: str, dist: str, gain: float, aliases: tuple[str, ...], refs: tuple[str, ...],
        summary: str) -> Scheme:
    return Scheme(
        name, "variance_scaling",
        {"mode": mode, "distribution": dist, "gain": gain},
        fixed=("mode", "distribution"), aliases=aliases, references=refs, complex_ok=True,
        uses_fans=True, summary=summary,
    )


_ROWS: list[Scheme] = [
    Scheme("zeros", "constant", {"value": 0.0}, fixed=("value",), aliases=("zeros_", "Zeros"),
           summary="All weights 0 (never breaks symmetry).", complex_ok=True, deterministic=True),
    Scheme("ones", "constant", {"value": 1.0}, fixed=("value",), aliases=("ones_", "Ones"),
           summary="All weights 1.", complex_ok=True, deterministic=True),
    Scheme("constant", "constant", {"value": 0.0}, aliases=("constant_", "Constant"),
           summary="All weights `value`.", complex_ok=True, deterministic=True),
    Scheme("normal", "normal", {"mean": 0.0, "std": 1.0}, aliases=("random_normal", "normal_", "RandomNormal"),
           summary="N(mean, std^2).", complex_ok=True),
    Scheme("uniform", "uniform", {"low": 0.0, "high": 1.0}, aliases=("random_uniform", "uniform_", "RandomUniform"),
           summary="U[low, high)."),
    Scheme("truncated_normal", "truncated_normal", {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
           aliases=("TruncatedNormal",),
           summary="N(mean, std^2) truncated to (mean + a*std, mean + b*std); `std` is the "
                   "pre-truncation sigma, bounds in std units (Keras TruncatedNormal)."),
    Scheme("truncated_normal_abs", "truncated_normal_abs",
           {"mean": 0.0, "std": 1.0, "low": -2.0, "high": 2.0}, aliases=("trunc_normal_",),
           summary="N(mean, std^2) truncated to the absolute interval (low, high) "
                   "(torch.nn.init.trunc_normal_ semantics: with std=0.02 the default +-2 bounds "
                   "are +-100 sigma, i.e. practically untruncated)."),
    Scheme("variance_scaling", "variance_scaling",
           {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
           aliases=("VarianceScaling",), complex_ok=True, uses_fans=True,
           summary="variance = scale / fan(mode); normal: std = sqrt(variance); truncated_normal: "
                   "+-2 sigma with sigma = sqrt(variance)/0.8796...; uniform: limit = sqrt(3*variance)."),
    _vs("glorot_normal", "fan_avg", "normal", 1.0, ("xavier_normal", "xavier_normal_"), (GLOROT,),
        "Untruncated N(0, 2/(fan_in+fan_out)) (torch xavier_normal_)."),
    _vs("glorot_truncated_normal", "fan_avg", "truncated_normal", 1.0, (), (GLOROT,),
        "Truncated (+-2 sigma, corrected) normal with variance 2/(fan_in+fan_out) "
        "(Keras GlorotNormal, jax glorot_normal)."),
    _vs("glorot_uniform", "fan_avg", "uniform", 1.0, ("xavier_uniform", "xavier_uniform_", "GlorotUniform"),
        (GLOROT,), "U(+-sqrt(6/(fan_in+fan_out))). Keras' default kernel initializer."),
    _vs("he_normal", "fan_in", "normal", math.sqrt(2.0), ("kaiming_normal", "kaiming_normal_"), (HE,),
        "Untruncated N(0, 2/fan_in) (torch kaiming_normal_ with relu)."),
    _vs("he_truncated_normal", "fan_in", "truncated_normal", math.sqrt(2.0), (), (HE,),
        "Truncated (+-2 sigma, corrected) normal with variance 2/fan_in (Keras HeNormal, jax he_normal)."),
    _vs("he_uniform", "fan_in", "uniform", math.sqrt(2.0), ("kaiming_uniform", "kaiming_uniform_", "HeUniform"),
        (HE,), "U(+-sqrt(6/fan_in))."),
    _vs("lecun_normal", "fan_in", "normal", 1.0, (), (LECUN,), "Untruncated N(0, 1/fan_in)."),
    _vs("lecun_truncated_normal", "fan_in", "truncated_normal", 1.0, (), (LECUN,),
        "Truncated (+-2 sigma, corrected) normal with variance 1/fan_in (Keras LecunNormal, "
        "jax lecun_normal, Flax Dense/Conv default)."),
    _vs("lecun_uniform", "fan_in", "uniform", 1.0, ("LecunUniform",), (LECUN,), "U(+-sqrt(3/fan_in))."),
    Scheme("orthogonal", "orthogonal", {"gain": 1.0}, aliases=("orthogonal_", "Orthogonal"), references=(SAXE,),
           uses_fans=True,
           summary="gain * Haar-random (semi-)orthogonal matrix: QR of a Gaussian matrix with the "
                   "sign(diag R) fix; the out axis gives the rows, everything else the columns."),
    Scheme("identity", "identity", {"gain": 1.0}, aliases=("eye", "eye_", "Identity"), deterministic=True,
           summary="gain on the diagonal W[i, i], 0 elsewhere (rank 2 only)."),
    Scheme("dirac", "dirac", {"groups": 1}, aliases=("dirac_",), deterministic=True, uses_fans=True,
           summary="Conv kernel that preserves the identity of input channels: 1 at the spatial "
                   "centre (size // 2) of W[g*out_g + d, d], torch layout (torch.nn.init.dirac_)."),
    Scheme("delta_orthogonal", "delta_orthogonal", {"gain": 1.0}, aliases=("DeltaOrthogonal",),
           references=(XIAO,), uses_fans=True,
           summary="Conv kernel zero except at the spatial centre ((k - 1) // 2), where the "
                   "(in, out) slice is gain * orthogonal; needs in <= out "
                   "(jax.nn.initializers.delta_orthogonal)."),
    Scheme("sparse", "sparse", {"sparsity": 0.1, "std": 0.01}, aliases=("sparse_",), references=(MARTENS,),
           uses_fans=True,
           summary="N(0, std^2) with exactly ceil(sparsity * n_out) zeros per input unit "
                   "(torch.nn.init.sparse_; rank 2)."),
]

SCHEMES: dict[str, Scheme] = {s.name: s for s in _ROWS}
ALIASES: dict[str, str] = {a: s.name for s in _ROWS for a in s.aliases}


def get_scheme(name: "str | Scheme") -> Scheme:
    """Look up a scheme by canonical name or alias; unknown names suggest the closest."""
    if isinstance(name, Scheme):
        return name
    if not isinstance(name, str):
        raise TypeError(f"Argument `scheme` must be a scheme name. Received: scheme={name!r}")
    if name in SCHEMES:
        return SCHEMES[name]
    if name in ALIASES:
        return SCHEMES[ALIASES[name]]
    raise unknown("scheme", "scheme", name, [*SCHEMES, *ALIASES])


def scheme_names() -> list[str]:
    return list(SCHEMES)
