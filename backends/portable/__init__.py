"""Portable, shard-invariant initialization: the same values from NumPy, PyTorch, TensorFlow and
JAX, on CPU and GPU, for any slice of a tensor generated alone.

Native generators differ (torch's mt19937/Philox, TF's Philox/Threefry, JAX's threefry, NumPy's
PCG64), so the same seed gives different weights in each framework and a model ported between
them cannot start from the same point. The *portable stream* is a counter-based generator that
every backend runs with its own tensor ops (this package holds the framework-free spec and the
NumPy reference; ``initspec.backends.torch.portable``/``tensorflow.portable``/``jax.portable`` the adapters, each
importing only its framework).

**The stream** (version 2 = version 1's words + logical element order):

* *Key.* ``(seed, stream)`` with ``0 <= seed < 2**64`` and ``stream`` any ``str`` (the
  parameter's path in the model, e.g. ``"encoder.0.weight"``) gives the 64-bit Philox key
  ``k = first 8 bytes, little-endian, of SHA-256(KEY_DOMAIN + seed as 8 little-endian bytes +
  UTF-8 stream)``, computed in Python (:func:`stream_key`). A tensor's values depend only on its
  seed and name, never on the order in which tensors are initialised.
* *Words.* Word ``i`` of draw ``d`` is lane ``i mod 4`` of Philox-4x32-10 (Salmon et al. 2011;
  :mod:`._philox`) of counter ``(b mod 2**32, b div 2**32, d, 0)``, ``b = i div 4``, under key
  ``(k mod 2**32, k div 2**32)``. Element ``i`` uses word ``i`` of each draw it needs (draw 0;
  complex values also draw 1), so any slice can be generated on its own and equals that slice
  of the whole tensor (:func:`sample_slice`).
* *Element order.* ``i`` is the C-order index in the tensor's *logical* order
  ``(*batch, *out, *in, *receptive)`` of its layout (torch's order; :func:`._spec.logical_order`),
  not in its physical order. One stream therefore gives one logical weight in every framework:
  a Keras/Flax ``Dense`` kernel ``(in, out)`` is exactly the transpose of the torch ``Linear``
  weight ``(out, in)``, a Keras/Flax conv kernel ``(kh, kw, in, out)`` the permutation of
  torch's ``(out, in, kh, kw)``, and a Keras ``Conv2DTranspose`` kernel that of torch's
  ``ConvTranspose2d`` weight. Structured schemes are sampled on that logical kernel too. Without
  a layout (``fans=`` given, rank < 2) the physical order is used.
* *Floats* (float32, IEEE round-to-nearest, constants rounded to float32; :mod:`._spec`):
  ``U = (w >> 8) 2**-24`` in ``[0, 1)`` (exact); ``V = (2 (w >> 9) + 1) 2**-24`` in ``(0, 1)``,
  symmetric about 1/2 (exact); normal ``z = ndtri(V)`` (Acklam's rational inverse CDF on
  ``min(V, 1 - V)`` with a bit-level ``logf``); a normal truncated to ``(a, b)`` std units is
  ``ndtri(Phi(a) + V (Phi(b) - Phi(a)))`` with the interval mirrored below 0 first (inverse CDF
  on the truncated interval, no rejection, so the element-to-word map stays 1:1); ``uniform =
  low + (high - low) U``; complex gaussian = two normals (draws 0, 1); complex disk/truncated
  modulus = radius from draw 0 and a uniform angle from draw 1 (an octant angle by Taylor
  polynomials plus the 8 symmetries of the square). Values are then ``z * std + mean`` and
  clamped inside open bounds. Other dtypes are the float32 values cast (float16/bfloat16 clamped
  again inside the bounds; float64/complex128 hold float32-precision values).
* *Structured schemes* (orthogonal, delta_orthogonal, sparse) use the generic
  :func:`initspec.backends._core.sample` with the portable stream as RNG, on the logical kernel
  in torch's order (then transposed to the layout): the Gaussian matrix
  ``(batch, max(rows, cols), min(rows, cols))`` is portable element by element, but QR is
  computed whole by each framework's LAPACK/cuSOLVER, so these agree across backends only to
  rounding (not bit for bit) and are **not shard-local**: :func:`sample_slice` computes the
  whole tensor and slices it. Deterministic schemes (zeros, ones, constant, identity, dirac)
  are identical everywhere.

Limits (documented, all tested): a normal's magnitude is at most ``ndtri(2**-24) = 5.3`` std
(probability 1e-7 lost in the tails), a truncated normal resolves ``2**23`` probability levels
of its interval, and truncations holding less probability than float32 resolves are refused.
JAX indexes elements with uint32 (tensors up to 2**32 elements).

**Measured agreement** (``initspec portable check``, every scheme of the table plus complex64,
float16 and float64 variants, 98 304 elements each; 2026-11-29):

* words: bit-identical in NumPy, torch, TensorFlow and JAX, on CPU and on an H200 GPU (torch
  CUDA, JAX CUDA), also at element indices up to 2**40;
* CPU (torch 2.13 and 2.11, TF 2.21, JAX 0.10.2 and 0.11.2): every element-wise and
  deterministic scheme bit-identical (0 ulp) to NumPy;
* GPU: torch CUDA bit-identical; JAX CUDA uniform-based schemes bit-identical, normal-based ones
  within 2-4 ulp (max 4 ulp, 9.5e-7 absolute on a (3, 5)-truncated normal; was 6 ulp before
  division and sqrt were moved to float64 there);
* orthogonal/delta_orthogonal: within 2.2e-7 absolute (QR differs by rounding).
* 2026-11-30 (CPU, after the logical element order and the in-kernel JAX fence): unchanged, 0
  ulp on every element-wise scheme and on the cross-layout rows (a torch-layout tensor against
  the Keras-layout reference, transposed). The GPU figures above predate both changes; neither
  changes a value's arithmetic, only which word it uses (``scripts/portable_gpu_diag.py`` in
  the GPU check set locates the step that differs on a JAX GPU).

**Idiomatic APIs.** The same stream through each adapter's own API (``stream=``; ``seed=None``
means 0): torch ``he_normal_(w, stream=..., seed=...)`` and ``init_module_(model, portable=True)``
(streams named by ``named_parameters()``), Keras ``HeNormal(stream=..., seed=...)`` (serialised
with the stream) and ``init_model(model, portable=True)`` (``variable.path``), JAX
``he_normal(stream=..., seed=...)`` (``key`` ignored; works under ``jax.jit`` and
``out_shardings``) and ``init_tree(params)`` (pytree paths).

Frameworks needed care to get there (see each adapter): torch's float32 CPU ``sqrt`` is not
correctly rounded (float64 used), XLA fuses ``a * b + c`` into FMAs (a contraction fence, kept unfoldable even inside a caller's
``jax.jit``), and
XLA's float32 division and sqrt on GPU are not correctly rounded (float64 there).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

import numpy as np
from initspec.distributions import Plan
from initspec.errors import unknown

from .. import BackendUnavailable
from ..numpy._device import bench_cases, device_available, device_of, to_numpy, versions
from ..numpy._primitives import NumpyBackend, np_dtype
from . import _cfill
from ._philox import KNOWN_ANSWERS, MASK32, philox4x32_10
from ._spec import (
    SEED_LIMIT,
    FloatOps,
    PortableRng,
    Recipe,
    check_index,
    check_seed,
    check_stream,
    compute,
    element_strides,
    key_table,
    logical_shape,
    normal_rng_params,
    prepare,
    round_key_pairs,
    sample_structured,
    slice_shape,
    stream_key,
    to_physical,
    uniform_params,
    words_at,
    transform,
    words_range,
)

__all__ = [
    "DEFAULT_LAYOUT", "KNOWN_ANSWERS", "SEED_LIMIT", "NumpyOps", "bench_cases", "check_seed",
    "check_stream", "device_available", "device_name", "device_of", "key_table", "philox4x32_10", "sample",
    "sample_slice", "stream_key", "to_numpy", "versions", "words",
]

DEFAULT_LAYOUT = "keras"


class NumpyOps(FloatOps):
    """The reference vocabulary: words in uint64 arrays holding values below 2**32 (so the
    Philox products are exact without conversions), float32 arithmetic, and a bitwise ``where``."""

    def mulhilo(self, a, m):
        p = np.multiply(np.asarray(a, dtype=np.uint64), np.uint64(m))
        hi = np.right_shift(p, np.uint64(32))
        return hi, np.bitwise_and(p, np.uint64(MASK32), out=p if p.ndim else None)

    def xor(self, a, b):
        return np.bitwise_xor(a, b)

    def shr(self, a, n):
        return np.right_shift(a, n)

    def band(self, a, m):
        return np.bitwise_and(a, m)

    def to_f32(self, a):
        return np.asarray(a).astype(np.float32)

    def frexp(self, x):
        return np.frexp(np.asarray(x, dtype=np.float32))

    def sqrt(self, x):
        return np.sqrt(x)

    def where(self, c, x, y):
        return _where(c, _f32_scalar(x), _f32_scalar(y))

    def on_subset(self, cond, fn, *args):
        if not (isinstance(cond, np.ndarray) and cond.ndim and all(np.shape(a) == cond.shape for a in args)):
            return fn(*args)
        at = np.flatnonzero(cond)
        outs = []
        for part in fn(*(a.reshape(-1)[at] for a in args)):
            full = np.ones(cond.shape, dtype=part.dtype)  # unspecified elements: 1 (a harmless divisor)
            full.reshape(-1)[at] = part
            outs.append(full)
        return tuple(outs)

    def minimum(self, x, y):
        return np.minimum(x, y)

    def maximum(self, x, y):
        return np.maximum(x, y)

    def iota(self, n):
        return np.arange(n, dtype=np.uint32)

    def interleave(self, lanes, n):
        return np.stack(lanes, axis=-1).reshape(-1)[:n].astype(np.uint32)

    def block_of(self, idx):
        b = np.asarray(idx, dtype=np.uint64) >> np.uint64(2)
        return (b & np.uint64(0xFFFFFFFF)).astype(np.uint32), (b >> np.uint64(32)).astype(np.uint32)


def _f32_scalar(x: Any) -> Any:
    """Python floats as float32 (``np.where`` would promote them to float64)."""
    return np.float32(x) if isinstance(x, float) else x


#: per thread, the uint32 blend masks of the last few conditions (the transforms select many
#: coefficients by the same region masks); each entry keeps its condition alive, so an ``id`` is
#: never reused while it is memoised
_MASKS = threading.local()
_MASK_MEMO = 4


def _blend_mask(c: np.ndarray) -> np.ndarray:
    """``0xFFFFFFFF`` where ``c`` else 0 (uint32), memoised for the last :data:`_MASK_MEMO` conditions."""
    memo: dict[int, tuple[np.ndarray, np.ndarray]] = _MASKS.__dict__.setdefault("memo", {})
    hit = memo.get(id(c))
    if hit is not None and hit[0] is c:
        return hit[1]
    mask = c.view(np.uint8).astype(np.uint32)
    np.negative(mask, out=mask)
    if len(memo) >= _MASK_MEMO:
        memo.pop(next(iter(memo)))
    memo[id(c)] = (c, mask)
    return mask


def _where(c: Any, x: Any, y: Any) -> Any:
    """``np.where(c, x, y)`` for float32 operands as a branch-free bit blend
    ``y ^ ((x ^ y) & -c)`` on the uint32 bit patterns: the same bits, several times faster than
    ``np.where`` on the unpredictable masks of the transforms (NumPy 2.x)."""
    if not (isinstance(c, np.ndarray) and c.dtype == np.bool_ and c.ndim and np.result_type(x, y) == np.float32
            and np.shape(x) in ((), c.shape) and np.shape(y) in ((), c.shape)):
        return np.where(c, x, y)
    xb = np.asarray(x, dtype=np.float32).view(np.uint32)
    yb = np.asarray(y, dtype=np.float32).view(np.uint32)
    out = np.bitwise_and(np.bitwise_xor(xb, yb), _blend_mask(c))
    return np.bitwise_xor(out, yb, out=out).view(np.float32)


OPS = NumpyOps()
#: elements per chunk of a whole-tensor generator: the temporaries of one chunk stay in the CPU's
#: L2 cache, which makes the transforms' ~100 passes several times faster than over whole tensors,
#: and bounds the extra memory to a few MiB whatever the tensor size (a multiple of LANES)
CHUNK = 2**16


def run_full(kind: str, draws: tuple[int, ...], keys: list[tuple[Any, Any]], prm: dict[str, Any],
             n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """float32 values ``(re, im | None)`` of elements ``0 .. n-1`` of an element-wise recipe,
    generated chunk by chunk (:data:`CHUNK`) into the output: the same values as
    :func:`._spec.compute` over the whole range (each element depends only on its index)."""
    re = np.empty(n, dtype=np.float32)
    im = np.empty(n, dtype=np.float32) if len(draws) > 1 else None
    if im is None and _cfill.fill(kind, np.asarray(keys, dtype=np.uint32), draws[0], 0, prm, re):
        return re, None  # the compiled kernel: the same values, in place, no temporaries
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        r, i = transform(OPS, kind, tuple(words_range(OPS, keys, d, start, m) for d in draws), prm)
        re[start:start + m] = r
        if i is not None:
            if im is None:  # pragma: no cover - a one-draw recipe with an imaginary part
                raise AssertionError(kind)
            im[start:start + m] = i
    return re, im


def fill_physical(plan: Plan, recipe: Recipe, table: np.ndarray, out: np.ndarray) -> bool:
    """Write the whole tensor's values into ``out`` (a float32 array of ``plan.shape``, e.g. a
    framework tensor's memory) with the compiled kernel and return True, where it applies: a real
    one-draw element-wise float32 plan without a post-clamp, whose logical order is the physical
    one (``out`` C-contiguous), or whose logical rows are contiguous in ``out`` (a 2-D transpose,
    also a block of a wider matrix; a ``(kh, kw, in, out)`` conv kernel: see
    :func:`._cfill.fill_columns`); else False and ``out`` is untouched (the caller generates as
    usual). The values are :func:`_generate`'s, bit for bit."""
    if (not recipe.elementwise or recipe.kind not in _cfill.KINDS or len(recipe.draws) != 1 or plan.dtype != "float32"
            or recipe.post_clip is not None or out.dtype != np.float32 or out.shape != plan.shape
            or not out.flags.writeable or not _cfill.available()):
        return False
    table = np.asarray(table, dtype=np.uint32)
    if recipe.order is None and out.flags.c_contiguous:
        return _cfill.fill(recipe.kind, table, recipe.draws[0], 0, recipe.params, out.reshape(-1))
    logical = out if recipe.order is None else out.transpose(np.argsort(to_physical(recipe.order)))
    if out.size and logical.strides[0] == 4 and all(st >= 0 and st % 4 == 0 for st in logical.strides):
        return _cfill.fill_columns(recipe.kind, table, recipe.draws[0], recipe.params, logical)
    return False


