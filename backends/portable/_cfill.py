"""The compiled fast path of the portable stream's two real element-wise kinds (``uniform``,
``normal``): :func:`fill` runs ``_ckernel.c`` (built with the package; the same operations as the
Python definition in :mod:`._float32`/:mod:`._spec`, bit for bit, with every constant passed in from
those modules) and :func:`available` says whether it was built. Without it (a platform with no C
compiler at install), the NumPy reference generator runs instead: same values, slower.

``INITSPEC_PORTABLE_KERNEL=numpy`` turns the compiled path off (to compare the two).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ._float32 import (
    FLT_MIN, LG1, LG2, LG3, LG4, LN2_HI, LN2_LO, ONE_MINUS_ULP, PPND7_CONST1, PPND7_CONST2, PPND7_DEN,
    PPND7_NUM, PPND7_SPLIT1, PPND7_SPLIT2, SQRT_HALF, TWO_M24)
from ._philox import LANES

try:  # built from _ckernel.c by setuptools (pyproject.toml [tool.setuptools.ext-modules]); imported by its
    # module path, not through the package, which imports this module
    import initspec.backends.portable._ckernel as _ckernel  # type: ignore[import-not-found]
except ImportError as _e:  # pragma: no cover - exercised where the extension was not built
    _ckernel = None
    IMPORT_ERROR: str | None = str(_e)
else:
    IMPORT_ERROR = None

__all__ = ["CONSTANTS", "CONSTANT_NAMES", "KINDS", "available", "fill", "fill_columns"]

#: the float32 constants of the transforms, in the order of ``_ckernel.c``'s enum, and their names
_NAMED_CONSTANTS = [
    ("TWO_M24", TWO_M24), ("FLT_MIN", FLT_MIN), ("ONE_MINUS_ULP", ONE_MINUS_ULP),
    ("SQRT_HALF", SQRT_HALF), ("LN2_HI", LN2_HI), ("LN2_LO", LN2_LO),
    ("LG1", LG1), ("LG2", LG2), ("LG3", LG3), ("LG4", LG4),
    ("PPND7_SPLIT1", PPND7_SPLIT1), ("PPND7_SPLIT2", PPND7_SPLIT2),
    ("PPND7_CONST1", PPND7_CONST1), ("PPND7_CONST2", PPND7_CONST2),
    *((f"PPND7_{part}_{region}{i}", v) for region in ("central", "mid", "far")
      for part, table in (("NUM", PPND7_NUM), ("DEN", PPND7_DEN)) for i, v in enumerate(table[region])),
]
_INEXACT = [name for name, v in _NAMED_CONSTANTS if float(np.float32(v)) != v]
if _INEXACT:  # pragma: no cover - _float32 rounds every constant to float32; the kernel must get the same
    raise AssertionError(f"constants not exactly representable in float32: {_INEXACT}")
CONSTANT_NAMES = tuple(name for name, _ in _NAMED_CONSTANTS)
CONSTANTS = np.array([v for _, v in _NAMED_CONSTANTS], dtype=np.float32)
#: kind -> (code, parameter names in the order of ``_ckernel.c``'s enums)
KINDS: dict[str, tuple[int, tuple[str, ...]]] = {
    "uniform": (0, ("span", "low", "lo", "hi")),
    "normal": (1, ("pa", "dp", "sign", "std", "mean", "lo", "hi")),
}
if _ckernel is not None and _ckernel.N_CONSTANTS != CONSTANTS.size:  # pragma: no cover - stale build
    raise ImportError(f"initspec.backends.portable._ckernel expects {_ckernel.N_CONSTANTS} constants, "
                      f"_cfill has {CONSTANTS.size}: rebuild the package (pip install .)")


def available() -> bool:
    """Whether the compiled kernel is built and not turned off by ``INITSPEC_PORTABLE_KERNEL=numpy``."""
    return _ckernel is not None and os.environ.get("INITSPEC_PORTABLE_KERNEL", "") != "numpy"


def fill(kind: str, keys: Any, draw: int, start: int, prm: dict[str, Any], out: np.ndarray) -> bool:
    """Write elements ``start .. start + out.size - 1`` of ``draw`` into the contiguous float32
    ``out`` and return True; False (nothing written) where the compiled kernel is unavailable or
    ``kind`` is not one of :data:`KINDS`. ``keys`` is the ``(10, 2)`` uint32 round-key table."""
    if kind not in KINDS or not available():
        return False
    code, names = KINDS[kind]
    table = np.ascontiguousarray(keys, dtype=np.uint32).reshape(-1)
    params = np.array([prm[n] for n in names], dtype=np.float32)
    n, start, draw = int(out.size), int(start), int(draw)
    # element i depends on (keys, draw, start + i) only, so any split gives the same values
    _split(n, LANES, 1, lambda a, b: _ckernel.fill(code, table, draw, start + a, b - a, params, CONSTANTS, out[a:b]))
    return True


def fill_columns(kind: str, keys: Any, draw: int, prm: dict[str, Any], out: np.ndarray) -> bool:
    """Write the logical tensor of ``draw`` into ``out``, a float32 view of the **logical** shape
    ``(R, *rest)`` (``out[idx]`` = the element of C-order index ``idx``) whose first axis has unit
    stride and whose other strides are non-negative, and return True; False (nothing written) where
    :func:`fill` would return False. That covers a tensor stored transposed (a Keras/Flax ``(in,
    out)`` kernel of the logical ``(out, in)``, also a block of a wider matrix such as one q/k/v
    block of a fused projection) and a conv kernel stored ``(kh, kw, in, out)`` of the logical
    ``(out, in, kh, kw)``: each logical column (an index of ``rest``) is ``R`` consecutive floats.
    One pass over ``out``: what generating the logical tensor and permuting it gives, without the
    intermediate tensor or the second copy."""
    if kind not in KINDS or not available():
        return False
    if (out.ndim < 1 or out.dtype != np.float32 or out.strides[0] != 4 or any(st < 0 or st % 4 for st in out.strides)
            or not out.flags.writeable):
        raise ValueError(f"Argument `out` must be a writable float32 array with a unit-stride first axis and "
                         f"non-negative strides. Received: {out.dtype} array of shape {out.shape}, strides {out.strides}")
    code, names = KINDS[kind]
    table = np.ascontiguousarray(keys, dtype=np.uint32).reshape(-1)
    params = np.array([prm[n] for n in names], dtype=np.float32)
    rows, cols = out.shape[0], int(np.prod(out.shape[1:], dtype=np.int64))
    rowoff = np.zeros(out.shape[1:], dtype=np.int64)  # the float offset of each logical column
    for axis, (size, stride) in enumerate(zip(out.shape[1:], out.strides[1:])):
        rowoff += (np.arange(size, dtype=np.int64) * (stride // 4)).reshape([-1 if a == axis else 1
                                                                             for a in range(out.ndim - 1)])
    rowoff = rowoff.reshape(-1)
    span = int(rowoff.max()) + rows if cols and rows else 0  # out[0...0] to its last element, as one buffer
    flat = np.lib.stride_tricks.as_strided(out, shape=(span,), strides=(4,))
    _split(rows, _ckernel.TILE_ROWS, cols,
           lambda a, b: _ckernel.fill_t(code, table, int(draw), rows, cols, rowoff, a, b, params, CONSTANTS, flat))
    return True


def _split(total: int, align: int, size: int, run: Callable[[int, int], Any]) -> None:
    """``run(a, b)`` over ``[0, total)`` in parts starting at multiples of ``align``, one per thread
    (:func:`threads`, at least :data:`MIN_PER_THREAD` elements each, an item being ``size``
    elements), in parallel: the kernel releases the GIL, as torch's own ``normal_`` uses its threads."""
    parts = min(threads(), total * size // MIN_PER_THREAD, -(-total // align))
    if parts <= 1:
        run(0, total)
        return
    step = -(-total // parts // align) * align
    list(_pool().map(lambda a: run(a, min(a + step, total)), range(0, total, step)))


#: elements per thread below which one thread does it all (thread hand-off costs ~10-50 us)
MIN_PER_THREAD = 1 << 17
_POOL: list[ThreadPoolExecutor] = []


def threads() -> int:
    """Threads of the compiled kernel: ``INITSPEC_PORTABLE_THREADS``, else the CPUs this process may
    run on (``os.sched_getaffinity``), at most 8."""
    env = os.environ.get("INITSPEC_PORTABLE_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"INITSPEC_PORTABLE_THREADS must be a positive int. Received: {env!r}") from None
        if value < 1:
            raise ValueError(f"INITSPEC_PORTABLE_THREADS must be a positive int. Received: {env!r}")
        return value
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(8, cpus))


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=8, thread_name_prefix="initspec-portable"))
    return _POOL[0]
