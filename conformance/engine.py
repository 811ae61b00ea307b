"""``check_draw`` and ``check_determinism``: every check of one draw against its plan.

Framework-free: values always arrive as ``np.ndarray`` (the adapter's ``to_numpy``; float16 and
bfloat16 may arrive on a float32 carrier). The exact tier is :mod:`.exact`, the statistical tier
:mod:`.statistical`; each check is a ``Check`` record (:mod:`.records`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from initspec.distributions import Plan

from . import stats as S
from .exact import (
    check_delta_orthogonal,
    check_dtype,
    check_equal_reference,
    check_finite,
    check_orthogonality,
    check_shape,
    check_sparse_zeros,
)
from .recorder import Recorder
from .statistical import check_complex, check_haar_signs, check_real_continuous, nonzero_law

__all__ = ["STRUCTURAL_CHECKS", "check_determinism", "check_draw"]

#: The exact checks of each structure kind a family declares (:attr:`initspec.families.Family.structure`).
STRUCTURAL_CHECKS: dict[str, tuple[Callable[[Recorder, np.ndarray], None], ...]] = {
    "constant": (lambda rec, stack: check_equal_reference(rec, stack, "constant"),),
    "structure": (lambda rec, stack: check_equal_reference(rec, stack, "structure"),),
    "delta_orthogonal": (check_delta_orthogonal,),
    "orthogonality": (check_orthogonality, check_haar_signs),
    "sparse_count": (check_sparse_zeros,),
}


def check_draw(
    values: np.ndarray, plan: Plan, *, alpha: float, meta: dict[str, Any] | None = None, draws: int = 1
) -> list[dict[str, Any]]:
    """Every exact and statistical check of one draw (or ``draws`` independent draws stacked on a
    new leading axis) against ``plan``; returns ``Check`` records (see module docstring).

    ``meta`` supplies ``backend``, ``device``, ``subject`` (``initspec``/``native``/``portable``),
    ``native_name``, ``seed``, ``reproduce`` (copied into each record), optionally ``case`` (an id
    suffix) and ``native_dtype`` (the framework's own dtype name, compared with ``plan.dtype``).
    For ``subject == "native"`` a failing check has the verdict ``finding``.
    """
    alpha = S.check_alpha(alpha)
    if not isinstance(plan, Plan):
        raise TypeError(
            f"Argument `plan` must be an initspec Plan (initspec.resolve). Received: plan={plan!r}"
        )
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"Argument `draws` must be an int >= 1. Received: draws={draws!r}")
    arr = np.asarray(values)
    rec = Recorder(plan, meta or {}, alpha, draws)
    shape_ok = check_shape(rec, arr)
    x = check_dtype(rec, arr)
    flat = check_finite(rec, x.ravel())
    stack = x.reshape((draws, *plan.shape)) if shape_ok else None
    el, structure = plan.element, plan.family.structure
    if structure is not None:
        if stack is None:
            rec.add("structure", "exact", None, "skipped: wrong shape", verdict="skip")
        else:
            for check in STRUCTURAL_CHECKS[structure]:
                check(rec, stack)
    if not el.law.statistical:
        return rec.records
    if el.is_complex:
        check_complex(rec, flat, el)
    elif el.law.zero_atom:
        check_real_continuous(rec, flat[flat != 0], nonzero_law(el))
    else:
        check_real_continuous(rec, flat, el)
    return rec.records



def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def check_determinism(
    draw: Callable[[int], np.ndarray],
    seeds: tuple[int, int],
    meta: dict[str, Any] | None = None,
    *,
    plan: Plan | None = None,
    expect_seed_effect: bool | None = None,
) -> list[dict[str, Any]]:
    """Same seed -> bit-identical values (``determinism``); different seeds -> different values
    (``seed_sensitivity``; for deterministic schemes, identical values).

    ``draw(seed)`` returns a numpy array. ``plan`` (or ``meta["plan"]``) names the case in the
    records; ``expect_seed_effect`` defaults to ``not plan.scheme.deterministic``.
    """
    if not (isinstance(seeds, (tuple, list)) and len(seeds) == 2 and seeds[0] != seeds[1]):
        raise ValueError(f"Argument `seeds` must be two different seeds. Received: seeds={seeds!r}")
    meta = dict(meta or {})
    plan = plan or meta.pop("plan", None)
    if plan is None:
        raise ValueError(
            "check_determinism needs the case: pass plan=initspec.resolve(...). Received: plan=None"
        )
    if expect_seed_effect is None:
        expect_seed_effect = not plan.scheme.deterministic
    s1, s2 = seeds
    a, b, c = (np.asarray(draw(s)) for s in (s1, s1, s2))
    rec = Recorder(plan, {**meta, "seed": s1}, None)
    same = _same(a, b)
    frac = float(np.mean(a == b)) if a.shape == b.shape and a.size else 0.0
    rec.add(
        "determinism",
        "exact",
        same,
        f"seed {s1} twice: {'bit-identical' if same else f'{frac:.1%} of values equal (must be 100%)'}",
        measured=frac,
        expected=1.0,
    )
    equal = _same(a, c)
    frac2 = float(np.mean(a == c)) if a.shape == c.shape and a.size else 0.0
    ok = (not equal) if expect_seed_effect else equal
    want = "different values" if expect_seed_effect else "identical values (deterministic scheme)"
    rec.add(
        "seed_sensitivity",
        "exact",
        ok,
        f"seeds {s1} and {s2}: {frac2:.1%} of values equal; expected {want}",
        measured=frac2,
        expected=0.0 if expect_seed_effect else 1.0,
    )
    return rec.records
