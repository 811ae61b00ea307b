"""Benchmarks of the torch adapter against ``torch.nn.init`` (``initspec bench``): same-shape
float32 weights, same seeded generator, one :class:`~initspec.backends._bench.BenchCase` each."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from initspec.constants import TRUNCATED_NORMAL_STD_CORRECTION

from .._bench import BenchCase
from ._common import torch_device
from .harness import device_available
from .inplace import INPLACE

__all__ = ["BENCH_SHAPES", "ORTHOGONAL_BENCH_SHAPES", "TRUNC_MIN_SPEEDUP", "bench_cases"]

#: (label, torch-layout shape) of the benchmarked weights
BENCH_SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("4096x4096", (4096, 4096)),
    ("conv 3x3 256->256", (256, 256, 3, 3)),
)
ORTHOGONAL_BENCH_SHAPES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("1024x1024", (1024, 1024)),
    ("conv 3x3 256->256", (256, 256, 3, 3)),
)
#: required speed-up over ``trunc_normal_(w)`` (its defaults: N(0, 1) truncated to +-2)
TRUNC_MIN_SPEEDUP = 5.0


def bench_cases(device: str = "cpu") -> list[BenchCase]:
    """Ours vs ``torch.nn.init`` on same-shape float32 weights (see ``initspec bench``); empty
    when ``device`` is unavailable."""
    if not device_available(device)[0]:
        return []
    dev = torch_device(device)
    nn_init = torch.nn.init
    sync: Callable[[Any], Any] = (lambda r: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda r: r)
    cases: list[BenchCase] = []

    def add(label: str, shape: tuple[int, ...], scheme: str, params: dict[str, Any],
            native: Callable[[torch.Tensor, torch.Generator], Any], native_name: str, **kw: Any) -> None:
        w_ours, w_nat = (torch.empty(shape, device=dev) for _ in range(2))
        g_ours, g_nat = (torch.Generator(device=dev).manual_seed(0) for _ in range(2))
        ours = INPLACE[scheme]
        cases.append(BenchCase(
            backend="torch", label=f"{label} float32", device=device, sync=sync,
            ours=lambda: ours(w_ours, generator=g_ours, **params), native=lambda: native(w_nat, g_nat),
            native_name=native_name, **kw))

    for name, shape in BENCH_SHAPES:
        sigma = math.sqrt(2.0 / math.prod(shape[1:])) / TRUNCATED_NORMAL_STD_CORRECTION
        add(f"he_normal {name}", shape, "he_normal", {},
            lambda w, g: nn_init.kaiming_normal_(w, generator=g), "torch.nn.init.kaiming_normal_")
        add(f"glorot_uniform {name}", shape, "glorot_uniform", {},
            lambda w, g: nn_init.xavier_uniform_(w, generator=g), "torch.nn.init.xavier_uniform_")
        add(f"normal(0, 0.02) {name}", shape, "normal", {"std": 0.02},
            lambda w, g: nn_init.normal_(w, std=0.02, generator=g), "torch.nn.init.normal_")
        add(f"uniform(-0.1, 0.1) {name}", shape, "uniform", {"low": -0.1, "high": 0.1},
            lambda w, g: nn_init.uniform_(w, -0.1, 0.1, generator=g), "torch.nn.init.uniform_")
        add(f"truncated_normal_abs(0, 1, +-2) {name}", shape, "truncated_normal_abs", {},
            lambda w, g: nn_init.trunc_normal_(w, generator=g), "torch.nn.init.trunc_normal_",
            min_speedup=TRUNC_MIN_SPEEDUP)
        add(f"truncated_normal_abs(0, 0.02, +-2) {name}", shape, "truncated_normal_abs", {"std": 0.02},
            lambda w, g: nn_init.trunc_normal_(w, std=0.02, generator=g), "torch.nn.init.trunc_normal_")
        add(f"he_truncated_normal {name}", shape, "he_truncated_normal", {},
            lambda w, g, s=sigma: nn_init.trunc_normal_(w, std=s, a=-2 * s, b=2 * s, generator=g),
            "torch.nn.init.trunc_normal_(std=s, a=-2s, b=2s)")
    for name, shape in ORTHOGONAL_BENCH_SHAPES:
        add(f"orthogonal {name}", shape, "orthogonal", {},
            lambda w, g: nn_init.orthogonal_(w, generator=g), "torch.nn.init.orthogonal_")
    return cases
