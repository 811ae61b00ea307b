"""The portable stream, framework-free: keys, element -> counter mapping, float transforms.

Everything that decides a value is here, written once against two small vocabularies
(:class:`initspec.backends.portable._philox.WordOps` for 32-bit words and :class:`FloatOps` for
float32 arithmetic) that NumPy, torch, TensorFlow and JAX each implement with their own tensor
ops. The transforms use only IEEE-754 float32 ``+ - * /``, ``sqrt``, comparisons/selects and
an exact ``frexp`` (no library ``log``/``sin``/``erfinv``, whose last bits differ between frameworks), and
every constant is rounded to float32 in Python first. Every product that feeds a sum goes
through :meth:`FloatOps.rnd`, which keeps a compiler from fusing the two into one FMA (a
different rounding). A backend that follows IEEE round-to-nearest for these ops therefore
reproduces the reference bit for bit. The measured agreement is recorded by ``initspec portable check``.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
from scipy import special

from initspec.backends._core import sample as core_sample
from initspec.distributions import Plan
from initspec.dtypes import get_dtype, inner_bounds, next_below
from initspec.errors import InitSpecError

from ._float32 import (  # noqa: F401 - re-exported: the transforms' float32 vocabulary
    f32, FLT_MIN, FLT_MAX, TWO_M24, TWO_M22, ONE_MINUS_ULP,
    PI_4, LN2_HI, LN2_LO, SQRT_HALF, PPND7_NUM, PPND7_DEN,
    SIN_C, COS_C, FloatOps, block_words, clip, u01,
    v_open, log_pos, _horner, ndtri, unit_circle,
)
from ._philox import LANES, MASK32, round_keys

# -- seeds, streams, keys ---------------------------------------------------------------------

#: seeds are integers with 0 <= seed < SEED_LIMIT (64 bits)
SEED_LIMIT = 2**64
#: domain separation prefix of the key hash (bump the version if the stream ever changes)
KEY_DOMAIN = b"initspec.portable.philox4x32-10.v1\x00"
#: the most elements of one tensor: whole-tensor generation (:func:`words_full`) counts blocks of
#: LANES elements in the counter's low 32-bit word (larger tensors would wrap onto repeated values)
MAX_ELEMENTS = LANES * 2**32
#: draw ids (counter word c2) of the element-wise samplers
DRAW_MAIN, DRAW_SECOND = 0, 1


def check_seed(seed: Any) -> int:
    """A Python int in ``[0, 2**64)`` or a clear error naming the value."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"Argument `seed` must be an int with 0 <= seed < 2**64. Received: seed={seed!r}")
    if not 0 <= int(seed) < SEED_LIMIT:
        raise ValueError(f"Argument `seed` must satisfy 0 <= seed < 2**64. Received: seed={seed!r}")
    return int(seed)


def portable_seed(seed: Any) -> int:
    """The seed of an adapter's portable mode: None means 0 (the stream is deterministic), else
    :func:`check_seed`."""
    return check_seed(0 if seed is None else seed)


def check_stream(stream: Any) -> str:
    """A stream name: any ``str`` (e.g. the parameter path ``"encoder.0.weight"``)."""
    if not isinstance(stream, str):
        raise TypeError(
            f"Argument `stream` must be a str (e.g. the parameter path 'encoder.0.weight'). "
            f"Received: stream={stream!r}"
        )
    try:
        stream.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"Argument `stream` must be encodable as UTF-8 ({e}). Received: stream={stream!r}"
        ) from e
    return stream


def stream_key(seed: Any, stream: Any = "") -> tuple[int, int]:
    """The 64-bit Philox key ``(k0, k1)`` of ``(seed, stream)``: the first 8 bytes (little-endian)
    of ``SHA-256(KEY_DOMAIN + seed as 8 little-endian bytes + UTF-8 stream name)``.

    A stream's values therefore depend only on the seed and its own name, never on which other
    tensors were initialised before it.
    """
    s, name = check_seed(seed), check_stream(stream)
    digest = hashlib.sha256(KEY_DOMAIN + s.to_bytes(8, "little") + name.encode("utf-8")).digest()
    k = int.from_bytes(digest[:8], "little")
    return k & MASK32, k >> 32


