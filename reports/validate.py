"""Shallow structural validation of a results document before rendering: the types of the
top-level fields and of their records, so that a malformed file is reported as one clear
``ValueError`` naming the field instead of failing somewhere inside the template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: top-level field -> (allowed types, type of each record or None)
FIELDS: dict[str, tuple[tuple[type, ...], type | None]] = {
    "backends": ((list,), dict),
    "checks": ((list,), dict),
    "samples": ((dict,), dict),
    "fans": ((list,), dict),
    "native": ((list,), dict),
    "experiments": ((dict, type(None)), None),
    "portable": ((dict, type(None)), None),
    "summary": ((dict, type(None)), None),
    "environment": ((dict, type(None)), None),
    "config": ((dict, type(None)), None),
}
#: experiments field -> record type
EXPERIMENT_LISTS = ("claims", "symmetry", "signal", "trainability")


def _type_names(types: tuple[type, ...]) -> str:
    names = {list: "a list", dict: "an object", type(None): "null"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_records(where: str, records: Any, rtype: type) -> None:
    items = records.items() if isinstance(records, Mapping) else enumerate(records)
    for k, r in items:
        if not isinstance(r, rtype):
            raise ValueError(f"`{where}[{k!r}]` must be {_type_names((rtype,))}. Received: {where}[{k!r}]={r!r:.80}")


def validate(doc: Any) -> None:
    """Raise ``ValueError`` naming the first field of ``doc`` with the wrong type."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"A results document must be a JSON object. Received: {type(doc).__name__}")
    for name, (types, rtype) in FIELDS.items():
        if name not in doc:
            continue
        v = doc[name]
        if not isinstance(v, types):
            raise ValueError(f"`{name}` must be {_type_names(types)}. Received: {name}={v!r:.80}")
        if rtype is not None:
            _check_records(name, v, rtype)
    exp = doc.get("experiments") or {}
    for name in EXPERIMENT_LISTS:
        v = exp.get(name)
        if v is None:
            continue
        if not isinstance(v, list):
            raise ValueError(f"`experiments.{name}` must be a list. Received: experiments.{name}={v!r:.80}")
        _check_records(f"experiments.{name}", v, dict)
