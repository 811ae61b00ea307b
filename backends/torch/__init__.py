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

Submodules, by concern (each imports only torch and the framework-free layers below it):

* :mod:`~initspec.backends.torch.inplace` - :func:`initialize_` and the ``NAME_`` functions;
* :mod:`~initspec.backends.torch.nn_init` - a drop-in ``torch.nn.init`` (torch's names, signatures,
  defaults and semantics, on the spec's samplers; differences in ``docs/drop-in.md``);
* :mod:`~initspec.backends.torch.models` - :func:`init_module_` and :func:`layout_for_module`;
* :mod:`~initspec.backends.torch.fills` - the exact truncated-normal and uniform fills;
* :mod:`~initspec.backends.torch._primitives` - :class:`TorchBackend` and its portable-stream
  subclass, the primitives of the shared sampler (:mod:`initspec.backends._core`);
* :mod:`~initspec.backends.torch.portable` - the portable stream in torch ops (generator in
  :mod:`~initspec.backends.torch._kernel`);
* :mod:`~initspec.backends.torch.dtensor` - DTensor/FSDP2 shard-by-shard fills;
* :mod:`~initspec.backends.torch.harness` and :mod:`~initspec.backends.torch.bench` - the harness API
  and the benchmarks against ``torch.nn.init``.
"""

from __future__ import annotations

from . import nn_init, portable
from ._common import DEFAULT_LAYOUT, spec_dtype_of, to_numpy, torch_device, torch_dtype
from ._primitives import PortableTorch, TorchBackend
from .bench import BENCH_SHAPES, ORTHOGONAL_BENCH_SHAPES, TRUNC_MIN_SPEEDUP, bench_cases
from .dtensor import dtensor_local_slice
from .fills import (
    ERFINV_MAX_Z,
    NORMAL_SAMPLER_MAX_Z,
    REJECTION_MIN_ACCEPTANCE,
    SYNC_FREE_INVERSE_CDF_DEVICES,
    closed_low,
    fill_truncated_normal_,
    fill_uniform_,
    normal_mass,
    open_interval_bounds,
    reject_mask,
    uniform_bounds,
)
from .harness import device_available, device_name, device_of, sample, versions
from .inplace import (
    INPLACE,
    InplaceInit,
    constant_,
    delta_orthogonal_,
    dirac_,
    glorot_normal_,
    glorot_truncated_normal_,
    glorot_uniform_,
    he_normal_,
    he_truncated_normal_,
    he_uniform_,
    identity_,
    initialize_,
    lecun_normal_,
    lecun_truncated_normal_,
    lecun_uniform_,
    normal_,
    ones_,
    orthogonal_,
    plan_for,
    sparse_,
    truncated_normal_,
    truncated_normal_abs_,
    uniform_,
    variance_scaling_,
    zeros_,
)
from .models import init_module_, layout_for_module

__all__ = [
    "BENCH_SHAPES", "DEFAULT_LAYOUT", "ERFINV_MAX_Z", "INPLACE", "NORMAL_SAMPLER_MAX_Z",
    "ORTHOGONAL_BENCH_SHAPES", "REJECTION_MIN_ACCEPTANCE", "SYNC_FREE_INVERSE_CDF_DEVICES",
    "TRUNC_MIN_SPEEDUP", "InplaceInit", "PortableTorch", "TorchBackend", "bench_cases", "closed_low",
    "constant_", "delta_orthogonal_", "device_available", "device_name", "device_of", "dirac_", "dtensor_local_slice",
    "fill_truncated_normal_", "fill_uniform_", "glorot_normal_", "glorot_truncated_normal_",
    "glorot_uniform_", "he_normal_", "he_truncated_normal_", "he_uniform_", "identity_", "init_module_",
    "initialize_", "layout_for_module", "lecun_normal_", "lecun_truncated_normal_", "lecun_uniform_",
    "nn_init", "normal_", "normal_mass", "ones_", "open_interval_bounds", "orthogonal_", "plan_for", "portable",
    "reject_mask", "sample", "sparse_", "spec_dtype_of", "to_numpy", "torch_device", "torch_dtype",
    "truncated_normal_", "truncated_normal_abs_", "uniform_", "uniform_bounds", "variance_scaling_",
    "versions", "zeros_",
]
