"""Fixtures of the report tests: fake results documents (built once per session)."""

from __future__ import annotations

import copy

import pytest

from .fake_results import make_results


@pytest.fixture(scope="session")
def _small_doc() -> dict:
    return make_results()


@pytest.fixture
def small_doc(_small_doc) -> dict:
    """A fresh deep copy of the small fake document (tests may mutate it)."""
    return copy.deepcopy(_small_doc)


@pytest.fixture(scope="session")
def small_html(_small_doc) -> str:
    from initspec.reports import render_html

    return render_html(_small_doc)
