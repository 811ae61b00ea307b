"""The portable stream in PyTorch (imports only torch): bit-identical to the NumPy reference on
CPU and CUDA, and shard-invariant.

* :func:`sample` - the harness API plus ``stream=`` (see :mod:`initspec.backends.portable`);
* :func:`sample_slice` - ``sample(...)[index]`` computing only that slice (element-wise schemes);
* :func:`fill_slice_` - fill a shard in place (what an FSDP/DTensor rank owns) with its slice of
  the full tensor, without materialising the rest;
* :func:`words` - the raw 32-bit words (as int64), for cross-checks.

Words are held in int64 tensors with values in ``[0, 2**32)`` (torch has no unsigned 32-bit
arithmetic on every device); the 32x32 -> 64-bit Philox products are split into 16-bit limbs so
no intermediate exceeds 2**49 (no signed overflow, which a compiler may assume never happens).
Every float op is a separate eager kernel (no FMA contraction across ops). On the CPU, tensors of
at least :data:`COMPILE_MIN_ELEMENTS` elements run the same code fused by ``torch.compile``
(Inductor's C++ backend compiles with ``-ffp-contract=off`` and without unsafe math,
``torch/_inductor/cpp_builder.py::_get_ffast_math_flags``), which is bit-identical and much faster;
set ``INITSPEC_PORTABLE_COMPILE=0`` to stay eager. The first compiled call takes a while
(about a minute on a small machine; cached afterwards). CUDA runs eagerly (Triton's float32
division is approximate), about 12 ms for 4096x4096 on an H200, vs 0.1 ms for ``torch.randn``.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Callable

import numpy as np
import torch

from initspec.distributions import Plan

from .._bench import BenchCase
from ..torch import TorchBackend
from ._philox import LANES, MASK32
from ._spec import (
    FloatOps,
    PortableRng,
    Recipe,
    block_words,
    check_index,
    compute,
    element_strides,
    key_table,
    normal_rng_params,
    prepare,
    round_key_pairs,
    sample_structured,
    slice_shape,
    logical_shape,
    to_physical,
    transform,
    uniform_params,
    words_at,
    words_full,
)

__all__ = [
    "COMPILE_MIN_ELEMENTS", "DEFAULT_LAYOUT", "bench_cases", "device_available", "device_of", "fill_slice_",
    "sample", "sample_slice", "to_numpy", "versions", "words",
]

DEFAULT_LAYOUT = "torch"
#: CPU tensors at least this large use the torch.compile'd kernel (same values, faster)
COMPILE_MIN_ELEMENTS = 2**20
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

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
           "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128}


def _tdt(name: str) -> torch.dtype:
    return _DTYPES[name]


def _device(device: Any) -> torch.device:
    """``"cpu"``/``"gpu"`` (or a torch device) -> a usable torch device, or a clear error."""
    if isinstance(device, torch.device):
        dev = device
    elif device == "cpu":
        dev = torch.device("cpu")
    elif device in ("gpu", "cuda"):
        dev = torch.device("cuda")
    else:
        raise ValueError(f"Argument `device` must be 'cpu' or 'gpu'. Received: device={device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"No CUDA device is available to torch. Received: device={device!r}")
    return dev


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


def compile_enabled() -> bool:
    """Whether large CPU requests use ``torch.compile`` (env ``INITSPEC_PORTABLE_COMPILE``)."""
    return os.environ.get(COMPILE_ENV, "1") != "0" and not _COMPILE_FAILED and hasattr(torch, "compile")


def _compiled(kind: str, draws: tuple[int, ...]) -> Any:
    key = (kind, draws)
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(_kernel(kind, draws), dynamic=True, fullgraph=True)
    return _COMPILED[key]


def _prm_tensors(prm: dict[str, float], dev: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v, dtype=torch.float32, device=dev) for k, v in prm.items()}


def run_full(kind: str, draws: tuple[int, ...], keys: torch.Tensor, prm: dict[str, float], n: int,
             compiled: bool | None = None) -> tuple[Any, Any]:
    """float32 values ``(re, im | None)`` of elements ``0 .. n-1`` (1-D).

    ``compiled=None`` chooses: the compiled kernel for CPU requests of at least
    :data:`COMPILE_MIN_ELEMENTS` elements when enabled, else eager in chunks.
    """
    nb = -(-n // LANES)
    if compiled is None:
        compiled = keys.device.type == "cpu" and n >= COMPILE_MIN_ELEMENTS and compile_enabled()
    if compiled:
        try:
            re, im = _compiled(kind, draws)(keys, _prm_tensors(prm, keys.device), 0, nb)
            return re[:n], None if im is None else im[:n]
        except Exception as e:  # noqa: BLE001 - no compiler, unsupported platform...: stay eager
            _COMPILE_FAILED.append(f"{type(e).__name__}: {e}")
            warnings.warn(f"initspec portable: torch.compile failed, using eager ops ({_COMPILE_FAILED[-1]})",
                          RuntimeWarning, stacklevel=2)
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


# -- _core primitives on the portable stream (structured schemes) --------------------------------


class PortableTorch(TorchBackend):
    """The torch adapter's primitives with the portable stream as RNG (structured schemes)."""

    name = "portable-torch"
    # the adapter's fused paths draw from torch's generator: the generic rules run instead
    fast_constant = fast_normal = fast_uniform = fast_truncated_normal = fast_orthogonal = None

    def __init__(self, device: torch.device):
        super().__init__(device)

    def split(self, rng: PortableRng, n: int) -> list[PortableRng]:
        return rng.children(n)

    def _draw(self, rng: PortableRng, shape, kind: str, prm: dict[str, float], dtype: str) -> torch.Tensor:
        n = math.prod(shape)
        return run_full(kind, (rng.draw,), rng.keys, prm, n)[0].reshape(shape).to(_tdt(dtype))

    def normal(self, rng, shape, dtype):
        return self._draw(rng, shape, "normal", normal_rng_params(), dtype)

    def uniform(self, rng, shape, dtype, low, high):
        return self._draw(rng, shape, "uniform", uniform_params(low, high), dtype)

    def truncated_normal(self, rng, shape, dtype, a, b):
        return self._draw(rng, shape, "normal", normal_rng_params(a, b), dtype)


