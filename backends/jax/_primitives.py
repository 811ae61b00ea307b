"""The JAX :class:`initspec.backends._core.Primitives`: the one primitives class of the JAX
backend, shared by native generation (``rng`` a typed ``jax.random`` key, :data:`BACKEND`) and
the portable stream (:class:`initspec.backends.jax.portable.PortableJax` subclasses it and only
swaps the RNG draws and the array placement).

References: ``jax/_src/random/core.py`` (``_uniform``, ``_truncated_normal``) for the samplers'
edge cases handled below.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from initspec.errors import InitSpecError
from scipy import stats

from .._core import Primitives
from ._threefry import fused_key

__all__ = ["BACKEND", "JaxBackend", "to_numpy"]


def _jdt(name: str) -> Any:
    """The JAX dtype of a spec dtype name."""
    return jnp.dtype(name)


def to_numpy(x: Any) -> np.ndarray:
    """Host copy (the only one; for measuring)."""
    return np.asarray(jax.device_get(x))


def _tail_limit(dtype: str) -> float:
    """Standardised bound ``A`` with ``Phi(-A) = eps(dtype)``: beyond it ``erf`` in ``dtype`` no
    longer resolves the tail from -1 (XLA's float32 erf returns -1 from about -3.8 = -5.4 sigma),
    and the uniform grid of the inverse-CDF sampler (spacing ~eps) holds no more mass there."""
    return float(-stats.norm.ppf(np.finfo(dtype).eps))


class JaxBackend(Primitives):
    """:class:`initspec.backends._core.Primitives` in ``jax.numpy``; ``rng`` is a typed key.

    Each draw uses ``jax.random``'s own sampler on the key, wrapped by
    :func:`initspec.backends.jax._threefry.fused_key` on the CPU: the same values, with Threefry
    lowered so that XLA fuses the draw into one loop (about 1x its output in memory instead of ~4x).
    """

    name = "jax"
    capabilities = frozenset({"complex", "float16", "bfloat16", "float64", "cpu", "gpu",
                              "jit", "vmap", "sharding"})

    def split(self, rng, n):
        keys = jax.random.split(rng, n)
        return [keys[i] for i in range(n)]

    def normal(self, rng, shape, dtype):
        return jax.random.normal(fused_key(rng, shape), shape, _jdt(dtype))

    def uniform(self, rng, shape, dtype, low, high):
        dt = _jdt(dtype)
        x = jax.random.uniform(fused_key(rng, shape), shape, dt, low, high)
        # jax/_src/random/core.py::_uniform returns max(low, u * (high - low) + low): the affine
        # map can round up onto `high`, outside the half-open [low, high).
        return jnp.minimum(x, np.nextafter(np.asarray(high, dt), np.asarray(low, dt)))

    def truncated_normal(self, rng, shape, dtype, a, b):
        """Standard normal truncated to (a, b), exact to the sampler's resolution.

        ``jax.random.truncated_normal`` (jax/_src/random/core.py::_truncated_normal) maps a
        uniform on [erf(a/sqrt2), erf(b/sqrt2)) through erf_inv and clips to the open interval.
        Where erf saturates to -1 (float32: a < about -5.4) the grid's first point u = -1 gives
        -inf, clipped onto the far bound: e.g. bounds (-100, 100) (torch trunc_normal_ defaults
        with std 0.02) put ~2^-23 of the mass at -100 sigma (excess kurtosis ~6 at n = 2^24
        instead of 0). Clamping the bounds to +-:func:`_tail_limit` removes at most eps of mass
        per side, below the sampler's resolution. One-sided intervals (whose mass erf cannot
        resolve near +-1) go through :meth:`_lower_tail`.
        """
        if b <= 0.0:
            return self._lower_tail(rng, shape, dtype, a, b)
        if a >= 0.0:
            return -self._lower_tail(rng, shape, dtype, -b, -a)
        lim = _tail_limit(dtype)
        return jax.random.truncated_normal(fused_key(rng, shape), max(a, -lim), min(b, lim), shape, _jdt(dtype))

    def _lower_tail(self, rng, shape, dtype, a, b):
        """N(0, 1) truncated to (a, b) with b <= 0: ``ndtri`` of a uniform on (Phi(a), Phi(b)),
        with Phi computed in float64 at trace time (small probabilities keep full precision)."""
        dt = _jdt(dtype)
        finfo = np.finfo(dtype)
        p_hi = float(stats.norm.cdf(b))
        if p_hi < finfo.tiny / finfo.eps:
            raise InitSpecError(
                f"The JAX backend cannot sample a normal truncated this far in the tail in {dtype} "
                f"(P(z < {b:.4g}) = {p_hi:.3g} underflows); use float64 with jax_enable_x64. "
                f"Received: a={a!r}, b={b!r}"
            )
        # drop at most eps of the interval's mass below `a`, as in truncated_normal
        p_lo = max(float(stats.norm.cdf(a)), finfo.eps * p_hi)
        u = jax.random.uniform(fused_key(rng, shape), shape, dt, p_lo, p_hi)
        x = jax.scipy.special.ndtri(u)
        lo = np.nextafter(np.asarray(a, dt), np.asarray(np.inf, dt))
        hi = np.nextafter(np.asarray(b, dt), np.asarray(-np.inf, dt))
        return jnp.clip(x, lo, hi)

    def full(self, shape, dtype, value):
        return jnp.full(shape, value, _jdt(dtype))

    def eye(self, rows, cols, dtype):
        return jnp.eye(rows, cols, dtype=_jdt(dtype))

    def cast(self, x, dtype):
        return jnp.asarray(x).astype(_jdt(dtype))

    def clip(self, x, lo, hi):
        return jnp.clip(x, jnp.asarray(lo, x.dtype), jnp.asarray(hi, x.dtype))

    def where(self, cond, x, y):
        return jnp.where(cond, x, y)

    sqrt = staticmethod(jnp.sqrt)
    log1p = staticmethod(jnp.log1p)
    cos = staticmethod(jnp.cos)
    sin = staticmethod(jnp.sin)
    sign = staticmethod(jnp.sign)

    def complex(self, re, im, dtype):
        return jax.lax.complex(re, im).astype(_jdt(dtype))

    def reshape(self, x, shape):
        return jnp.reshape(x, shape)

    def transpose(self, x, perm):
        return jnp.transpose(x, perm)

    def pad(self, x, pads):
        return jnp.pad(x, pads)

    def qr(self, x):
        return jnp.linalg.qr(x, mode="reduced")

    def diagonal(self, x):
        return jnp.diagonal(x, axis1=-2, axis2=-1)

    def argsort(self, x, axis):
        return jnp.argsort(x, axis=axis, stable=True)

    def scatter(self, shape, dtype, index, value):
        idx = tuple(np.asarray(index, dtype=np.int32).T)  # static coordinates from the plan
        return jnp.zeros(shape, _jdt(dtype)).at[idx].set(value)

    def to_numpy(self, x):
        return to_numpy(x)


BACKEND = JaxBackend()
