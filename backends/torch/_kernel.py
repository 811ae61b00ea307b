"""The portable stream's generator in torch ops (imports only torch): Philox words and their
float32 transforms (:mod:`initspec.backends.portable._spec`), run eagerly in chunks or fused by
``torch.compile`` on the CPU.

Words are held in int64 tensors with values in ``[0, 2**32)`` (torch has no unsigned 32-bit
arithmetic on every device); the 32x32 -> 64-bit Philox products are split into 16-bit limbs so
no intermediate exceeds 2**49 (no signed overflow, which a compiler may assume never happens).
Every float op is a separate eager kernel (no FMA contraction across ops). On the CPU, with
``INITSPEC_PORTABLE_COMPILE=1`` (or after :func:`prime_compiled`), the first tensor of at least
:data:`COMPILE_MIN_ELEMENTS` elements compiles the same code with
``torch.compile`` (Inductor's C++ backend compiles with ``-ffp-contract=off`` and without unsafe
math, ``torch/_inductor/cpp_builder.py::_get_ffast_math_flags``), which is bit-identical and much
faster. The graph takes the block count as a dynamic size, so one compile per process and recipe
kind serves every shape (measured: one graph for all 21 distinct ResNet-50 shapes; the compile
itself, mostly Dynamo tracing, takes 15-30 s on a loaded 2-core machine even with Inductor's FX
graph cache warm). Other CPU requests run the NumPy reference's chunked generator (same bits,
~10x faster than eager torch ops): by default nothing is compiled, since a whole-model init
takes 1-3 s that way against 20-35 s with the compile; ``INITSPEC_PORTABLE_COMPILE=0`` never
compiles, even on request.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..portable._philox import LANES, MASK32
from ..portable._spec import (
    FloatOps,
    block_words,
    compute,
    element_strides,
    round_key_pairs,
    slice_shape,
    transform,
)

__all__ = ["COMPILED_REUSE_MIN", "COMPILE_ENV", "COMPILE_MIN_ELEMENTS", "TorchOps", "compile_enabled",
           "compile_on_demand", "prime_compiled", "run_at", "run_full"]

#: with ``INITSPEC_PORTABLE_COMPILE=1``, the first CPU tensor at least this large compiles the
#: kernel (same values, faster; paid once per process and kind: one dynamic-length graph serves
#: every shape)
COMPILE_MIN_ELEMENTS = 2**20
#: once compiled, CPU tensors at least this large reuse the compiled kernel (smaller ones run the
#: NumPy reference, whose per-call overhead is lower)
COMPILED_REUSE_MIN = 2**14
#: elements per eager chunk (bounds the int64 temporaries to a few MiB)
EAGER_CHUNK = 2**18
COMPILE_ENV = "INITSPEC_PORTABLE_COMPILE"
LIMB = 16
LIMB_MASK = (1 << LIMB) - 1
# frexp of a positive normal float32 by bit casts: keep sign and fraction, exponent of 1/2
FRAC_BITS = 23
FRAC_SIGN_MASK = -0x7F800001  # 0x807FFFFF as int32
HALF_BITS = 0x3F000000
HALF_EXPONENT = 126


class TorchOps(FloatOps):
    """Words as int64 in ``[0, 2**32)``; float32 arithmetic with eager torch ops."""

    def __init__(self, device: torch.device):
        self.device = device

    def mulhilo(self, a, m):
        if isinstance(a, int):
            p = a * m
            return p >> 32, p & MASK32
        a_lo, a_hi = a & LIMB_MASK, a >> LIMB
        t_lo, t_hi = a_lo * m, a_hi * m  # each < 2**48
        s = t_lo + ((t_hi & LIMB_MASK) << LIMB)  # low 48 bits of a*m plus carry room
        return (t_hi >> LIMB) + (s >> 32), s & MASK32

    def xor(self, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return a ^ b
        return torch.bitwise_xor(a, b) if not isinstance(a, int) else torch.bitwise_xor(b, a)

    def shr(self, a, n):
        return a >> n

    def band(self, a, m):
        return a & m

    def to_f32(self, a):
        return a.to(torch.float32)

    def frexp(self, x):  # bit casts (vectorised by Inductor, unlike torch.frexp); positive normal x
        bits = x.view(torch.int32)
        m = ((bits & FRAC_SIGN_MASK) | HALF_BITS).view(torch.float32)
        return m, (bits >> FRAC_BITS) - HALF_EXPONENT

    def sqrt(self, x):
        # torch's float32 CPU sqrt is not correctly rounded (it differs from IEEE sqrt in the last
        # bit); a float64 sqrt (error < 2**-52 relative) rounded once to float32 is, because the
        # square root of a float32 is never within 2**-50 (relative) of a float32 rounding midpoint.
        return torch.sqrt(x.to(torch.float64)).to(torch.float32)

    def _t(self, x: Any, like: Any) -> Any:
        if isinstance(x, float):
            return torch.tensor(x, dtype=torch.float32, device=like.device)
        return x

    def where(self, c, x, y):
        return torch.where(c, self._t(x, c), self._t(y, c))

    def minimum(self, x, y):
        return torch.clamp(x, max=y) if isinstance(y, float) else torch.minimum(x, y)

    def maximum(self, x, y):
        return torch.clamp(x, min=y) if isinstance(y, float) else torch.maximum(x, y)

    def iota(self, n):
        return torch.arange(n, dtype=torch.int64, device=self.device)

    def interleave(self, lanes, n):
        return torch.stack(lanes, dim=-1).reshape(-1)[:n]

    def block_of(self, idx):
        b = idx >> 2
        return b & MASK32, b >> 32


def _keys(table: np.ndarray, dev: torch.device) -> torch.Tensor:
    return torch.as_tensor(table.astype(np.int64), device=dev)


def _index_grid(norm: tuple[tuple[int, int, int], ...], shape: tuple[int, ...],
                order: tuple[int, ...] | None, dev: torch.device) -> torch.Tensor:
    """int64 element indices (in the stream's logical order) of the slice ``norm`` of ``shape``."""
    idx = torch.zeros(slice_shape(norm), dtype=torch.int64, device=dev)
    for axis, ((start, stop, step), st) in enumerate(zip(norm, element_strides(shape, order))):
        r = torch.arange(start, stop, step, dtype=torch.int64, device=dev) * st
        idx = idx + r.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return idx


# -- running the generator: eager (chunked) or compiled ------------------------------------------


def _kernel(kind: str, draws: tuple[int, ...]) -> Callable[..., tuple[Any, Any]]:
    """The whole generator for blocks ``first .. first+nb-1`` (float32, 4 values per block)."""

    def run(keys: torch.Tensor, prm: dict[str, Any], first: int, nb: int) -> tuple[Any, Any]:
        ops = TorchOps(keys.device)
        kp = round_key_pairs(keys)
        b = torch.arange(nb, dtype=torch.int64, device=keys.device) + first
        # draw ids as 0-d tensors: Inductor mistypes Python-int arithmetic on them as float
        dv = [torch.full((), d, dtype=torch.int64, device=keys.device) for d in draws]
        lanes = [block_words(ops, b & MASK32, b >> 32, d, kp) for d in dv]  # [draw][lane]
        # transform each lane, then interleave the floats (one fused loop over blocks when compiled)
        per_lane = [transform(ops, kind, tuple(lw[lane] for lw in lanes), prm) for lane in range(LANES)]
        re = torch.stack([v[0] for v in per_lane], dim=-1).reshape(-1)
        im = None if per_lane[0][1] is None else torch.stack([v[1] for v in per_lane], dim=-1).reshape(-1)
        return re, im

    return run


_COMPILED: dict[tuple[str, tuple[int, ...]], Any] = {}
_COMPILE_FAILED: list[str] = []
#: the kernels that have run compiled in this process (their compile is paid)
_COMPILED_RAN: dict[tuple[str, tuple[int, ...]], bool] = {}


def compile_enabled() -> bool:
    """Whether CPU requests may use ``torch.compile`` (env ``INITSPEC_PORTABLE_COMPILE`` not ``0``)."""
    return os.environ.get(COMPILE_ENV, "") != "0" and not _COMPILE_FAILED and hasattr(torch, "compile")


def compile_on_demand() -> bool:
    """Whether the first large CPU request compiles the kernel (``INITSPEC_PORTABLE_COMPILE=1``).

    Off by default: the compile (mostly Dynamo tracing) costs 15-30 s per process, far more than
    the reference path needs for a whole ResNet-50 or BERT (about 1-3 s), so only a process that
    generates many large tensors gains from it. A kernel compiled explicitly
    (:func:`prime_compiled`, ``run_full(..., compiled=True)``) is reused either way."""
    return os.environ.get(COMPILE_ENV, "") == "1" and compile_enabled()


def prime_compiled(kind: str = "normal", draws: tuple[int, ...] = (0,)) -> bool:
    """Compile the CPU kernel of ``(kind, draws)`` now (once per process), so later CPU requests
    of at least :data:`COMPILED_REUSE_MIN` elements run it; False where compiling is disabled or fails."""
    if not _COMPILED_RAN.get((kind, draws)) and compile_enabled():
        from ..portable._spec import STANDARD_NORMAL, key_table

        keys = _keys(key_table(0, "prime"), torch.device("cpu"))
        run_full(kind, draws, keys, dict(STANDARD_NORMAL), LANES, compiled=True)
    return bool(_COMPILED_RAN.get((kind, draws)))


def _compiled(kind: str, draws: tuple[int, ...]) -> Any:
    key = (kind, draws)
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(_kernel(kind, draws), dynamic=True, fullgraph=True)
    return _COMPILED[key]


def _prm_tensors(prm: dict[str, float], dev: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v, dtype=torch.float32, device=dev) for k, v in prm.items()}


