"""Exact truncated-normal and uniform fills with torch's RNG (the adapter's fast paths).

* :func:`fill_truncated_normal_`: N(mean, std^2) truncated to an open interval, every value a
  representable number strictly inside. Rejection from ``normal_`` in the target itself (only the
  rejects are redrawn, :func:`reject_mask`), the sync-free ``erfinv`` inverse CDF on CUDA, or the
  float64 inverse CDF where the interval holds little mass (reflected to the lower tail, where Phi is
  precise). Reference: torch's ``torch/nn/init.py::_no_grad_trunc_normal_`` switches strategy at
  the same acceptance (0.3).
* :func:`fill_uniform_`: U[low, high) that never returns ``high`` (torch's kernel can round onto
  it, ``ATen/core/TransformationHelper.h::uniform_real``).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from initspec.dtypes import inner_bounds, next_below
from initspec.errors import InitSpecError

from ._common import NAMES

__all__ = [
    "ERFINV_MAX_Z", "NORMAL_SAMPLER_MAX_Z", "REJECTION_MIN_ACCEPTANCE", "SYNC_FREE_INVERSE_CDF_DEVICES",
    "closed_low", "fill_truncated_normal_", "fill_uniform_", "normal_mass", "open_interval_bounds",
    "reject_mask", "uniform_bounds",
]

#: Below this probability mass of the truncation interval, rejection from ``normal_`` wastes too
#: many draws; the inverse CDF (float64) is used instead. torch's own ``trunc_normal_`` switches
#: strategy at 0.3 too (``torch/nn/init.py::_no_grad_trunc_normal_``).
REJECTION_MIN_ACCEPTANCE = 0.3

#: No standard normal sampler built on uniform floats returns |z| beyond this: Box-Muller from
#: the smallest positive double gives sqrt(-2 ln 2**-1074) = 38.6. Truncation bounds farther out
#: than this (``trunc_normal_(w, std=0.02)``: +-100 sigma) cannot reject anything, so only the
#: final clip to the dtype's inner bounds is kept.
NORMAL_SAMPLER_MAX_Z = 40.0


def _phi(x: float) -> float:
    """Standard normal CDF (precise in the lower tail)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@functools.lru_cache(maxsize=1024)
def normal_mass(a: float, b: float) -> float:
    """P(a < Z < b) for a standard normal Z, computed on the side where it is precise."""
    if a >= 0:
        return _phi(-a) - _phi(-b)
    if b <= 0:
        return _phi(b) - _phi(a)
    return 1.0 - _phi(a) - _phi(-b)


@functools.lru_cache(maxsize=1024)
def open_interval_bounds(low: float, high: float, dtype: str) -> tuple[float, float]:
    """:func:`initspec.inner_bounds`, refusing intervals that hold no value of ``dtype``."""
    lo, hi = inner_bounds(low, high, dtype)
    if lo > hi:
        raise InitSpecError(
            f"No {dtype} value lies strictly inside the truncation interval (low, high). "
            f"Received: low={low!r}, high={high!r}"
        )
    return lo, hi


def fill_truncated_normal_(flat: torch.Tensor, mean: float, std: float, low: float, high: float,
                           generator: torch.Generator | None) -> torch.Tensor:
    """Fill the 1-D contiguous float32/float64 ``flat`` with N(mean, std^2) truncated to the open
    interval (low, high), exactly: every value is a representable number strictly inside.

    Rejection from ``normal_`` when the interval holds >= :data:`REJECTION_MIN_ACCEPTANCE` of the
    mass, else the float64 inverse CDF."""
    lo, hi = open_interval_bounds(low, high, NAMES[flat.dtype])
    a, b = (low - mean) / std, (high - mean) / std
    mass = normal_mass(a, b)
    if a <= -NORMAL_SAMPLER_MAX_Z and b >= NORMAL_SAMPLER_MAX_Z:
        flat.normal_(mean, std, generator=generator)
    elif flat.device.type in SYNC_FREE_INVERSE_CDF_DEVICES and max(abs(a), abs(b)) <= ERFINV_MAX_Z:
        _erfinv_fill_(flat, mean, std, a, b, generator)
    elif mass >= REJECTION_MIN_ACCEPTANCE:
        _rejection_fill_(flat, mean, std, lo, hi, generator)
        return flat
    else:
        _inverse_cdf_fill_(flat, mean, std, a, b, generator)
    return flat.clamp_(lo, hi)


#: Devices where rejection's host synchronisation (counting the rejects) costs more than the whole
#: draw: there the truncated normal is the sync-free inverse CDF ``uniform_ -> erfinv_`` (measured on
#: an H200: rejection 1.27 ms vs trunc_normal_ 0.21 ms for 4096x4096 float32).
SYNC_FREE_INVERSE_CDF_DEVICES = frozenset({"cuda"})
#: Largest |bound| (std units) for the on-device inverse CDF: beyond it float32 erf saturates near
#: +-1 and the far tail would lose resolution; wider intervals use rejection or the float64 path.
ERFINV_MAX_Z = 5.0


