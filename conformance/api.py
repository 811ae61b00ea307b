"""``assert_conforms``: the conformance checks as a one-line assertion for users' own tests.

Accepted initializers (``init_fn``):

* a plain callable ``init_fn(shape, seed) -> array-like`` (NumPy array, torch tensor, TF/JAX
  array...); the simplest and framework-free form;
* a torch in-place function from ``torch.nn.init`` (``tensor -> None``, e.g.
  ``torch.nn.init.xavier_normal_``): called on ``torch.empty(shape, dtype)`` with a
  ``torch.Generator`` seeded by ``seed`` (or ``torch.manual_seed`` when it takes no generator);
* a Keras initializer class or instance (``keras.initializers.GlorotNormal`` or
  ``GlorotNormal()``): re-instantiated with ``seed=seed`` and called as ``init(shape, dtype=dtype)``;
* a JAX init function ``init(key, shape, dtype)`` (e.g. ``jax.nn.initializers.glorot_normal()``)
  or its factory (``jax.nn.initializers.glorot_normal``): called with ``jax.random.key(seed)``.

Frameworks are imported only when such an object is passed. Use the layout that matches the
framework's weight layout (``layout="torch"`` for torch functions).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from initspec.distributions import Plan, resolve
from initspec.layouts import get_layout

from . import stats as S
from .checks import (
    CONV,
    DENSE,
    SMALL_CONV_KERAS,
    SMALL_CONV_TORCH,
    SMALL_DENSE,
    SPARSE,
    Budget,
    check_determinism,
    check_draw,
    draws_needed,
    failures,
    tests_per_plan,
)
from .recorder import Recorder
from .fanprobe import expected_fan_terms, fan_check, probe_fans, shape_for

#: Default shapes of the schemes whose rank is fixed by the spec.
SCHEME_SHAPES: dict[str, tuple[int, ...]] = {
    "identity": SMALL_DENSE,
    "sparse": SPARSE,
    "dirac": SMALL_CONV_TORCH,
    "delta_orthogonal": SMALL_CONV_KERAS,
}
#: Logical (in, out, receptive) of the default shape of layouts that allow rank 3.
DEFAULT_LOGICAL = (CONV[2], CONV[3], CONV[0] * CONV[1])
#: Determinism needs two draws with different seeds; the second is this far from ``seed``.
SEED_OFFSET = 1_000_003


# ---------------------------------------------------------------------------------------------
# adapting initializers
# ---------------------------------------------------------------------------------------------
def to_numpy(x: Any) -> np.ndarray:
    """Host copy of a NumPy/torch/TF/JAX array (bfloat16 -> float32 carrier)."""
    if hasattr(x, "detach"):  # torch
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":
            x = x.float()
        x = x.numpy()
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # tf eager tensor, keras variable
        x = x.numpy()
    arr = np.asarray(x)
    return arr.astype(np.float32) if arr.dtype.name == "bfloat16" else arr


def _unwrap(obj: Any) -> Any:
    """The function behind ``functools.partial`` layers and bound methods (for its module)."""
    while True:
        if isinstance(obj, functools.partial):
            obj = obj.func
        elif inspect.ismethod(obj):
            obj = obj.__func__
        else:
            return obj


def _module(obj: Any) -> str:
    obj = _unwrap(obj)
    mod = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", "") or ""
    return mod


def _param_names(fn: Callable[..., Any]) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def _numeric(arr: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``arr`` if it holds float/complex values, else a TypeError naming what was returned."""
    if arr.dtype.kind not in "fc":
        err = NonNumericOutput(
            f"The initializer returned {arr.dtype} values for shape {tuple(shape)}; expected floating "
            f"or complex numbers. Received: dtype={arr.dtype}"
        )
        err.dtype = str(arr.dtype)
        raise err
    return arr


class NonNumericOutput(TypeError):
    """An initializer returned values that are not floats (object, int, bool, strings...)."""

    dtype: str = ""


