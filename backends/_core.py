"""Framework-free core shared by every adapter: one generic sampler over a few primitives.

A backend subclasses :class:`Primitives` and implements the small array vocabulary below with its
own framework (RNG draws, QR, a handful of elementwise ops). :func:`sample` turns a resolved
:class:`initspec.Plan` into values using only those primitives, so every scheme exists in every
backend as soon as the primitives do, and a new scheme is a row in the spec's table.

Shared rules implemented here (once, for all backends):

* low-precision dtypes (float16, bfloat16) are sampled in float32 and cast (``compute_dtype``);
* truncated normals and uniforms are clipped to the largest dtype-representable interval strictly
  inside their open bounds (:func:`initspec.dtypes.inner_bounds`), so rounding after the affine
  map can never put a value on a bound;
* orthogonal = QR of a Gaussian ``(batch, max, min)`` matrix with the ``sign(diag R)`` fix
  (Haar measure; Mezzadri 2007), transposed when wide, times ``gain``;
* complex rules follow :mod:`initspec.distributions`.
"""

from __future__ import annotations

import functools
import math
import platform
from typing import Any, ClassVar

import numpy as np

from initspec.distributions import Plan, resolve
from initspec.dtypes import ceil_to_dtype, get_dtype, inner_bounds

LOW_PRECISION = ("float16", "bfloat16")


class Primitives:
    """The vocabulary a backend must provide. ``rng`` is whatever the framework uses
    (``np.random.Generator``, ``torch.Generator``, a JAX key, a TF seed pair)."""

    name: ClassVar[str] = "abstract"
    #: capabilities declared instead of branching on names in shared code
    capabilities: ClassVar[frozenset[str]] = frozenset()

    # RNG -------------------------------------------------------------------------------
    def split(self, rng: Any, n: int) -> list[Any]:
        raise NotImplementedError

    def normal(self, rng: Any, shape: tuple[int, ...], dtype: str) -> Any:
        """Standard normal draws."""
        raise NotImplementedError

    def uniform(self, rng: Any, shape: tuple[int, ...], dtype: str, low: float, high: float) -> Any:
        raise NotImplementedError

    def truncated_normal(self, rng: Any, shape: tuple[int, ...], dtype: str, a: float, b: float) -> Any:
        """Standard normal truncated to the open interval (a, b), exactly."""
        raise NotImplementedError

    # construction / elementwise --------------------------------------------------------
    def full(self, shape: tuple[int, ...], dtype: str, value: Any) -> Any:
        raise NotImplementedError

    def eye(self, rows: int, cols: int, dtype: str) -> Any:
        raise NotImplementedError

    def cast(self, x: Any, dtype: str) -> Any:
        raise NotImplementedError

    def clip(self, x: Any, lo: float, hi: float) -> Any:
        raise NotImplementedError

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def sqrt(self, x: Any) -> Any:
        raise NotImplementedError

    def log1p(self, x: Any) -> Any:
        raise NotImplementedError

    def cos(self, x: Any) -> Any:
        raise NotImplementedError

    def sin(self, x: Any) -> Any:
        raise NotImplementedError

    def sign(self, x: Any) -> Any:
        raise NotImplementedError

    def complex(self, re: Any, im: Any, dtype: str) -> Any:
        raise NotImplementedError

    # shape / linear algebra ------------------------------------------------------------
    def reshape(self, x: Any, shape: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def transpose(self, x: Any, perm: tuple[int, ...]) -> Any:
        raise NotImplementedError

    def pad(self, x: Any, pads: list[tuple[int, int]]) -> Any:
        raise NotImplementedError

    def qr(self, x: Any) -> tuple[Any, Any]:
        """Reduced QR of a batch ``(b, n, m)``, n >= m."""
        raise NotImplementedError

    def diagonal(self, x: Any) -> Any:
        """Diagonal of the last two axes."""
        raise NotImplementedError

    def argsort(self, x: Any, axis: int) -> Any:
        raise NotImplementedError

    def scatter(self, shape: tuple[int, ...], dtype: str, index: np.ndarray, value: float) -> Any:
        """Zeros of ``shape`` with ``value`` at the integer coordinates ``index`` (k, rank)."""
        raise NotImplementedError

    def to_numpy(self, x: Any) -> np.ndarray:
        raise NotImplementedError

    # Optional fused fast paths: define ``fast_<sampler>(self, rng, plan)`` returning values (or
    # ``NotImplemented`` to fall back to the generic code), e.g. ``fast_truncated_normal``.


#: element types whose value alone is a key (``==`` on them implies the same type and sign) ...
_PLAIN = {int, str}
#: ... and with float, whose key is its repr (``-0.0``, ``nan``); a tuple of only these types keys
#: its ints and strs by value and its floats by ``(float, repr)``: never equal to the key of a tuple
#: with another element type, which keys every element as a ``(type, ...)`` pair (not all floats)
_PLAIN_OR_FLOAT = {int, str, float}


def typed_key(x: Any) -> Any:
    """A cache key of ``x`` that tells apart what ``==`` and ``hash`` equate: the type and the sign
    of every scalar (``True`` vs ``1``, ``-0.0`` vs ``0.0``), recursively through tuples. Plan
    caches key by it so that a cached plan is never returned for a different parameter
    (``resolve`` refuses ``gain=True``; ``constant(-0.0)`` must stay -0.0)."""
    t = type(x)
    if t is int or t is str or t is bool:  # the hot path (shapes, names): the type already tells them apart
        return (t, x)
    if t is tuple:
        types = set(map(type, x))
        if types <= _PLAIN:  # a shape: no element needs a key of its own
            return (t, x)
        if types <= _PLAIN_OR_FLOAT:  # fans, a (name, value) pair: only the floats need theirs
            return (t, tuple((float, repr(i)) if type(i) is float else i for i in x))
    if isinstance(x, tuple):
        return (t, tuple(map(typed_key, x)))
    if isinstance(x, (bool, int, float, complex, str)):  # repr: -0.0 vs 0.0, nan, subclasses
        return (t, repr(x))
    return (t, x)


class Keyed:
    """``args`` hashed and compared by :func:`typed_key` (an ``lru_cache`` argument)."""

    __slots__ = ("args", "key")

    def __init__(self, *args: Any) -> None:
        self.args = args
        self.key = typed_key(args)
        hash(self.key)  # a TypeError for unhashable arguments: callers skip the cache

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keyed) and other.key == self.key


