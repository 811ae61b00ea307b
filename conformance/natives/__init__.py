"""Per-framework native callables for the native audit. Each submodule imports only its own
framework, lazily inside functions, and exposes:

* ``FRAMEWORK: str`` - the ``initspec.native`` framework name it covers;
* ``IMPORTS: tuple[str, ...]`` - modules that must import for it to be available;
* ``draws() -> dict[str, NativeDraw]`` - native name (``NativeInit.name``) -> a callable
  ``draw(shape, seed, dtype) -> np.ndarray``: ``shape`` is the weight shape in the entry's layout
  (for a bias: the shape of the layer's weight), ``seed`` an int, ``dtype`` a spec dtype name.
  The callable runs the framework's own initializer (or builds the framework's own layer) and
  returns the values as a NumPy array.
* ``COMPLEX: dict[str, tuple[str, ...]]`` - extra complex dtypes audited per native name.

``initspec.registry``'s ``Framework.natives`` names the native modules a backend's process audits.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Callable

import numpy as np

NativeDraw = Callable[[tuple[int, ...], int, str], np.ndarray]




def load_natives(framework: str) -> tuple[ModuleType | None, str]:
    """``(module, "")`` or ``(None, reason)`` when the framework cannot be imported."""
    mod = importlib.import_module(f"initspec.conformance.natives.{framework}")
    for name in mod.IMPORTS:
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - any import failure means unavailable
            return None, f"importing {name!r} failed ({type(e).__name__}: {e})"
    return mod, ""
