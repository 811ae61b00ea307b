"""Moved to :mod:`initspec.backends.torch.portable`; this alias goes once the registry points there."""
from initspec.backends.torch import portable as _portable
from initspec.backends.torch.portable import *

__getattr__ = _portable.__getattribute__  # private names too (``_keys``, ``_COMPILE_FAILED``)
