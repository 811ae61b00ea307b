"""Backend adapters. Each submodule imports only its own framework, and only when imported.

* ``initspec.backends.numpy`` - the NumPy/scipy reference;
* ``initspec.backends.torch`` - PyTorch (``torch.nn.init`` style ``*_`` functions);
* ``initspec.backends.tensorflow`` - Keras 3 ``Initializer`` classes and TF functions;
* ``initspec.backends.jax`` - ``init(key, shape, dtype)`` factories.

:func:`load` imports one by name with a clear error when its framework is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from initspec.errors import unknown

BACKENDS = ("numpy", "torch", "tensorflow", "jax")
_FRAMEWORK = {"numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}


class BackendUnavailable(ImportError):
    """A requested backend's framework is not installed or failed to import."""


def load(name: str) -> ModuleType:
    """Import ``initspec.backends.<name>``; raise :class:`BackendUnavailable` with the reason."""
    if name not in BACKENDS:
        raise unknown("backend", "backend", name, BACKENDS)
    try:
        importlib.import_module(_FRAMEWORK[name])
    except Exception as e:  # noqa: BLE001 - report any import failure as unavailability
        raise BackendUnavailable(
            f"Backend {name!r} is unavailable: importing {_FRAMEWORK[name]!r} failed "
            f"({type(e).__name__}: {e}). Install it with: pip install 'initspec[{name}]'"
        ) from e
    return importlib.import_module(f"initspec.backends.{name}")
