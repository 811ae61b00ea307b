"""The initializer object of the JAX adapter: :class:`Initializer` (``init(key, shape, dtype=None,
out_sharding=None)``, as ``jax.nn.initializers.Initializer``) and :func:`initializer`, which makes
one for any scheme of the spec by name or alias. The per-scheme factories
(:mod:`initspec.backends.jax.factories`) and :func:`initspec.backends.jax.init_tree` build on it.

Native mode resolves the :class:`initspec.Plan` in Python at trace time and draws from one jitted
program per plan (the generic :func:`initspec.backends._core.sample` over
:data:`initspec.backends.jax._primitives.BACKEND`); portable mode (``stream=``) draws from
:mod:`initspec.backends.jax.portable`.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import Any

import jax
from initspec.distributions import Plan, resolve
from initspec.errors import UnknownNameError, check_shape
from initspec.layouts import Layout, get_layout
from initspec.schemes import Scheme, get_scheme

from .._core import sample as core_sample
from .._core import typed_key
from ..portable._spec import check_stream, portable_seed
from . import portable
from ._checks import AXIS_ARGS, DEFAULT_LAYOUT, as_key, check_axes_in_range, check_axis_arg, dtype_name
from ._fans import jax_rule_fans, layout_refuses
from ._primitives import BACKEND
from ._sharding import constrained

__all__ = ["COMMON_KWONLY", "Initializer", "initializer"]

#: keyword-only arguments every factory takes besides the scheme's parameters
COMMON_KWONLY = ("in_axis", "out_axis", "batch_axis", "layout", "dtype", "groups", "fans", "stream", "seed")


@dataclass(frozen=True, eq=False)
class _StaticPlan:
    """A :class:`Plan` as a hashable static argument of ``jax.jit`` (hashed by its content)."""

    key: tuple
    plan: Plan

    @classmethod
    def of(cls, plan: Plan) -> _StaticPlan:
        p = plan
        key = (p.scheme.name, p.shape, p.dtype, p.layout, p.fans, tuple(sorted(p.params.items())),
               p.sampler, p.mean, p.std, p.low, p.high, p.value, p.gain, p.groups, p.complex_rule)
        return cls(typed_key(key), plan)  # type and sign too: constant(-0.0) is not constant(0.0)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _StaticPlan) and other.key == self.key


@functools.partial(jax.jit, static_argnums=(1, 2))
def _draw(key: Any, static: _StaticPlan, out_sharding: Any) -> Any:
    """One fused program per plan: the generic sampler over the JAX primitives (whose draws fuse
    Threefry into the sampler on the CPU, :mod:`._threefry`: peak memory about the output)."""
    plan = static.plan
    return constrained(lambda k: core_sample(BACKEND, k, plan), out_sharding, key)


def _portable_values(scheme: Scheme, shape: tuple[int, ...], layout: Layout, dtype: str, seed: int,
                     stream: str, params: dict[str, Any]) -> Any:
    """:func:`initspec.backends.jax.portable.sample` on the default device; traceable, so it also
    runs inside ``jax.jit`` (element-wise schemes are built from global element indices: under
    ``out_shardings`` each device computes only its shard, bit-identical to one device)."""
    return portable.sample(scheme.name, shape, layout=layout, dtype=dtype, seed=seed, stream=stream,
                          device=jax.devices()[0], **params)


class Initializer:
    """``init(key, shape, dtype=None, out_sharding=None) -> jax.Array`` for one scheme.

    Follows ``jax.nn.initializers.Initializer``; usable as a Flax ``kernel_init``.
    :meth:`plan` gives the resolved :class:`initspec.Plan` (fans, exact moments) for a shape.

    With ``stream`` set (portable mode, see :mod:`initspec.backends.portable`) the values are
    those of the portable stream for ``(seed, stream)``: the same as every other framework's for
    the same logical layout, on CPU and GPU, and independent of ``key`` (accepted for API
    compatibility, ignored, may be ``None``).
    """

    def __init__(self, scheme: Scheme, params: dict[str, Any], *, layout: Any = None, dtype: Any = None,
                 in_axis: Any = None, out_axis: Any = None, batch_axis: Any = None,
                 groups: int = 1, fans: Any = None, stream: str | None = None,
                 seed: int | None = None) -> None:
        axes = dict(zip(AXIS_ARGS, (in_axis, out_axis, batch_axis)))
        for arg, value in axes.items():
            check_axis_arg(arg, value)
        self.scheme = scheme
        self.params = dict(params)
        self.axes = axes
        self.layout: Layout = get_layout(DEFAULT_LAYOUT if layout is None else layout).with_axes(
            in_axis, out_axis, batch_axis)
        self.dtype = None if dtype is None else dtype_name(dtype)
        self.groups = groups
        self.fans = fans
        self.stream, self.seed = _check_portable_args(stream, seed)

    def plan(self, shape: Any, dtype: Any = None) -> Plan:
        """The spec's :class:`Plan` for ``shape`` (static) and ``dtype``."""
        name = dtype_name(self.dtype if dtype is None else dtype)
        shape = check_shape(shape)
        check_axes_in_range(self.axes, shape)
        return resolve(self.scheme, shape, self.layout, name, groups=self.groups, fans=self._fans(shape),
                       **self.params)

    def _fans(self, shape: tuple[int, ...]) -> Any:
        """The explicit ``fans``, else JAX's fan rule where explicit JAX axes name a case the
        spec's layouts refuse (rank-0/1 shapes, overlapping roles; see
        :mod:`initspec.backends.jax._fans`), else None (the layout's rule)."""
        if (self.fans is None and self.scheme.family == "variance_scaling"
                and layout_refuses(self.layout, shape, self.axes)):
            return jax_rule_fans(shape, self.layout)
        return self.fans

    def __call__(self, key: Any, shape: Any, dtype: Any = None, out_sharding: Any = None) -> Any:
        plan = self.plan(shape, dtype)
        if self.stream is not None:
            return self._portable(plan, out_sharding)
        return _draw(as_key(key), _StaticPlan.of(plan), out_sharding)

    def _portable(self, plan: Plan, out_sharding: Any) -> Any:
        """Portable values for ``plan``'s shape and dtype (``key`` plays no part)."""
        params = dict(groups=self.groups, fans=self._fans(plan.shape), **self.params)
        draw = functools.partial(_portable_values, self.scheme, plan.shape, self.layout, plan.dtype,
                                 self.seed, self.stream, params)
        if out_sharding is None:
            return draw()
        return jax.jit(lambda: constrained(draw, out_sharding))()  # a sharding constraint needs a trace

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.params.items()]
        args += [f"{k}={v!r}" for k, v in self.axes.items() if v is not None]
        if self.layout.name != DEFAULT_LAYOUT:
            args.append(f"layout={self.layout.name!r}")
        if self.stream is not None:
            args += [f"stream={self.stream!r}", f"seed={self.seed!r}"]
        return f"initspec.backends.jax.{self.scheme.name}({', '.join(args)})"


