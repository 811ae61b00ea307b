"""The public in-place initializers: :func:`initialize_` and one ``NAME_`` function per scheme
``NAME`` of :data:`initspec.SCHEMES` (``he_normal_(w)``, ``orthogonal_(w)``, ``dirac_(w, groups=2)``...),
in the style of ``torch.nn.init``, with their argument checks.

The ``NAME_`` functions are module-level assignments (not injected into ``globals()``), so IDEs,
type checkers and linters see them; each is typed by :class:`InplaceInit`, and
``tests/backends/test_torch.py`` checks that they are exactly the schemes of the spec.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Protocol

import torch
from initspec.distributions import Plan, resolve
from initspec.errors import InitSpecError, check_shape
from initspec.schemes import SCHEMES

from .._core import Keyed
from .._core import sample as core_sample
from ..portable._spec import check_stream, portable_seed
from . import portable
from ._common import DEFAULT_LAYOUT, has_internal_overlap, spec_dtype_of
from ._primitives import TorchBackend
from .dtensor import dtensor_local_slice


class InplaceInit(Protocol):
    """The signature of every ``NAME_`` function (see :func:`initialize_` for the arguments)."""

    __name__: str

    def __call__(self, tensor: torch.Tensor, *, layout: Any = DEFAULT_LAYOUT, groups: int = 1, fans: Any = None,
                 generator: torch.Generator | None = None, stream: str | None = None, seed: int | None = None,
                 **params: Any) -> torch.Tensor: ...


# -- argument checks ---------------------------------------------------------------------------
def _check_tensor(tensor: Any) -> str:
    """Validate the target of an in-place initializer; return its spec dtype name."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"Argument `tensor` must be a torch.Tensor. Received: tensor={tensor!r}")
    if tensor.layout != torch.strided:
        raise TypeError(f"Argument `tensor` must be a dense (strided) tensor. Received: tensor with "
                        f"layout={tensor.layout}")
    name = spec_dtype_of(tensor.dtype)
    if not tensor.is_contiguous() and has_internal_overlap(tuple(tensor.shape), tensor.stride()):
        raise InitSpecError(
            "Argument `tensor` has internally overlapping memory (a view such as expand() or "
            "as_strided() where several elements share storage); its elements cannot hold independent "
            f"values. Received: tensor with shape={tuple(tensor.shape)}, stride={tensor.stride()}"
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


def _check_portable_args(generator: torch.Generator | None, stream: Any, seed: Any) -> int:
    """Validate ``stream``/``seed``/``generator`` together; the portable seed (None -> 0)."""
    if stream is None:
        if seed is not None:
            raise InitSpecError(
                "seed= selects the portable stream's seed; pass stream=..., or use generator= for "
                f"torch's generator. Received: seed={seed!r}, stream=None")
        return 0
    check_stream(stream)
    if generator is not None:
        raise InitSpecError(
            "Arguments `generator` and `stream` cannot be used together: stream= draws from the "
            "portable stream (seeded by seed=), generator= from torch's RNG. "
            f"Received: generator={generator!r}, stream={stream!r}")
    return portable_seed(seed)


# -- plans ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=512)
def _cached_plan(key: Keyed) -> Plan:
    scheme, shape, layout, dtype, groups, fans, params = key.args
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
    try:  # keyed by type and sign too: `gain=True` never hits the plan of `gain=1`
        key = Keyed(scheme, shape, layout, dtype, groups, fans, tuple(sorted(params.items())) if params else ())
    except TypeError:  # e.g. fans as a list, a Scheme object: resolve without the cache
        return _resolve(scheme, shape, layout, dtype, groups, fans, params)
    return _cached_plan(key)


# -- filling ---------------------------------------------------------------------------------------
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
    ``initspec.backends.torch.portable.sample`` and the NumPy, TensorFlow and JAX backends give for
    the same ``(seed, stream)``, scheme, logical layout and dtype, on CPU and GPU (structured
    schemes such as orthogonal agree to QR rounding). ``seed`` is an int in ``[0, 2**64)``; the
    portable stream is deterministic, so ``seed=None`` means 0. ``seed`` needs ``stream``, and
    ``generator`` cannot be combined with it."""
    dtype = _check_tensor(tensor)
    gen = _check_generator(generator)
    pseed = _check_portable_args(gen, stream, seed)
    plan = _plan(scheme, tuple(tensor.shape), layout, dtype, groups, fans, params)
    if tensor.is_meta:
        return tensor
    if stream is not None:
        return _fill_portable_(tensor, scheme, layout, dtype, groups, fans, params, pseed, stream)
    return fill_plan_(tensor, plan, gen)


def fill_plan_(tensor: torch.Tensor, plan: Plan, gen: torch.Generator | None) -> torch.Tensor:
    """Write ``plan``'s values into ``tensor`` (checked by :func:`_check_tensor`, not meta, of the
    plan's shape and dtype) from torch's RNG and return it: what :func:`initialize_` does once its
    arguments are validated and the plan resolved (``init_module_`` calls it with its report's plans)."""
    try:
        return _fill_(tensor, plan, gen)
    except RuntimeError as e:  # torch refuses a generator of another device at the first draw
        err = _generator_device_error(gen, tensor.device)
        if err is not None:
            raise err from e
        raise


def _fill_(tensor: torch.Tensor, plan: Plan, gen: torch.Generator | None) -> torch.Tensor:
    """Write ``plan``'s values into ``tensor`` (validated, not meta) and return it."""
    # autograd only records in-place ops on tensors that require grad (Parameters, their views)
    with torch.no_grad() if tensor.requires_grad else contextlib.nullcontext():
        values = core_sample(TorchBackend(tensor.device, tensor), gen, plan)
        if values is not tensor:
            tensor.copy_(values)
    return tensor


def _fill_portable_(tensor: torch.Tensor, scheme: Any, layout: Any, dtype: str, groups: int, fans: Any,
                    params: dict[str, Any], seed: int, stream: str) -> torch.Tensor:
    """Copy the portable stream's values of ``(seed, stream)`` into ``tensor`` (validated, not meta).

    A ``DTensor`` (FSDP2, tensor parallel) is filled shard by shard: each rank computes only the
    global slice its local tensor holds, equal to that slice of the whole tensor, with no
    communication."""
    local = dtensor_local_slice(tensor)
    if local is not None:
        shard, index = local
        portable.fill_slice_(shard, tuple(tensor.shape), index, scheme, layout=layout, seed=seed, stream=stream,
                             groups=groups, fans=fans, **params)
        return tensor
    with torch.no_grad():
        portable.sample_into_(tensor, scheme, layout=layout, dtype=dtype, seed=seed, stream=stream, groups=groups,
                              fans=fans, **params)
    return tensor


# -- one function per scheme ------------------------------------------------------------------
#: Parameters of ``truncated_normal_`` that a torch user reads differently: ``a``/``b`` are std units
#: in the spec's ``truncated_normal`` but absolute bounds in ``torch.nn.init.trunc_normal_``
#: (``truncated_normal_(w, std=.02, a=-2, b=2)`` would be +-0.04, not +-2). The function refuses them.
AMBIGUOUS_PARAMS: dict[str, tuple[str, ...]] = {"truncated_normal": ("a", "b")}


def _refuse_ambiguous(name: str, params: dict[str, Any]) -> None:
    """Refuse a parameter of ``NAME_`` that means something else under torch's function of that name."""
    given = [k for k in AMBIGUOUS_PARAMS.get(name, ()) if k in params]
    if given:
        shown = ", ".join(f"{k}={params[k]!r}" for k in given)
        raise TypeError(
            f"{name}_ does not take {'/'.join(f'`{k}`' for k in given)}: in torch.nn.init.trunc_normal_ "
            "they are absolute bounds, in initspec's truncated_normal they are std units. Use "
            "truncated_normal_abs_(w, std=..., low=..., high=...) or nn_init.trunc_normal_(w, std=..., a=..., b=...) "
            "for absolute bounds, or initialize_(w, 'truncated_normal', std=..., a=..., b=...) for std "
            f"units. Received: {shown}")


def _inplace(name: str) -> InplaceInit:
    """The in-place function ``NAME_`` of scheme ``name``: :func:`initialize_` with the scheme bound
    (refusing the scheme's :data:`AMBIGUOUS_PARAMS`)."""
    summary = SCHEMES[name].summary  # a KeyError here names a scheme the spec does not have

    def init_(tensor: torch.Tensor, *, layout: Any = DEFAULT_LAYOUT, groups: int = 1, fans: Any = None,
              generator: torch.Generator | None = None, stream: str | None = None, seed: int | None = None,
              **params: Any) -> torch.Tensor:
        _refuse_ambiguous(name, params)
        return initialize_(tensor, name, layout=layout, groups=groups, fans=fans, generator=generator,
                           stream=stream, seed=seed, **params)

    init_.__name__ = init_.__qualname__ = f"{name}_"
    init_.__doc__ = (f"{summary}\n\nFill ``tensor`` in place with scheme {name!r} and return "
                     f"it (see :func:`initialize_` for the arguments; ``stream=`` selects the "
                     f"portable stream).")
    if name in AMBIGUOUS_PARAMS:
        init_.__doc__ += (f" Refuses {', '.join(AMBIGUOUS_PARAMS[name])}= (std-unit bounds, which "
                          "torch.nn.init.trunc_normal_ reads as absolute): the default +-2 sigma, or "
                          "initialize_(w, 'truncated_normal', a=..., b=...).")
    return init_


# one per scheme of initspec.SCHEMES, in its order (tests check the two sets are equal)
zeros_ = _inplace("zeros")
ones_ = _inplace("ones")
constant_ = _inplace("constant")
normal_ = _inplace("normal")
uniform_ = _inplace("uniform")
truncated_normal_ = _inplace("truncated_normal")
truncated_normal_abs_ = _inplace("truncated_normal_abs")
variance_scaling_ = _inplace("variance_scaling")
glorot_normal_ = _inplace("glorot_normal")
glorot_truncated_normal_ = _inplace("glorot_truncated_normal")
glorot_uniform_ = _inplace("glorot_uniform")
he_normal_ = _inplace("he_normal")
he_truncated_normal_ = _inplace("he_truncated_normal")
he_uniform_ = _inplace("he_uniform")
lecun_normal_ = _inplace("lecun_normal")
lecun_truncated_normal_ = _inplace("lecun_truncated_normal")
lecun_uniform_ = _inplace("lecun_uniform")
orthogonal_ = _inplace("orthogonal")
identity_ = _inplace("identity")
dirac_ = _inplace("dirac")
delta_orthogonal_ = _inplace("delta_orthogonal")
sparse_ = _inplace("sparse")

#: scheme name -> its in-place function
INPLACE: dict[str, InplaceInit] = {f.__name__[:-1]: f for f in (
    zeros_, ones_, constant_, normal_, uniform_, truncated_normal_, truncated_normal_abs_, variance_scaling_,
    glorot_normal_, glorot_truncated_normal_, glorot_uniform_, he_normal_, he_truncated_normal_, he_uniform_,
    lecun_normal_, lecun_truncated_normal_, lecun_uniform_, orthogonal_, identity_, dirac_, delta_orthogonal_, sparse_,
)}

__all__ = [
    "INPLACE",
    "InplaceInit",
    "constant_",
    "delta_orthogonal_",
    "dirac_",
    "glorot_normal_",
    "glorot_truncated_normal_",
    "glorot_uniform_",
    "he_normal_",
    "he_truncated_normal_",
    "he_uniform_",
    "identity_",
    "initialize_",
    "lecun_normal_",
    "lecun_truncated_normal_",
    "lecun_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "plan_for",
    "sparse_",
    "truncated_normal_",
    "truncated_normal_abs_",
    "uniform_",
    "variance_scaling_",
    "zeros_",
]