def key_table(seed: Any, stream: Any = "") -> np.ndarray:
    """``(10, 2)`` uint32 per-round keys of ``(seed, stream)`` (passed to kernels as data, so a
    new stream never recompiles)."""
    return np.asarray(round_keys(stream_key(seed, stream)), dtype=np.uint32)


def split_draw(draw: int, j: int) -> int:
    """Draw id of child ``j`` of ``draw`` (used by the generic ``_core`` samplers that split)."""
    data = b"split" + int(draw).to_bytes(4, "little") + int(j).to_bytes(4, "little")
    digest = hashlib.sha256(data).digest()
    return int.from_bytes(digest[:4], "little")


# -- recipes: a Plan turned into one element-wise transform -------------------------------------

ELEMENTWISE_KINDS = ("uniform", "normal", "complex_gaussian", "complex_disk", "complex_truncated")


@dataclass(frozen=True)
class Recipe:
    """How one plan's values come from words.

    ``kind`` is ``constant``, one of :data:`ELEMENTWISE_KINDS` (element ``i`` depends only on the
    words of index ``i`` in ``draws``: any slice can be generated alone), or ``structured``
    (orthogonal, delta_orthogonal, sparse, identity, dirac: the generic ``_core`` sampler over the
    portable primitives; not shard-local). ``params`` are float32-exact scalars; ``post_clip`` is
    the closed interval the values are clamped to after the cast to a low-precision dtype.
    """

    kind: str
    draws: tuple[int, ...] = ()
    params: dict[str, float] = field(default_factory=dict)
    post_clip: tuple[float, float] | None = None
    #: the axis order in which the stream enumerates elements (:func:`logical_order`)
    order: tuple[int, ...] | None = None
    #: structured schemes: the plan of the same logical kernel in torch's ``(out, in, *k)``
    #: order, which is sampled and then transposed by ``order`` (None: sample ``plan`` as is)
    logical: Plan | None = None

    @property
    def elementwise(self) -> bool:
        return self.kind in ELEMENTWISE_KINDS


def _ceil_to(x: float, dtype: str) -> float:
    """Smallest value representable in ``dtype`` that is >= ``x``."""
    if x == 0:
        return 0.0
    return -next_below(-next_below(x, dtype), dtype)  # the next value above the largest < x


def _uniform_bounds(low: float, high: float, dtype: str) -> tuple[float, float]:
    """``[smallest value >= low, largest value < high]`` in ``dtype`` (U[low, high))."""
    return _ceil_to(low, dtype), inner_bounds(low, high, dtype)[1]


def _low_precision(dtype: str) -> bool:
    return get_dtype(dtype).name in ("float16", "bfloat16")


def truncation_params(mean: float, std: float, low: float, high: float) -> dict[str, float]:
    """Inverse-CDF constants of N(mean, std^2) truncated to (low, high).

    The interval is mirrored so that most of it lies below 0 (``sign = -1``), where float32
    probabilities have their finest resolution, then ``p = pa + V * dp`` with ``V`` from
    :func:`v_open` and ``z = sign * ndtri(p)``.
    """
    a, b = (low - mean) / std, (high - mean) / std
    sign = 1.0
    if a + b > 0:
        a, b, sign = -b, -a, -1.0
    pa, pb = float(special.ndtr(a)), float(special.ndtr(b))
    dp = f32(pb - pa)
    if not dp > 0:
        raise InitSpecError(
            f"The portable stream cannot sample this truncation: the interval ({a:.3g}, {b:.3g}) in "
            f"std units holds less probability than float32 resolves. Received: low={low!r}, high={high!r}, "
            f"mean={mean!r}, std={std!r}"
        )
    lo, hi = inner_bounds(low, high, "float32")
    return {"pa": f32(pa), "dp": dp, "sign": sign, "std": f32(std), "mean": f32(mean), "lo": lo, "hi": hi}


