"""Backend adapters. Each submodule imports only its own framework, and only when imported.

* ``initspec.backends.numpy`` - the NumPy/scipy reference;
* ``initspec.backends.torch`` - PyTorch (``torch.nn.init`` style ``*_`` functions);
* ``initspec.backends.tensorflow`` - Keras 3 ``Initializer`` classes and TF functions;
* ``initspec.backends.jax`` - ``init(key, shape, dtype)`` factories.

:func:`load` imports one by name with a clear error when its framework is missing.

**Uniform harness API** (used by the conformance runner, the experiments and the benchmarks;
each adapter module also has its own idiomatic public API on top):

* ``DEFAULT_LAYOUT: str`` - the framework's own layout name (``"torch"``, ``"keras"``, ``"jax"``);
* ``sample(scheme, shape, *, layout=None, dtype="float32", seed=0, device="cpu", **params)``
  -> a native tensor/array on ``device`` ("cpu" or "gpu"), deterministic for ``seed``;
  ``layout=None`` means ``DEFAULT_LAYOUT``;
* ``to_numpy(x) -> np.ndarray`` (the only host copy, for measuring);
* ``device_available(device) -> tuple[bool, str]`` - (available, reason if not);
* ``versions() -> dict[str, str]`` - framework versions;
* ``device_of(x) -> str`` - "cpu" or "gpu" (where the values actually live);
* ``device_name(device) -> str | None`` - a human-readable name of the device (CPU or GPU model);
* ``bench_cases() -> list[initspec.backends._bench.BenchCase]`` - adapter vs native timings.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from initspec import registry


def __getattr__(name: str) -> tuple[str, ...]:
    # BACKENDS is derived from the registry at each access (a backend may be registered later).
    if name == "BACKENDS":
        return registry.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class BackendUnavailable(ImportError):
    """A requested backend's framework is not installed or failed to import."""


def load(name: str) -> ModuleType:
    """Import the adapter of the registered backend ``name`` (:mod:`initspec.registry`); raise
    :class:`BackendUnavailable` with the reason when its framework cannot be imported, and
    :class:`initspec.errors.UnknownNameError` for a name that is not registered."""
    fw = registry.get(name)
    for module in fw.imports:
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - report any import failure as unavailability
            raise BackendUnavailable(
                f"Backend {name!r} is unavailable: importing {module!r} failed "
                f"({type(e).__name__}: {e}). Install it with: {fw.install_hint}"
            ) from e
    return importlib.import_module(fw.adapter)
