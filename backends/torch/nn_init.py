"""A drop-in ``torch.nn.init``: every public function of torch 2.13's ``torch/nn/init.py``, name for
name, signature for signature, default for default, with torch's semantics, implemented on the
spec's schemes (:mod:`initspec.schemes`), gains (:mod:`initspec.gains`), fans (layout ``"torch"``)
and the adapter's samplers (:func:`initspec.backends.torch.initialize_`)::

    from initspec.backends.torch import nn_init as init   # instead of: from torch.nn import init

    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")   # untruncated, as in torch
    init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)               # ABSOLUTE bounds, as in torch
    init.xavier_uniform_(w, gain=init.calculate_gain("tanh"), generator=g)

Same as torch: positional arguments (``uniform_(w, -0.1, 0.1, g)``), defaults (``kaiming_*``:
``a=0``, ``nonlinearity="leaky_relu"``, i.e. gain sqrt(2)), the fans ``(in * prod(k), out * prod(k))``,
``trunc_normal_``'s absolute bounds, ``kaiming_*``'s zero-element ``UserWarning`` and no-op, the
exception types (``ValueError`` for ranks, modes and nonlinearities; ``RuntimeError`` where torch's
kernels refuse an argument, see :class:`NativeArgumentError`), ``__torch_function__`` dispatch where
torch has it, the deprecated aliases (``xavier_normal`` ...) with their ``FutureWarning``, and the
same values as torch for the same ``generator`` wherever torch's result is one draw of torch's RNG
(``normal_``, ``xavier_normal_``, ``kaiming_normal_``; the uniforms to one ulp of the bounds), and
integer/bool tensors in the deterministic fills (``zeros_``, ``constant_``, ``eye_``, ``dirac_``...).

initspec's extras: arguments validated with ``Received: name=value`` messages (non-finite values
are refused), the exact and fast truncated normal (:mod:`~initspec.backends.torch.fills`),
``sparse_`` drawing every value from ``generator``, and the portable stream: each random function
takes the keyword-only ``stream=``/``seed=`` (``kaiming_normal_(w, stream="encoder.0.weight",
seed=0)``), giving the same values as NumPy,
TensorFlow and JAX (:mod:`initspec.backends.portable`). Every deliberate difference from torch is
listed in ``docs/drop-in.md``.
"""

from __future__ import annotations

import math
import warnings

import torch
from initspec.errors import InitSpecError

from ._common import NAMES
from ._nn_init_args import (
    NativeArgumentError,
    calculate_correct_fan,
    calculate_fan_in_and_fan_out,
    calculate_gain,
    check_rank,
    deprecated_alias,
    native_real,
    warn_zero_element,
)
from .inplace import initialize_, plan_for

Tensor = torch.Tensor

__all__ = [
    "NativeArgumentError", "NativeDtypeError", "calculate_gain", "constant", "constant_", "dirac", "dirac_",
    "eye", "eye_", "kaiming_normal", "kaiming_normal_", "kaiming_uniform", "kaiming_uniform_", "normal",
    "normal_", "ones_", "orthogonal", "orthogonal_", "sparse", "sparse_", "trunc_normal_", "uniform",
    "uniform_", "xavier_normal", "xavier_normal_", "xavier_uniform", "xavier_uniform_", "zeros_",
]

# private helpers of torch.nn.init that third-party code calls (timm, torchvision, reset_parameters)
_calculate_fan_in_and_fan_out = calculate_fan_in_and_fan_out
_calculate_correct_fan = calculate_correct_fan


class NativeDtypeError(TypeError, RuntimeError):
    """A random initializer called on an integer/bool tensor: torch raises ``RuntimeError`` ("not
    implemented for 'Long'"), initspec ``TypeError``; this is both."""


def _random_target(tensor: Tensor) -> None:
    """The target of a random initializer: a tensor of a floating or complex dtype."""
    if isinstance(tensor, torch.Tensor) and tensor.dtype not in NAMES:
        raise NativeDtypeError(
            f"Random initializers need a floating or complex tensor ({', '.join(map(str, NAMES))}). "
            f"Received: tensor with dtype={tensor.dtype}")


def _overridden(tensor: Tensor) -> bool:
    """Whether ``tensor`` overrides ``__torch_function__``: torch dispatches ``uniform_``,
    ``normal_``, ``constant_`` and ``kaiming_uniform_`` to it (``handle_torch_function``)."""
    return torch.overrides.has_torch_function_variadic(tensor)


def _portable(stream: str | None, seed: int | None) -> dict[str, object]:
    """The portable-stream keywords to forward to a ``__torch_function__`` override (only if set)."""
    return {k: v for k, v in (("stream", stream), ("seed", seed)) if v is not None}