def logical_order(plan: Plan) -> tuple[int, ...] | None:
    """The axes of ``plan.shape`` in the order the stream enumerates elements: the layout's
    ``(*batch, *out, *in, *receptive)`` (torch's order), or None where that is the physical
    order already, or where the plan has no layout roles (explicit ``fans=``, rank < 2).

    Element ``i`` of a tensor is therefore its C-order index in that *logical* shape, so one
    stream gives the same logical weight in every framework: a Keras ``Dense`` kernel
    ``(in, out)`` is exactly the transpose of a torch ``Linear`` weight ``(out, in)``, and a Keras
    or Flax conv kernel ``(kh, kw, in, out)`` the permutation of torch's ``(out, in, kh, kw)``.
    """
    if plan.layout is None or len(plan.shape) < 2:
        return None
    try:
        roles = plan.layout.roles(plan.shape)
    except InitSpecError:
        return None
    order = (*roles["batch"], *roles["out"], *roles["in"], *roles["receptive"])
    return None if order == tuple(range(len(plan.shape))) else order


def logical_shape(shape: tuple[int, ...], order: tuple[int, ...] | None) -> tuple[int, ...]:
    """``shape`` in the stream's element order (see :func:`logical_order`)."""
    return shape if order is None else tuple(shape[a] for a in order)


def to_physical(order: tuple[int, ...]) -> tuple[int, ...]:
    """The transpose taking an array in logical order back to the physical axes."""
    return tuple(int(i) for i in np.argsort(order))


def element_strides(shape: tuple[int, ...], order: tuple[int, ...] | None) -> tuple[int, ...]:
    """Per physical axis of ``shape``, how far the element index moves per step along it: the
    C-order strides of the logical shape, mapped back onto the physical axes."""
    if order is None:
        return strides(shape)
    logical = strides(logical_shape(shape, order))
    out = [0] * len(shape)
    for k, axis in enumerate(order):
        out[axis] = logical[k]
    return tuple(out)


def recipe_for(plan: Plan) -> Recipe:
    """The portable recipe of a resolved plan (see :class:`Recipe`)."""
    recipe = _recipe(plan)
    if recipe.elementwise:
        recipe = replace(recipe, order=logical_order(plan))
    return recipe


def _complex_gaussian_recipe(plan: Plan) -> Recipe:
    return Recipe("complex_gaussian", (DRAW_MAIN, DRAW_SECOND),
                  {"s": f32(plan.std / math.sqrt(2.0)), "mean": f32(plan.mean)})


def _complex_disk_recipe(plan: Plan) -> Recipe:
    return Recipe("complex_disk", (DRAW_MAIN, DRAW_SECOND), {"radius": f32(plan.high)})


def _complex_truncated_recipe(plan: Plan) -> Recipe:
    bound = plan.high / plan.std
    e0 = math.exp(-bound * bound)
    return Recipe("complex_truncated", (DRAW_MAIN, DRAW_SECOND),
                  {"e0": f32(e0), "c": f32(-math.expm1(-bound * bound)), "sigma": f32(plan.std)})


def _normal_recipe(plan: Plan) -> Recipe:
    return Recipe("normal", (DRAW_MAIN,), {**STANDARD_NORMAL, "std": f32(plan.std), "mean": f32(plan.mean)})


def _truncated_normal_recipe(plan: Plan) -> Recipe:
    post = inner_bounds(plan.low, plan.high, plan.dtype) if _low_precision(plan.dtype) else None
    return Recipe("normal", (DRAW_MAIN,), truncation_params(plan.mean, plan.std, plan.low, plan.high), post)


def _uniform_recipe(plan: Plan) -> Recipe:
    post = _uniform_bounds(plan.low, plan.high, plan.dtype) if _low_precision(plan.dtype) else None
    return Recipe("uniform", (DRAW_MAIN,), uniform_params(plan.low, plan.high), post)


