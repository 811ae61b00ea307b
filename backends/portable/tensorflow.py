"""Moved to :mod:`initspec.backends.tensorflow.portable`: this old name is that same module (to be removed)."""
import sys

from initspec.backends.tensorflow import portable

sys.modules[__name__] = portable
