"""PyTorch adapter: ``torch.nn.init``-style in-place initializers for every scheme of the spec.

Every scheme ``NAME`` of :data:`initspec.SCHEMES` is a function ``NAME_(tensor, *, layout="torch",
groups=1, fans=None, generator=None, stream=None, seed=None, **params)`` that fills ``tensor`` in place under
``torch.no_grad()`` and returns it (``he_normal_(w)``, ``glorot_uniform_(w)``,
``he_truncated_normal_(w)``, ``orthogonal_(w)``, ``dirac_(w, groups=2)``, ``sparse_(w)`` ...);
:func:`initialize_` takes the scheme by name and :func:`init_module_` initializes a whole
``nn.Module`` by layer type.

* **Layouts**: torch weight layout by default (``"torch"``: ``(out, in, *k)``); ``nn.Linear`` ->
  ``torch_linear``, ``nn.ConvNd`` -> ``torch_conv``, ``nn.ConvTransposeNd`` ->
  ``torch_conv_transpose`` (``(in, out/groups, *k)``) in :func:`init_module_`. ``groups=`` enters
  the fans (and is dirac's group count). ``dirac`` and ``delta_orthogonal`` follow the layout's
  in/out axes (the spec's ``Plan.perm``), so ``delta_orthogonal_(w)`` works on ``(out, in, *k)``.
* **Device and dtype**: values are produced on the tensor's own device (cpu, cuda; ``meta``
  tensors are returned untouched after the arguments are checked) in its dtype: float16,
  bfloat16 (sampled in float32 and cast, as the spec says), float32, float64, complex64/complex128
  where the scheme allows them.
* **Views**: a contiguous tensor (a contiguous slice of a bigger one too) is written directly; a
  non-contiguous view is sampled into a temporary and copied in with ``copy_``, so the rest of
  its base tensor is never touched. Internally overlapping tensors (``expand``) are refused.
* **RNG**: ``generator=`` is a ``torch.Generator`` on the tensor's device (``None``: torch's
  global generator). The harness :func:`sample` seeds a fresh generator with ``seed``.
* **Portable stream**: ``stream="encoder.0.weight"`` (with ``seed=``, an int in ``[0, 2**64)``;
  the portable stream is deterministic, so ``seed=None`` means 0) fills the tensor from
  :mod:`initspec.backends.portable` instead: the same values as NumPy, TensorFlow and JAX for the
  same ``(seed, stream)`` and logical layout, on CPU and GPU. ``init_module_(model,
  portable=True, seed=0)`` names each parameter's stream by its path in the model. DTensors
  (FSDP2, tensor parallel; ``Shard``/``Replicate`` placements) are filled shard by shard: each
  rank computes only its own slice, and the result equals the unsharded tensor.
* **Truncated normal**: exact and fast. Rejection from ``normal_`` in the target itself: only the
  ~4.6 % rejects of a +-2 sigma truncation are redrawn (never the whole tensor, as torch 2.13's
  ``torch.nn.init.trunc_normal_`` does each round), from a pool of exactly as many accepted
  values; intervals holding less than :data:`REJECTION_MIN_ACCEPTANCE` of the mass use the
  inverse CDF in float64 on the tail side where Phi is precise. Results are clipped to the
  dtype's inner bounds, so no value reaches a bound in any dtype (bf16/fp16 are sampled in
  float32 and cast first).

The uniform harness API (``sample``, ``to_numpy``, ``device_available``, ``versions``,
``device_of``, ``bench_cases``) is documented in :mod:`initspec.backends`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from initspec.constants import TRUNCATED_NORMAL_STD_CORRECTION
from initspec.distributions import Plan, resolve
from initspec.dtypes import get_dtype, inner_bounds, next_below
from initspec.errors import InitSpecError, check_shape
from initspec.layouts import compute_fans
from initspec.schemes import SCHEMES, get_scheme

from ._bench import BenchCase
from ._core import LOW_PRECISION, Primitives, compute_dtype
from ._core import sample as core_sample
from ._rules import Rule, by_type_rules, check_by_type, refuse_reserved, split_rule

DEFAULT_LAYOUT = "torch"

#: Below this probability mass of the truncation interval, rejection from ``normal_`` wastes too
#: many draws; the inverse CDF (float64) is used instead. torch's own ``trunc_normal_`` switches
#: strategy at 0.3 too (``torch/nn/init.py::_no_grad_trunc_normal_``).
REJECTION_MIN_ACCEPTANCE = 0.3

#: No standard normal sampler built on uniform floats returns |z| beyond this: Box-Muller from
#: the smallest positive double gives sqrt(-2 ln 2**-1074) = 38.6. Truncation bounds farther out
#: than this (``trunc_normal_(w, std=0.02)``: +-100 sigma) cannot reject anything, so only the
#: final clip to the dtype's inner bounds is kept.
NORMAL_SAMPLER_MAX_Z = 40.0


_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
    "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128,
}
_NAMES: dict[torch.dtype, str] = {v: k for k, v in _DTYPES.items()}
#: torch dtype the values of each spec dtype are computed in (``_core.compute_dtype``)
_COMPUTE: dict[str, torch.dtype] = {k: _DTYPES[compute_dtype(k)] for k in _DTYPES}
_DEVICE_ALIASES = {"gpu": "cuda"}


# -- argument checks ---------------------------------------------------------------------------
def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype for a spec dtype name (or a torch dtype)."""
    if isinstance(dtype, torch.dtype):
        spec_dtype_of(dtype, "dtype")
        return dtype
    return _DTYPES[get_dtype(dtype).name]


