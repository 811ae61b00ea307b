"""The typed records of ``results.json`` (schema version 2): frozen dataclasses with
``as_dict()``/``from_dict()``, and the ONE function that makes check and sample ids.

Framework-free (standard library only; the spec table is imported lazily to find a scheme's
defaults). The record parts of :file:`results.schema.json` list exactly these fields (a test
checks that they cannot drift apart), so a document that validates converts losslessly::

    >>> c = Check.make(backend="numpy", device="cpu", subject="initspec", scheme="he_normal",
    ...                layout="keras", shape=(256, 128), dtype="float32", check="ks", tier="statistical",
    ...                verdict="pass")
    >>> c.id, c.group
    ('numpy/cpu/initspec/he_normal/keras[256x128]/float32/ks', 'numpy/cpu/initspec/he_normal/keras[256x128]/float32')
    >>> Check.from_dict(c.as_dict()) == c
    True

A *check group* is every check of one draw (one backend, device, subject, scheme with its
non-default parameters, layout, shape and dtype); its id is the check id without the last
``/check`` segment, and a :class:`SampleSummary` names its group in ``group`` (the key of the
``samples`` object), so the report joins samples and checks by that declared field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

Verdict = Literal["pass", "fail", "finding", "skip", "unavailable"]
Subject = Literal["initspec", "native", "portable"]
Tier = Literal["exact", "statistical", "fan"]
RunStatus = Literal["ok", "unavailable", "error"]
FindingVerdict = Literal["matches", "departs", "skip", "unavailable"]

#: Verdicts of a check, in the order the ``summary`` counts them.
VERDICTS: tuple[str, ...] = ("pass", "fail", "finding", "skip", "unavailable")

R = TypeVar("R", bound="Record")


def plain(v: Any) -> Any:
    """``v`` as plain JSON types: tuples become lists, NumPy scalars (anything with ``.item()``
    and no length) Python numbers, complex numbers ``[real, imag]``; mappings and lists recurse."""
    if isinstance(v, Mapping):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, complex):
        return [v.real, v.imag]
    if not isinstance(v, (str, bytes, int, float, bool, type(None))) and hasattr(v, "item") and not hasattr(v, "__len__"):
        return plain(v.item())
    return v


class Record:
    """Base of the record types: field names, ``as_dict`` and ``from_dict``."""

    __slots__ = ()
    #: the results.schema.json ``$defs`` entry describing this record
    SCHEMA_DEF: ClassVar[str]

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]

    @classmethod
    def required_names(cls) -> tuple[str, ...]:
        """Fields without a default: required in the schema too."""
        return tuple(f.name for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                     if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)

    def __post_init__(self) -> None:
        """Lists become tuples (records compare equal however they were built)."""
        for name in self.field_names():
            v = getattr(self, name)
            if isinstance(v, list):
                object.__setattr__(self, name, tuple(v))

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (every field, in declaration order)."""
        return {name: plain(getattr(self, name)) for name in self.field_names()}

    @classmethod
    def from_dict(cls: type[R], d: Mapping[str, Any]) -> R:  # noqa: PYI019 - typing.Self needs 3.11
        """The record of a (validated) dict; unknown keys are refused with their names."""
        extra = sorted(set(d) - set(cls.field_names()))
        if extra:
            raise ValueError(f"{cls.__name__} has no field(s) {extra}. Received: keys={sorted(d)}")
        return cls(**d)


def group_id(*, backend: str, device: str, subject: str = "initspec", native_name: str | None = None,
             scheme: str | None = None, params: Mapping[str, Any] | None = None, layout: str | None = None,
             shape: Sequence[int] = (), dtype: str | None = None, case: Any = None) -> str:
    """The id of a check group: ``backend/device/subject[:native]/scheme(non-default params)/
    layout[AxB]/dtype[#case]`` (``*`` for no scheme, ``-`` for no layout). Parameters equal to
    the scheme's defaults (:data:`initspec.schemes.SCHEMES`) are left out."""
    who = f"{subject}:{native_name}" if native_name else subject
    name = scheme or "*"
    extra = {k: v for k, v in (params or {}).items() if _defaults(name).get(k) != v}
    if extra:
        name = f"{name}({','.join(f'{k}={v}' for k, v in sorted(extra.items()))})"
    dims = "x".join(str(d) for d in shape)
    tail = f"#{case}" if case else ""
    return f"{backend}/{device}/{who}/{name}/{layout or '-'}[{dims}]/{dtype}{tail}"


def check_id(group: str, check: str) -> str:
    """The id of one check of a group."""
    return f"{group}/{check}"


def _defaults(scheme: str) -> Mapping[str, Any]:
    from initspec.schemes import get_scheme

    try:
        return get_scheme(scheme).defaults
    except (KeyError, ValueError, TypeError):
        return {}