def _erfinv_fill_(flat: torch.Tensor, mean: float, std: float, a: float, b: float,
                  generator: torch.Generator | None) -> None:
    """N(mean, std^2) truncated to (a, b) std units by the inverse CDF on the tensor's device:
    ``U(erf(a/sqrt2), erf(b/sqrt2))`` through ``erfinv``; the caller clamps into the open bounds."""
    r2 = math.sqrt(2.0)
    flat.uniform_(math.erf(a / r2), math.erf(b / r2), generator=generator).erfinv_().mul_(std * r2).add_(mean)


def _rejection_fill_(flat: torch.Tensor, mean: float, std: float, lo: float, hi: float,
                     generator: torch.Generator | None) -> None:
    """``normal_`` into ``flat``, then overwrite only the rejected elements (outside [lo, hi], the
    representable inner bounds), in order (``masked_scatter_``), with a pool of exactly as many
    accepted draws, made the same way (recursively: each level is ~1/20 of the previous at +-2
    sigma). Accepted draws are i.i.d. truncated normals, so where each lands does not change the law.

    The cost is one ``normal_`` plus a few cheap passes (see :func:`reject_mask`), where
    ``trunc_normal_`` redraws the whole tensor until no element is rejected (~6 rounds at +-2 sigma
    for 10^6 elements)."""
    flat.normal_(mean, std, generator=generator)
    rejected = reject_mask(flat, lo, hi)
    k = int(torch.count_nonzero(rejected))
    if k:
        pool = torch.empty(k, dtype=flat.dtype, device=flat.device)
        _rejection_fill_(pool, mean, std, lo, hi, generator)
        flat.masked_scatter_(rejected, pool)


def reject_mask(flat: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Bool mask of the elements of ``flat`` outside [lo, hi], computed as ``clamp(x, lo, hi) != x``
    in the float dtype: exact, and several times cheaper on CPU than bool-valued
    ``lt``/``gt``/``logical_or``. Three whole-tensor ops: chunking them to stay in cache is faster
    single-threaded, but multiplies OpenMP barriers, which a busy machine turns into stalls."""
    return flat.clamp(lo, hi).ne_(flat).bool()


def _inverse_cdf_fill_(flat: torch.Tensor, mean: float, std: float, a: float, b: float,
                       generator: torch.Generator | None) -> None:
    """Inverse-CDF truncated normal in float64. Intervals on the upper side are reflected to the
    lower tail, where Phi(a) and Phi(b) keep full relative precision (a = 37 still works)."""
    reflect = a > 0
    if reflect:
        a, b = -b, -a
    u = torch.empty(flat.shape, dtype=torch.float64, device=flat.device)
    u.uniform_(_phi(a), _phi(b), generator=generator)
    z = torch.special.ndtri(u)
    z.mul_(-std if reflect else std).add_(mean)
    flat.copy_(z)


@functools.lru_cache(maxsize=1024)
def uniform_bounds(low: float, high: float, dtype: torch.dtype) -> tuple[float, float, bool]:
    """``(lo, hi, clamp)`` for ``uniform_(lo, hi)`` in ``dtype`` (float32/float64) to stay in
    [low, high): ``lo`` is the smallest representable value >= low, ``hi`` the largest < high.

    torch's CPU kernel computes ``x * (to - from) + from`` with ``x <= 1 - 2**-digits``
    (``ATen/core/TransformationHelper.h::uniform_real``); rounding can give exactly ``to``.
    ``clamp`` says whether that is possible for these bounds (checked by evaluating the largest
    ``x`` in float32 and float64 arithmetic; rounding is monotone, so it is the maximum). CUDA maps
    ``to`` back to ``from`` itself (``native/cuda/DistributionTemplates.h::uniform_kernel``)."""
    np_t = np.float32 if dtype == torch.float32 else np.float64
    lo_v, hi_v = np_t(low), np_t(high)
    if float(lo_v) < low:
        lo_v = np.nextafter(lo_v, np_t(np.inf))
    if float(hi_v) >= high:
        hi_v = np.nextafter(hi_v, np_t(-np.inf))
    digits = 24 if np_t is np.float32 else 53
    x_max = 1.0 - 2.0**-digits
    span = hi_v - lo_v  # the kernel subtracts in the storage dtype
    worst = [np_t(np_t(x_max) * span) + lo_v,  # arithmetic in the dtype
             np_t(np.float64(x_max) * np.float64(span) + np.float64(lo_v)),  # in double, then cast
             np_t(np.float64(x_max) * (np.float64(hi_v) - np.float64(lo_v)) + np.float64(lo_v))]
    return float(lo_v), float(hi_v), any(float(w) > float(hi_v) for w in worst)


@functools.lru_cache(maxsize=1024)
def closed_low(low: float, dtype: str) -> float:
    """Smallest value representable in ``dtype`` that is >= ``low``."""
    if low == 0:
        return 0.0
    up = -next_below(-low, dtype)  # smallest representable > low
    return low if next_below(up, dtype) == low else up


def fill_uniform_(buf: torch.Tensor, low: float, high: float,
                  generator: torch.Generator | None) -> torch.Tensor:
    """U[low, high) in ``buf``'s dtype (float32/float64), never returning ``high``."""
    lo, hi, clamp = uniform_bounds(low, high, buf.dtype)
    buf.uniform_(lo, hi, generator=generator)
    if clamp and buf.device.type != "cuda":
        buf.clamp_(lo, hi)
    return buf
