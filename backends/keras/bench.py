"""Benchmarks of the Keras drop-in (:mod:`initspec.backends.keras.initializers`) against
``keras.initializers`` on the Keras backend the process runs, for ``initspec bench``: speed and
peak memory of one call (the drop-in draws Keras' values through the backend's ``keras_random``
module, :mod:`initspec.backends.keras._sampling`). The bench runner adds these cases to the
record of every registered framework that declares a ``keras_backend``
(:class:`initspec.registry.Framework`), in a worker started with ``KERAS_BACKEND`` set to it.
"""

from __future__ import annotations

from typing import Any

from initspec.backends._bench import BenchCase

__all__ = ["BENCH_CASES", "bench_cases"]

#: (class, positional arguments but the seed, shape): Keras' He/Glorot defaults, a plain normal
#: with a mean (the two-op affine map), and the QR draw
BENCH_CASES: tuple[tuple[str, tuple[float, ...], tuple[int, ...]], ...] = (
    ("HeNormal", (), (4096, 4096)),
    ("GlorotUniform", (), (4096, 4096)),
    ("RandomNormal", (0.1, 0.05), (4096, 4096)),
    ("HeNormal", (), (3, 3, 256, 256)),
    ("Orthogonal", (), (1024, 1024)),
)
BENCH_SEED = 1234
#: the Orthogonal case's memory is measured at this size (36 MiB: the RSS sees it)
ORTHOGONAL_MEMORY_SHAPE = (3072, 3072)


def _unmeasured() -> None:
    return None


class KerasUnavailable(ImportError):
    """Keras runs on another backend than the one asked for."""


def _sync(keras: Any) -> Any:
    def sync(x: Any) -> Any:
        keras.ops.convert_to_numpy(x[(slice(0, 1),) * len(x.shape)])  # waits for the values
        return x
    return sync


def bench_cases(keras_backend: str, device: str = "cpu") -> list[BenchCase]:
    """One case per :data:`BENCH_CASES` entry: the drop-in class against Keras' own, the same
    seed, on ``device`` (``cpu`` only: Keras picks its device itself). Raises
    :class:`KerasUnavailable` when Keras runs on another backend."""
    import keras

    if keras.backend.backend() != keras_backend:
        raise KerasUnavailable(f"Keras runs on {keras.backend.backend()!r}, not {keras_backend!r}: set "
                               f"KERAS_BACKEND={keras_backend} (initspec bench does)")
    if device != "cpu":
        return []
    from . import _sampling
    from . import initializers as dropin

    # a backend whose warm calls the RSS cannot see says so in its keras_random module, and so
    # does one where a class's values tie it to Keras' own kernel and memory
    module = _sampling.random_module()
    rss_note = getattr(module, "RSS_MEMORY_NOTE", "")
    bound: dict[str, str] = getattr(module, "NATIVE_BOUND_MEMORY", {})

    sync = _sync(keras)
    cases = []
    for name, args, shape in BENCH_CASES:
        ours, native = getattr(dropin, name)(*args, seed=BENCH_SEED), getattr(keras.initializers, name)(*args, seed=BENCH_SEED)
        dims = "x".join(str(d) for d in shape)
        memory: dict[str, Any] = {"memory_bound": bound.get(name, "")}
        if rss_note:  # the backend declares that the RSS does not see a warm call's memory
            memory.update(ours_peak=_unmeasured, native_peak=_unmeasured, memory_note=rss_note)
        elif name == "Orthogonal":  # the memory measured where the RSS sees it (the QR is slow)
            memory.update(memory_ours=lambda i=ours: i(ORTHOGONAL_MEMORY_SHAPE),
                          memory_native=lambda i=native: i(ORTHOGONAL_MEMORY_SHAPE))
            dims += f" (memory: {'x'.join(map(str, ORTHOGONAL_MEMORY_SHAPE))})"
        cases.append(BenchCase(backend=keras_backend, label=f"keras drop-in {name} {dims} float32",
                               ours=lambda i=ours, s=shape: i(s), native=lambda i=native, s=shape: i(s),
                               native_name=f"keras.initializers.{name} (KERAS_BACKEND={keras_backend})",
                               sync=sync, device="cpu", **memory))
    return cases
