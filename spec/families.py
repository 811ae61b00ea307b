"""Scheme families as objects: one :class:`Family` per ``Scheme.family``, registered once.

Each family holds its *resolve step* (validate the parameters for a shape/layout/dtype, give the
element law of :mod:`initspec.laws` and the sampler arguments every backend executes) and
declares what the conformance engine needs to know about it, so that no module compares family
names:

* ``structure``: the exact structural check of a draw: ``"constant"`` / ``"structure"`` (equal to
  the reference array), ``"orthogonality"`` (plus Haar sign statistics), ``"delta_orthogonal"``,
  ``"sparse_count"`` (zeros per column), or None (element-wise: moments and KS only);
* ``fan_rule``: ``"variance_scaling"`` (the variance is ``scale / fan``), ``"fixed"`` (a fixed
  law, no fans: :attr:`probe_distribution` names it) or None (not a fan-probe subject);
* ``audit_size``: ``"orthogonal"`` / ``"structured"`` for families the native audit draws at a
  fixed small size (no sample-size rule), None otherwise;
* ``conv_only``: defined on conv kernels only (rank 3..5);
* ``fans_in_plan``: whether the plan records the fans when the scheme uses them.

:func:`initspec.distributions.resolve` does the common work (dtype, layout, parameter merge,
range check) and dispatches to :data:`FAMILY_TABLE`.
"""

from __future__ import annotations

from . import _family_steps, _fixed_order  # noqa: F401  (define and register the families)
from ._family_base import (
    REGISTRY, Context, Family, Step, haar_element, normal_element, truncnorm_element, uniform_element,
)
from .schemes import FAMILIES

__all__ = [
    "FAMILY_TABLE", "Context", "Family", "Step", "get_family", "haar_element", "normal_element",
    "truncnorm_element", "uniform_element",
]


#: Every scheme family, registered once (each :class:`Family` subclass registers itself when
#: its module is imported above), keyed by ``Scheme.family``.
FAMILY_TABLE: dict[str, Family] = REGISTRY
if set(FAMILY_TABLE) != set(FAMILIES):  # pragma: no cover - table and scheme names out of sync
    raise AssertionError(sorted(set(FAMILY_TABLE) ^ set(FAMILIES)))


def get_family(name: str) -> Family:
    """The :class:`Family` of ``Scheme.family`` ``name``."""
    return FAMILY_TABLE[name]
