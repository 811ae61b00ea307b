"""The representative-layer fan table of the report (framework-free).

For five logical layers (Dense 64->128, Conv2D 3x3 64->128, ConvTranspose2D 3x3 64->128, depthwise
3x3 x 64 channels, grouped Conv2D 3x3 64->128 with groups=4) this module lists, per framework, the
weight shape the framework stores, the fans its OWN fan rule computes from that shape, the fans the
spec assigns to the same logical layer, and the std that glorot / he / lecun then give.

The framework fan rules are re-stated here from the frameworks' source (they are pure shape
arithmetic, so no framework is imported; ``tests/conformance/test_runner.py`` checks them against
the real functions where a framework is installed):

* torch ``torch/nn/init.py::_calculate_fan_in_and_fan_out``: ``fan_in = shape[1] * receptive``,
  ``fan_out = shape[0] * receptive``, receptive = prod(shape[2:]); groups are ignored.
* Keras ``keras/src/initializers/random_initializers.py::compute_fans``: rank 2 ``(shape[0],
  shape[1])``; otherwise receptive = prod(shape[:-2]), ``fan_in = shape[-2] * receptive``,
  ``fan_out = shape[-1] * receptive``.
* JAX ``jax/_src/nn/initializers.py::_compute_fans`` with the defaults ``in_axis=-2,
  out_axis=-1, batch_axis=()`` (Flax's kernels use those defaults): the same numbers as Keras.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from initspec.distributions import resolve
from initspec.layouts import compute_fans

#: schemes whose std the table shows (the normal/uniform variants share the std)
FAN_TABLE_SCHEMES: tuple[str, ...] = ("glorot_normal", "he_normal", "lecun_normal")

IN_CHANNELS = 64
OUT_CHANNELS = 128
KERNEL = (3, 3)
GROUPS = 4


def torch_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """torch/nn/init.py::_calculate_fan_in_and_fan_out."""
    receptive = math.prod(shape[2:])
    return float(shape[1] * receptive), float(shape[0] * receptive)


def keras_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """keras/src/initializers/random_initializers.py::compute_fans (rank >= 2)."""
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def jax_fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """jax/_src/nn/initializers.py::_compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=())."""
    receptive = math.prod(shape) / shape[-2] / shape[-1]
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


NATIVE_FAN_RULES: dict[str, Callable[[tuple[int, ...]], tuple[float, float]]] = {
    "torch": torch_fans, "keras": keras_fans, "jax": jax_fans,
}


@dataclass(frozen=True)
class StoredWeight:
    """How one framework stores the kernel of a logical layer, and the spec layout for it."""

    framework: str
    shape: tuple[int, ...]
    spec_layout: str | None  # None: the spec has no layout for this storage (see note)
    groups: int = 1
    call: str = ""
    note: str = ""


@dataclass(frozen=True)
class LogicalLayer:
    name: str
    stored: tuple[StoredWeight, ...]


_K = KERNEL
_CI, _CO, _G = IN_CHANNELS, OUT_CHANNELS, GROUPS

LAYERS: tuple[LogicalLayer, ...] = (
    LogicalLayer(f"Dense({_CI}->{_CO})", (
        StoredWeight("torch", (_CO, _CI), "torch_linear", call="nn.Linear"),
        StoredWeight("keras", (_CI, _CO), "keras_dense", call="keras.layers.Dense"),
        StoredWeight("jax", (_CI, _CO), "flax_dense", call="flax.linen.Dense"),
    )),
    LogicalLayer(f"Conv2D(3x3, {_CI}->{_CO})", (
        StoredWeight("torch", (_CO, _CI, *_K), "torch_conv", call="nn.Conv2d"),
        StoredWeight("keras", (*_K, _CI, _CO), "keras_conv", call="keras.layers.Conv2D"),
        StoredWeight("jax", (*_K, _CI, _CO), "flax_conv", call="flax.linen.Conv"),
    )),
    LogicalLayer(f"ConvTranspose2D(3x3, {_CI}->{_CO})", (
        StoredWeight("torch", (_CI, _CO, *_K), "torch_conv_transpose", call="nn.ConvTranspose2d",
                     note="fan_in is read from axis 1: the layer's output channels."),
        StoredWeight("keras", (*_K, _CO, _CI), "keras_conv_transpose", call="keras.layers.Conv2DTranspose",
                     note="fan_in is read from axis -2: the layer's output channels."),
        StoredWeight("jax", (*_K, _CI, _CO), None, call="flax.linen.ConvTranspose",
                     note="Flax stores (*k, in, out), so its fan_in is the layer's INPUT channels: "
                          "fan_in and fan_out are swapped relative to torch, Keras and the spec."),
    )),
    LogicalLayer(f"DepthwiseConv2D(3x3, {_CI} channels)", (
        StoredWeight("torch", (_CI, 1, *_K), "torch_conv", groups=_CI, call=f"nn.Conv2d(groups={_CI})",
                     note="torch ignores groups: fan_out counts all output channels."),
        StoredWeight("keras", (*_K, _CI, 1), "keras_depthwise", call="keras.layers.DepthwiseConv2D",
                     note="compute_fans treats the channel axis as inputs: fan_in = channels x 3 x 3 "
                          "although each output sees only 3 x 3 inputs."),
        StoredWeight("jax", (*_K, 1, _CI), "flax_conv", groups=_CI,
                     call=f"flax.linen.Conv(feature_group_count={_CI})",
                     note="feature groups are ignored: fan_out counts all output channels."),
    )),
    LogicalLayer(f"Conv2D(3x3, {_CI}->{_CO}, groups={_G})", (
        StoredWeight("torch", (_CO, _CI // _G, *_K), "torch_conv", groups=_G, call=f"nn.Conv2d(groups={_G})",
                     note="groups ignored in fan_out."),
        StoredWeight("keras", (*_K, _CI // _G, _CO), "keras_conv", groups=_G, call=f"keras.layers.Conv2D(groups={_G})",
                     note="groups ignored in fan_out."),
        StoredWeight("jax", (*_K, _CI // _G, _CO), "flax_conv", groups=_G,
                     call=f"flax.linen.Conv(feature_group_count={_G})", note="groups ignored in fan_out."),
    )),
)


def scheme_stds(fan_in: float, fan_out: float) -> dict[str, float]:
    """The std of each scheme of :data:`FAN_TABLE_SCHEMES` for the given fans (via the spec)."""
    return {s: float(resolve(s, (1, 1), None, fans=(fan_in, fan_out)).element.std) for s in FAN_TABLE_SCHEMES}


def _spec_fans(layer: LogicalLayer) -> tuple[float, float]:
    """The spec's logical fans of ``layer`` (from its first stored form with a spec layout)."""
    for w in layer.stored:
        if w.spec_layout is not None:
            f = compute_fans(w.shape, w.spec_layout, groups=w.groups)
            return f.fan_in, f.fan_out
    raise AssertionError(f"layer {layer.name} has no spec layout")  # pragma: no cover - table invariant