def _positional_names(fn: Callable[..., Any]) -> list[str]:
    try:
        return [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return []


def _torch_draw(fn: Callable[..., Any], dtype: str) -> Callable[[tuple[int, ...], int], np.ndarray]:
    import torch

    tdt = getattr(torch, dtype)

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        t = torch.empty(shape, dtype=tdt)
        gen = torch.Generator().manual_seed(int(seed))
        if "generator" in inspect.signature(fn).parameters:
            fn(t, generator=gen)
        else:
            torch.manual_seed(int(seed))
            fn(t)
        return to_numpy(t)

    return draw


def _keras_draw(obj: Any, dtype: str) -> Callable[[tuple[int, ...], int], np.ndarray]:
    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        if inspect.isclass(obj):
            init = obj(seed=int(seed)) if "seed" in inspect.signature(obj).parameters else obj()
        else:
            cfg = obj.get_config()
            if "seed" in cfg:
                cfg["seed"] = int(seed)
            init = type(obj).from_config(cfg)
        return to_numpy(init(shape, dtype=dtype))

    return draw


def _jax_draw(fn: Callable[..., Any], dtype: str) -> Callable[[tuple[int, ...], int], np.ndarray]:
    import jax
    import jax.numpy as jnp

    init = fn if _positional_names(fn)[:1] == ["key"] else fn()

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        return to_numpy(init(jax.random.key(int(seed)), shape, getattr(jnp, dtype)))

    return draw


def as_draw(init_fn: Any, dtype: str = "float32") -> Callable[[tuple[int, ...], int], np.ndarray]:
    """``draw(shape, seed) -> np.ndarray`` for any accepted initializer (see module docstring)."""
    if not callable(init_fn):
        raise TypeError(f"Argument `init_fn` must be callable. Received: init_fn={init_fn!r}")
    inner = _adapt(init_fn, dtype)

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        return _numeric(inner(shape, seed), shape)

    return draw


def _adapt(init_fn: Any, dtype: str) -> Callable[[tuple[int, ...], int], np.ndarray]:
    """The calling convention of ``init_fn`` by its framework (partials and bound methods by the
    function they wrap; initspec's own adapters by theirs)."""
    mod = _module(init_fn)
    if mod.startswith(("torch", "initspec.backends.torch")):
        return _torch_draw(init_fn, dtype)
    if mod.startswith("keras") or (hasattr(init_fn, "get_config") and hasattr(init_fn, "from_config")):
        return _keras_draw(init_fn, dtype)
    if mod.startswith(("jax", "flax", "initspec.backends.jax")):
        return _jax_draw(init_fn, dtype)
    names = _param_names(init_fn)
    if "seed" in names:  # initspec's NumPy/TF functions: (shape, [layout,] dtype, seed)
        extra = {"dtype": dtype} if "dtype" in names else {}

        def keyword_draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
            return to_numpy(init_fn(shape, seed=seed, **extra))

        return keyword_draw

    def draw(shape: tuple[int, ...], seed: int) -> np.ndarray:
        return to_numpy(init_fn(shape, seed))

    return draw


# ---------------------------------------------------------------------------------------------
# running the checks
# ---------------------------------------------------------------------------------------------
def default_shape(scheme: str, layout: Any) -> tuple[int, ...]:
    """A shape of ``layout`` big enough for one draw at the default budget."""
    from initspec.schemes import get_scheme

    name = get_scheme(scheme).name
    if name in SCHEME_SHAPES:
        return SCHEME_SHAPES[name]
    lay = get_layout(layout)
    if lay.min_rank <= 3 and (lay.max_rank is None or lay.max_rank >= 3):
        return shape_for(lay, *DEFAULT_LOGICAL, rank=3)
    return DENSE


def check_initializer(
    draw: Callable[[tuple[int, ...], int], np.ndarray],
    plan: Plan,
    *,
    seed: int = 0,
    alpha_total: float = 1e-4,
    meta: dict[str, Any] | None = None,
    probe: bool = True,
    determinism: bool = True,
) -> list[dict[str, Any]]:
    """All checks of one initializer against ``plan``: :func:`check_draw` on enough draws
    (:func:`draws_needed`, seeds ``seed, seed + 1, ...``), the fan probe where the scheme is a fan
    rule or has a constant variance, and determinism. ``alpha_total`` is split (Bonferroni) over
    the budgeted tests of this call."""
    meta = {"backend": "user", "subject": "initspec", "seed": seed, **(meta or {})}
    exp = expected_fan_terms(plan) if probe and plan.layout is not None else None
    budget = Budget(alpha_total, max(1, tests_per_plan(plan) + (1 if exp is not None else 0)))
    alpha = budget.per_test()
    k = draws_needed(plan, alpha)
    try:
        values = np.stack([np.asarray(draw(plan.shape, seed + i)) for i in range(k)])
    except NonNumericOutput as e:  # a failed check with the reason, not a crash
        rec = Recorder(plan, meta, alpha)
        rec.add("dtype", "exact", False, str(e), measured=e.dtype, expected=plan.dtype)
        return rec.records
    checks = check_draw(values if k > 1 else values[0], plan, alpha=alpha, meta=meta, draws=k)
    if not np.all(np.isfinite(values)):  # the finite check failed: fans of non-finite values are undefined
        return checks
    if exp is not None:
        result = probe_fans(draw, plan.layout, seed=seed)
        checks += fan_check(result, plan, meta, alpha=alpha)
    if determinism:
        checks += check_determinism(
            lambda s: np.asarray(draw(plan.shape, s)), (seed, seed + SEED_OFFSET), meta, plan=plan
        )
    return checks


def _describe(c: dict[str, Any]) -> str:
    line = f"  - {c['check']} [{c['tier']}]: {c['message']}"
    if c.get("interval") is not None and c["check"] not in ("support",):
        line += f"\n      measured={c['measured']!r} expected={c['expected']!r} interval={c['interval']!r}"
    return line


def assert_conforms(
    init_fn: Any,
    scheme: str,
    layout: Any = "keras",
    *,
    shape: Any = None,
    dtype: str = "float32",
    seed: int = 0,
    alpha: float = 1e-4,
    **params: Any,
) -> None:
    """Assert that ``init_fn`` samples the spec ``scheme`` (see module docstring for ``init_fn``).

    Runs every check of one draw (shape, dtype, finite, support, structure, pile-up, mean,
    variance, kurtosis, KS...), the fan probe and determinism, with family-wise error ``alpha``
    over this call. Raises ``AssertionError`` listing each failing check (measured vs expected and
    the acceptance interval) and the exact call to reproduce it.
    """
    S.check_alpha(alpha)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TypeError(f"Argument `seed` must be a non-negative int. Received: seed={seed!r}")
    shp = default_shape(scheme, layout) if shape is None else shape
    plan = resolve(scheme, shp, layout, dtype, **params)
    name = getattr(init_fn, "__qualname__", None) or type(init_fn).__name__
    extra = "".join(f", {k}={v!r}" for k, v in params.items())
    lay = layout if isinstance(layout, str) else getattr(layout, "name", layout)
    reproduce = (
        f"assert_conforms({name}, {scheme!r}, layout={lay!r}, shape={tuple(plan.shape)}, "
        f"dtype={plan.dtype!r}, seed={seed}, alpha={alpha}{extra})"
    )
    try:
        draw = as_draw(init_fn, plan.dtype)
        checks = check_initializer(
            draw,
            plan,
            seed=seed,
            alpha_total=alpha,
            meta={"backend": "user", "native_name": None, "reproduce": reproduce},
        )
    except (TypeError, ValueError, RuntimeError) as e:
        raise AssertionError(
            f"{name} could not be checked against {scheme!r}: {type(e).__name__}: {e}\nReproduce: {reproduce}"
        ) from e
    bad = failures(checks)
    if bad:
        lines = "\n".join(_describe(c) for c in bad)
        raise AssertionError(
            f"{name} does not conform to {scheme!r} ({plan.dtype}, shape {tuple(plan.shape)}, layout "
            f"{plan.layout.name if plan.layout else None}): {len(bad)} of {len(checks)} checks failed "
            f"(family-wise alpha={alpha}):\n{lines}\nReproduce: {reproduce}"
        )


__all__ = ["as_draw", "assert_conforms", "default_shape", "check_initializer", "to_numpy"]
