"""Weight layouts: which axes of a weight tensor are *in*, *out*, *batch* and *receptive field*.

A fan rule is only defined together with a layout. For a weight of ``shape`` under a layout:

* ``receptive = prod(shape[a] for a not in in/out/batch axes)``
* ``fan_in  = prod(shape[in_axes])  * receptive``
* ``fan_out = prod(shape[out_axes]) * receptive / groups``

The spec's own choices (each framework's behaviour is recorded in ``initspec.native``):

* **groups**: ``fan_in`` uses the per-group input axis as stored, which is already correct in every
  framework. ``fan_out`` is divided by ``groups`` (the spec's *logical* fan: the number of
  outputs one input unit feeds). torch (``_calculate_fan_in_and_fan_out``) and Keras
  (``compute_fans``) ignore groups, which equals the spec with ``groups=1``.
* **transposed convolutions**: torch ``(in, out/groups, *k)`` and Keras ``(*k, out, in)`` both
  take fan_in from the layer's *output*-channel axis (the fans of the convolution being
  transposed). The spec keeps that shared convention so that the same logical layer gets the same
  numbers in both frameworks.
* **depthwise convolutions** ``(*k, channels, multiplier)``: the channel axis is a *batch* axis
  (independent filters), so ``fan_in = receptive`` and ``fan_out = multiplier * receptive``.
  Keras ``compute_fans`` treats channels as in (``fan_in = channels * receptive``): a departure.
* **rank < 2**: fans are undefined; the spec raises (as torch and JAX do), and callers pass
  ``fans=(fan_in, fan_out)`` explicitly. Keras uses ``(1, 1)`` for 0-D and ``(n, n)`` for 1-D.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from .errors import InitSpecError, check_axes, check_finite, check_shape, unknown

Axes = tuple[int, ...]


class Fans(NamedTuple):
    """Fans of one weight tensor."""

    fan_in: float
    fan_out: float
    receptive_field: int

    def fan(self, mode: str) -> float:
        """The denominator of a variance-scaling rule for ``mode``."""
        if mode == "fan_in":
            return self.fan_in
        if mode == "fan_out":
            return self.fan_out
        if mode == "fan_avg":
            return (self.fan_in + self.fan_out) / 2.0
        if mode == "fan_geo_avg":
            return math.sqrt(self.fan_in * self.fan_out)
        raise unknown("fan mode", "mode", mode, FAN_MODES)


FAN_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")


def _as_axes(a: int | Sequence[int] | None, arg: str = "axes") -> Axes:
    return check_axes(arg, a)


@dataclass(frozen=True)
class Layout:
    """Roles of the axes of a weight tensor.

    ``in_axes``/``out_axes``/``batch_axes`` may be negative (counted from the end), as in
    ``jax.nn.initializers.variance_scaling(in_axis=-2, out_axis=-1, batch_axis=())``.
    ``orthogonal`` flattening: the out axes become the rows of a matrix whose columns are all
    other (non-batch) axes, so each output unit's weight vector is one row.
    """

    name: str
    framework: str
    in_axes: Axes
    out_axes: Axes
    batch_axes: Axes = ()
    min_rank: int = 2
    max_rank: int | None = None
    pattern: str = ""
    source: str = ""
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())

    # -- axis helpers -------------------------------------------------------------------
    def _norm(self, axes: Axes, rank: int, shape: tuple[int, ...]) -> Axes:
        out = []
        for a in axes:
            if not -rank <= a < rank:
                raise InitSpecError(
                    f"Layout {self.name!r} needs axis {a}, but the shape has rank {rank}. "
                    f"Received: shape={shape!r}"
                )
            out.append(a % rank)
        return tuple(out)

    def roles(self, shape: Sequence[int]) -> dict[str, Axes]:
        """Normalised axes per role (in, out, batch, receptive) for ``shape``."""
        shape = check_shape(shape)
        rank = len(shape)
        if rank < self.min_rank or (self.max_rank is not None and rank > self.max_rank):
            want = (
                f"rank {self.min_rank}" if self.max_rank == self.min_rank
                else f"rank >= {self.min_rank}" if self.max_rank is None
                else f"rank {self.min_rank}..{self.max_rank}"
            )
            raise InitSpecError(
                f"Layout {self.name!r} ({self.pattern or 'weights'}) needs {want}; got rank {rank}. "
                f"Fans are undefined for rank < 2: pass fans=(fan_in, fan_out) explicitly "
                f"for biases/vectors. Received: shape={shape!r}"
            )
        ins = self._norm(self.in_axes, rank, shape)
        outs = self._norm(self.out_axes, rank, shape)
        bats = self._norm(self.batch_axes, rank, shape)
        used = ins + outs + bats
        if len(set(used)) != len(used):
            raise InitSpecError(
                f"Layout {self.name!r} assigns one axis two roles for rank {rank}: "
                f"in={ins}, out={outs}, batch={bats}. Received: shape={shape!r}"
            )
        rec = tuple(i for i in range(rank) if i not in used)
        return {"in": ins, "out": outs, "batch": bats, "receptive": rec}

    def fans(self, shape: Sequence[int], groups: int = 1) -> Fans:
        """Fans of ``shape`` under this layout (see module docstring for the rules)."""
        shape = check_shape(shape)
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise InitSpecError(f"Argument `groups` must be an int >= 1. Received: groups={groups!r}")
        r = self.roles(shape)
        rec = math.prod(shape[i] for i in r["receptive"])
        n_in = math.prod(shape[i] for i in r["in"])
        n_out = math.prod(shape[i] for i in r["out"])
        if n_out % groups:
            raise InitSpecError(
                f"The out axis size {n_out} of layout {self.name!r} is not divisible by "
                f"groups={groups}. Received: shape={shape!r}, groups={groups}"
            )
        fan_in, fan_out = n_in * rec, n_out * rec // groups
        if fan_in == 0 or fan_out == 0:
            raise InitSpecError(
                f"A fan would be 0 (fan_in={fan_in}, fan_out={fan_out}) for a zero-size dim; "
                f"variance scaling would divide by zero. Received: shape={shape!r}"
            )
        return Fans(float(fan_in), float(fan_out), int(rec))

    def orthogonal_matrix(self, shape: Sequence[int]) -> tuple[tuple[int, ...], int, int, int]:
        """``(perm, n_batch, rows, cols)``: transpose ``shape`` by ``perm`` to
        ``(batch..., out..., rest...)`` then reshape to ``(n_batch, rows=out, cols=rest)``."""
        shape = check_shape(shape)
        r = self.roles(shape)
        rest = tuple(i for i in range(len(shape)) if i not in r["out"] + r["batch"])
        perm = r["batch"] + r["out"] + rest
        nb = math.prod(shape[i] for i in r["batch"])
        rows = math.prod(shape[i] for i in r["out"])
        cols = math.prod(shape[i] for i in rest)
        return perm, nb, rows, cols

    def with_axes(
        self,
        in_axis: int | Sequence[int] | None = None,
        out_axis: int | Sequence[int] | None = None,
        batch_axis: int | Sequence[int] | None = None,
    ) -> "Layout":
        """A copy with JAX-style ``in_axis``/``out_axis``/``batch_axis`` overrides."""
        kw: dict[str, Any] = {}
        if in_axis is not None:
            kw["in_axes"] = _as_axes(in_axis, "in_axis")
        if out_axis is not None:
            kw["out_axes"] = _as_axes(out_axis, "out_axis")
        if batch_axis is not None:
            kw["batch_axes"] = _as_axes(batch_axis, "batch_axis")
        if not kw:
            return self
        return replace(self, name=f"{self.name}(in={kw.get('in_axes', self.in_axes)},"
                       f"out={kw.get('out_axes', self.out_axes)},batch={kw.get('batch_axes', self.batch_axes)})",
                       **kw)


_T = "torch/nn/init.py::_calculate_fan_in_and_fan_out"
_K = "keras/src/initializers/random_initializers.py::compute_fans"
_J = "jax/_src/nn/initializers.py::_compute_fans"

LAYOUTS: dict[str, Layout] = {}


def _add(layout: Layout) -> None:
    for n in (layout.name, *layout.aliases):
        LAYOUTS[n] = layout


_add(Layout("torch", "torch", in_axes=(1,), out_axes=(0,), pattern="(out, in, *receptive)", source=_T,
            notes="Any rank >= 2; torch's own rule."))
_add(Layout("torch_linear", "torch", (1,), (0,), min_rank=2, max_rank=2, pattern="(out, in)", source=_T))
_add(Layout("torch_conv", "torch", (1,), (0,), min_rank=3, max_rank=5, pattern="(out, in/groups, *k)",
            source=_T, notes="Conv1d/2d/3d; depthwise = groups=in_channels."))
_add(Layout("torch_conv_transpose", "torch", (1,), (0,), min_rank=3, max_rank=5,
            pattern="(in, out/groups, *k)", source=_T,
            notes="fan_in comes from axis 1 (the layer's output channels per group), as in torch."))
_add(Layout("keras", "keras", (-2,), (-1,), pattern="(*receptive, in, out)", source=_K,
            notes="Any rank >= 2 (Keras itself also accepts rank 0/1; the spec does not).",
            aliases=("tf", "tensorflow")))
_add(Layout("keras_dense", "keras", (-2,), (-1,), min_rank=2, max_rank=2, pattern="(in, out)", source=_K))
_add(Layout("keras_conv", "keras", (-2,), (-1,), min_rank=3, max_rank=5, pattern="(*k, in/groups, out)",
            source=_K))
_add(Layout("keras_conv_transpose", "keras", (-2,), (-1,), min_rank=3, max_rank=5,
            pattern="(*k, out, in)", source=_K,
            notes="Keras' fan rule takes fan_in from axis -2, the layer's output channels."))
_add(Layout("keras_depthwise", "keras", (), (-1,), batch_axes=(-2,), min_rank=3, max_rank=5,
            pattern="(*k, channels, multiplier)", source="keras DepthwiseConv2D kernel",
            notes="Channels are independent filters (batch axis): fan_in = receptive field. "
                  "Keras compute_fans uses fan_in = channels * receptive (departure)."))
_add(Layout("jax", "jax", (-2,), (-1,), pattern="(*receptive, in, out)", source=_J,
            notes="jax.nn.initializers defaults in_axis=-2, out_axis=-1, batch_axis=(); "
                  "use Layout.with_axes to change them.", aliases=("flax",)))
_add(Layout("flax_dense", "jax", (-2,), (-1,), min_rank=2, max_rank=2, pattern="(in, out)", source=_J))
_add(Layout("flax_conv", "jax", (-2,), (-1,), min_rank=3, max_rank=5, pattern="(*k, in/groups, out)",
            source=_J))


def get_layout(layout: "str | Layout") -> Layout:
    """Look up a named layout (or pass a :class:`Layout` through)."""
    if isinstance(layout, Layout):
        return layout
    if not isinstance(layout, str):
        raise TypeError(f"Argument `layout` must be a layout name or Layout. Received: layout={layout!r}")
    if layout not in LAYOUTS:
        raise unknown("layout", "layout", layout, LAYOUTS)
    return LAYOUTS[layout]


def compute_fans(
    shape: Sequence[int],
    layout: "str | Layout" = "keras",
    groups: int = 1,
    fans: "tuple[float, float] | None" = None,
) -> Fans:
    """Fans of ``shape`` under ``layout``; ``fans=(fan_in, fan_out)`` overrides (any rank)."""
    if fans is not None:
        fi, fo = (float(f) for f in check_fans(fans))
        return Fans(fi, fo, 1)
    return get_layout(layout).fans(shape, groups=groups)


def check_fans(fans: Any) -> tuple[Any, Any]:
    """``fans=(fan_in, fan_out)``: a pair of finite positive numbers (returned as given), or raise."""
    if not (isinstance(fans, (tuple, list)) and len(fans) == 2):
        raise TypeError(f"Argument `fans` must be a pair (fan_in, fan_out). Received: fans={fans!r}")
    check_finite("fans[0]", fans[0], positive=True)
    check_finite("fans[1]", fans[1], positive=True)
    return tuple(fans)


_LAYOUT_FIELDS = {"name": str, "framework": str, "in_axes": Axes, "out_axes": Axes, "batch_axes": Axes,
                  "min_rank": int, "max_rank": int, "pattern": str, "source": str, "notes": str,
                  "aliases": tuple}


def layout_from_dict(config: Any, arg: str = "layout") -> Layout:
    """A custom :class:`Layout` from its serialised fields (``dataclasses.asdict``, lists for
    tuples), every field validated: a malformed config raises naming the field."""
    if not isinstance(config, Mapping):
        raise TypeError(f"Argument `{arg}` must be a dict of Layout fields. Received: {arg}={config!r}")
    extra = sorted(set(config) - set(_LAYOUT_FIELDS))
    if extra or not {"name", "framework", "in_axes", "out_axes"} <= set(config):
        raise InitSpecError(
            f"Argument `{arg}` must hold the Layout fields name, framework, in_axes, out_axes (optional: "
            f"{', '.join(k for k in _LAYOUT_FIELDS if k not in ('name', 'framework', 'in_axes', 'out_axes'))})"
            f"{'; unknown: ' + ', '.join(map(str, extra)) if extra else ''}. Received: {arg}={config!r}")
    kw: dict[str, Any] = {}
    for k, v in config.items():
        want = _LAYOUT_FIELDS[k]
        if want is Axes:
            kw[k] = check_axes(f"{arg}[{k!r}]", v)
        elif k == "max_rank" and v is None:
            kw[k] = None
        elif want is int and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise TypeError(f"Field `{k}` of `{arg}` must be an int >= 0. Received: {arg}[{k!r}]={v!r}")
        elif want is str and not isinstance(v, str):
            raise TypeError(f"Field `{k}` of `{arg}` must be a string. Received: {arg}[{k!r}]={v!r}")
        elif want is tuple:
            if isinstance(v, str) or not isinstance(v, (list, tuple)) or not all(isinstance(a, str) for a in v):
                raise TypeError(f"Field `{k}` of `{arg}` must be a list of strings. Received: {arg}[{k!r}]={v!r}")
            kw[k] = tuple(v)
        else:
            kw[k] = v
    return Layout(**kw)


#: Layouts of the same logical layer in each framework (transposed convs have no JAX entry:
#: Flax ConvTranspose stores (*k, in, out) with fan_in from the layer's *input* channels).
EQUIVALENT_LAYOUTS: dict[str, dict[str, str]] = {
    "generic": {"torch": "torch", "keras": "keras", "jax": "jax"},
    "dense": {"torch": "torch_linear", "keras": "keras_dense", "jax": "flax_dense"},
    "conv": {"torch": "torch_conv", "keras": "keras_conv", "jax": "flax_conv"},
    "conv_transpose": {"torch": "torch_conv_transpose", "keras": "keras_conv_transpose"},
}
_FAMILY_OF = {name: fam for fam, m in EQUIVALENT_LAYOUTS.items() for name in m.values()}
_FAMILY_OF.update({"tf": "generic", "tensorflow": "generic", "flax": "generic"})


def translate(shape: Sequence[int], layout: "str | Layout", framework: str) -> tuple[tuple[int, ...], Layout]:
    """Shape and layout of the same logical layer in ``framework`` (``torch``/``keras``/``jax``):
    the in-role axis stays the in-role axis, receptive dims keep their order."""
    lay = get_layout(layout)
    fam = _FAMILY_OF.get(lay.name)
    if fam is None or framework not in EQUIVALENT_LAYOUTS[fam]:
        raise InitSpecError(
            f"No {framework} equivalent of layout {lay.name!r}. Received: layout={lay.name!r}, framework={framework!r}"
        )
    target = get_layout(EQUIVALENT_LAYOUTS[fam][framework])
    shape = check_shape(shape)
    r = lay.roles(shape)
    n_in = math.prod(shape[i] for i in r["in"])
    n_out = math.prod(shape[i] for i in r["out"])
    rec = tuple(shape[i] for i in r["receptive"])
    new = (n_out, n_in, *rec) if target.framework == "torch" else (*rec, n_in, n_out)
    return new, target