def _reference_full(kind: str, draws: tuple[int, ...], keys: torch.Tensor, prm: dict[str, float],
                    n: int) -> tuple[Any, Any]:
    """The NumPy reference's chunked generator (:func:`initspec.backends.portable.run_full`,
    the spec's own values) as CPU tensors sharing its memory: no compile, and ~10x faster than
    eager torch ops, whose int64 limb arithmetic dispatches hundreds of kernels per chunk."""
    from .. import portable as reference

    table = keys.cpu().numpy().astype(np.uint32)
    re, im = reference.run_full(kind, draws, round_key_pairs(table), prm, n)
    return torch.from_numpy(re), None if im is None else torch.from_numpy(im)


def _use_compiled(kind: str, draws: tuple[int, ...], dev: torch.device, n: int) -> bool:
    """CPU only, when enabled: once the kernel of ``(kind, draws)`` is compiled in this process
    (one graph with a dynamic length serves every shape), for any request of at least
    :data:`COMPILED_REUSE_MIN` elements; before that, with :func:`compile_on_demand`, a request
    of at least :data:`COMPILE_MIN_ELEMENTS` elements pays the compile."""
    if dev.type != "cpu" or not compile_enabled():
        return False
    if _COMPILED_RAN.get((kind, draws)):
        return n >= COMPILED_REUSE_MIN
    return compile_on_demand() and n >= COMPILE_MIN_ELEMENTS


