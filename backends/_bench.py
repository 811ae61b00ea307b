"""Benchmark case description shared by the adapters (framework-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class BenchCase:
    """One timed comparison: ``ours()`` vs ``native()`` producing the same distribution/shape.

    ``sync(result)`` must block until the result is computed (e.g. ``torch.cuda.synchronize``,
    ``jax.block_until_ready``); ``target`` is the maximum allowed ratio ours/native (or, with
    ``min_speedup``, the minimum native/ours speed-up).
    """

    backend: str
    label: str  # e.g. "he_normal 4096x4096 float32"
    ours: Callable[[], Any]
    native: Callable[[], Any]
    native_name: str  # e.g. "torch.nn.init.kaiming_normal_"
    sync: Callable[[Any], Any] = lambda r: r
    target: float = 1.10
    min_speedup: float | None = None
    device: str = "cpu"