@dataclasses.dataclass(frozen=True, slots=True)
class BackendRun(Record):
    """One backend x device run (a column of the report's summary matrix)."""

    SCHEMA_DEF: ClassVar[str] = "BackendRun"
    backend: str  # numpy | torch | tensorflow | jax
    device: str  # cpu | gpu
    status: RunStatus
    reason: str | None = None
    versions: Mapping[str, str] = dataclasses.field(default_factory=dict)  # framework -> version
    device_name: str | None = None
    duration_s: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Check(Record):
    """One check of one draw. ``pass``/``fail`` for initspec's adapters, ``finding`` for a
    native initializer that departs from the spec, ``skip`` with a reason in ``message``,
    ``unavailable`` for a backend/device that could not run."""

    SCHEMA_DEF: ClassVar[str] = "Check"
    id: str  # check_id(group, check), made unique by the runner (#2 suffixes)
    group: str  # group_id(...) of the draw
    backend: str
    device: str
    subject: Subject
    scheme: str  # spec scheme the subject is compared with ("*": none)
    check: str  # shape|dtype|device|constant|support|determinism|mean|variance|kurtosis|ks|fan_probe|...
    tier: Tier
    verdict: Verdict
    native_name: str | None = None  # e.g. "torch.nn.init.xavier_normal_"
    layout: str | None = None
    shape: Sequence[int] = ()
    dtype: str | None = None
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    measured: Any = None
    expected: Any = None
    interval: Sequence[float] | None = None  # acceptance interval for `measured`
    p_value: float | None = None
    alpha: float | None = None  # per-test level after family-wise correction
    n: int | None = None
    seed: int | None = None
    std_ratio: float | None = None  # measured std / spec std, for the summary matrix
    message: str = ""
    reproduce: str = ""  # copy-paste command

    @classmethod
    def make(cls, *, backend: str, device: str, check: str, tier: Tier, verdict: Verdict,
             subject: Subject = "initspec", native_name: str | None = None, scheme: str | None = None,
             params: Mapping[str, Any] | None = None, layout: str | None = None, shape: Sequence[int] = (),
             dtype: str | None = None, case: Any = None, **rest: Any) -> Check:
        """A check whose ``group`` and ``id`` are made by :func:`group_id`/:func:`check_id`."""
        gid = group_id(backend=backend, device=device, subject=subject, native_name=native_name, scheme=scheme,
                       params=params, layout=layout, shape=shape, dtype=dtype, case=case)
        return cls(id=check_id(gid, check), group=gid, backend=backend, device=device, subject=subject,
                   scheme=scheme or "*", check=check, tier=tier, verdict=verdict, native_name=native_name,
                   layout=layout, shape=tuple(shape), dtype=dtype, params=dict(params or {}), **rest)


@dataclasses.dataclass(frozen=True, slots=True)
class SampleSummary(Record):
    """A small summary of one draw for the report's plots: histogram, spec density, empirical
    minus spec CDF, moments (``{check: {measured, expected, interval, p_value, verdict}}``)."""

    SCHEMA_DEF: ClassVar[str] = "SampleSummary"
    group: str  # id of the check group the draw belongs to (the key in ``samples``)
    backend: str
    device: str
    subject: Subject
    scheme: str
    dtype: str
    n: int  # draws summarised (the histogram may not show values outside its range)
    hist_edges: Sequence[float]
    hist_counts: Sequence[int]
    alpha: float | None = None  # per-test level of the group's KS test
    native_name: str | None = None
    layout: str | None = None
    shape: Sequence[int] = ()
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    pdf_x: Sequence[float] = ()  # spec density on a grid (for the overlay)
    pdf_y: Sequence[float | None] = ()
    cdf_diff_x: Sequence[float] = ()  # empirical CDF - spec CDF
    cdf_diff_y: Sequence[float | None] = ()
    moments: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    bounds: Sequence[float | None] = (None, None)


@dataclasses.dataclass(frozen=True, slots=True)
class FanRow(Record):
    """Fans of one logical layer as one framework stores and computes them."""

    SCHEMA_DEF: ClassVar[str] = "FanRow"
    layer: str  # Dense(64->128), Conv2D(3x3, 64->128), ...
    framework: str
    layout: str
    shape: Sequence[int]
    fan_in: float
    fan_out: float
    spec_fan_in: float
    spec_fan_out: float
    std: Mapping[str, float] = dataclasses.field(default_factory=dict)  # scheme -> std for this layer
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class NativeFinding(Record):
    """What a framework's own initializer measurably is, in spec terms."""

    SCHEMA_DEF: ClassVar[str] = "NativeFinding"
    framework: str
    name: str  # e.g. "keras.initializers.GlorotNormal", "torch.nn.Linear.weight"
    verdict: FindingVerdict
    claimed: str = ""  # what the name suggests, in spec terms
    spec_terms: str = ""  # what it measurably is (fan, scale, distribution, truncation)
    equivalent_scheme: str | None = None
    measured: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    departures: Sequence[str] = ()  # one sentence each
    source: str = ""  # cited framework function


#: The record types, by their schema ``$defs`` name.
RECORD_TYPES: dict[str, type[Record]] = {t.SCHEMA_DEF: t for t in (BackendRun, Check, SampleSummary, FanRow,
                                                                    NativeFinding)}
