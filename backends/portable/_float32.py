"""Float32 arithmetic of the portable stream, written once against :class:`FloatOps`.

Only IEEE-754 float32 ``+ - * /``, ``sqrt``, comparisons/selects and an exact ``frexp`` are used
(no library ``log``/``sin``/``erfinv``, whose last bits differ between frameworks); every constant
is rounded to float32 in Python first, and every product that feeds a sum goes through
:meth:`FloatOps.rnd` (no FMA contraction). See :mod:`initspec.backends.portable._spec`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._philox import WordOps, philox_rounds

# -- float32 constants ------------------------------------------------------------------------


def f32(x: float) -> float:
    """``x`` rounded to float32, as a Python float (exactly representable in float32)."""
    return float(np.float32(x))


FLT_MIN = float(np.finfo(np.float32).tiny)
FLT_MAX = float(np.finfo(np.float32).max)
TWO_M24 = 2.0**-24
TWO_M22 = 2.0**-22
ONE_MINUS_ULP = 1.0 - 2.0**-24  # largest float32 below 1
PI_4 = f32(math.pi / 4)

# logf (FreeBSD/musl e_logf.c): |(log(1+s)-log(1-s))/s - Lg(s)| < 2**-34.24
LN2_HI = f32(6.9313812256e-01)  # 0x3f317180
LN2_LO = f32(9.0580006145e-06)  # 0x3717f7d1
LG1, LG2, LG3, LG4 = f32(0.66666662693), f32(0.40000972152), f32(0.28498786688), f32(0.24279078841)
SQRT_HALF = f32(math.sqrt(0.5))  # float32 bits 0x3f3504f3, logf's reduction threshold

# Wichura's AS 241 PPND7 inverse normal CDF (about 7 significant digits, valid down to FLT_MIN):
# central region |p - 1/2| <= 0.425, then r = sqrt(-log(min(p, 1 - p))) <= 5, then r > 5.
# Coefficients highest degree first; each region is  m * N(s) / (D(s) s + 1).
PPND7_SPLIT1, PPND7_SPLIT2 = f32(0.425), f32(5.0)
PPND7_CONST1, PPND7_CONST2 = f32(0.180625), f32(1.6)
PPND7_NUM = {
    "central": tuple(f32(v) for v in (59.109374720, 159.29113202, 50.434271938, 3.3871327179)),
    "mid": tuple(f32(v) for v in (0.17023821103, 1.3067284816, 2.7568153900, 1.4234372777)),
    "far": tuple(f32(v) for v in (0.017337203997, 0.42868294337, 3.0812263860, 6.6579051150)),
}
PPND7_DEN = {  # the tail regions' degree-2 denominators padded with a leading 0 (exact)
    "central": tuple(f32(v) for v in (67.187563600, 78.757757664, 17.895169469)),
    "mid": (0.0, f32(0.12021132975), f32(0.73700164250)),
    "far": (0.0, f32(0.012258202635), f32(0.24197894225)),
}

# Taylor coefficients of sin/cos on [0, pi/4] (truncation error < 1e-11)
SIN_C = tuple(f32((-1.0) ** k / math.factorial(2 * k + 1)) for k in range(1, 6))
COS_C = tuple(f32((-1.0) ** k / math.factorial(2 * k)) for k in range(1, 7))


# -- the float32 vocabulary -------------------------------------------------------------------


class FloatOps(WordOps):
    """What the transforms need besides Python's ``+ - * /`` and comparisons on float32 arrays.

    Integer helpers act on word arrays.
    """

    def shr(self, a: Any, n: int) -> Any:
        raise NotImplementedError

    def band(self, a: Any, m: int) -> Any:
        raise NotImplementedError

    def to_f32(self, a: Any) -> Any:
        """Integer array -> float32 (exact below 2**24, which is all the transforms use)."""
        raise NotImplementedError

    def frexp(self, x: Any) -> tuple[Any, Any]:
        """``(m, e)`` with ``x = m * 2**e``, ``m`` float32 in ``[1/2, 1)``, ``e`` integer, for
        positive normal float32 ``x`` (exact: ``torch.frexp``/``np.frexp`` or bit casts)."""
        raise NotImplementedError

    def sqrt(self, x: Any) -> Any:
        """Correctly rounded float32 square root."""
        raise NotImplementedError

    def div(self, a: Any, b: Any) -> Any:
        """Correctly rounded float32 ``a / b`` (both arrays)."""
        return a / b

    def where(self, c: Any, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def minimum(self, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def maximum(self, x: Any, y: Any) -> Any:
        raise NotImplementedError

    def on_subset(self, cond: Any, fn: Any, *args: Any) -> tuple[Any, ...]:
        """``fn(*args)`` (a tuple of arrays shaped like ``cond``) where ``cond`` holds; elsewhere
        the values are unspecified (the caller selects them away). The default evaluates ``fn``
        on every element (branch-free, what a fused kernel wants); an eager backend may gather
        the elements where ``cond`` holds, evaluate ``fn`` on those only, and scatter back."""
        return fn(*args)

    def rnd(self, x: Any) -> Any:
        """A product that feeds a sum, rounded to float32 *before* the sum: identity where each op
        is its own kernel (NumPy, eager torch/TF); a contraction fence where a compiler could
        fuse ``a * b + c`` into one FMA (XLA does, on CPU and GPU)."""
        return x

    # element indexing ---------------------------------------------------------------------
    def iota(self, n: int) -> Any:
        """Word array ``0 .. n-1`` (block indices of a whole tensor)."""
        raise NotImplementedError

    def interleave(self, lanes: tuple[Any, Any, Any, Any], n: int) -> Any:
        """``out[4 b + l] = lanes[l][b]``, truncated to ``n`` (1-D)."""
        raise NotImplementedError

    def block_of(self, idx: Any) -> tuple[Any, Any]:
        """``(b_lo, b_hi)`` word arrays of the block ``idx >> 2`` of element indices ``idx``."""
        raise NotImplementedError


# -- words ------------------------------------------------------------------------------------


def block_words(ops: WordOps, b_lo: Any, b_hi: Any, draw: Any, keys: list[tuple[Any, Any]]) -> tuple:
    """The four words of blocks ``b = b_hi * 2**32 + b_lo`` of draw ``draw``:
    Philox-4x32-10 of counter ``(b_lo, b_hi, draw, 0)``."""
    return philox_rounds(ops, b_lo, b_hi, draw, 0, keys)


def clip(ops: FloatOps, x: Any, lo: Any, hi: Any) -> Any:
    return ops.minimum(ops.maximum(x, lo), hi)


def u01(ops: FloatOps, w: Any) -> Any:
    """``[0, 1)``: the top 24 bits times 2**-24 (exact)."""
    return ops.to_f32(ops.shr(w, 8)) * TWO_M24


def v_open(ops: FloatOps, w: Any) -> Any:
    """``(0, 1)``, symmetric about 1/2: ``(2 j + 1) 2**-24`` with ``j`` the top 23 bits (exact)."""
    return (ops.to_f32(ops.shr(w, 9)) * 2.0 + 1.0) * TWO_M24


def log_pos(ops: FloatOps, x: Any) -> Any:
    """Natural log of positive normal float32 ``x`` (FreeBSD/musl ``logf`` algorithm, ~1 ulp),
    from an exact ``frexp`` and basic arithmetic only."""
    m, e = ops.frexp(x)  # x = m 2**e, m in [1/2, 1)
    big = m >= SQRT_HALF
    f = ops.where(big, m, m * 2.0) - 1.0  # the reduced argument in [sqrt(1/2), sqrt(2)), minus 1
    dk = ops.to_f32(e) - ops.where(big, 0.0, 1.0)
    s = ops.div(f, f + 2.0)
    z = s * s
    w = z * z
    rd = ops.rnd
    r = rd(z * (rd(w * LG3) + LG1)) + rd(w * (rd(w * LG4) + LG2))
    hfsq = rd(f * f) * 0.5
    return rd(s * (hfsq + r)) + rd(dk * LN2_LO) - hfsq + f + rd(dk * LN2_HI)


def _horner(ops: FloatOps, x: Any, coeffs: "tuple[float, ...] | list[Any]") -> Any:
    """``((c0 x + c1) x + c2) ...`` with every product rounded before its sum (no FMA)."""
    acc = ops.rnd(x * coeffs[0]) + coeffs[1]
    for c in coeffs[2:]:
        acc = ops.rnd(acc * x) + c
    return acc


def _ndtri_tail(ops: FloatOps, q: Any) -> tuple[Any, Any]:
    """PPND7's numerator and denominator in the tails (``q < 1/2 - 0.425``): ``r = sqrt(-log q)``,
    then the ``mid`` (``r <= 5``) or ``far`` coefficients, selected per element."""
    t = ops.sqrt(log_pos(ops, q) * -1.0)
    mid = t <= PPND7_SPLIT2
    s = t - ops.where(mid, PPND7_CONST2, PPND7_SPLIT2)
    num = _horner(ops, s, [ops.where(mid, m, f) for m, f in zip(PPND7_NUM["mid"], PPND7_NUM["far"])])
    den = _horner(ops, s, [ops.where(mid, m, f) for m, f in zip(PPND7_DEN["mid"], PPND7_DEN["far"])])
    return num, ops.rnd(den * s) + 1.0


def ndtri(ops: FloatOps, p: Any) -> Any:
    """Inverse standard normal CDF of ``p`` in ``(0, 1)``: Wichura's AS 241 (PPND7), evaluated on
    ``q = min(p, 1 - p)`` (``1 - p`` is exact there) and mirrored, as one rational function
    ``num / den`` whose numerator and denominator come from the element's region (one division
    per value). The tails (about 15% of a normal's elements) go through
    :meth:`FloatOps.on_subset`, so a backend may evaluate their logarithm on those elements only."""
    upper = p > 0.5
    q = ops.maximum(ops.where(upper, 1.0 - p, p), FLT_MIN)
    c = q - 0.5
    central = c >= -PPND7_SPLIT1
    s = PPND7_CONST1 - ops.rnd(c * c)
    num_c = _horner(ops, s, PPND7_NUM["central"])
    den_c = ops.rnd(_horner(ops, s, PPND7_DEN["central"]) * s) + 1.0
    num_t, den_t = ops.on_subset(c < -PPND7_SPLIT1, lambda qt: _ndtri_tail(ops, qt), q)
    num, den = ops.where(central, num_c, num_t), ops.where(central, den_c, den_t)
    x = ops.div(num * ops.where(central, c, -1.0), den)
    return ops.where(upper, -x, x)


def unit_circle(ops: FloatOps, w: Any) -> tuple[Any, Any]:
    """A uniform point ``(cos t, sin t)`` on the unit circle from one word: an angle in the first
    octant ``(0, pi/4)`` from 21 bits (sin/cos by Taylor polynomials, well conditioned there) and
    one of the 8 symmetries of the square (swap, sign of x, sign of y) from the top 3 bits."""
    sym = ops.shr(w, 29)
    t = (ops.to_f32(ops.band(ops.shr(w, 8), 0x1FFFFF)) * 2.0 + 1.0) * TWO_M22
    th = t * PI_4
    z = th * th
    s = th * (ops.rnd(_horner(ops, z, SIN_C[::-1]) * z) + 1.0)
    c = ops.rnd(_horner(ops, z, COS_C[::-1]) * z) + 1.0
    swap = ops.band(sym, 1) == 1
    x, y = ops.where(swap, s, c), ops.where(swap, c, s)
    x = ops.where(ops.band(sym, 2) == 2, -x, x)
    y = ops.where(ops.band(sym, 4) == 4, -y, y)
    return x, y