def run_full(kind: str, draws: tuple[int, ...], keys: torch.Tensor, prm: dict[str, float], n: int,
             compiled: bool | None = None) -> tuple[Any, Any]:
    """float32 values ``(re, im | None)`` of elements ``0 .. n-1`` (1-D).

    ``compiled=None`` chooses: on the CPU the compiled kernel where :func:`_use_compiled` says so,
    else the NumPy reference's chunked generator; on a GPU eager torch ops in one launch per op.
    ``compiled=True`` forces the compiled kernel, ``compiled=False`` eager torch ops (in chunks on
    the CPU). All give the same bits.
    """
    nb = -(-n // LANES)
    if compiled is None:
        if keys.device.type == "cpu" and not _use_compiled(kind, draws, keys.device, n):
            return _reference_full(kind, draws, keys, prm, n)
        compiled = keys.device.type == "cpu"
    if compiled:
        try:
            re, im = _compiled(kind, draws)(keys, _prm_tensors(prm, keys.device), 0, nb)
            _COMPILED_RAN[(kind, draws)] = True
            return re[:n], None if im is None else im[:n]
        except Exception as e:  # noqa: BLE001 - no compiler, unsupported platform...: stay eager
            _COMPILE_FAILED.append(f"{type(e).__name__}: {e}")
            warnings.warn(f"initspec portable: torch.compile failed, using eager ops ({_COMPILE_FAILED[-1]})",
                          RuntimeWarning, stacklevel=2)
            if keys.device.type == "cpu":
                return _reference_full(kind, draws, keys, prm, n)
    run = _kernel(kind, draws)
    # chunks bound the CPU's int64 temporaries; a GPU is better served by one launch per op
    step = EAGER_CHUNK // LANES if keys.device.type == "cpu" else max(nb, 1)
    parts = [run(keys, prm, first, min(step, nb - first)) for first in range(0, nb, step)] or [
        run(keys, prm, 0, 0)]
    re = torch.cat([p[0] for p in parts])[:n]
    im = None if parts[0][1] is None else torch.cat([p[1] for p in parts])[:n]
    return re, im


def run_at(kind: str, draws: tuple[int, ...], keys: torch.Tensor, prm: dict[str, float],
           idx: torch.Tensor) -> tuple:
    """float32 values at the int64 element indices ``idx`` (eager)."""
    return compute(TorchOps(keys.device), kind, draws, round_key_pairs(keys), prm, idx=idx)