def host_fillable(plan: Plan, recipe: Recipe) -> bool:
    """Whether :func:`generate_into` runs the compiled kernel for ``plan``: a real one-draw
    element-wise float32 recipe without a post-clamp, with the kernel built (and not turned off)."""
    return (recipe.elementwise and recipe.kind in _cfill.KINDS and len(recipe.draws) == 1
            and plan.dtype == "float32" and recipe.post_clip is None and _cfill.available())


def generate_into(plan: Plan, recipe: Recipe, table: np.ndarray, out: np.ndarray) -> None:
    """Write the whole tensor of a :func:`host_fillable` plan into ``out`` (a writeable
    C-contiguous float32 array of ``plan.shape``): in place where the layout allows
    (:func:`fill_physical`), else generated in the stream's logical order and permuted into ``out``
    in one copy (peak: ``out`` plus one tensor). The values are :func:`_generate`'s, bit for bit."""
    if not host_fillable(plan, recipe) or out.dtype != np.float32 or out.shape != plan.shape:
        raise ValueError(f"generate_into needs a host-fillable float32 plan and an out array of its shape. "
                         f"Received: plan={plan.scheme.name!r} {plan.dtype} {plan.shape}, out={out.dtype} {out.shape}")
    if fill_physical(plan, recipe, table, out):
        return
    re, _ = run_full(recipe.kind, recipe.draws, _keys(table), recipe.params, plan.size)
    logical = re.reshape(logical_shape(plan.shape, recipe.order))
    np.copyto(out, logical if recipe.order is None else logical.transpose(to_physical(recipe.order)))


