"""torch-compatible argument handling of :mod:`initspec.backends.torch.nn_init`: the gains, fans,
exception types, zero-element warning and deprecated aliases of ``torch.nn.init`` (torch 2.13,
``torch/nn/init.py``), expressed with the spec's gains (:mod:`initspec.gains`) and fans
(:mod:`initspec.layouts`, layout ``"torch"``).

Where torch reports a bad argument with ``RuntimeError`` (from its kernels: ``uniform_`` with
``a > b``, ``normal_`` with ``std < 0``), :class:`NativeArgumentError` is raised: a subclass of both
``RuntimeError`` (so code written for torch still catches it) and :class:`initspec.InitSpecError`
(a ``ValueError``, initspec's own type), with initspec's ``Received: name=value`` message.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from initspec.errors import InitSpecError, check_finite
from initspec.gains import GAINS, LEAKY_RELU_DEFAULT_SLOPE
from initspec.gains import calculate_gain as spec_calculate_gain
from initspec.layouts import compute_fans, get_layout

from ._common import DEFAULT_LAYOUT

__all__ = [
    "FAN_MODES", "NONLINEARITIES", "NativeArgumentError", "calculate_correct_fan", "calculate_fan_in_and_fan_out",
    "calculate_gain", "check_rank", "deprecated_alias", "native_real", "warn_zero_element",
]

#: the nonlinearity names ``torch.nn.init.calculate_gain`` accepts (torch 2.13: no ``"identity"``)
NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)
#: the fan modes of ``kaiming_*`` (case-insensitive, as in torch's ``_calculate_correct_fan``)
FAN_MODES = ("fan_in", "fan_out")
#: torch's message for the zero-element no-op of ``kaiming_*`` (kept verbatim: code filters on it)
ZERO_ELEMENT_MESSAGE = "Initializing zero-element tensors is a no-op"

_F = TypeVar("_F", bound=Callable[..., Any])


class NativeArgumentError(InitSpecError, RuntimeError):
    """An argument that torch rejects with ``RuntimeError``; also an :class:`InitSpecError`."""


def native_real(arg: str, value: Any, *, nonneg: bool = False) -> float:
    """``value`` as a finite float; an invalid value raises :class:`NativeArgumentError` (a
    non-number still raises ``TypeError``, as torch's argument parser does)."""
    try:
        return check_finite(arg, value, nonneg=nonneg)
    except InitSpecError as e:
        raise NativeArgumentError(str(e)) from None


def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    """Recommended gain of ``nonlinearity`` (``torch.nn.init.calculate_gain``): the spec's gains
    (:data:`initspec.gains.GAINS`) on torch's names, with torch's checks: an unknown name or a
    ``param`` that is not an int/float (``bool`` included) is a ``ValueError``. ``param`` is the
    negative slope of ``leaky_relu`` (default 0.01) and is ignored by every other nonlinearity.
    Extra over torch: a non-finite slope is refused (torch returns nan)."""
    if nonlinearity not in NONLINEARITIES:
        raise InitSpecError(f"Unsupported nonlinearity {nonlinearity!r}; torch.nn.init knows "
                            f"{', '.join(NONLINEARITIES)}. Received: nonlinearity={nonlinearity!r}")
    if nonlinearity != "leaky_relu":
        return GAINS[nonlinearity]
    if param is None:
        param = LEAKY_RELU_DEFAULT_SLOPE
    elif isinstance(param, bool) or not isinstance(param, (int, float)):
        raise InitSpecError(f"negative_slope {param!r} is not a valid number (an int or float). "
                            f"Received: param={param!r}")
    return spec_calculate_gain("leaky_relu", param)


def check_rank(tensor: torch.Tensor, ranks: tuple[int, ...] | None, what: str) -> None:
    """torch's rank checks (``ValueError``): ``ranks`` lists the allowed ranks, None means >= 2."""
    ok = tensor.dim() >= 2 if ranks is None else tensor.dim() in ranks
    if not ok:
        raise InitSpecError(f"{what} supports only tensors with "
                            f"{'2 or more' if ranks is None else ', '.join(map(str, ranks))} dimensions. "
                            f"Received: tensor with shape={tuple(tensor.shape)}")


def calculate_fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a torch weight ``(out, in, *k)``: the spec's fans of layout
    ``"torch"`` (``in * prod(k)``, ``out * prod(k)``); fewer than 2 dims is a ``ValueError``."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"Argument `tensor` must be a torch.Tensor. Received: tensor={tensor!r}")
    if tensor.dim() < 2:
        raise InitSpecError("Fan in and fan out can not be computed for a tensor with fewer than 2 "
                            f"dimensions. Received: tensor with shape={tuple(tensor.shape)}")
    shape = tuple(tensor.shape)
    if 0 not in shape:
        fans = compute_fans(shape, DEFAULT_LAYOUT)
        return int(fans.fan_in), int(fans.fan_out)
    # a zero-size dim: torch returns the zero fans (the spec's compute_fans refuses them)
    roles = get_layout(DEFAULT_LAYOUT).roles(shape)
    rec = math.prod(shape[i] for i in roles["receptive"])
    return (math.prod(shape[i] for i in roles["in"]) * rec, math.prod(shape[i] for i in roles["out"]) * rec)


def calculate_correct_fan(tensor: torch.Tensor, mode: str) -> int:
    """The fan of ``mode`` (``"fan_in"``/``"fan_out"``, any case); another mode is a ``ValueError``."""
    m = mode.lower() if isinstance(mode, str) else mode
    if m not in FAN_MODES:
        raise InitSpecError(f"Mode {mode!r} is not supported; use one of {list(FAN_MODES)}. "
                            f"Received: mode={mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if m == "fan_in" else fan_out


def warn_zero_element(tensor: torch.Tensor) -> bool:
    """True (after torch's ``UserWarning``) when ``tensor`` has a zero-size dim: ``kaiming_*`` are
    then no-ops, before any other check."""
    if isinstance(tensor, torch.Tensor) and 0 in tensor.shape:
        warnings.warn(ZERO_ELEMENT_MESSAGE, stacklevel=3)
        return True
    return False


def deprecated_alias(fn: _F) -> _F:
    """The deprecated ``torch.nn.init`` alias of ``fn`` (``xavier_normal`` for ``xavier_normal_``):
    calls ``fn`` after a ``FutureWarning``, as torch's ``_make_deprecate`` does."""
    new_name = fn.__name__
    old_name = new_name[:-1]

    @functools.wraps(fn)
    def deprecated_init(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"{old_name}(...)\n\nDeprecated alias of :func:`{new_name}` (a FutureWarning)."
    del deprecated_init.__wrapped__  # the signature shown is torch's (*args, **kwargs)
    return deprecated_init  # type: ignore[return-value]