# -- public API ---------------------------------------------------------------------------------


def _finish(re: torch.Tensor, im: torch.Tensor | None, plan: Plan, recipe: Recipe,
            shape: tuple[int, ...]) -> torch.Tensor:
    dt = _tdt(plan.dtype)
    if im is not None:
        return torch.complex(re, im).to(dt).reshape(shape)
    out = re.to(dt)
    if recipe.post_clip is not None:
        out = torch.clamp(out, recipe.post_clip[0], recipe.post_clip[1])
    return out.reshape(shape)


def _generate(plan: Plan, recipe: Recipe, table: np.ndarray, dev: torch.device,
              norm: tuple | None) -> torch.Tensor:
    shape = plan.shape if norm is None else slice_shape(norm)
    keys = _keys(table, dev)
    if recipe.kind == "constant":
        return torch.full(shape, plan.value, dtype=_tdt(plan.dtype), device=dev)
    if not recipe.elementwise:
        full = sample_structured(PortableTorch(dev), PortableRng(keys), plan, recipe)
        return full if norm is None else full[tuple(slice(*s) for s in norm)].contiguous()
    if norm is None:  # generated in logical order, then laid out physically
        re, im = run_full(recipe.kind, recipe.draws, keys, recipe.params, plan.size)
        out = _finish(re, im, plan, recipe, logical_shape(plan.shape, recipe.order))
        return out if recipe.order is None else out.permute(to_physical(recipe.order)).contiguous()
    idx = _index_grid(norm, plan.shape, recipe.order, dev)
    re, im = run_at(recipe.kind, recipe.draws, keys, recipe.params, idx)
    return _finish(re, im, plan, recipe, shape)


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           stream: str = "", device: Any = "cpu", **params: Any) -> torch.Tensor:
    """Portable values of ``scheme`` as a torch tensor on ``device`` ("cpu" or "gpu");
    ``layout=None`` is ``"torch"``. Equal, bit for bit, to the NumPy reference."""
    dev = _device(device)
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    with torch.no_grad():
        return _generate(plan, recipe, table, dev, None)


