"""Old location of :mod:`initspec.backends.jax.portable` (the JAX portable stream): an alias of it."""
import sys

from initspec.backends.jax import portable as _portable

sys.modules[__name__] = _portable
