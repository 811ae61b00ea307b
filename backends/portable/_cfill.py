"""The compiled fast path of the portable stream's two real element-wise kinds (``uniform``,
``normal``): :func:`fill` runs ``_ckernel.c`` (built with the package; the same operations as the
Python definition in :mod:`._float32`/:mod:`._spec`, bit for bit, with every constant passed in from
those modules) and :func:`available` says whether it was built. Without it (a platform with no C
compiler at install), the NumPy reference generator runs instead: same values, slower.

``INITSPEC_PORTABLE_KERNEL=numpy`` turns the compiled path off (to compare the two).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import _float32 as F
from ._philox import LANES

try:  # built from _ckernel.c by setuptools (pyproject.toml [tool.setuptools.ext-modules])
    from . import _ckernel  # type: ignore[attr-defined]
except ImportError as _e:  # pragma: no cover - exercised where the extension was not built
    _ckernel = None
    IMPORT_ERROR: str | None = str(_e)
else:
    IMPORT_ERROR = None

__all__ = ["CONSTANTS", "CONSTANT_NAMES", "KINDS", "available", "fill", "fill_transposed"]

#: the float32 constants of the transforms, in the order of ``_ckernel.c``'s enum, and their names
_NAMED_CONSTANTS = [
    ("TWO_M24", F.TWO_M24), ("FLT_MIN", F.FLT_MIN), ("ONE_MINUS_ULP", F.ONE_MINUS_ULP),
    ("SQRT_HALF", F.SQRT_HALF), ("LN2_HI", F.LN2_HI), ("LN2_LO", F.LN2_LO),
    ("LG1", F.LG1), ("LG2", F.LG2), ("LG3", F.LG3), ("LG4", F.LG4),
    ("PPND7_SPLIT1", F.PPND7_SPLIT1), ("PPND7_SPLIT2", F.PPND7_SPLIT2),
    ("PPND7_CONST1", F.PPND7_CONST1), ("PPND7_CONST2", F.PPND7_CONST2),
    *((f"PPND7_{part}_{region}{i}", v) for region in ("central", "mid", "far")
      for part, table in (("NUM", F.PPND7_NUM), ("DEN", F.PPND7_DEN)) for i, v in enumerate(table[region])),
]
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
for _k in CONSTANTS:  # every constant is a float32 value already (f32-rounded in _float32)
    assert float(np.float32(_k)) == float(_k)


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
    parts = min(threads(), n // MIN_PER_THREAD)
    if parts <= 1:
        _ckernel.fill(code, table, draw, start, n, params, CONSTANTS, out)
        return True
    # element i depends on (keys, draw, start + i) only, so any split gives the same values; the
    # kernel releases the GIL, so the parts run in parallel (as torch's own normal_ uses its threads)
    step = -(-n // parts // LANES) * LANES
    bounds = [(a, min(a + step, n)) for a in range(0, n, step)]
    list(_pool().map(lambda ab: _ckernel.fill(code, table, draw, start + ab[0], ab[1] - ab[0], params, CONSTANTS,
                                              out[ab[0]:ab[1]]), bounds))
    return True


def fill_transposed(kind: str, keys: Any, draw: int, prm: dict[str, Any], out: np.ndarray) -> bool:
    """Write a logical ``(R, C)`` tensor of ``draw`` into the float32 ``out`` of shape ``(C, R)``
    that stores it transposed (``out[c, r]`` = element ``r C + c``), and return True; False (nothing
    written) where :func:`fill` would return False. ``out`` may be a block of a wider matrix (row
    stride >= R, unit column stride, e.g. one q/k/v block of a fused projection). One pass over
    ``out``: what generating the logical tensor and transposing it gives, without the second copy."""
    if kind not in KINDS or not available():
        return False
    if out.ndim != 2 or out.dtype != np.float32 or out.strides[1] != 4 or out.strides[0] % 4 \
            or out.strides[0] < 4 * out.shape[1] or not out.flags.writeable:
        raise ValueError(f"Argument `out` must be a writable 2-D float32 array with unit column stride. Received: "
                         f"{out.dtype} array of shape {out.shape}, strides {out.strides}")
    code, names = KINDS[kind]
    table = np.ascontiguousarray(keys, dtype=np.uint32).reshape(-1)
    params = np.array([prm[n] for n in names], dtype=np.float32)
    cols, rows = out.shape  # physical (C, R) of the logical (R, C)
    ld = out.strides[0] // 4
    span = (cols - 1) * ld + rows if cols else 0  # the memory from out[0, 0] to out[-1, -1], as one buffer
    flat = np.lib.stride_tricks.as_strided(out, shape=(span,), strides=(4,))
    tile = _ckernel.TILE_ROWS
    parts = min(threads(), rows * cols // MIN_PER_THREAD, -(-rows // tile))
    if parts <= 1:
        _ckernel.fill_t(code, table, int(draw), rows, cols, ld, 0, rows, params, CONSTANTS, flat)
        return True
    step = -(-rows // parts // tile) * tile
    bounds = [(a, min(a + step, rows)) for a in range(0, rows, step)]
    list(_pool().map(lambda ab: _ckernel.fill_t(code, table, int(draw), rows, cols, ld, ab[0], ab[1], params,
                                                CONSTANTS, flat), bounds))
    return True


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
