"""The torch primitives of the shared sampler (:class:`initspec.backends._core.Primitives`): one
class hierarchy for native and portable generation.

* :class:`TorchBackend` draws from torch's RNG (a ``torch.Generator``) and adds fused in-place
  ``fast_*`` paths that write straight into the tensor being initialized;
* :class:`PortableTorch` is the same class with the portable stream as RNG
  (:mod:`initspec.backends.portable`): only the draws differ, and the fused paths (which draw from
  torch's generator) are switched off so the spec's generic rules run.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
from initspec.distributions import Plan
from initspec.dtypes import inner_bounds

from .._core import LOW_PRECISION, Primitives
from ..portable._spec import PortableRng, normal_rng_params, uniform_params
from ._common import COMPUTE, DTYPES, to_numpy
from ._kernel import run_full
from .fills import closed_low, fill_truncated_normal_, fill_uniform_, open_interval_bounds

__all__ = ["PortableTorch", "TorchBackend"]

_CPU = torch.device("cpu")


@functools.lru_cache(maxsize=256)
def _orthogonal_geometry(layout: Any, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int, int, int]:
    """``Layout.orthogonal_matrix`` (cached: it validates the shape on every call)."""
    return layout.orthogonal_matrix(shape)


def _qr_signs(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Q, sign(diag(R)))`` of the thin QR of the column-major batch ``a`` (b, n, m), n >= m.

    ``torch.linalg.qr`` runs LAPACK's ``geqrf`` and then ``orgqr`` (``linalg_qr_out``), keeping
    the input, Q and R (3x at 3072x3072, measured). On the CPU the same two calls run here in
    place on ``a`` (``torch.geqrf(a, out=(a, tau))``, ``householder_product(a, tau, out=a)``; the
    same values, tested), R's diagonal read off ``geqrf``'s result in between: only LAPACK's
    workspace is allocated. Elsewhere (cuSOLVER) ``torch.linalg.qr`` itself."""
    if a.device.type != "cpu":
        q, r = torch.linalg.qr(a)
        return q, torch.diagonal(r, dim1=-2, dim2=-1).sign()
    tau = torch.empty(a.shape[:-1][:-1] + (a.shape[-1],), dtype=a.dtype)
    torch.geqrf(a, out=(a, tau))
    d = torch.diagonal(a, dim1=-2, dim2=-1).sign()
    torch.linalg.householder_product(a, tau, out=a)
    return a, d


