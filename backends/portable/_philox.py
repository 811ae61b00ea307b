"""Philox-4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as easy as 1, 2, 3",
SC'11; reference implementation and known-answer vectors: Random123 ``tests/kat_vectors``).

One *block* maps a 128-bit counter ``(c0, c1, c2, c3)`` and a 64-bit key ``(k0, k1)`` to four
32-bit words by ten rounds of::

    hi0, lo0 = mulhilo32(M0, c0);  hi1, lo1 = mulhilo32(M1, c2)
    (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
    (k0, k1) = (k0 + W0, k1 + W1) mod 2**32          # between rounds

Two implementations live here, framework-free:

* :func:`philox4x32_10` on Python ints, the readable reference (checked against the published
  known answers);
* :func:`philox_rounds`, the same rounds written once against a small :class:`WordOps`
  vocabulary that each framework implements with its own tensor ops (NumPy uint32/uint64,
  torch/TF int64 with 16-bit limbs, JAX uint32 with 16-bit limbs), so that every backend runs the
  identical integer algorithm and produces bit-identical words.
"""

from __future__ import annotations

from typing import Any, Sequence

MASK32 = 0xFFFFFFFF
#: Philox-4x32 multipliers and Weyl key increments (Salmon et al. 2011, Random123 philox.h).
PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10
#: words per block
LANES = 4

#: Known answers for Philox4x32-10 (Random123 ``tests/kat_vectors``): (counter, key, output).
KNOWN_ANSWERS: tuple[tuple[tuple[int, int, int, int], tuple[int, int], tuple[int, int, int, int]], ...] = (
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
)


def round_keys(key: tuple[int, int]) -> list[tuple[int, int]]:
    """The ten ``(k0, k1)`` pairs used by rounds 0..9 (key schedule, computed in Python)."""
    k0, k1 = key
    return [((k0 + r * PHILOX_W0) & MASK32, (k1 + r * PHILOX_W1) & MASK32) for r in range(PHILOX_ROUNDS)]


def philox4x32_10(counter: Sequence[int], key: Sequence[int]) -> tuple[int, int, int, int]:
    """One Philox-4x32-10 block on Python ints (the reference)."""
    c0, c1, c2, c3 = (int(c) & MASK32 for c in counter)
    for k0, k1 in round_keys((int(key[0]) & MASK32, int(key[1]) & MASK32)):
        p0, p1 = PHILOX_M0 * c0, PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32)
    return c0, c1, c2, c3


class WordOps:
    """Unsigned 32-bit word arithmetic a backend provides for :func:`philox_rounds`.

    A *word array* holds values in ``[0, 2**32)`` in whatever integer dtype the framework does
    exact arithmetic in (``uint32`` for NumPy/JAX, ``int64`` for torch/TF). Scalars may be
    Python ints or 0-d arrays and must broadcast.
    """

    def mulhilo(self, a: Any, m: int) -> tuple[Any, Any]:
        """``(hi, lo)`` 32-bit halves of the exact 64-bit product ``a * m`` (``m`` a constant)."""
        raise NotImplementedError

    def xor(self, a: Any, b: Any) -> Any:
        raise NotImplementedError


def philox_rounds(ops: WordOps, c0: Any, c1: Any, c2: Any, c3: Any, keys: Sequence[tuple[Any, Any]]) -> tuple:
    """Ten Philox rounds on word arrays; ``keys`` are the per-round key pairs (see
    :func:`round_keys`; 0-d arrays or ints)."""
    for k0, k1 in keys:
        hi0, lo0 = ops.mulhilo(c0, PHILOX_M0)
        hi1, lo1 = ops.mulhilo(c2, PHILOX_M1)
        c0, c1, c2, c3 = (ops.xor(ops.xor(hi1, c1), k0), lo1, ops.xor(ops.xor(hi0, c3), k1), lo0)
    return c0, c1, c2, c3