def _check_portable_args(stream: Any, seed: Any) -> tuple[str | None, int | None]:
    """``(stream, seed)`` validated: native mode has neither; portable mode's seed None is 0."""
    if stream is None:
        if seed is not None:
            raise ValueError(
                f"Argument `seed` is only used by the portable stream: pass `stream` (the tensor's "
                f"name, e.g. 'params.Dense_0.kernel') too, or drop `seed` (native initializers take "
                f"their randomness from `key`). Received: seed={seed!r}, stream=None"
            )
        return None, None
    return check_stream(stream), portable_seed(seed)


def _check_param_names(scheme: Scheme, params: dict[str, Any]) -> None:
    """Refuse unknown and fixed parameters when the factory is called, not at first use."""
    for k, v in params.items():
        if k in scheme.fixed:
            raise ValueError(
                f"Parameter `{k}` is fixed for scheme {scheme.name!r} ({k}={scheme.defaults[k]!r}); "
                f"use variance_scaling to choose it. Received: {k}={v!r}"
            )
        if k not in scheme.defaults:
            close = difflib.get_close_matches(k, [*scheme.params, *COMMON_KWONLY], n=2, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownNameError(
                f"Unknown parameter {k!r} of scheme {scheme.name!r}.{hint} Its parameters: "
                f"{', '.join(scheme.params) or '(none)'}. Received: {k}={v!r}"
            )


def initializer(scheme: str | Scheme, *, layout: Any = None, dtype: Any = None, in_axis: Any = None,
                out_axis: Any = None, batch_axis: Any = None, groups: int = 1, fans: Any = None,
                stream: str | None = None, seed: int | None = None, **params: Any) -> Initializer:
    """An :class:`Initializer` for ``scheme`` (name or alias) with the scheme's ``params``.

    ``stream="encoder.0.kernel"`` selects the portable stream (see :class:`Initializer`);
    ``seed`` (an int in ``[0, 2**64)``, None = 0) is only valid with it.
    """
    sch = get_scheme(scheme)
    _check_param_names(sch, params)
    return Initializer(sch, params, layout=layout, dtype=dtype, in_axis=in_axis, out_axis=out_axis,
                       batch_axis=batch_axis, groups=groups, fans=fans, stream=stream, seed=seed)
