"""``jax.nn.initializers``-style factories, one per scheme of the spec (:data:`initspec.SCHEMES`).

``he_normal(**params)`` returns an :class:`~initspec.backends.jax._initializer.Initializer`
``init(key, shape, dtype=None, out_sharding=None)``. Each factory is an explicit module-level
name (so IDEs, type checkers and ``from ... import`` see it) built by :func:`_make_factory` from
the scheme table: its signature (``inspect.signature``) and docstring come from the scheme.
``tests/backends/test_jax.py`` checks that the factories are exactly the table's schemes.

Arguments are the scheme's parameters, keyword-only except the positional ones of
:data:`POSITIONAL_PARAMS` (``jax.nn.initializers``' order), plus :data:`COMMON_KWONLY`
(``in_axis``, ``out_axis``, ``batch_axis``, ``layout``, ``dtype``, ``groups``, ``fans``,
``stream``, ``seed``). A positional ``normal(0.02)`` is refused: JAX's ``normal(stddev)`` would
silently become ``mean=0.02`` here.

Defaults are the scheme's, except where a JAX-named factory would otherwise silently differ
from its ``jax.nn.initializers`` namesake (:data:`JAX_DEFAULTS`): ``normal()`` is N(0, 0.01^2),
``uniform()`` U[0, 0.01) and ``truncated_normal()`` has ``std=0.01``, as in JAX (the spec's own
defaults, std 1 and U[0, 1), stay those of :func:`initializer` by name). The remaining deliberate
differences from JAX are listed in ``docs/drop-in-jax.md``; the exact drop-in is
:mod:`initspec.backends.jax.nn_initializers`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from initspec.schemes import SCHEMES, Scheme

from ._initializer import COMMON_KWONLY, Initializer, initializer

__all__ = [
    "constant", "delta_orthogonal", "dirac", "glorot_normal", "glorot_truncated_normal", "glorot_uniform",
    "he_normal", "he_truncated_normal", "he_uniform", "identity", "lecun_normal", "lecun_truncated_normal",
    "lecun_uniform", "normal", "ones", "orthogonal", "sparse", "truncated_normal", "truncated_normal_abs",
    "uniform", "variance_scaling", "zeros",
]

#: a factory: the scheme's parameters (and :data:`COMMON_KWONLY`) -> an initializer
Factory = Callable[..., Initializer]

#: factory defaults that differ from the scheme's, so that a JAX-named factory has JAX's defaults
#: (jax/_src/nn/initializers.py: ``normal(stddev=1e-2)``, ``uniform(scale=1e-2)`` = U[0, scale),
#: ``truncated_normal(stddev=1e-2)``)
JAX_DEFAULTS: dict[str, dict[str, float]] = {
    "normal": {"std": 1e-2},
    "uniform": {"high": 1e-2},
    "truncated_normal": {"std": 1e-2},
}

#: factory parameters that may be positional, keeping ``jax.nn.initializers``' order
POSITIONAL_PARAMS: dict[str, tuple[str, ...]] = {
    "variance_scaling": ("scale", "mode", "distribution"),
    "constant": ("value",),
}


def _factory_signature(scheme: Scheme) -> inspect.Signature:
    """``NAME(positional..., *, params..., in_axis=None, ..., fans=None)`` for introspection."""
    pos = POSITIONAL_PARAMS.get(scheme.name, ())
    own = _defaults(scheme)
    P = inspect.Parameter
    params = [P(n, P.POSITIONAL_OR_KEYWORD, default=own[n]) for n in pos]
    params += [P(n, P.KEYWORD_ONLY, default=own[n]) for n in scheme.params if n not in pos]
    defaults = {"groups": 1}
    params += [P(n, P.KEYWORD_ONLY, default=defaults.get(n)) for n in COMMON_KWONLY
               if n not in scheme.defaults]  # dirac's own `groups` is the spec's groups
    return inspect.Signature(params)


def _defaults(scheme: Scheme) -> dict[str, Any]:
    """The factory's parameter defaults: the scheme's, with :data:`JAX_DEFAULTS` on top."""
    return {**scheme.defaults, **JAX_DEFAULTS.get(scheme.name, {})}


def _make_factory(name: str) -> Factory:
    """The factory of scheme ``name``: checks positional arguments, then :func:`initializer`."""
    scheme = SCHEMES[name]
    positional = POSITIONAL_PARAMS.get(name, ())

    def factory(*args: Any, **kwargs: Any) -> Initializer:
        if len(args) > len(positional):
            hint = (f"{name}() takes its parameters by keyword ({', '.join(scheme.params) or 'none'})"
                    if not positional else f"{name}() takes at most {len(positional)} positional arguments "
                    f"({', '.join(positional)})")
            raise TypeError(
                f"{hint}; JAX's positional order differs, so it is not guessed. Received: args={args!r}")
        for arg_name, value in zip(positional, args):
            if arg_name in kwargs:
                raise TypeError(f"{name}() got `{arg_name}` twice. Received: {arg_name}={value!r}")
            kwargs[arg_name] = value
        for arg_name, value in JAX_DEFAULTS.get(name, {}).items():
            kwargs.setdefault(arg_name, value)
        return initializer(scheme, **kwargs)

    factory.__name__ = factory.__qualname__ = name
    factory.__signature__ = _factory_signature(scheme)  # type: ignore[attr-defined]
    factory.__doc__ = (f"{scheme.summary}\n\nReturns ``init(key, shape, dtype=None, out_sharding=None)`` "
                       f"sampling scheme {name!r} (see :mod:`initspec.backends.jax`). With "
                       f"``stream=`` (and ``seed=``) it samples the portable stream instead "
                       f"(:mod:`initspec.backends.jax.portable`): the same values in every framework, "
                       f"``key`` ignored.")
    return factory


# -- one factory per scheme, in the table's order (a new scheme needs a line here) ----------------

zeros = _make_factory("zeros")
ones = _make_factory("ones")
constant = _make_factory("constant")
normal = _make_factory("normal")
uniform = _make_factory("uniform")
truncated_normal = _make_factory("truncated_normal")
truncated_normal_abs = _make_factory("truncated_normal_abs")
variance_scaling = _make_factory("variance_scaling")
glorot_normal = _make_factory("glorot_normal")
glorot_truncated_normal = _make_factory("glorot_truncated_normal")
glorot_uniform = _make_factory("glorot_uniform")
he_normal = _make_factory("he_normal")
he_truncated_normal = _make_factory("he_truncated_normal")
he_uniform = _make_factory("he_uniform")
lecun_normal = _make_factory("lecun_normal")
lecun_truncated_normal = _make_factory("lecun_truncated_normal")
lecun_uniform = _make_factory("lecun_uniform")
orthogonal = _make_factory("orthogonal")
identity = _make_factory("identity")
dirac = _make_factory("dirac")
delta_orthogonal = _make_factory("delta_orthogonal")
sparse = _make_factory("sparse")