#: The portable recipe of each element-wise plan: complex plans keyed by ``plan.complex_rule``,
#: real ones by ``plan.sampler``; any other sampler is ``structured`` (the generic ``_core``
#: sampler over the portable primitives).
COMPLEX_RECIPES: dict[str, Callable[[Plan], Recipe]] = {
    "gaussian": _complex_gaussian_recipe, "disk": _complex_disk_recipe,
    "truncated_modulus": _complex_truncated_recipe,
}
REAL_RECIPES: dict[str, Callable[[Plan], Recipe]] = {
    "normal": _normal_recipe, "truncated_normal": _truncated_normal_recipe, "uniform": _uniform_recipe,
}


def _recipe(plan: Plan) -> Recipe:
    if plan.sampler == "constant":
        return Recipe("constant")
    build = COMPLEX_RECIPES.get(plan.complex_rule or "") or REAL_RECIPES.get(plan.sampler)
    return build(plan) if build is not None else Recipe("structured")


# -- element-wise transforms: float32 values (real, imag or None) from the words of the draws ----
def _uniform_t(ops: FloatOps, words: tuple[Any, ...], prm: dict[str, Any]) -> tuple[Any, Any]:
    return clip(ops, ops.rnd(u01(ops, words[0]) * prm["span"]) + prm["low"], prm["lo"], prm["hi"]), None


def _normal_t(ops: FloatOps, words: tuple[Any, ...], prm: dict[str, Any]) -> tuple[Any, Any]:
    """Inverse CDF of a (truncated, mirrored) normal: ``p = pa + V dp``, ``z = sign ndtri(p)``."""
    p = clip(ops, ops.rnd(v_open(ops, words[0]) * prm["dp"]) + prm["pa"], FLT_MIN, ONE_MINUS_ULP)
    x = ops.rnd(ndtri(ops, p) * prm["sign"] * prm["std"]) + prm["mean"]
    return clip(ops, x, prm["lo"], prm["hi"]), None


def _complex_gaussian_t(ops: FloatOps, words: tuple[Any, ...], prm: dict[str, Any]) -> tuple[Any, Any]:
    re = ops.rnd(ndtri(ops, v_open(ops, words[0])) * prm["s"]) + prm["mean"]
    return re, ndtri(ops, v_open(ops, words[1])) * prm["s"]


def _polar(ops: FloatOps, r: Any, w1: Any) -> tuple[Any, Any]:
    x, y = unit_circle(ops, w1)
    return r * x, r * y


def _complex_disk_t(ops: FloatOps, words: tuple[Any, ...], prm: dict[str, Any]) -> tuple[Any, Any]:
    return _polar(ops, ops.sqrt(u01(ops, words[0])) * prm["radius"], words[1])


def _complex_truncated_t(ops: FloatOps, words: tuple[Any, ...], prm: dict[str, Any]) -> tuple[Any, Any]:
    # |w|^2 / sigma^2 ~ Exp(1) truncated to [0, bound^2]
    r = ops.sqrt(log_pos(ops, ops.rnd(v_open(ops, words[0]) * prm["c"]) + prm["e0"]) * -1.0) * prm["sigma"]
    return _polar(ops, r, words[1])


#: The transform of each element-wise recipe kind.
TRANSFORMS: dict[str, Callable[[FloatOps, tuple[Any, ...], dict[str, Any]], tuple[Any, Any]]] = {
    "uniform": _uniform_t, "normal": _normal_t, "complex_gaussian": _complex_gaussian_t,
    "complex_disk": _complex_disk_t, "complex_truncated": _complex_truncated_t,
}
if set(TRANSFORMS) != set(ELEMENTWISE_KINDS):  # pragma: no cover - table and kinds out of sync
    raise AssertionError(sorted(set(TRANSFORMS) ^ set(ELEMENTWISE_KINDS)))


def transform(ops: FloatOps, kind: str, words: tuple[Any, ...], prm: dict[str, Any]) -> tuple[Any, Any]:
    """float32 values ``(real, imag or None)`` of an element-wise recipe from the words of its
    draws (``words[j]`` belongs to ``recipe.draws[j]``).

    ``prm`` maps the recipe's parameter names to float32 scalars (Python floats or 0-d arrays).
    """
    return TRANSFORMS[kind](ops, words, prm)