#: the alignment (bytes) of the host arrays :func:`host_array` makes: XLA's CPU client and TensorFlow
#: adopt a host buffer without copying only when it is aligned this way (``xla::cpu::MinAlign()``,
#: ``EIGEN_MAX_ALIGN_BYTES``; measured: a 16-byte-aligned NumPy array is copied by ``jax.device_put``
#: and aborts TF's ``IsAligned()`` check through dlpack, a 64-byte-aligned one is shared)
ALIGN = 64


def aligned_empty(shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` (float32 by default) whose
    data (if any) starts on a multiple of :data:`ALIGN` bytes."""
    dt = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    raw = np.empty(nbytes + ALIGN, dtype=np.uint8)
    offset = (-raw.ctypes.data) % ALIGN
    return raw[offset:offset + nbytes].view(dt).reshape(shape)


def host_array(plan: Plan, recipe: Recipe, table: np.ndarray) -> np.ndarray | None:
    """The whole tensor of a :func:`host_fillable` plan in a new :data:`ALIGN`-aligned float32
    array (for a framework to adopt without a copy), else None."""
    if not host_fillable(plan, recipe):
        return None
    out = aligned_empty(plan.shape)
    generate_into(plan, recipe, table, out)
    return out


def _keys(table: np.ndarray) -> list[tuple[Any, Any]]:
    return round_key_pairs(np.asarray(table, dtype=np.uint32))


def _index_grid(norm: tuple[tuple[int, int, int], ...], shape: tuple[int, ...],
                order: tuple[int, ...] | None) -> np.ndarray:
    """Element indices (uint64, in the stream's logical order) of the slice ``norm`` of ``shape``."""
    idx = np.zeros(slice_shape(norm), dtype=np.uint64)
    for axis, ((start, stop, step), st) in enumerate(zip(norm, element_strides(shape, order))):
        r = np.arange(start, stop, step, dtype=np.uint64) * np.uint64(st)
        idx = idx + r.reshape([-1 if a == axis else 1 for a in range(len(shape))])
    return idx


def _finish(re: np.ndarray, im: np.ndarray | None, plan: Plan, recipe: Recipe,
            shape: tuple[int, ...]) -> np.ndarray:
    """float32 values -> ``plan.dtype`` of ``shape`` (complex assembly, cast, low-precision clamp)."""
    dt = np_dtype(plan.dtype)
    if im is not None:
        out = np.empty(re.shape, dtype=np.complex64)
        out.real, out.imag = re, im
        return out.astype(dt).reshape(shape)
    out = re.astype(dt, copy=False)  # float32 values stay in place (no copy)
    if recipe.post_clip is not None:
        out = np.clip(out, dt(recipe.post_clip[0]), dt(recipe.post_clip[1]))
    return out.reshape(shape)


class PortableNumpy(NumpyBackend):
    """NumPy primitives whose RNG is the portable stream (for the structured schemes)."""

    name = "portable-numpy"
    # the native reference's chunked paths draw from a numpy Generator; the portable stream has its own
    fast_normal = None
    fast_uniform = None
    fast_truncated_normal = None

    def split(self, rng: PortableRng, n: int) -> list[PortableRng]:
        return rng.children(n)

    def _draw(self, rng: PortableRng, shape: tuple[int, ...], kind: str, prm: dict[str, float]) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64))
        return run_full(kind, (rng.draw,), _keys(rng.keys), prm, n)[0].reshape(shape)

    def normal(self, rng, shape, dtype):
        return self._draw(rng, shape, "normal", normal_rng_params()).astype(np_dtype(dtype))

    def uniform(self, rng, shape, dtype, low, high):
        return self._draw(rng, shape, "uniform", uniform_params(low, high)).astype(np_dtype(dtype))

    def truncated_normal(self, rng, shape, dtype, a, b):
        return self._draw(rng, shape, "normal", normal_rng_params(a, b)).astype(np_dtype(dtype))


PRIMITIVES = PortableNumpy()


def _generate(plan: Plan, recipe: Recipe, keys: np.ndarray, norm: tuple | None) -> np.ndarray:
    """Values of the whole tensor (``norm is None``) or of the normalised slice ``norm``."""
    shape = plan.shape if norm is None else slice_shape(norm)
    np_dtype(plan.dtype)
    if recipe.kind == "constant":
        return np.full(shape, plan.value, dtype=np_dtype(plan.dtype))
    if not recipe.elementwise:
        full = np.asarray(sample_structured(PRIMITIVES, PortableRng(keys), plan, recipe))
        return full if norm is None else full[tuple(slice(*s) for s in norm)]
    if norm is None:  # generated in logical order, then laid out physically
        direct = np.empty(plan.shape, dtype=np.float32) if plan.dtype == "float32" else None
        if direct is not None and fill_physical(plan, recipe, keys, direct):
            return direct
        re, im = run_full(recipe.kind, recipe.draws, _keys(keys), recipe.params, plan.size)
        out = _finish(re, im, plan, recipe, logical_shape(plan.shape, recipe.order))
        return out if recipe.order is None else np.ascontiguousarray(out.transpose(to_physical(recipe.order)))
    idx = _index_grid(norm, plan.shape, recipe.order)
    re, im = compute(OPS, recipe.kind, recipe.draws, _keys(keys), recipe.params, idx=idx)
    return _finish(re, im, plan, recipe, shape)


def sample(scheme: str, shape: Any, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
           stream: str = "", device: str = "cpu", **params: Any) -> np.ndarray:
    """The portable values of ``scheme`` for a weight of ``shape`` (NumPy reference).

    Same arguments as the harness API of :mod:`initspec.backends` plus ``stream`` (the name that
    selects the tensor's own stream, e.g. its parameter path); ``layout=None`` is ``"keras"``.
    """
    _check_device(device)
    plan, recipe, keys = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    return _generate(plan, recipe, keys, None)


def sample_slice(scheme: str, shape: Any, *, index: Any, layout: Any = None, dtype: Any = "float32",
                 seed: Any = 0, stream: str = "", device: str = "cpu", **params: Any) -> np.ndarray:
    """``sample(...)[index]``, computing only the slice for element-wise schemes.

    ``index`` is a tuple of slices (non-negative, in range, ``step >= 1``; missing trailing axes
    are whole). Structured schemes are computed whole and sliced (not shard-local).
    """
    _check_device(device)
    plan, recipe, keys = prepare(scheme, shape, layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    return _generate(plan, recipe, keys, check_index(index, plan.shape))


def words(seed: Any = 0, stream: str = "", n: int | None = None, *, index: Any = None, draw: int = 0,
          device: str = "cpu") -> np.ndarray:
    """The raw uint32 words ``0 .. n-1`` (or at the element indices ``index``) of a stream."""
    _check_device(device)
    keys = _keys(key_table(seed, stream))
    if index is not None:
        return words_at(OPS, keys, draw, np.asarray(index, dtype=np.uint64)).astype(np.uint32)
    n = _check_n(n)
    out = np.empty(n, dtype=np.uint32)
    for start in range(0, n, CHUNK):
        out[start:start + CHUNK] = words_range(OPS, keys, draw, start, min(CHUNK, n - start))
    return out


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise TypeError(f"Argument `n` must be a non-negative int. Received: n={n!r}")
    return int(n)


def _check_device(device: str) -> None:
    if device != "cpu":
        raise ValueError(f"The NumPy portable reference runs on the CPU only. Received: device={device!r}")


def load(backend: str):
    """The portable module of ``backend`` (``numpy``, ``torch``, ``tensorflow``, ``jax``),
    raising :class:`initspec.backends.BackendUnavailable` when its framework is missing."""
    from initspec import registry

    fw = registry.get(backend)
    if fw.portable is None:
        raise unknown("backend", "backend", backend, [f.name for f in registry.frameworks().values() if f.portable])
    for module in fw.imports:
        try:
            importlib.import_module(module)
        except Exception as e:
            raise BackendUnavailable(
                f"Portable backend {backend!r} is unavailable: importing {module!r} failed "
                f"({type(e).__name__}: {e}). Install it with: {fw.install_hint}"
            ) from e
    return importlib.import_module(fw.portable)