# -- the laws ------------------------------------------------------------------------------------
def _uniform(tensor: Tensor, a: float, b: float, generator: torch.Generator | None, stream: str | None,
             seed: int | None) -> Tensor:
    """U[a, b) with torch's argument rules: ``a > b`` is refused, ``a == b`` fills ``a``."""
    _random_target(tensor)
    lo, hi = native_real("a", a), native_real("b", b)
    if lo > hi:
        raise NativeArgumentError(f"uniform_ expects a <= b (the range [a, b)). Received: a={a!r}, b={b!r}")
    if lo == hi:  # a point mass: torch's kernel returns a for every element
        return initialize_(tensor, "constant", value=lo, generator=generator, stream=stream, seed=seed)
    return initialize_(tensor, "uniform", low=lo, high=hi, generator=generator, stream=stream, seed=seed)


def _normal(tensor: Tensor, mean: float, std: float, generator: torch.Generator | None, stream: str | None,
            seed: int | None) -> Tensor:
    """N(mean, std^2) with torch's argument rules: ``std < 0`` is refused, ``std == 0`` fills ``mean``."""
    _random_target(tensor)
    m, s = native_real("mean", mean), native_real("std", std, nonneg=True)
    return initialize_(tensor, "normal", mean=m, std=s, generator=generator, stream=stream, seed=seed)


def _deterministic(tensor: Tensor, scheme: str, **params: object) -> Tensor:
    """Fill ``tensor`` with a deterministic scheme; integer and bool tensors (which torch fills too,
    and the spec has no dtype for) get the float64 values cast as ``copy_`` casts them."""
    if not isinstance(tensor, torch.Tensor) or tensor.dtype in NAMES:
        return initialize_(tensor, scheme, **params)
    values = initialize_(torch.empty(tensor.shape, dtype=torch.float64, device=tensor.device), scheme, **params)
    if not tensor.is_meta:
        with torch.no_grad():
            tensor.copy_(values)
    return tensor