@functools.lru_cache(maxsize=1024)
def _cached_resolve(key: Keyed) -> Plan:
    scheme, shape, layout, dtype, groups, fans, params = key.args
    return resolve(scheme, shape, layout, dtype, groups=groups, fans=fans, **dict(params))


def cached_resolve(scheme: Any, shape: tuple[int, ...], layout: Any, dtype: str, *, groups: int = 1,
                   fans: Any = None, **params: Any) -> Plan:
    """:func:`initspec.resolve`, cached by the type and value of every argument (a whole model
    resolves the same few plans hundreds of times: BatchNorm vectors, repeated blocks); arguments
    that cannot be hashed resolve without the cache."""
    try:
        key = Keyed(scheme, tuple(shape), layout, dtype, groups, fans, tuple(sorted(params.items())))
    except TypeError:
        return resolve(scheme, shape, layout, dtype, groups=groups, fans=fans, **params)
    return _cached_resolve(key)


def cpu_name() -> str:
    """The host CPU's name for the results (``device_name("cpu")`` of every adapter)."""
    return platform.processor() or platform.machine()


def compute_dtype(dtype: str) -> str:
    """Dtype the arithmetic runs in: float32 for float16/bfloat16, the real part for complex."""
    dt = get_dtype(dtype)
    if dt.name in LOW_PRECISION:
        return "float32"
    return dt.real


def sample(p: Primitives, rng: Any, plan: Plan) -> Any:
    """Values for ``plan`` in ``plan.dtype``, drawn with ``p`` and ``rng``."""
    s = plan.sampler
    fast = getattr(p, f"fast_{s}", None)
    if fast is not None:  # a backend may declare a fused path for one sampler
        out = fast(rng, plan)
        if out is not NotImplemented:
            return out
    shape, dtype = plan.shape, plan.dtype
    cdt = compute_dtype(dtype)
    if s == "constant":
        return p.full(shape, dtype, plan.value)
    if plan.complex_rule is not None:
        return _sample_complex(p, rng, plan, cdt)
    if s == "normal":
        return p.cast(p.normal(rng, shape, cdt) * plan.std + plan.mean, dtype)
    if s == "uniform":
        x = p.cast(p.uniform(rng, shape, cdt, plan.low, plan.high), dtype)
        if dtype in LOW_PRECISION or cdt != dtype:  # rounding after the cast may leave [low, high)
            _, hi = inner_bounds(plan.low, plan.high, dtype)
            x = p.clip(x, ceil_to_dtype(plan.low, dtype), hi)
        return x
    if s == "truncated_normal":
        a, b = (plan.low - plan.mean) / plan.std, (plan.high - plan.mean) / plan.std
        x = p.truncated_normal(rng, shape, cdt, a, b) * plan.std + plan.mean
        lo, hi = inner_bounds(plan.low, plan.high, dtype)
        return p.clip(p.cast(x, dtype), lo, hi)
    if s == "orthogonal":
        return _orthogonal(p, rng, plan, cdt)
    if s == "identity":
        return p.cast(p.eye(shape[0], shape[1], cdt) * plan.gain, dtype)
    if s in ("dirac", "delta_orthogonal"):  # defined in a fixed axis order: build, then permute
        x = _fixed_order(p, rng, plan, cdt)
        if plan.perm is None:
            return x
        return p.transpose(x, tuple(int(i) for i in np.argsort(plan.perm)))
    if s == "sparse":
        return _sparse(p, rng, plan, cdt)
    raise AssertionError(f"unknown sampler {s!r}")  # pragma: no cover


