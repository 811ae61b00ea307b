"""Validation of a results document before rendering, by the published JSON Schema
(``initspec/conformance/results.schema.json``, draft 2020-12) with the ``jsonschema`` library:
a malformed document is one :class:`~initspec.conformance.results.ResultsError` (a
``ValueError``) naming its source and the first offending JSON path, never an error somewhere
inside the template. Version-1 documents are upgraded to version 2 first.

Framework-free: :mod:`initspec.conformance.results` imports the standard library only.
"""

from __future__ import annotations

from typing import Any

from initspec.conformance.results import ResultsError, schema
from initspec.conformance.results import validate as _validate

__all__ = ["ResultsError", "schema", "validate"]


def validate(doc: Any, source: str = "results") -> dict[str, Any]:
    """``doc`` upgraded to the current schema version and validated; raises
    :class:`ResultsError` naming ``source`` and the first offending JSON path."""
    return _validate(doc, source)