def spec_dtype_of(dtype: torch.dtype, arg: str = "tensor") -> str:
    """Spec dtype name of a torch dtype; integer/bool/float8 dtypes raise a TypeError."""
    if dtype not in _NAMES:
        raise TypeError(
            f"Argument `{arg}` must have a floating or complex dtype "
            f"({', '.join(_DTYPES)}); initializers do not produce {dtype} weights. "
            f"Received: {arg} with dtype={dtype}"
        )
    return _NAMES[dtype]


def _check_tensor(tensor: Any) -> str:
    """Validate the target of an in-place initializer; return its spec dtype name."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"Argument `tensor` must be a torch.Tensor. Received: tensor={tensor!r}")
    if tensor.layout != torch.strided:
        raise TypeError(f"Argument `tensor` must be a dense (strided) tensor. Received: tensor with "
                        f"layout={tensor.layout}")
    name = spec_dtype_of(tensor.dtype)
    if not tensor.is_contiguous() and any(st == 0 and n > 1 for st, n in zip(tensor.stride(), tensor.shape)):
        raise InitSpecError(
            "Argument `tensor` has internally overlapping memory (a stride-0 view such as "
            "expand()); its elements cannot hold independent values. Received: tensor with "
            f"shape={tuple(tensor.shape)}, stride={tensor.stride()}"
        )
    return name


def _check_generator(generator: Any) -> torch.Generator | None:
    """``generator`` must be None or a ``torch.Generator`` (its device is checked by torch's first
    draw; :func:`_generator_device_error` turns a mismatch into a clear error)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"Argument `generator` must be a torch.Generator or None. Received: generator={generator!r}"
        )
    return generator


def _generator_device_error(generator: torch.Generator | None, device: torch.device) -> InitSpecError | None:
    """The error to raise when ``generator`` cannot draw for a tensor on ``device``, else None."""
    if generator is None or device.type == "meta":
        return None
    gdev = generator.device
    same_index = gdev.index is None or device.index is None or gdev.index == device.index
    if gdev.type == device.type and same_index:
        return None
    return InitSpecError(
        f"Argument `generator` lives on {gdev} but the tensor is on {device}; create it with "
        f"torch.Generator(device={str(device)!r}). Received: generator={generator!r}"
    )


def torch_device(device: Any) -> torch.device:
    """``"cpu"``, ``"gpu"`` (= cuda), ``"cuda[:i]"``, ``"meta"`` or a ``torch.device``."""
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(_DEVICE_ALIASES.get(device, device))
        except RuntimeError as e:
            raise InitSpecError(f"Unknown device {device!r} ({e}). Received: device={device!r}") from None
    else:
        raise TypeError(f"Argument `device` must be a string or torch.device. Received: device={device!r}")
    if dev.type not in ("cpu", "cuda", "meta"):
        raise InitSpecError(f"The torch backend runs on cpu, cuda or meta. Received: device={device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InitSpecError(
            f"CUDA is not available to torch {torch.__version__}. Received: device={device!r}")
    return dev


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"Argument `seed` must be a non-negative int or None. Received: seed={seed!r}")
    return int(seed)


# -- plans -----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _cached_plan(scheme: str, shape: tuple[int, ...], layout: Any, dtype: str, groups: int,
                 fans: Any, params: tuple[tuple[str, Any], ...]) -> Plan:
    return _resolve(scheme, shape, layout, dtype, groups, fans, dict(params))


def _resolve(scheme: str, shape: tuple[int, ...], layout: Any, dtype: str, groups: int, fans: Any,
             params: dict[str, Any]) -> Plan:
    return resolve(scheme, shape, layout, dtype, groups=groups, fans=fans, **params)


