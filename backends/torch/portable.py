"""The portable stream in PyTorch (imports only torch): bit-identical to the NumPy reference on
CPU and CUDA, and shard-invariant.

* :func:`sample` - the harness API plus ``stream=`` (see :mod:`initspec.backends.portable`);
* :func:`sample_slice` - ``sample(...)[index]`` computing only that slice (element-wise schemes);
* :func:`fill_slice_` - fill a shard in place (what an FSDP/DTensor rank owns) with its slice of
  the full tensor, without materialising the rest;
* :func:`words` - the raw 32-bit words (as int64), for cross-checks.

Element-wise schemes run the generator of :mod:`initspec.backends.torch._kernel`: on the CPU the
NumPy reference's chunked generator (shared memory, no compile), or, opted in with
``INITSPEC_PORTABLE_COMPILE=1`` or :func:`prime_compiled`, one ``torch.compile``'d kernel for every
shape (15-30 s to compile once per process; then about 1.5-2x ``torch.randn`` on 4096x4096).
Structured schemes run the spec's generic rules on
:class:`~initspec.backends.torch._primitives.PortableTorch`. CUDA runs eagerly (Triton's float32
division is approximate), about 12 ms for 4096x4096 on an H200, vs 0.1 ms for ``torch.randn``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from initspec.distributions import Plan

from .._bench import BenchCase, portable_normal_cases
from ..portable._spec import (
    PortableRng,
    Recipe,
    check_index,
    key_table,
    logical_shape,
    prepare,
    round_key_pairs,
    sample_structured,
    slice_shape,
    to_physical,
    words_at,
    words_full,
)
from ._common import DEFAULT_LAYOUT, DTYPES, to_numpy
from ._kernel import (
    _COMPILE_FAILED,  # noqa: F401 - the compile fallback's record, read by tests
    COMPILE_MIN_ELEMENTS,
    TorchOps,
    _index_grid,
    _keys,
    compile_enabled,
    compile_on_demand,
    prime_compiled,
    run_at,
    run_full,
)
from ._primitives import PortableTorch

__all__ = [
    "COMPILE_MIN_ELEMENTS", "DEFAULT_LAYOUT", "PortableTorch", "TorchOps", "bench_cases", "compile_enabled",
    "compile_on_demand", "device_available", "device_of", "fill_slice_", "prime_compiled", "run_at", "run_full",
    "sample", "sample_into_", "sample_slice", "to_numpy", "versions", "words",
]


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


# -- public API ---------------------------------------------------------------------------------


def _finish(re: torch.Tensor, im: torch.Tensor | None, plan: Plan, recipe: Recipe,
            shape: tuple[int, ...]) -> torch.Tensor:
    dt = DTYPES[plan.dtype]
    if im is not None:
        return torch.complex(re, im).to(dt).reshape(shape)
    out = re.to(dt)
    if recipe.post_clip is not None:
        out = torch.clamp(out, recipe.post_clip[0], recipe.post_clip[1])
    return out.reshape(shape)


def _elementwise_view(plan: Plan, recipe: Recipe, keys: torch.Tensor) -> torch.Tensor:
    """The whole tensor of an element-wise recipe, generated in the stream's logical order and
    returned as a view in the physical axis order (not contiguous when the two orders differ)."""
    re, im = run_full(recipe.kind, recipe.draws, keys, recipe.params, plan.size)
    out = _finish(re, im, plan, recipe, logical_shape(plan.shape, recipe.order))
    return out if recipe.order is None else out.permute(to_physical(recipe.order))


def _generate(plan: Plan, recipe: Recipe, table: np.ndarray, dev: torch.device,
              norm: tuple | None) -> torch.Tensor:
    shape = plan.shape if norm is None else slice_shape(norm)
    keys = _keys(table, dev)
    if recipe.kind == "constant":
        return torch.full(shape, plan.value, dtype=DTYPES[plan.dtype], device=dev)
    if not recipe.elementwise:
        full = sample_structured(PortableTorch(dev), PortableRng(keys), plan, recipe)
        return full if norm is None else full[tuple(slice(*s) for s in norm)].contiguous()
    if norm is None:  # generated in logical order, then laid out physically
        return _elementwise_view(plan, recipe, keys).contiguous()
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
        if dev.type == "cpu" and plan.dtype == "float32":
            from .. import portable as reference

            if reference.host_fillable(plan, recipe):  # the compiled kernel writes the new tensor's memory
                out = torch.empty(plan.shape, dtype=torch.float32)
                reference.generate_into(plan, recipe, table, out.numpy())
                return out
        return _generate(plan, recipe, table, dev, None)


def sample_into_(tensor: torch.Tensor, scheme: str, *, layout: Any = None, dtype: Any = "float32", seed: Any = 0,
                 stream: str = "", **params: Any) -> torch.Tensor:
    """``tensor.copy_(sample(scheme, tensor.shape, dtype=dtype, device=tensor.device, ...))`` without
    the intermediate copy: a CPU float32 tensor is written by the compiled kernel straight into its
    memory where the layout allows (:func:`initspec.backends.portable.fill_physical`), else the
    values are permuted into ``tensor`` in one copy. Returns ``tensor``."""
    from .. import portable as reference  # the framework-free generator (lazy, as _kernel's fallback)

    plan, recipe, table = prepare(scheme, tuple(tensor.shape), layout, DEFAULT_LAYOUT, dtype, seed, stream, params)
    with torch.no_grad():
        if (tensor.device.type == "cpu" and tensor.dtype == torch.float32 and not tensor.is_conj()
                and not tensor.is_neg() and reference.fill_physical(plan, recipe, table, tensor.detach().numpy())):
            return tensor
        if recipe.elementwise and recipe.kind != "constant":
            return tensor.copy_(_elementwise_view(plan, recipe, _keys(table, tensor.device)))
        return tensor.copy_(_generate(plan, recipe, table, tensor.device, None))


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


def device_available(device: str) -> tuple[bool, str]:
    """(available, reason if not) for ``"cpu"`` and ``"gpu"``."""
    if device == "cpu":
        return True, ""
    if device == "gpu":
        return (True, "") if torch.cuda.is_available() else (False, "torch.cuda.is_available() is False")
    return False, f"unknown device {device!r}"


def device_of(x: Any) -> str:
    """``"gpu"`` for CUDA tensors, else ``"cpu"``."""
    return "gpu" if x.device.type == "cuda" else "cpu"


def versions() -> dict[str, str]:
    """The framework version (``{"torch": ...}``)."""
    return {"torch": torch.__version__}


def _bench_sample(shape: tuple[int, ...], where: str) -> torch.Tensor:
    """The bench's portable normal; on the CPU through the compiled kernel (compiled on the
    first call, which a bench's warm-up absorbs)."""
    if where == "cpu":
        prime_compiled("normal", (0,))
    return sample("normal", shape, seed=0, stream="bench", device=where)


def bench_cases(device: str | None = None) -> list[BenchCase]:
    """Portable normal (compiled kernel on the CPU) vs ``torch.randn``
    (:func:`initspec.backends._bench.portable_normal_cases`)."""

    def make(where: str, shape: tuple[int, ...]) -> Any:
        dev = _device(where)
        sync = (lambda r: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda r: r)
        return (lambda: _bench_sample(shape, where)), (lambda: torch.randn(shape, device=dev)), sync

    return portable_normal_cases("torch", "torch.randn", device, device_available, make)