def sample_slice(scheme: str, shape: Any, *, index: Any, layout: Any = None, dtype: Any = "float32",
                 seed: Any = 0, stream: str = "", device: Any = "cpu", **params: Any) -> torch.Tensor:
    """``sample(...)[index]``; only the slice is computed for element-wise schemes
    (structured ones are computed whole and sliced)."""
    dev = _device(device)
    plan, recipe, table = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    with torch.no_grad():
        return _generate(plan, recipe, table, dev, check_index(index, plan.shape))


def fill_slice_(tensor_shard: torch.Tensor, full_shape: Any, index: Any, scheme: str, *, layout: Any = None,
                seed: Any = 0, stream: str = "", **params: Any) -> torch.Tensor:
    """Fill ``tensor_shard`` in place with the slice ``index`` of the full tensor's portable
    values (dtype and device from the shard), e.g. the rows an FSDP/DTensor rank owns::

        rows = slice(rank * n // world, (rank + 1) * n // world)
        fill_slice_(local, (n, m), (rows,), "he_normal", seed=0, stream="encoder.0.weight")
    """
    if not isinstance(tensor_shard, torch.Tensor):
        raise TypeError(
            f"Argument `tensor_shard` must be a torch.Tensor. Received: tensor_shard={tensor_shard!r}"
        )
    dtype = str(tensor_shard.dtype).replace("torch.", "")
    plan, recipe, table = prepare(scheme, full_shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    norm = check_index(index, plan.shape)
    if tuple(tensor_shard.shape) != slice_shape(norm):
        raise ValueError(
            f"Argument `tensor_shard` has shape {tuple(tensor_shard.shape)} but the slice {index!r} of "
            f"{plan.shape} has shape {slice_shape(norm)}. "
            f"Received: tensor_shard.shape={tuple(tensor_shard.shape)}"
        )
    with torch.no_grad():
        tensor_shard.copy_(_generate(plan, recipe, table, tensor_shard.device, norm))
    return tensor_shard


def words(seed: Any = 0, stream: str = "", n: int | None = None, *, index: Any = None, draw: int = 0,
          device: Any = "cpu") -> torch.Tensor:
    """Raw words (int64 in ``[0, 2**32)``) ``0 .. n-1`` or at element indices ``index``."""
    dev = _device(device)
    ops = TorchOps(dev)
    kp = round_key_pairs(_keys(key_table(seed, stream), dev))
    if index is not None:
        return words_at(ops, kp, draw, torch.as_tensor(np.asarray(index, dtype=np.int64), device=dev))
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise TypeError(f"Argument `n` must be a non-negative int. Received: n={n!r}")
    return words_full(ops, kp, draw, n)


def to_numpy(x: Any) -> np.ndarray:
    if x.dtype == torch.bfloat16:
        x = x.float()
    return x.detach().cpu().numpy()


def device_available(device: str) -> tuple[bool, str]:
    if device == "cpu":
        return True, ""
    if device == "gpu":
        return (True, "") if torch.cuda.is_available() else (False, "torch.cuda.is_available() is False")
    return False, f"unknown device {device!r}"


def device_of(x: Any) -> str:
    return "gpu" if x.device.type == "cuda" else "cpu"


def versions() -> dict[str, str]:
    return {"torch": torch.__version__}


def bench_cases(device: str | None = None) -> list[BenchCase]:
    """Portable normal (4096x4096 float32, compiled on CPU) vs ``torch.randn``; target: at least
    half the native speed (``min_speedup=0.5`` means native_time / ours_time >= 0.5)."""
    shape = (4096, 4096)
    cases = []
    for device in ("cpu", "gpu") if device is None else (device,):
        if not device_available(device)[0]:
            continue
        dev = _device(device)
        sync = (lambda r: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda r: r)
        cases.append(BenchCase(
            backend="portable-torch",
            label=f"portable normal {shape[0]}x{shape[1]} float32 (min_speedup=0.5)",
            ours=lambda device=device: sample("normal", shape, seed=0, stream="bench", device=device),
            native=lambda dev=dev: torch.randn(shape, device=dev), native_name="torch.randn",
            sync=sync, target=2.0, min_speedup=0.5, device=device,
        ))
    return cases

