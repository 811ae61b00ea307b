"""The element-law and scheme-family tables (issue 11): registered once, consistent with the
scheme table, and each law's declared moments agree with its summary (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
import pytest
from initspec import FAMILIES, SCHEMES, resolve
from initspec.families import FAMILY_TABLE, get_family
from initspec.laws import LAWS, MAX_MOMENT

PLANS = [
    ("he_normal", (64, 32)), ("glorot_uniform", (64, 32)), ("lecun_truncated_normal", (64, 32)),
    ("orthogonal", (8, 8)), ("orthogonal", (1, 1)), ("sparse", (16, 8)), ("zeros", (4, 4)),
    ("identity", (4, 4)), ("dirac", (4, 4, 3, 3)),
]


def test_every_scheme_family_is_registered_once():
    assert set(FAMILY_TABLE) == set(FAMILIES)
    for name, fam in FAMILY_TABLE.items():
        assert get_family(name) is fam and fam.name == name
    assert {s.family for s in SCHEMES.values()} <= set(FAMILY_TABLE)


def test_every_law_kind_is_registered():
    assert set(LAWS) == {"point", "normal", "truncnorm", "uniform", "haar", "rademacher", "sparse", "structured"}
    assert all(law.kind == kind for kind, law in LAWS.items())


@pytest.mark.parametrize("scheme,shape", PLANS)
def test_plan_law_and_family_agree(scheme, shape):
    layout = "torch" if len(shape) == 4 else "keras"
    plan = resolve(scheme, shape, layout)
    el, law = plan.element, plan.element.law
    assert plan.family is FAMILY_TABLE[plan.scheme.family]
    mu = law.central_moments(el)
    if not law.statistical:
        assert mu is None and plan.family.structure is not None
        return
    assert mu is not None and len(mu) == MAX_MOMENT + 1
    assert mu[2] == pytest.approx(el.var, rel=1e-12)
    if el.excess_kurtosis is not None:
        assert mu[4] / mu[2] ** 2 - 3.0 == pytest.approx(el.excess_kurtosis, rel=1e-9, abs=1e-12)
    if law.has_density:  # the fast CDF is the exact one
        x = np.linspace(el.mean - 3 * el.std, el.mean + 3 * el.std, 101)
        np.testing.assert_allclose(law.fast_cdf(el)(x), el.cdf(x), rtol=1e-10, atol=1e-14)
