"""Benchmarks: the adapter's Keras initializers vs Keras' native ones with the same distribution
(:func:`bench_cases`, run by :mod:`initspec.backends._bench_runner`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf
from initspec.backends._bench import BenchCase

from . import initializers
from .harness import DEVICE_SCOPE, device_available

if TYPE_CHECKING:
    from .._model_bench import ModelBench

__all__ = ["BENCH_SEED", "BENCH_SHAPES", "KERAS_DEFAULT_SPREAD", "ORTHOGONAL_BENCH_SHAPE", "ORTHOGONAL_MEMORY_SHAPE",
           "bench_cases", "model_bench"]

BENCH_SHAPES = ((4096, 4096), (3, 3, 256, 256))
ORTHOGONAL_BENCH_SHAPE = (1024, 1024)
#: the orthogonal case's memory is measured at this size (36 MiB: the RSS sees it)
ORTHOGONAL_MEMORY_SHAPE = (3072, 3072)
BENCH_SEED = 1234
#: Keras' default std / limit for RandomNormal, TruncatedNormal and RandomUniform.
KERAS_DEFAULT_SPREAD = 0.05

#: (label, ours: (class name, params), native: (keras class name, kwargs), shapes)
_BenchPair = tuple[str, str, dict[str, Any], str, dict[str, Any], tuple[tuple[int, ...], ...]]
_BENCH_PAIRS: tuple[_BenchPair, ...] = (
    ("he_normal", "HeNormal", {}, "VarianceScaling",
     {"scale": 2.0, "mode": "fan_in", "distribution": "untruncated_normal"}, BENCH_SHAPES),
    ("he_truncated_normal", "HeTruncatedNormal", {}, "HeNormal", {}, BENCH_SHAPES),
    ("glorot_uniform", "GlorotUniform", {}, "GlorotUniform", {}, BENCH_SHAPES),
    ("normal", "RandomNormal", {"std": KERAS_DEFAULT_SPREAD}, "RandomNormal",
     {"stddev": KERAS_DEFAULT_SPREAD}, BENCH_SHAPES),
    ("uniform", "RandomUniform", {"low": -KERAS_DEFAULT_SPREAD, "high": KERAS_DEFAULT_SPREAD},
     "RandomUniform", {"minval": -KERAS_DEFAULT_SPREAD, "maxval": KERAS_DEFAULT_SPREAD}, BENCH_SHAPES),
    ("truncated_normal", "TruncatedNormal", {"std": KERAS_DEFAULT_SPREAD}, "TruncatedNormal",
     {"stddev": KERAS_DEFAULT_SPREAD}, BENCH_SHAPES),
    ("orthogonal", "Orthogonal", {}, "Orthogonal", {}, (ORTHOGONAL_BENCH_SHAPE,)),
)


def _sync(device: str) -> Callable[[Any], Any]:
    def sync(result: Any) -> Any:
        if device == "gpu":
            tf.test.experimental.sync_devices()
        return result

    return sync


def _on(device: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        with tf.device(DEVICE_SCOPE[device]):
            return fn()

    return run


def bench_cases(device: str | None = None) -> list[BenchCase]:
    """Ours vs the Keras native initializer with the same distribution, float32, int seeds, on
    ``device`` (default: the CPU and, when TF sees one, the GPU). Target: ours <= 1.10x native."""
    cases = []
    wanted = ("cpu", "gpu") if device is None else (device,)
    devices = [d for d in wanted if device_available(d)[0]]
    for label, ours_name, ours_kw, native_name, native_kw, shapes in _BENCH_PAIRS:
        ours = getattr(initializers, ours_name)(seed=BENCH_SEED, **ours_kw)
        native = getattr(keras.initializers, native_name)(seed=BENCH_SEED, **native_kw)
        for shape in shapes:
            memory = {}
            dims = "x".join(map(str, shape))
            if label == "orthogonal":  # the memory measured where the RSS sees it (the QR is slow)
                memory = {"memory_ours": _on("cpu", lambda o=ours: o(ORTHOGONAL_MEMORY_SHAPE, "float32")),
                          "memory_native": _on("cpu", lambda n=native: n(ORTHOGONAL_MEMORY_SHAPE, "float32"))}
                dims += f" (memory: {'x'.join(map(str, ORTHOGONAL_MEMORY_SHAPE))})"
            for dev in devices:
                cases.append(BenchCase(
                    backend="tensorflow",
                    label=f"{label} {dims} float32",
                    ours=_on(dev, lambda o=ours, s=shape: o(s, "float32")),
                    native=_on(dev, lambda n=native, s=shape: n(s, "float32")),
                    native_name=f"keras.initializers.{native_name}",
                    sync=_sync(dev),
                    device=dev,
                    **(memory if dev == "cpu" else {}),
                ))
    return cases


def model_bench(model: str, quick: bool = False) -> "ModelBench":
    """Whole-model init of a :mod:`initspec.backends.keras.zoo` model (``initspec bench --models``):
    Keras's own default (every layer's configured initializers re-run into its variables,
    :func:`~initspec.backends.keras.zoo.native_reinit`) vs :func:`~initspec.backends.tensorflow.init_model`
    in native sampling and portable mode, all ``variable.assign`` on the same built model."""
    import numpy as np

    from .._model_bench import ModelBench, Variant
    from ..keras import zoo
    from .harness import versions
    from .models import init_model

    # Keras' own defaults where the helpers' differ (kernels glorot_uniform, biases zeros, norms
    # ones/zeros are the same): Embedding uniform(+-0.05), so the ratio is initspec's own cost
    rules = {keras.layers.Embedding: ("uniform", {"low": -0.05, "high": 0.05})}

    net = zoo.build(model, quick)
    plan = zoo.initializer_plan(net)
    variables = net.trainable_weights  # the parameter count (moving statistics are re-initialized too)
    return ModelBench(
        framework="tensorflow", model=model, description=f"keras {net.name} ({keras.backend.backend()} backend)",
        n_params=sum(int(np.prod(v.shape)) for v in variables), n_tensors=len(variables),
        param_bytes=sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables),
        versions=versions(),
        variants=(
            Variant("native", "v.assign(layer.<name>_initializer(v.shape, v.dtype)) for each variable",
                    lambda: zoo.native_reinit(plan)),
            Variant("initspec", "init_model(model, rules=KERAS_DEFAULT)", lambda: init_model(net, rules=rules)),
            Variant("portable", "init_model(model, rules=KERAS_DEFAULT, portable=True, seed=0)",
                    lambda: init_model(net, rules=rules, portable=True, seed=0)),
        ))