def plan_for(scheme: Any, shape: Any, layout: Any = DEFAULT_LAYOUT, dtype: Any = "float32", *,
             groups: int = 1, fans: Any = None, **params: Any) -> Plan:
    """The resolved :class:`initspec.Plan` (cached when the arguments are hashable)."""
    return _plan(scheme, check_shape(shape), layout, dtype, groups, fans, params)


def _plan(scheme: Any, shape: tuple[int, ...], layout: Any, dtype: str, groups: int, fans: Any,
          params: dict[str, Any]) -> Plan:
    """:func:`plan_for` for a shape that is already a tuple of ints (a tensor's)."""
    key = (scheme, shape, layout, dtype, groups, fans, tuple(sorted(params.items())) if params else ())
    try:
        hash(key)
    except TypeError:  # e.g. fans as a list, a Scheme object: resolve without the cache
        return _resolve(scheme, shape, layout, dtype, groups, fans, params)
    return _cached_plan(*key)


# -- truncated normal -------------------------------------------------------------------------
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
    lo, hi = open_interval_bounds(low, high, _NAMES[flat.dtype])
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


@functools.lru_cache(maxsize=256)
def _orthogonal_geometry(layout: Any, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int, int]:
    """``Layout.orthogonal_matrix`` (cached: it validates the shape on every call)."""
    return layout.orthogonal_matrix(shape)