def _fixed_order(p: Primitives, rng: Any, plan: Plan, cdt: str) -> Any:
    shape, dtype = plan.canonical_shape, plan.dtype
    if plan.sampler == "dirac":
        return p.scatter(shape, dtype, dirac_index(shape, plan.groups), 1.0)
    # delta_orthogonal: orthogonal (in, out) slice at the spatial centre (k - 1) // 2
    *k, n_in, n_out = shape
    sub = Plan(plan.scheme, (n_in, n_out), plan.dtype, _JAX_LAYOUT(), None, {}, "orthogonal",
               plan.element, gain=plan.gain)
    q = _orthogonal(p, rng, sub, cdt)
    centre = [(d - 1) // 2 for d in k]
    q = p.reshape(q, (1,) * len(k) + (n_in, n_out))
    return p.pad(q, [(c, d - 1 - c) for c, d in zip(centre, k)] + [(0, 0), (0, 0)])


def _JAX_LAYOUT():  # noqa: N802 - tiny lazy accessor
    from initspec.layouts import get_layout

    return get_layout("jax")


def _sample_complex(p: Primitives, rng: Any, plan: Plan, cdt: str) -> Any:
    shape, rule = plan.shape, plan.complex_rule
    r1, r2 = p.split(rng, 2)
    if rule == "gaussian":
        s = plan.std / math.sqrt(2.0)
        re = p.normal(r1, shape, cdt) * s + plan.mean
        im = p.normal(r2, shape, cdt) * s
        return p.complex(re, im, plan.dtype)
    if rule == "disk":  # radius R = plan.high: r = R sqrt(U), uniform phase
        r = p.sqrt(p.uniform(r1, shape, cdt, 0.0, 1.0)) * plan.high
    elif rule == "truncated_modulus":  # |z|^2/sigma^2 ~ Exp(1) truncated to [0, B^2]
        bound = plan.high / plan.std
        t = p.uniform(r1, shape, cdt, 0.0, 1.0) * (-math.expm1(-bound * bound))
        r = p.sqrt(p.log1p(t * -1.0) * -1.0) * plan.std
    else:  # pragma: no cover
        raise AssertionError(rule)
    theta = p.uniform(r2, shape, cdt, 0.0, 2.0 * math.pi)
    return p.complex(r * p.cos(theta), r * p.sin(theta), plan.dtype)


def _orthogonal(p: Primitives, rng: Any, plan: Plan, cdt: str) -> Any:
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    n, m = max(rows, cols), min(rows, cols)
    a = p.normal(rng, (nb, n, m), cdt)
    q, r = p.qr(a)
    d = p.sign(p.diagonal(r))
    d = p.where(d == 0, p.full((nb, m), cdt, 1.0), d)
    q = q * p.reshape(d, (nb, 1, m))
    if rows < cols:
        q = p.transpose(q, (0, 2, 1))
    q = q * plan.gain
    permuted = tuple(plan.shape[i] for i in perm)
    q = p.reshape(q, permuted)
    inv = tuple(int(i) for i in np.argsort(perm))
    return p.cast(p.transpose(q, inv), plan.dtype)


def _sparse(p: Primitives, rng: Any, plan: Plan, cdt: str) -> Any:
    r1, r2 = p.split(rng, 2)
    roles = plan.layout.roles(plan.shape)
    out_ax = roles["out"][0]
    n_out = plan.shape[out_ax]
    k = math.ceil(plan.value * n_out)
    x = p.normal(r1, plan.shape, cdt) * plan.std
    keys = p.uniform(r2, plan.shape, cdt, 0.0, 1.0)
    rank = p.argsort(p.argsort(keys, out_ax), out_ax)
    return p.cast(p.where(rank < k, p.full(plan.shape, cdt, 0.0), x), plan.dtype)


def dirac_index(shape: tuple[int, ...], groups: int) -> np.ndarray:
    """Coordinates of the ones of torch ``dirac_`` (torch layout, centre ``size // 2``)."""
    out_g = shape[0] // groups
    m = min(out_g, shape[1])
    centre = [d // 2 for d in shape[2:]]
    rows = [[g * out_g + d, d, *centre] for g in range(groups) for d in range(m)]
    return np.asarray(rows, dtype=np.int64).reshape(-1, len(shape))
