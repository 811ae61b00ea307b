"""The conv-kernel families defined in a fixed axis order: ``dirac`` (torch ``(out, in, *k)``,
``torch.nn.init.dirac_``) and ``delta_orthogonal`` (``(*k, in, out)``; Xiao et al., "Dynamical
Isometry and a Mean Field Theory of CNNs", ICML 2018). The plan records the permutation taking
the weight's shape (in its layout) to that order, so both mean the same logical kernel in every
layout.
"""

from __future__ import annotations

from typing import Any

from .errors import InitSpecError, check_finite
from ._family_base import Context, Family, Step
from .laws import ElementDistribution
from .layouts import Layout


def fixed_order_perm(fam: str, shape: tuple[int, ...], lay: Layout | None) -> tuple[int, ...] | None:
    """Permutation taking ``shape`` (in ``lay``) to the fixed order of ``fam``; None when it is
    the identity (or there is no layout)."""
    if lay is None:
        return None
    roles = lay.roles(shape)
    if len(roles["in"]) != 1 or len(roles["out"]) != 1 or roles["batch"]:
        raise InitSpecError(
            f"Scheme {fam!r} needs a layout with one in axis, one out axis and no batch axis. "
            f"Received: layout={lay.name!r}"
        )
    (i,), (o,), rec = roles["in"], roles["out"], roles["receptive"]
    perm = (o, i, *rec) if fam == "dirac" else (*rec, i, o)
    return None if perm == tuple(range(len(shape))) else perm


class _FixedOrder(Family):
    conv_only = True
    fans_in_plan = False
    audit_size = "structured"

    def resolve(self, ctx: Context) -> Step:
        perm = fixed_order_perm(self.name, ctx.shape, ctx.layout)
        shape = tuple(ctx.shape[i] for i in perm) if perm is not None else ctx.shape
        el, kw = self.on_canonical(shape, ctx.params, ctx.groups)
        return Step(el, {"perm": perm, **kw})

    def on_canonical(self, shape: tuple[int, ...], p: dict[str, Any], groups: int
                     ) -> tuple[ElementDistribution, dict[str, Any]]:
        """Validation and element law on the fixed-order ``shape``."""
        raise NotImplementedError


class Dirac(_FixedOrder):
    name = "dirac"
    structure = "structure"

    def on_canonical(self, shape: tuple[int, ...], p: dict[str, Any], groups: int
                     ) -> tuple[ElementDistribution, dict[str, Any]]:
        gr = groups if groups != 1 else p["groups"]  # `groups=` is both resolve's and dirac's
        p["groups"] = gr
        if isinstance(gr, bool) or not isinstance(gr, int) or gr < 1:
            raise InitSpecError(f"Argument `groups` must be an int >= 1. Received: groups={gr!r}")
        if not 3 <= len(shape) <= 5:
            raise InitSpecError(f"Scheme 'dirac' needs rank 3..5 (a conv kernel). Received: shape={shape!r}")
        if 0 in shape[2:]:
            raise InitSpecError(f"Scheme 'dirac' needs non-empty spatial dims (a centre). Received: shape={shape!r}")
        if shape[0] % gr:
            raise InitSpecError(
                f"The out-channel dim ({shape[0]}) must be divisible by groups={gr}. Received: shape={shape!r}")
        el = ElementDistribution("structured", float("nan"), float("nan"), 0.0, 1.0, None, {})
        return el, dict(sampler="dirac", groups=gr)


class DeltaOrthogonal(_FixedOrder):
    name = "delta_orthogonal"
    range_rule = "gain"
    structure = "delta_orthogonal"

    def on_canonical(self, shape: tuple[int, ...], p: dict[str, Any], groups: int
                     ) -> tuple[ElementDistribution, dict[str, Any]]:
        g = check_finite("gain", p["gain"], nonneg=True)
        if not 3 <= len(shape) <= 5:
            raise InitSpecError(
                f"Scheme 'delta_orthogonal' needs rank 3..5 (a conv kernel). Received: shape={shape!r}")
        if 0 in shape:
            raise InitSpecError(f"Scheme 'delta_orthogonal' needs non-empty dims (an orthogonal centre slice). "
                                f"Received: shape={shape!r}")
        if shape[-2] > shape[-1]:
            raise InitSpecError(
                f"Scheme 'delta_orthogonal' needs in_channels <= out_channels. Received: shape={shape!r} "
                f"(in={shape[-2]}, out={shape[-1]})"
            )
        el = ElementDistribution("structured", 0.0, float("nan"), -g, g, None, {"gain": g})
        return el, dict(sampler="delta_orthogonal", gain=g)