class TorchBackend(Primitives):
    """torch implementation of :class:`initspec.backends._core.Primitives` on one ``device``.

    ``rng`` is a ``torch.Generator`` (or None for torch's global one); splitting returns the same
    stateful generator, whose successive draws are independent. ``out`` is the tensor being
    initialized: the ``fast_*`` paths write into it directly when its dtype and memory allow."""

    name = "torch"
    capabilities = frozenset({"complex", "float16", "bfloat16", "float64", "cpu", "gpu"})

    def __init__(self, device: torch.device = _CPU, out: torch.Tensor | None = None) -> None:
        self.device = device
        self.out = out

    # RNG
    def split(self, rng, n):
        return [rng] * n

    def normal(self, rng, shape, dtype):
        return torch.empty(shape, dtype=DTYPES[dtype], device=self.device).normal_(generator=rng)

    def uniform(self, rng, shape, dtype, low, high):
        return fill_uniform_(torch.empty(shape, dtype=DTYPES[dtype], device=self.device), low, high, rng)

    def truncated_normal(self, rng, shape, dtype, a, b):
        buf = torch.empty(shape, dtype=DTYPES[dtype], device=self.device)
        fill_truncated_normal_(buf.view(-1), 0.0, 1.0, a, b, rng)
        return buf

    # construction / elementwise
    def full(self, shape, dtype, value):
        return torch.full(shape, value, dtype=DTYPES[dtype], device=self.device)

    def eye(self, rows, cols, dtype):
        return torch.eye(rows, cols, dtype=DTYPES[dtype], device=self.device)

    def cast(self, x, dtype):
        return x.to(DTYPES[dtype])

    def clip(self, x, lo, hi):
        return x.clamp(lo, hi)

    def where(self, cond, x, y):
        return torch.where(cond, x, y)

    def sqrt(self, x):
        return torch.sqrt(x)

    def log1p(self, x):
        return torch.log1p(x)

    def cos(self, x):
        return torch.cos(x)

    def sin(self, x):
        return torch.sin(x)

    def sign(self, x):
        return torch.sign(x)

    def complex(self, re, im, dtype):
        return torch.complex(re, im).to(DTYPES[dtype])

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
        out = torch.zeros(shape, dtype=DTYPES[dtype], device=self.device)
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
        target = DTYPES[plan.dtype]
        if values.dtype == target:
            return values
        res = self._buffer(plan.shape, target)
        res.copy_(values)
        if clip is not None:
            res.clamp_(*clip)
        return res

    def fast_constant(self, rng, plan):
        return self._buffer(plan.shape, DTYPES[plan.dtype]).fill_(plan.value)

    def fast_normal(self, rng, plan):
        if plan.complex_rule is not None:
            return NotImplemented
        buf = self._buffer(plan.shape, COMPUTE[plan.dtype])
        return self._finish(buf.normal_(plan.mean, plan.std, generator=rng), plan, None)

    def fast_uniform(self, rng, plan):
        if plan.complex_rule is not None:
            return NotImplemented
        buf = self._buffer(plan.shape, COMPUTE[plan.dtype])
        fill_uniform_(buf, plan.low, plan.high, rng)
        clip = None
        if plan.dtype in LOW_PRECISION:
            clip = (closed_low(plan.low, plan.dtype), inner_bounds(plan.low, plan.high, plan.dtype)[1])
        return self._finish(buf, plan, clip)

    def fast_truncated_normal(self, rng, plan):
        if plan.complex_rule is not None:
            return NotImplemented
        clip = open_interval_bounds(plan.low, plan.high, plan.dtype)
        buf = self._buffer(plan.shape, COMPUTE[plan.dtype])
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
        a = torch.empty((nb, m, n), dtype=COMPUTE[plan.dtype], device=self.device).normal_(generator=rng)
        q, d = _qr_signs(a.transpose(-2, -1))
        q.mul_(d.masked_fill_(d == 0, 1.0).mul_(plan.gain).unsqueeze(-2))
        mat = q.transpose(-2, -1) if rows < cols else q  # (batch, rows, cols)
        out = self._buffer(plan.shape, DTYPES[plan.dtype])
        if perm == tuple(range(len(plan.shape))):
            out.view(nb, rows, cols).copy_(mat)
        else:
            permuted = tuple(plan.shape[i] for i in perm)
            out.copy_(mat.reshape(permuted).permute(tuple(int(i) for i in np.argsort(perm))))
        return out


class PortableTorch(TorchBackend):
    """The torch adapter's primitives with the portable stream as RNG (structured schemes)."""

    name = "portable-torch"
    # the adapter's fused paths draw from torch's generator: the generic rules run instead
    fast_constant = fast_normal = fast_uniform = fast_truncated_normal = fast_orthogonal = None  # type: ignore[assignment]

    def __init__(self, device: torch.device):
        super().__init__(device)

    def split(self, rng: PortableRng, n: int) -> list[PortableRng]:
        return rng.children(n)

    def _draw(self, rng: PortableRng, shape, kind: str, prm: dict[str, float], dtype: str) -> torch.Tensor:
        n = math.prod(shape)
        return run_full(kind, (rng.draw,), rng.keys, prm, n)[0].reshape(shape).to(DTYPES[dtype])

    def normal(self, rng, shape, dtype):
        return self._draw(rng, shape, "normal", normal_rng_params(), dtype)

    def uniform(self, rng, shape, dtype, low, high):
        return self._draw(rng, shape, "uniform", uniform_params(low, high), dtype)

    def truncated_normal(self, rng, shape, dtype, a, b):
        return self._draw(rng, shape, "normal", normal_rng_params(a, b), dtype)