# -- torch.nn.init, in its order ------------------------------------------------------------------
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: torch.Generator | None = None, *,
             stream: str | None = None, seed: int | None = None) -> Tensor:
    """Fill ``tensor`` with U(a, b) (``torch.nn.init.uniform_``); never returns ``b``."""
    if _overridden(tensor):
        return torch.overrides.handle_torch_function(uniform_, (tensor,), tensor=tensor, a=a, b=b,
                                                     generator=generator, **_portable(stream, seed))
    return _uniform(tensor, a, b, generator, stream, seed)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: torch.Generator | None = None, *,
            stream: str | None = None, seed: int | None = None) -> Tensor:
    """Fill ``tensor`` with N(mean, std^2) (``torch.nn.init.normal_``)."""
    if _overridden(tensor):
        return torch.overrides.handle_torch_function(normal_, (tensor,), tensor=tensor, mean=mean, std=std,
                                                     generator=generator, **_portable(stream, seed))
    return _normal(tensor, mean, std, generator, stream, seed)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: torch.Generator | None = None, *, stream: str | None = None,
                  seed: int | None = None) -> Tensor:
    """Fill ``tensor`` with N(mean, std^2) truncated to the ABSOLUTE interval (a, b)
    (``torch.nn.init.trunc_normal_``; spec scheme ``truncated_normal_abs``): with ``std=0.02`` the
    default bounds are +-100 sigma. Exact (no value reaches a bound in any dtype) and faster than
    torch's (only the rejected values are redrawn). Warns, as torch does, when ``mean`` is more than
    2 std outside [a, b]; ``a == b`` fills ``a``, ``a > b`` is a ``RuntimeError``."""
    _random_target(tensor)
    m, s = native_real("mean", mean), native_real("std", std)
    lo, hi = native_real("a", a), native_real("b", b)
    if not s > 0:
        raise InitSpecError(f"trunc_normal_ needs std > 0. Received: std={std!r}")
    if lo > hi:
        raise NativeArgumentError(f"trunc_normal_ expects a <= b. Received: a={a!r}, b={b!r}")
    if m < lo - 2 * s or m > hi + 2 * s:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    if lo == hi:
        return initialize_(tensor, "constant", value=lo, generator=generator, stream=stream, seed=seed)
    return initialize_(tensor, "truncated_normal_abs", mean=m, std=s, low=lo, high=hi, generator=generator,
                       stream=stream, seed=seed)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val`` (``torch.nn.init.constant_``; integer tensors too)."""
    if _overridden(tensor):
        return torch.overrides.handle_torch_function(constant_, (tensor,), tensor=tensor, val=val)
    if isinstance(tensor, torch.Tensor) and tensor.dtype not in NAMES:
        plan_for("constant", tuple(tensor.shape), dtype="float64", value=val)  # validates val
        if not tensor.is_meta:
            with torch.no_grad():
                tensor.fill_(val)
        return tensor
    return initialize_(tensor, "constant", value=val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 1 (``torch.nn.init.ones_``)."""
    return _deterministic(tensor, "ones")


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 0 (``torch.nn.init.zeros_``)."""
    return _deterministic(tensor, "zeros")


def eye_(tensor: Tensor) -> Tensor:
    """Fill the 2-D ``tensor`` with the identity matrix (``torch.nn.init.eye_``; spec ``identity``)."""
    check_rank(tensor, (2,), "eye_")
    return _deterministic(tensor, "identity")


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill the 3-, 4- or 5-D ``tensor`` ``(out, in, *k)`` with the Dirac delta of ``groups``
    groups (``torch.nn.init.dirac_``): 1 at the spatial centre ``k // 2`` of ``W[g*out_g + d, d]``."""
    check_rank(tensor, (3, 4, 5), "dirac_")
    return _deterministic(tensor, "dirac", groups=groups)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None, *,
                    stream: str | None = None, seed: int | None = None) -> Tensor:
    """U(-bound, bound), ``bound = gain * sqrt(6 / (fan_in + fan_out))`` (``torch.nn.init.xavier_uniform_``;
    Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = native_real("gain", gain) * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _uniform(tensor, -bound, bound, generator, stream, seed)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: torch.Generator | None = None, *,
                   stream: str | None = None, seed: int | None = None) -> Tensor:
    """Untruncated N(0, std^2), ``std = gain * sqrt(2 / (fan_in + fan_out))``
    (``torch.nn.init.xavier_normal_``; spec ``glorot_normal``)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = native_real("gain", gain) * math.sqrt(2.0 / float(fan_in + fan_out))
    return _normal(tensor, 0.0, std, generator, stream, seed)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """``gain / sqrt(fan(mode))``, as torch computes it."""
    fan = calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: torch.Generator | None = None, *, stream: str | None = None,
                     seed: int | None = None) -> Tensor:
    """U(-bound, bound), ``bound = gain * sqrt(3 / fan(mode))`` with ``gain =
    calculate_gain(nonlinearity, a)`` (``torch.nn.init.kaiming_uniform_``; He et al. 2015). A
    zero-element tensor warns and is left as is."""
    if _overridden(tensor):
        return torch.overrides.handle_torch_function(
            kaiming_uniform_, (tensor,), tensor=tensor, a=a, mode=mode, nonlinearity=nonlinearity,
            generator=generator, **_portable(stream, seed))
    if warn_zero_element(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return _uniform(tensor, -bound, bound, generator, stream, seed)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: torch.Generator | None = None, *, stream: str | None = None,
                    seed: int | None = None) -> Tensor:
    """UNtruncated N(0, std^2), ``std = gain / sqrt(fan(mode))`` (``torch.nn.init.kaiming_normal_``;
    spec ``he_normal`` for relu; not Keras' truncated ``HeNormal``). A zero-element tensor warns and
    is left as is."""
    if warn_zero_element(tensor):
        return tensor
    return _normal(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator, stream, seed)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: torch.Generator | None = None, *,
                stream: str | None = None, seed: int | None = None) -> Tensor:
    """``gain`` times a Haar-random (semi-)orthogonal matrix, rows = dim 0, trailing dims flattened
    (``torch.nn.init.orthogonal_``; Saxe et al. 2014). A negative ``gain`` gives ``-|gain| Q``."""
    check_rank(tensor, None, "orthogonal_")
    _random_target(tensor)
    g = native_real("gain", gain)
    if tensor.numel() == 0 or tensor.is_meta:
        return tensor
    initialize_(tensor, "orthogonal", gain=abs(g), generator=generator, stream=stream, seed=seed)
    if g < 0:  # -Q is Haar-distributed too; torch multiplies by the signed gain
        with torch.no_grad():
            tensor.neg_()
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: torch.Generator | None = None, *,
            stream: str | None = None, seed: int | None = None) -> Tensor:
    """N(0, std^2) with exactly ``ceil(sparsity * rows)`` zeros in each column of the 2-D ``tensor``
    (``torch.nn.init.sparse_``; Martens 2010). Every draw, the zeros' positions included, comes
    from ``generator`` (torch draws them from the global RNG)."""
    check_rank(tensor, (2,), "sparse_")
    _random_target(tensor)
    return initialize_(tensor, "sparse", sparsity=sparsity, std=std, generator=generator, stream=stream,
                       seed=seed)


# -- deprecated aliases (FutureWarning), as in torch ---------------------------------------------
uniform = deprecated_alias(uniform_)
normal = deprecated_alias(normal_)
constant = deprecated_alias(constant_)
eye = deprecated_alias(eye_)
dirac = deprecated_alias(dirac_)
xavier_uniform = deprecated_alias(xavier_uniform_)
xavier_normal = deprecated_alias(xavier_normal_)
kaiming_uniform = deprecated_alias(kaiming_uniform_)
kaiming_normal = deprecated_alias(kaiming_normal_)
orthogonal = deprecated_alias(orthogonal_)
sparse = deprecated_alias(sparse_)
