"""Per-case seeds of a conformance run, derived from its base seed.

Every drawn case, probe and native audit call gets its own seed from ``(base, *key)`` through
``numpy.random.SeedSequence`` (independent streams; O'Neill, *PCG*, 2014, and NumPy's
``SeedSequence`` hashing), reduced below ``2**31 - 1`` so every framework accepts it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SEED_MODULUS", "case_seed"]

SEED_MODULUS = 2**31 - 1


def case_seed(base: int, *key: int) -> int:
    """A per-case seed derived from the run's base seed (independent streams, < 2**31)."""
    return int(np.random.SeedSequence([base, *key]).generate_state(1)[0]) % SEED_MODULUS