def fan_rows() -> list[dict[str, Any]]:
    """``FanRow`` records (conformance/results.py): per layer one ``spec`` row, then one row per
    framework with the fans its own rule computes and how they differ from the spec."""
    rows: list[dict[str, Any]] = []
    for layer in LAYERS:
        sfi, sfo = _spec_fans(layer)
        rows.append({
            "layer": layer.name, "framework": "spec", "layout": "logical", "shape": [],
            "fan_in": sfi, "fan_out": sfo, "spec_fan_in": sfi, "spec_fan_out": sfo,
            "std": scheme_stds(sfi, sfo), "note": "The spec's logical fans (fan_out divided by groups).",
        })
        for w in layer.stored:
            fi, fo = NATIVE_FAN_RULES[w.framework](w.shape)
            if w.spec_layout is not None:
                f = compute_fans(w.shape, w.spec_layout, groups=w.groups)
                assert (f.fan_in, f.fan_out) == (sfi, sfo), (layer.name, w)  # the spec's layouts agree
            diffs = []
            if fi != sfi:
                diffs.append(f"fan_in {fi:g} vs spec {sfi:g}")
            if fo != sfo:
                diffs.append(f"fan_out {fo:g} vs spec {sfo:g}")
            note = "; ".join(diffs) + (". " if diffs else "Same fans as the spec. ") + w.note
            rows.append({
                "layer": layer.name, "framework": w.framework, "layout": w.spec_layout or "(none)",
                "shape": list(w.shape), "fan_in": fi, "fan_out": fo, "spec_fan_in": sfi, "spec_fan_out": sfo,
                "std": scheme_stds(fi, fo), "note": f"{w.call}: {note}".strip(),
            })
    return rows
