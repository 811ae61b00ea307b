"""Conformance: statistical checks of any initializer against the spec, the runner and results.

* :mod:`initspec.conformance.checks` - the check engine (``check_draw``, ``Budget``, ``plan_n``,
  ``DEFAULT_MATRIX``); :mod:`~initspec.conformance.stats` - its statistics;
* :mod:`initspec.conformance.fanprobe` - recover fan mode, scale and family from draws;
* :func:`assert_conforms` - the checks as an assertion for users' own tests;
* :mod:`initspec.conformance.results` - the versioned ``results.json`` contract.

Framework-free: importing this package imports NumPy and scipy only.
"""

from __future__ import annotations

from .api import assert_conforms

__all__ = ["assert_conforms"]