def uniform_params(low: float, high: float) -> dict[str, float]:
    """Parameters of kind ``uniform`` for U[low, high) in float32."""
    lo, hi = _uniform_bounds(low, high, "float32")
    return {"span": f32(high - low), "low": f32(low), "lo": lo, "hi": hi}


STANDARD_NORMAL = {"pa": 0.0, "dp": 1.0, "sign": 1.0, "std": 1.0, "mean": 0.0, "lo": -FLT_MAX, "hi": FLT_MAX}


def words_full(ops: Any, keys: list[tuple[Any, Any]], draw: int, n: int) -> Any:
    """Words ``0 .. n-1`` of ``draw``: blocks ``0 .. ceil(n/4)-1``, lanes interleaved."""
    return words_range(ops, keys, draw, 0, n)


def words_range(ops: Any, keys: list[tuple[Any, Any]], draw: int, start: int, n: int) -> Any:
    """Words ``start .. start+n-1`` of ``draw`` (``start`` a multiple of :data:`LANES`, below
    :data:`MAX_ELEMENTS`): the unit of a chunked whole-tensor generator, whose cost does not
    depend on the tensor's shape (element ``i`` depends only on ``(seed, stream, i)``)."""
    if start % LANES:
        raise ValueError(f"Argument `start` must be a multiple of {LANES}. Received: start={start!r}")
    blocks = ops.iota(-(-n // LANES))
    if start:
        blocks = blocks + start // LANES
    return ops.interleave(block_words(ops, blocks, 0, draw, keys), n)


def words_at(ops: Any, keys: list[tuple[Any, Any]], draw: int, idx: Any) -> Any:
    """Words at element indices ``idx`` (any shape): block ``idx >> 2``, lane ``idx & 3``."""
    b_lo, b_hi = ops.block_of(idx)
    l0, l1, l2, l3 = block_words(ops, b_lo, b_hi, draw, keys)
    lane = ops.band(idx, LANES - 1)
    return ops.where(lane == 0, l0, ops.where(lane == 1, l1, ops.where(lane == 2, l2, l3)))


def compute(ops: Any, kind: str, draws: tuple[int, ...], keys: list[tuple[Any, Any]], prm: dict[str, Any],
            n: int | None = None, idx: Any = None) -> tuple[Any, Any]:
    """Values of an element-wise ``kind`` for the first ``n`` elements (1-D) or at the element
    indices ``idx``: the whole generator, framework-free, for a backend to run (and to jit)."""
    if idx is None:
        words = tuple(words_full(ops, keys, d, n) for d in draws)
    else:
        words = tuple(words_at(ops, keys, d, idx) for d in draws)
    return transform(ops, kind, words, prm)


# -- slices -----------------------------------------------------------------------------------


def check_index(index: Any, shape: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    """Normalise ``index`` (a tuple of slices, one per leading axis; missing trailing axes are
    whole) to ``(start, stop, step)`` per axis, refusing anything out of range.

    Only non-negative ``start``/``stop`` within the axis and ``step >= 1`` are accepted (no
    Python-style clamping: a shard that does not fit the tensor is a bug upstream).
    """
    if isinstance(index, slice):
        index = (index,)
    if not isinstance(index, tuple):
        raise TypeError(f"Argument `index` must be a tuple of slices. Received: index={index!r}")
    if len(index) > len(shape):
        raise ValueError(
            f"Argument `index` has {len(index)} slices for a rank-{len(shape)} tensor. "
            f"Received: index={index!r}, shape={shape!r}"
        )
    out = []
    for axis, dim in enumerate(shape):
        sl = index[axis] if axis < len(index) else slice(None)
        if not isinstance(sl, slice):
            raise TypeError(
                f"Argument `index` must hold only slices; axis {axis} has {sl!r}. Received: index={index!r}"
            )
        vals = []
        for name, v, default in (("start", sl.start, 0), ("stop", sl.stop, dim), ("step", sl.step, 1)):
            if v is None:
                v = default
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(
                    f"Slice {name} on axis {axis} must be an int or None. Received: index={index!r}"
                )
            vals.append(int(v))
        start, stop, step = vals
        if step < 1 or not 0 <= start <= dim or not 0 <= stop <= dim or start > stop:
            raise ValueError(
                f"Slice {axis} is out of range for axis size {dim}: need 0 <= start <= stop <= {dim} and "
                f"step >= 1. Received: index={index!r}, shape={shape!r}"
            )
        out.append((start, stop, step))
    return tuple(out)


def slice_shape(norm: tuple[tuple[int, int, int], ...]) -> tuple[int, ...]:
    return tuple(len(range(a, b, s)) for a, b, s in norm)


def strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """C-order element strides of ``shape``."""
    out, acc = [], 1
    for d in reversed(shape):
        out.append(acc)
        acc *= d
    return tuple(reversed(out))


def check_size(shape: tuple[int, ...]) -> None:
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueError(
            f"A portable stream generates at most 2**34 elements per tensor (2**32 in JAX). "
            f"Received: shape={shape!r} ({math.prod(shape)} elements)")



# -- shared driver pieces ---------------------------------------------------------------------


@dataclass(frozen=True)
class PortableRng:
    """The state a portable ``Primitives`` receives as ``rng``: the key table (a framework
    array, see :func:`key_table`) and a draw id. ``split`` derives children by :func:`split_draw`,
    so the generic ``_core`` samplers (orthogonal, sparse, ...) run on the portable stream."""

    keys: Any
    draw: int = DRAW_MAIN

    def children(self, n: int) -> list["PortableRng"]:
        return [PortableRng(self.keys, split_draw(self.draw, j)) for j in range(n)]


def prepare(scheme: Any, shape: Any, layout: Any, default_layout: str, dtype: Any, seed: Any, stream: Any,
            params: dict[str, Any]) -> tuple[Plan, Recipe, np.ndarray]:
    """Validate and resolve one request: ``(plan, recipe, key table)``."""
    from initspec.distributions import resolve

    seed, stream = check_seed(seed), check_stream(stream)
    plan = resolve(scheme, shape, default_layout if layout is None else layout, dtype, **params)
    check_size(plan.shape)
    recipe = recipe_for(plan)
    if recipe.kind == "structured":
        recipe = _structured_logical(recipe, plan, params)
    return plan, recipe, key_table(seed, stream)


def _structured_logical(recipe: Recipe, plan: Plan, params: dict[str, Any]) -> Recipe:
    """A structured scheme (orthogonal, sparse...) on a layout with one in and one out axis is
    sampled as the same logical kernel in torch's ``(out, in, *k)`` order and then transposed,
    so a Keras/Flax kernel is the transpose of the torch weight for the same stream here too."""
    from initspec.distributions import resolve

    order = logical_order(plan)
    if order is None:
        return recipe
    roles = plan.layout.roles(plan.shape)
    if roles["batch"] or len(roles["in"]) != 1 or len(roles["out"]) != 1:
        return recipe
    try:
        logical = resolve(plan.scheme, logical_shape(plan.shape, order), "torch", plan.dtype, **params)
    except InitSpecError:  # pragma: no cover - the logical layout refuses what the physical accepted
        return recipe
    return replace(recipe, order=order, logical=logical)


def sample_structured(prims: Any, rng: Any, plan: Plan, recipe: Recipe) -> Any:
    """Values of a structured recipe through the generic ``_core`` sampler (see :class:`Recipe`)."""
    if recipe.logical is None:
        return core_sample(prims, rng, plan)
    return prims.transpose(core_sample(prims, rng, recipe.logical), to_physical(recipe.order))


def round_key_pairs(keys: Any) -> list[tuple[Any, Any]]:
    """``[(k0, k1)] * 10`` 0-d views of a ``(10, 2)`` key table (a framework array)."""
    return [(keys[r, 0], keys[r, 1]) for r in range(keys.shape[0])]


def normal_rng_params(low: float | None = None, high: float | None = None) -> dict[str, float]:
    """Parameters for the standard normal a ``_core`` primitive asks for (or its truncation to
    ``(low, high)`` in std units)."""
    if low is None:
        return dict(STANDARD_NORMAL)
    return truncation_params(0.0, 1.0, low, high)
