"""Canonical parameter names across frameworks, and flatten declarations: what lets one portable
call per framework give the *same* model (issue 13; user guide ``docs/porting.md``).

In portable mode a tensor's values depend only on ``(seed, stream name)``, its scheme and its
layout's logical order ``(out, in, *k)`` (:func:`initspec.backends.portable._spec.logical_order`).
By default the stream name is the framework's own path (torch ``conv1.weight``, Keras
``conv1/kernel``, Flax ``params.conv1.kernel``), so the same architecture gets different values in
each framework. With ``names="canonical"`` (or a user hook, :class:`Namer`) every model helper
names the stream by the **canonical name** instead:

* the **layer path**, ``.``-separated: torch module path, Keras layer names from the model down
  (the model itself left out), Flax module path without the leading collection (``params.``);
* then the **canonical parameter name** (:func:`canonical_param`), from the parameter's role and
  local name: a kernel/weight -> ``weight``, a bias -> ``bias``, a norm's scale (torch ``weight``,
  Keras ``gamma``, Flax ``scale``) -> ``scale``, its shift (``bias``/``beta``) -> ``shift``,
  running statistics -> ``mean``/``var``, an embedding table (``weight``/``embeddings``/
  ``embedding``) -> ``embedding``; any other local name is kept (``recurrent_kernel``...);
* **attention** projections are named by :data:`ATTENTION_PROJECTIONS`: torch
  ``MultiheadAttention``'s fused ``in_proj_weight`` ``(3E, E)`` is three blocks
  ``q.weight``/``k.weight``/``v.weight`` (``in_proj_bias``: ``q.bias``...) and ``out_proj`` is
  ``o``; Keras ``MultiHeadAttention``'s ``query``/``key``/``value``/``attention_output`` and Flax
  ``MultiHeadDotProductAttention``/nnx ``MultiHeadAttention``'s ``query``/``key``/``value``/``out``
  are ``q``/``k``/``v``/``o``.

The logical orders line up with no transpose: torch splits heads by ``view(H, D)``, so row
``h*D + d`` of the q block is head ``h``, feature ``d``; the Keras/Flax query kernel ``(E, H, D)``
has the logical dense-general order ``(*out, *in)`` = ``(H, D, E)`` (:func:`initspec.models.
dense_general_layout`), the same ``(h*D + d, e)`` matrix; the output kernel ``(H, D, E)`` is
``(E, H, D)`` logically, torch ``out_proj.weight`` ``(E, E)`` with input index ``h*D + d``.
A multi-axis bias (Keras/Flax query bias ``(H, D)``) is drawn in C order under canonical names
(:data:`BIAS_LAYOUT`), as torch's ``(E,)`` block ``h*D + d`` is.

**Flatten** (:func:`flatten_permutation`): ``flatten={"fc1": ("hwc", (H, W, C))}`` declares that
the Dense/Linear ``fc1`` (canonical layer path) reads a flattened feature map in that order. The
portable stream defines the weight in ONE canonical input order, channels first ``(C, H, W)``:
torch's ``x.flatten(1)`` of an NCHW map and the portable stream's torch-like ``(out, in, *k)``
order, so the most common porting source (a torch checkpoint or model) needs no permutation; a
channels-last flatten (Keras ``Flatten``, Flax ``x.reshape(n, -1)`` of NHWC) gets the input axis
of the sampled weight permuted, so both forwards agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from initspec.errors import InitSpecError

__all__ = ["ATTENTION_PROJECTIONS", "BIAS_LAYOUT", "CANONICAL", "Namer", "canonical_param", "expand_streams",
           "flatten_permutation", "join", "missing_streams"]

#: ``names="canonical"``: the built-in naming with no user overrides
CANONICAL = "canonical"

#: a sublayer of an attention layer -> its canonical projection name
ATTENTION_PROJECTIONS: Mapping[str, str] = {
    "query": "q", "key": "k", "value": "v",  # Keras MultiHeadAttention, Flax (linen and nnx)
    "attention_output": "o",  # Keras MultiHeadAttention
    "out": "o",  # Flax MultiHeadDotProductAttention / nnx MultiHeadAttention
    "out_proj": "o",  # torch nn.MultiheadAttention
}
#: torch ``nn.MultiheadAttention`` parameters held by the attention layer itself
TORCH_ATTENTION_PARAMS: Mapping[str, tuple[str, ...]] = {
    "in_proj_weight": ("q.weight", "k.weight", "v.weight"),
    "in_proj_bias": ("q.bias", "k.bias", "v.bias"),
    "q_proj_weight": ("q.weight",), "k_proj_weight": ("k.weight",), "v_proj_weight": ("v.weight",),
}
#: local names per role that take the role's canonical name (anything else keeps its local name)
_ROLE_NAMES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "weight": ("weight", ("weight", "kernel")),
    "bias": ("bias", ("bias",)),
    "norm_scale": ("scale", ("weight", "gamma", "scale")),
    "norm_shift": ("shift", ("bias", "beta")),
    "norm_mean": ("mean", ("moving_mean", "running_mean", "mean")),
    "norm_var": ("var", ("moving_variance", "running_var", "var")),
    "embedding": ("embedding", ("weight", "embeddings", "embedding")),
}
#: the layout a multi-axis bias takes under canonical names: out axis 0, so the stream's logical
#: order ``(out, in, ...)`` is the C order (torch's ``(E,)`` q bias is ``h*D + d``, the Keras/Flax
#: ``(H, D)`` query bias the same in C order)
BIAS_LAYOUT = "torch"

NameHook = Union[None, str, Mapping[str, str], Callable[[str], "str | None"]]
FlattenSpec = Mapping[str, tuple[str, Sequence[int]]]


def canonical_param(role: str, local: str) -> str:
    """The canonical parameter name of a parameter of ``role`` called ``local`` in its layer
    (module docstring): ``("weight", "kernel") -> "weight"``, ``("norm_scale", "gamma") ->
    "scale"``; a name the role does not list (``weight_ih_l0``, ``recurrent_kernel``) is kept."""
    canon, locals_ = _ROLE_NAMES.get(role, ("", ()))
    return canon if local in locals_ else local


def join(*parts: str) -> str:
    """``"."``-joined non-empty parts."""
    return ".".join(p for p in parts if p)


def flatten_permutation(order: str, shape: Sequence[int]) -> np.ndarray | None:
    """For a Dense/Linear reading a map of ``shape`` flattened in axis ``order`` (``"chw"``,
    ``"hwc"``, ``"cl"``, ``"dhwc"``...: one letter per axis, ``c`` the channels), the index of the
    canonical (channels-first) input feature of each physical input feature: the weight's input
    axis is ``canonical.take(perm, axis=in)``. None when ``order`` is channels-first already."""
    order = str(order).lower()
    shape = tuple(int(s) for s in shape)
    if len(set(order)) != len(order) or "c" not in order or len(order) != len(shape) or min(shape, default=0) < 1:
        raise InitSpecError(
            "A flatten declaration is (order, shape): order one distinct letter per axis with 'c' for the "
            f"channels (e.g. 'chw', 'hwc'), shape positive sizes in that order. Received: ({order!r}, {shape!r})")
    canon = "c" + order.replace("c", "")
    if order == canon:
        return None
    sizes = dict(zip(order, shape))
    index = np.arange(int(np.prod(shape))).reshape([sizes[a] for a in canon])
    return index.transpose([canon.index(a) for a in order]).reshape(-1)


class Namer:
    """The stream names of one helper call. ``names``: None (the framework's own paths, the
    default: existing streams unchanged), ``"canonical"``, a mapping ``{framework path: canonical
    name}`` or a callable ``path -> canonical name or None`` (None: the built-in name); a mapping
    or callable implies canonical names for every other parameter. ``flatten``: ``{canonical
    layer path: (order, shape)}`` (:func:`flatten_permutation`). Every mapping key must be used
    (:meth:`check_used`); two parameters with one canonical name are an error."""

    def __init__(self, names: NameHook = None, flatten: FlattenSpec | None = None, *, helper: str) -> None:
        if not (names is None or names == CANONICAL or isinstance(names, Mapping) or callable(names)):
            raise TypeError(f"Argument `names` must be None, 'canonical', a mapping {{framework path: canonical name}} "
                            f"or a callable path -> name (None for the built-in). Received: names={names!r}")
        if isinstance(names, Mapping) and not all(isinstance(k, str) and isinstance(v, str) and v
                                                  for k, v in names.items()):
            raise TypeError(f"Argument `names` must map parameter paths (str) to non-empty names. Received: {names!r}")
        if flatten is not None and not isinstance(flatten, Mapping):
            raise TypeError(f"Argument `flatten` must map layer names to (order, shape), e.g. "
                            f"{{'fc1': ('hwc', (7, 7, 32))}}. Received: flatten={flatten!r}")
        self.helper = helper
        self.hook = names
        self.flatten = {str(k): (v[0], tuple(v[1])) for k, v in (flatten or {}).items()}
        self._perms = {k: flatten_permutation(*v) for k, v in self.flatten.items()}
        self._used: set[str] = set()
        self._seen: dict[str, str] = {}

    @property
    def canonical(self) -> bool:
        return self.hook is not None

    def name(self, path: str, builtin: str) -> str:
        """The stream name (without prefix) of the parameter ``path`` whose built-in canonical
        name is ``builtin``; ``path`` itself when canonical names are off."""
        if not self.canonical:
            return path
        out: str | None = None
        if isinstance(self.hook, Mapping):
            out = self.hook.get(path)
            if out is not None:
                self._used.add(path)
        elif callable(self.hook):
            out = self.hook(path)
            if out is not None and (not isinstance(out, str) or not out):
                raise TypeError(f"The `names` callable must return a non-empty str or None. Received: "
                                f"names({path!r}) = {out!r}")
        out = builtin if out is None else out
        other = self._seen.setdefault(out, path)
        if other != path:
            raise InitSpecError(f"{self.helper}: parameters {other!r} and {path!r} both have the canonical name "
                                f"{out!r}; name one of them with names={{path: name}}.")
        return out

    def permutation(self, layer: str, in_features: int) -> np.ndarray | None:
        """The input permutation of the Dense/Linear at canonical layer path ``layer`` (None if
        no declaration, or a channels-first one); checks the size."""
        if layer not in self.flatten:
            return None
        self._used.add(f"flatten[{layer!r}]")
        order, shape = self.flatten[layer]
        if int(np.prod(shape)) != in_features:
            raise InitSpecError(f"{self.helper}: flatten[{layer!r}] = ({order!r}, {shape}) has {int(np.prod(shape))} "
                                f"features; the layer's input has {in_features}.")
        return self._perms[layer]

    def check_used(self, layers: Iterable[str] = ()) -> None:
        """Every ``names`` mapping key must name a parameter and every ``flatten`` key a
        Dense/Linear weight; raises naming the others (with the names it could have used)."""
        bad = [k for k in self.hook if k not in self._used] if isinstance(self.hook, Mapping) else []
        bad += [f"flatten[{k!r}]" for k in self.flatten if f"flatten[{k!r}]" not in self._used]
        if bad:
            known = ", ".join(sorted(layers)[:12])
            raise InitSpecError(f"{self.helper}: {', '.join(map(repr, bad))} matched no parameter (a flatten key "
                                f"is the canonical path of a Dense/Linear layer" + (f": {known}" if known else "")
                                + "). Nothing was changed.")


def expand_streams(stream: str | None) -> list[str]:
    """The streams of one report row: ``"attn.{q,k,v}.weight"`` (a torch fused projection under
    canonical names) is three; None is none."""
    if not stream:
        return []
    m = re.search(r"\{([^{}]*)\}", stream)
    if m is None:
        return [stream]
    return [stream[:m.start()] + part + stream[m.end():] for part in m.group(1).split(",")]


def missing_streams(*reports: Any) -> dict[str, list[str]]:
    """For reports of the same model in several frameworks (portable, canonical names): per
    report's framework, the initialized streams the others have and it lacks (empty when the
    models line up). ``{}`` means every stream is in every report."""
    sets = [{s for r in rep.rows if r.action == "init" for s in expand_streams(r.stream)} for rep in reports]
    union = set().union(*sets)
    out = {}
    for rep, s in zip(reports, sets):
        lack = sorted(union - s)
        if lack:
            out[rep.framework] = lack
    return out