# -- the primitives ---------------------------------------------------------------------------
class TorchBackend(Primitives):
    """torch implementation of :class:`initspec.backends._core.Primitives` on one ``device``.

    ``rng`` is a ``torch.Generator`` (or None for torch's global one); splitting returns the same
    stateful generator, whose successive draws are independent. ``out`` is the tensor being
    initialized: the ``fast_*`` paths write into it directly when its dtype and memory allow."""

    name = "torch"
    capabilities = frozenset({"complex", "float16", "bfloat16", "float64", "cpu", "gpu"})

    def __init__(self, device: torch.device = torch.device("cpu"), out: torch.Tensor | None = None) -> None:
        self.device = device
        self.out = out

    # RNG
    def split(self, rng, n):
        return [rng] * n

    def normal(self, rng, shape, dtype):
        return torch.empty(shape, dtype=_DTYPES[dtype], device=self.device).normal_(generator=rng)

    def uniform(self, rng, shape, dtype, low, high):
        return fill_uniform_(torch.empty(shape, dtype=_DTYPES[dtype], device=self.device), low, high, rng)

    def truncated_normal(self, rng, shape, dtype, a, b):
        buf = torch.empty(shape, dtype=_DTYPES[dtype], device=self.device)
        fill_truncated_normal_(buf.view(-1), 0.0, 1.0, a, b, rng)
        return buf

    # construction / elementwise
    def full(self, shape, dtype, value):
        return torch.full(shape, value, dtype=_DTYPES[dtype], device=self.device)

    def eye(self, rows, cols, dtype):
        return torch.eye(rows, cols, dtype=_DTYPES[dtype], device=self.device)

    def cast(self, x, dtype):
        return x.to(_DTYPES[dtype])

    def clip(self, x, lo, hi):
        return x.clamp(lo, hi)

    def where(self, cond, x, y):
        return torch.where(cond, x, y)

    sqrt = staticmethod(torch.sqrt)
    log1p = staticmethod(torch.log1p)
    cos = staticmethod(torch.cos)
    sin = staticmethod(torch.sin)
    sign = staticmethod(torch.sign)

    def complex(self, re, im, dtype):
        return torch.complex(re, im).to(_DTYPES[dtype])

    # shape / linear algebra
    def reshape(self, x, shape):
        return x.reshape(shape)

    def transpose(self, x, perm):
        return x.permute(perm).contiguous()

    def pad(self, x, pads):
        flat = [w for before_after in reversed(pads) for w in before_after]
        return torch.nn.functional.pad(x, flat)

    def qr(self, x):
        return torch.linalg.qr(x, mode="reduced")

    def diagonal(self, x):
        return torch.diagonal(x, dim1=-2, dim2=-1)

    def argsort(self, x, axis):
        return torch.argsort(x, dim=axis, stable=True)

    def scatter(self, shape, dtype, index, value):
        out = torch.zeros(shape, dtype=_DTYPES[dtype], device=self.device)
        idx = torch.as_tensor(index, dtype=torch.long, device=self.device)
        out[tuple(idx.T)] = value
        return out

    def to_numpy(self, x):
        return to_numpy(x)

    # fused fast paths (real dtypes; complex plans use the generic rules) -----------------------
    def _buffer(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        """``out`` itself when it can take the values directly, else a new tensor."""
        out = self.out
        if out is not None and out.dtype == dtype and out.is_contiguous():
            return out
        return torch.empty(shape, dtype=dtype, device=self.device)

    def _finish(self, values: torch.Tensor, plan: Plan, clip: tuple[float, float] | None) -> torch.Tensor:
        """Cast compute-dtype ``values`` to ``plan.dtype`` (into ``out`` when possible), then clip
        to the dtype's inner bounds (a float32 value can round onto a bound in bf16/fp16)."""
        target = _DTYPES[plan.dtype]
        if values.dtype == target:
            return values
        res = self._buffer(plan.shape, target)
        res.copy_(values)
        if clip is not None:
            res.clamp_(*clip)
        return res

    def fast_constant(self, rng, plan):
        return self._buffer(plan.shape, _DTYPES[plan.dtype]).fill_(plan.value)

    def fast_normal(self, rng, plan):
        if plan.complex_rule is not None:
            return NotImplemented
        buf = self._buffer(plan.shape, _COMPUTE[plan.dtype])
        return self._finish(buf.normal_(plan.mean, plan.std, generator=rng), plan, None)

    def fast_uniform(self, rng, plan):
        if plan.complex_rule is not None:
            return NotImplemented
        buf = self._buffer(plan.shape, _COMPUTE[plan.dtype])
        fill_uniform_(buf, plan.low, plan.high, rng)
        clip = None
        if plan.dtype in LOW_PRECISION:
            clip = (closed_low(plan.low, plan.dtype), inner_bounds(plan.low, plan.high, plan.dtype)[1])
        return self._finish(buf, plan, clip)

    def fast_truncated_normal(self, rng, plan):
        if plan.complex_rule is not None:
            return NotImplemented
        clip = open_interval_bounds(plan.low, plan.high, plan.dtype)
        buf = self._buffer(plan.shape, _COMPUTE[plan.dtype])
        fill_truncated_normal_(buf.view(-1), plan.mean, plan.std, plan.low, plan.high, rng)
        return self._finish(buf, plan, clip)

    def fast_orthogonal(self, rng, plan):
        """The spec's Haar rule (QR of a ``(batch, max, min)`` Gaussian matrix, ``sign(diag R)``
        fix, transposed when wide, times ``gain``) with the sign and gain applied in place and a
        single copy into the target (the generic path makes three full copies)."""
        perm, nb, rows, cols = _orthogonal_geometry(plan.layout, plan.shape)
        n, m = max(rows, cols), min(rows, cols)
        # drawn as (batch, m, n) and viewed transposed: the column-major layout LAPACK/cuSOLVER
        # factor in place, so QR makes no input copy
        a = torch.empty((nb, m, n), dtype=_COMPUTE[plan.dtype], device=self.device).normal_(generator=rng)
        q, r = torch.linalg.qr(a.transpose(-2, -1))
        d = torch.diagonal(r, dim1=-2, dim2=-1).sign()
        q.mul_(d.masked_fill_(d == 0, 1.0).mul_(plan.gain).unsqueeze(-2))
        mat = q.transpose(-2, -1) if rows < cols else q  # (batch, rows, cols)
        out = self._buffer(plan.shape, _DTYPES[plan.dtype])
        if perm == tuple(range(len(plan.shape))):
            out.view(nb, rows, cols).copy_(mat)
        else:
            permuted = tuple(plan.shape[i] for i in perm)
            out.copy_(mat.reshape(permuted).permute(tuple(int(i) for i in np.argsort(perm))))
        return out


# -- public in-place API ------------------------------------------------------------------------
def initialize_(tensor: torch.Tensor, scheme: Any, *, layout: Any = DEFAULT_LAYOUT, groups: int = 1,
                fans: Any = None, generator: torch.Generator | None = None, stream: str | None = None,
                seed: int | None = None, **params: Any) -> torch.Tensor:
    """Fill ``tensor`` in place with ``scheme`` (a name of :data:`initspec.SCHEMES` or an alias)
    and return it. ``layout`` names the tensor's axes (default torch ``(out, in, *k)``),
    ``groups`` the convolution groups, ``fans=(fan_in, fan_out)`` overrides the fans (e.g. for
    biases), ``params`` are the scheme's parameters (``gain``, ``std``, ``low``...).

    ``stream=None`` (default) draws from torch's RNG (``generator``, else the global one).
    ``stream="encoder.0.weight"`` draws from the *portable stream* (:mod:`initspec.backends.portable`)
    keyed by ``(seed, stream)``: the same values, bit for bit, as
    ``initspec.backends.portable.torch.sample`` and the NumPy, TensorFlow and JAX backends give for
    the same ``(seed, stream)``, scheme, logical layout and dtype, on CPU and GPU (structured
    schemes such as orthogonal agree to QR rounding). ``seed`` is an int in ``[0, 2**64)``; the
    portable stream is deterministic, so ``seed=None`` means 0. ``seed`` needs ``stream``, and
    ``generator`` cannot be combined with it."""
    dtype = _check_tensor(tensor)
    gen = _check_generator(generator)
    portable_seed = _check_portable_args(gen, stream, seed)
    plan = _plan(scheme, tuple(tensor.shape), layout, dtype, groups, fans, params)
    if tensor.is_meta:
        return tensor
    if stream is not None:
        return _fill_portable_(tensor, scheme, layout, dtype, groups, fans, params, portable_seed, stream)
    try:
        return _fill_(tensor, plan, gen)
    except RuntimeError as e:  # torch refuses a generator of another device at the first draw
        err = _generator_device_error(gen, tensor.device)
        if err is not None:
            raise err from e
        raise


def _check_portable_args(generator: torch.Generator | None, stream: Any, seed: Any) -> int:
    """Validate ``stream``/``seed``/``generator`` together; the portable seed (None -> 0)."""
    if stream is None:
        if seed is not None:
            raise InitSpecError(
                "seed= selects the portable stream's seed; pass stream=..., or use generator= for "
                f"torch's generator. Received: seed={seed!r}, stream=None")
        return 0
    from .portable._spec import check_stream, portable_seed

    check_stream(stream)
    if generator is not None:
        raise InitSpecError(
            "Arguments `generator` and `stream` cannot be used together: stream= draws from the "
            "portable stream (seeded by seed=), generator= from torch's RNG. "
            f"Received: generator={generator!r}, stream={stream!r}")
    return portable_seed(seed)


def _fill_portable_(tensor: torch.Tensor, scheme: Any, layout: Any, dtype: str, groups: int, fans: Any,
                    params: dict[str, Any], seed: int, stream: str) -> torch.Tensor:
    """Copy the portable stream's values of ``(seed, stream)`` into ``tensor`` (validated, not meta).

    A ``DTensor`` (FSDP2, tensor parallel) is filled shard by shard: each rank computes only the
    global slice its local tensor holds, equal to that slice of the whole tensor, with no
    communication."""
    from .portable import torch as portable

    local = dtensor_local_slice(tensor)
    if local is not None:
        shard, index = local
        portable.fill_slice_(shard, tuple(tensor.shape), index, scheme, layout=layout, seed=seed, stream=stream,
                             groups=groups, fans=fans, **params)
        return tensor
    values = portable.sample(scheme, tuple(tensor.shape), layout=layout, dtype=dtype, seed=seed,
                             stream=stream, device=tensor.device, groups=groups, fans=fans, **params)
    with torch.no_grad():
        tensor.copy_(values)
    return tensor


def dtensor_local_slice(tensor: torch.Tensor) -> tuple[torch.Tensor, tuple[slice, ...]] | None:
    """``(local tensor, its global slice)`` of a ``torch.distributed.tensor.DTensor`` placed by
    ``Shard``/``Replicate``; None for any other tensor.

    The geometry is torch's own (``torch.distributed.tensor._utils.
    compute_local_shape_and_global_offset``, what DTensor uses to place shards). ``Partial``
    placements (values summed across ranks) and strided shards (not one contiguous slice) are
    refused with a clear error rather than filled wrongly.
    """
    import sys

    if "torch.distributed.tensor" not in sys.modules:  # no DTensor can exist yet
        return None
    from torch.distributed.tensor import DTensor, Replicate, Shard

    if not isinstance(tensor, DTensor):
        return None
    odd = [p for p in tensor.placements if type(p) not in (Shard, Replicate)]
    if odd:
        raise InitSpecError(
            "The portable stream fills DTensors placed by Shard/Replicate only (each rank writes one "
            f"contiguous global slice). Received: placements={tuple(tensor.placements)!r}"
        )
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    shape, offset = compute_local_shape_and_global_offset(tensor.shape, tensor.device_mesh, tensor.placements)
    return tensor.to_local(), tuple(slice(o, o + n) for o, n in zip(offset, shape))


def _fill_(tensor: torch.Tensor, plan: Plan, gen: torch.Generator | None) -> torch.Tensor:
    """Write ``plan``'s values into ``tensor`` (validated, not meta) and return it."""
    # autograd only records in-place ops on tensors that require grad (Parameters, their views)
    with torch.no_grad() if tensor.requires_grad else contextlib.nullcontext():
        values = core_sample(TorchBackend(tensor.device, tensor), gen, plan)
        if values is not tensor:
            tensor.copy_(values)
    return tensor


def _make_inplace(name: str) -> Callable[..., torch.Tensor]:
    def init_(tensor: torch.Tensor, *, layout: Any = DEFAULT_LAYOUT, groups: int = 1, fans: Any = None,
              generator: torch.Generator | None = None, stream: str | None = None, seed: int | None = None,
              **params: Any) -> torch.Tensor:
        return initialize_(tensor, name, layout=layout, groups=groups, fans=fans, generator=generator,
                           stream=stream, seed=seed, **params)

    init_.__name__ = init_.__qualname__ = f"{name}_"
    init_.__doc__ = (f"{SCHEMES[name].summary}\n\nFill ``tensor`` in place with scheme {name!r} and return "
                     f"it (see :func:`initialize_` for the arguments; ``stream=`` selects the "
                     f"portable stream).")
    return init_


#: scheme name -> its in-place function (also module globals ``NAME_``)
INPLACE: dict[str, Callable[..., torch.Tensor]] = {name: _make_inplace(name) for name in SCHEMES}
globals().update({f"{name}_": fn for name, fn in INPLACE.items()})


# -- whole modules --------------------------------------------------------------------------------


def layout_for_module(module: torch.nn.Module) -> str:
    """The layout of ``module.weight``: Linear -> torch_linear, ConvNd -> torch_conv,
    ConvTransposeNd -> torch_conv_transpose, anything else -> torch."""
    conv = torch.nn.modules.conv
    if isinstance(module, torch.nn.Linear):
        return "torch_linear"
    if isinstance(module, conv._ConvTransposeNd):
        return "torch_conv_transpose"
    if isinstance(module, conv._ConvNd):
        return "torch_conv"
    return "torch"


def _module_rules(module: torch.nn.Module, weight: Rule, bias: Rule,
                  by_type: Mapping[type, Any]) -> dict[str, Rule] | None:
    """Parameter-name -> rule for ``module`` (most specific ``by_type`` class first; else the
    defaults for Linear/Conv layers), or None."""
    rules = by_type_rules(module, by_type, bias)
    if rules is None and layout_for_module(module) != "torch":
        return {"weight": weight, "bias": bias}
    return rules


def init_module_(module: torch.nn.Module, weight: Rule = "he_normal", bias: Rule = "zeros", *,
                 by_type: Mapping[type, Any] | None = None, generator: torch.Generator | None = None,
                 portable: bool = False, seed: int | None = None, prefix: str = "") -> torch.nn.Module:
    """Initialize every layer of ``module`` in place and return it.

    ``weight``/``bias`` apply to ``nn.Linear``, ``nn.ConvNd`` and ``nn.ConvTransposeNd`` layers.
    ``by_type={nn.Linear: "glorot_uniform", nn.Conv2d: {"weight": ("he_normal", {"gain": 1}),
    "bias": None}, nn.LSTM: "orthogonal"}`` overrides per layer type (the most specific class
    wins; a plain rule sets the weight, a dict sets ``weight`` and/or ``bias``; other layer types
    are untouched). Rules match the parameters named ``weight``/``bias`` and the prefixed ones
    (``weight_ih_l0``...). The layout follows the layer type (:func:`layout_for_module`) and the
    layer's ``groups`` enters the fans; bias schemes that need fans get the weight's fans.

    ``portable=True`` fills every parameter it initializes from the portable stream
    (:mod:`initspec.backends.portable`, see :func:`initialize_`) with ``seed`` (an int in
    ``[0, 2**64)``; None means 0) and the stream name ``prefix + name``, ``name`` being the
    parameter's name in ``module.named_parameters()`` (its ``state_dict`` key, e.g.
    ``"encoder.0.weight"``). A tensor's values then depend only on ``(seed, name)``, scheme and
    layout: not on the order of the layers, on which other layers exist, or on the framework (the
    same as NumPy, TensorFlow and JAX give for that stream and logical layout, on CPU and GPU).
    ``init_module_(model.encoder, portable=True, prefix="encoder.")`` gives the encoder exactly
    the values ``init_module_(model, portable=True)`` would. ``generator`` cannot be combined
    with ``portable=True``; ``seed`` and ``prefix`` need it."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"Argument `module` must be a torch.nn.Module. Received: module={module!r}")
    if not isinstance(portable, bool):
        raise TypeError(f"Argument `portable` must be a bool. Received: portable={portable!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"Argument `prefix` must be a str (e.g. 'encoder.'). Received: prefix={prefix!r}")
    if portable:
        from .portable._spec import portable_seed

        seed = portable_seed(seed)
        if generator is not None:
            raise InitSpecError(
                "Arguments `generator` and `portable=True` cannot be used together: the portable "
                f"stream is seeded by seed=. Received: generator={generator!r}, portable=True")
    elif seed is not None or prefix:
        raise InitSpecError(
            "Arguments `seed` and `prefix` name the portable stream; pass portable=True (or use "
            f"generator= for torch's generator). Received: seed={seed!r}, prefix={prefix!r}, portable=False")
    by_type = check_by_type(by_type, "module")
    split_rule(weight, "weight"), split_rule(bias, "bias")
    # stream names: each parameter's name in named_parameters() (a tied parameter: its first name)
    names = {id(p): prefix + n for n, p in module.named_parameters()} if portable else {}
    for mod in module.modules():
        rules = _module_rules(mod, weight, bias, by_type)
        if rules is None:
            continue
        layout = layout_for_module(mod)
        groups = int(getattr(mod, "groups", 1))
        for pname, param in mod.named_parameters(recurse=False):
            kind = next((k for k in ("weight", "bias") if pname == k or pname.startswith(f"{k}_")), None)
            if kind is None:
                continue
            rule = split_rule(rules.get(kind), f"{kind} rule for {type(mod).__name__}.{pname}")
            if rule is None:
                continue
            if torch.nn.parameter.is_lazy(param):
                raise InitSpecError(
                    f"{type(mod).__name__}.{pname} is an uninitialized lazy parameter; run one forward "
                    f"pass before init_module_. Received: module={type(mod).__name__}"
                )
            scheme, kw = rule
            refuse_reserved(kw, ("generator", "stream", "seed"), kind, f"{type(mod).__name__}.{pname}", rule,
                            "generator=, or portable=/seed=, to init_module_")
            kw.setdefault("layout", layout)
            kw.setdefault("groups", groups if kind == "weight" else 1)
            if kind == "bias" and "fans" not in kw and get_scheme(scheme).uses_fans:
                w = getattr(mod, "weight", None)
                if isinstance(w, torch.Tensor) and not torch.nn.parameter.is_lazy(w):
                    f = compute_fans(tuple(w.shape), layout, groups=groups)
                    kw["fans"] = (f.fan_in, f.fan_out)
            if portable:
                initialize_(param, scheme, stream=names[id(param)], seed=seed, **kw)
            else:
                initialize_(param, scheme, generator=generator, **kw)
    return module


# -- uniform harness API ----------------------------------------------------------------------------
def sample(scheme: Any, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           device: Any = "cpu", stream: str | None = None, **params: Any) -> torch.Tensor:
    """Uniform harness API (see :mod:`initspec.backends`): a new tensor on ``device``, drawn
    with a ``torch.Generator`` on that device seeded with ``seed`` (None: torch's global one).

    ``stream="encoder.0.weight"`` switches to the portable stream
    (:mod:`initspec.backends.portable`): the same values as every other framework for the same
    ``(seed, stream)``."""
    if stream is not None:
        from .portable import torch as portable

        return portable.sample(scheme, shape, layout=DEFAULT_LAYOUT if layout is None else layout,
                               dtype=dtype, seed=seed, stream=stream, device=device, **params)
    seed = _check_seed(seed)
    dev = torch_device(device)
    td = torch_dtype(dtype)
    layout = DEFAULT_LAYOUT if layout is None else layout
    shape = check_shape(shape)
    plan_for(scheme, shape, layout, _NAMES[td], **params)  # validate before allocating
    gen = None if seed is None or dev.type == "meta" else torch.Generator(device=dev).manual_seed(seed)
    return initialize_(torch.empty(shape, dtype=td, device=dev), scheme, layout=layout, generator=gen,
                       **params)


def to_numpy(x: torch.Tensor) -> np.ndarray:
    """Host copy as NumPy; bfloat16 becomes float32 (exact: NumPy has no bfloat16)."""
    x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.float()
    return x.resolve_conj().cpu().numpy()


def device_available(device: str) -> tuple[bool, str]:
    """(available, reason if not) for ``"cpu"`` and ``"gpu"``/``"cuda"``."""
    if device == "cpu":
        return True, ""
    if device in ("gpu", "cuda"):
        if torch.cuda.is_available():
            return True, ""
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return False, f"torch.cuda.is_available() is False (torch {torch.__version__}, {build})"
    return False, f"unknown device {device!r} (expected 'cpu' or 'gpu')"


def device_of(x: torch.Tensor) -> str:
    """``"gpu"`` for CUDA tensors, else the device type (``"cpu"``, ``"meta"``)."""
    return "gpu" if x.device.type == "cuda" else x.device.type


def versions() -> dict[str, str]:
    v = {"torch": torch.__version__}
    if torch.version.cuda:
        v["cuda"] = torch.version.cuda
    return v


# -- benchmarks ---------------------------------------------------------------------------------
#: (label, torch-layout shape) of the benchmarked weights
BENCH_SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("4096x4096", (4096, 4096)),
    ("conv 3x3 256->256", (256, 256, 3, 3)),
)
ORTHOGONAL_BENCH_SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("1024x1024", (1024, 1024)),
    ("conv 3x3 256->256", (256, 256, 3, 3)),
)
#: required speed-up over ``trunc_normal_(w)`` (its defaults: N(0, 1) truncated to +-2)
TRUNC_MIN_SPEEDUP = 5.0


def bench_cases(device: str = "cpu") -> list[BenchCase]:
    """Ours vs ``torch.nn.init`` on same-shape float32 weights (see ``initspec bench``); empty
    when ``device`` is unavailable."""
    if not device_available(device)[0]:
        return []
    dev = torch_device(device)
    nn_init = torch.nn.init
    sync: Callable[[Any], Any] = (lambda r: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda r: r)
    cases: list[BenchCase] = []

    def add(label: str, shape: tuple[int, ...], scheme: str, params: dict[str, Any],
            native: Callable[[torch.Tensor, torch.Generator], Any], native_name: str, **kw: Any) -> None:
        w_ours, w_nat = (torch.empty(shape, device=dev) for _ in range(2))
        g_ours, g_nat = (torch.Generator(device=dev).manual_seed(0) for _ in range(2))
        ours = INPLACE[scheme]
        cases.append(BenchCase(
            backend="torch", label=f"{label} float32", device=device, sync=sync,
            ours=lambda: ours(w_ours, generator=g_ours, **params), native=lambda: native(w_nat, g_nat),
            native_name=native_name, **kw))

    for name, shape in BENCH_SHAPES:
        sigma = math.sqrt(2.0 / math.prod(shape[1:])) / TRUNCATED_NORMAL_STD_CORRECTION
        add(f"he_normal {name}", shape, "he_normal", {},
            lambda w, g: nn_init.kaiming_normal_(w, generator=g), "torch.nn.init.kaiming_normal_")
        add(f"glorot_uniform {name}", shape, "glorot_uniform", {},
            lambda w, g: nn_init.xavier_uniform_(w, generator=g), "torch.nn.init.xavier_uniform_")
        add(f"normal(0, 0.02) {name}", shape, "normal", {"std": 0.02},
            lambda w, g: nn_init.normal_(w, std=0.02, generator=g), "torch.nn.init.normal_")
        add(f"uniform(-0.1, 0.1) {name}", shape, "uniform", {"low": -0.1, "high": 0.1},
            lambda w, g: nn_init.uniform_(w, -0.1, 0.1, generator=g), "torch.nn.init.uniform_")
        add(f"truncated_normal_abs(0, 1, +-2) {name}", shape, "truncated_normal_abs", {},
            lambda w, g: nn_init.trunc_normal_(w, generator=g), "torch.nn.init.trunc_normal_",
            min_speedup=TRUNC_MIN_SPEEDUP)
        add(f"truncated_normal_abs(0, 0.02, +-2) {name}", shape, "truncated_normal_abs", {"std": 0.02},
            lambda w, g: nn_init.trunc_normal_(w, std=0.02, generator=g), "torch.nn.init.trunc_normal_")
        add(f"he_truncated_normal {name}", shape, "he_truncated_normal", {},
            lambda w, g, s=sigma: nn_init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s, generator=g),
            "torch.nn.init.trunc_normal_(std=s, a=-2s, b=2s)")
    for name, shape in ORTHOGONAL_BENCH_SHAPES:
        add(f"orthogonal {name}", shape, "orthogonal", {},
            lambda w, g: nn_init.orthogonal_(w, generator=g), "torch.nn.init.orthogonal_")
    return cases


__all__ = [
    "DEFAULT_LAYOUT", "INPLACE", "TorchBackend", "bench_cases", "device_available",
    "device_of", "fill_truncated_normal_", "fill_uniform_", "init_module_", "initialize_",
    "layout_for_module", "plan_for", "sample", "to_numpy", "torch_device", "torch_dtype", "versions",
    *(f"{n}_" for n in SCHEMES),
]
