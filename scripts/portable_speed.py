"""Paired timings of the portable stream against each framework's native initializer (issue 16).

For each backend: one 4096x4096 He-normal tensor and a ResNet-50-like list of weight shapes
(every conv and the classifier of a torchvision ResNet-50: 54 tensors, 25.5 M values), native vs
portable, *cold* (the first pass in a fresh subprocess: compiles and caches included, imports
excluded) and *warm* (median of repeats in one process). Ratios are portable / native (lower is
better; the targets are cold <= 2, warm <= 1.5, per-tensor throughput >= 0.5x native).

Usage::

    python scripts/portable_speed.py [numpy torch keras jax] [--repeat 5] [--cold 3]

Keras runs on whatever ``KERAS_BACKEND`` selects. Timings only; never run as a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

BIG = (4096, 4096)


def resnet50_shapes() -> list[tuple[int, ...]]:
    """The conv and fc weights of ResNet-50 (He et al. 2016) in torch's ``(out, in, kh, kw)``."""
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7)]
    cin = 64
    for width, blocks in ((64, 3), (128, 4), (256, 6), (512, 3)):
        for b in range(blocks):
            shapes += [(width, cin, 1, 1), (width, width, 3, 3), (4 * width, width, 1, 1)]
            if b == 0:
                shapes.append((4 * width, cin, 1, 1))
            cin = 4 * width
    return shapes + [(1000, 2048)]


def _keras_shape(s: tuple[int, ...]) -> tuple[int, ...]:
    return (s[1], s[0]) if len(s) == 2 else (*s[2:], s[1], s[0])


def _cases(backend: str):  # -> {name: (native_fn(shapes), portable_fn(shapes))}
    """Native and portable callables over a list of torch-order shapes, per backend."""
    if backend == "numpy":
        import numpy as np
        from initspec.backends import portable

        rng = np.random.default_rng(0)

        def native(shapes):
            return [rng.standard_normal(s, dtype=np.float32) for s in shapes]

        def port(shapes):
            return [portable.sample("he_normal", s, layout="torch", stream=f"w{i}") for i, s in enumerate(shapes)]
        return native, port, None
    if backend == "torch":
        import torch
        from initspec.backends import torch as it

        def native(shapes):
            return [torch.nn.init.kaiming_normal_(torch.empty(s)) for s in shapes]

        def port(shapes):
            return [it.he_normal_(torch.empty(s), stream=f"w{i}") for i, s in enumerate(shapes)]
        return native, port, None
    if backend == "keras":
        import keras
        from initspec.backends.keras import initializers as ki

        def native(shapes):
            return [keras.initializers.HeNormal(seed=i)(_keras_shape(s)) for i, s in enumerate(shapes)]

        def port(shapes):
            return [ki.HeNormal(stream=f"w{i}")(_keras_shape(s)) for i, s in enumerate(shapes)]
        sync = lambda out: [keras.ops.convert_to_numpy(o[..., :1]) for o in out]  # noqa: E731
        return native, port, sync
    if backend == "jax":
        import jax
        from initspec.backends import jax as ij

        key = jax.random.key(0)

        def native(shapes):
            return [jax.nn.initializers.he_normal()(key, _keras_shape(s)) for s in shapes]

        def port(shapes):
            return [ij.he_normal(stream=f"w{i}")(key, _keras_shape(s)) for i, s in enumerate(shapes)]
        return native, port, lambda out: [o.block_until_ready() for o in out]
    raise SystemExit(f"unknown backend {backend!r}")


def _time(fn, shapes, sync) -> float:
    t = time.perf_counter()
    out = fn(shapes)
    if sync is not None:
        sync(out)
    return time.perf_counter() - t


def measure(backend: str, repeat: int, warm: bool) -> dict[str, float]:
    """Seconds per case: ``{"native/resnet50": ..., "portable/resnet50": ..., ...}``."""
    native, port, sync = _cases(backend)
    out: dict[str, float] = {}
    for label, shapes in (("resnet50", resnet50_shapes()), ("4096^2", [BIG])):
        for name, fn in (("native", native), ("portable", port)):
            times = [_time(fn, shapes, sync) for _ in range(repeat if warm else 1)]
            out[f"{name}/{label}"] = statistics.median(times[1:] if warm and len(times) > 1 else times)
    return out


def _cold(backend: str) -> dict[str, float]:
    code = f"import sys, json; sys.path.insert(0, {sys.path[0]!r}); import portable_speed as p; " \
           f"p._cases({backend!r}); print(json.dumps(p.measure({backend!r}, 1, False)))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def _report(backend: str, kind: str, runs: list[dict[str, float]]) -> None:
    for label in ("resnet50", "4096^2"):
        nat = statistics.median(r[f"native/{label}"] for r in runs)
        por = statistics.median(r[f"portable/{label}"] for r in runs)
        print(f"{backend:6s} {kind:4s} {label:9s} native {nat * 1e3:9.1f} ms  portable {por * 1e3:9.1f} ms  "
              f"ratio {por / nat:6.2f}x", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("backends", nargs="*", default=["numpy", "torch", "keras", "jax"])
    ap.add_argument("--repeat", type=int, default=5, help="warm repeats (the first is dropped)")
    ap.add_argument("--cold", type=int, default=3, help="fresh subprocesses for the cold pass")
    args = ap.parse_args()
    for backend in args.backends:
        if args.cold:
            _report(backend, "cold", [_cold(backend) for _ in range(args.cold)])
        if args.repeat:
            _report(backend, "warm", [measure(backend, args.repeat, True)])


if __name__ == "__main__":
    main()
