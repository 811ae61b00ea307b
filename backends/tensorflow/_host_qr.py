"""The TF adapter's orthogonal on the CPU: the QR in LAPACK, in place on the host, at 2x the output.

``tf.linalg.qr`` on the CPU is Eigen's ``HouseholderQR`` (``tensorflow/core/kernels/linalg/
qr_op_impl.h``): the kernel keeps its input, its own copy of it, an identity block for the thin Q
and both factors, so an orthogonal draw holds 5x its output (measured at 3072x3072, the same as
``keras.initializers.Orthogonal``). Here, on the CPU:

1. the Gaussian ``(n, m)`` matrices (n >= m) are TF's own draw, as in the generic path
   (:func:`initspec.backends._core._orthogonal`: ``stateless_normal`` on the adapter's seed, run
   in a graph at 1x, :mod:`._graphs`), copied to the host;
2. each is copied to LAPACK's Fortran order, and ``geqrf`` then ``orgqr`` (SciPy's
   ``scipy.linalg.lapack``, ``overwrite_a``) turn it into the thin Q in place; ``sign(diag(R))``
   is read off ``geqrf``'s diagonal in between (zeros as +1) and multiplied into Q's columns, then
   the gain;
3. the layout's transposes are one copy into a 64-byte-aligned array that TF adopts through DLPack
   without a copy (:func:`initspec.backends.portable.aligned_empty`).

Peak (eager, one matrix): 2x the output plus LAPACK's ``n * block`` workspace; ``nb`` matrices
(grouped layouts) ``2 + 1/nb``. Inside ``tf.function`` the same host code runs as a
``tf.numpy_function`` on the CPU (so graph and eager values agree bit for bit), where TF holds the
Gaussian during the call: 3x. The Gaussian is TF's as before; the QR is LAPACK's Householder QR
instead of Eigen's, so the values agree with ``tf.linalg.qr``'s to rounding (and still differ from
Keras', whose drop-in is :mod:`initspec.backends.keras`). GPUs keep ``tf.linalg.qr``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from initspec.distributions import Plan
from scipy.linalg import lapack

from ..portable import aligned_empty
from . import _graphs

__all__ = ["applies", "orthogonal"]

#: compute dtypes LAPACK takes here (float16/bfloat16 are computed in float32 and cast, as in TF)
HOST_DTYPES = ("float32", "float64")


def _on_cpu(rng: tf.Tensor) -> bool:
    """Where the draw runs: ``rng``'s device (eager: its placement; in a graph, the ``tf.device``
    scope it was made under); unplaced graph ops run on the CPU unless a GPU is visible (TF's
    placer prefers a GPU), the same choice as eagerly."""
    device = rng.device.upper()
    if device:
        return "CPU" in device
    return not tf.config.list_logical_devices("GPU")


def applies(rng: Any, plan: Plan, cdt: str) -> bool:
    """A native seed tensor on the CPU, a real matrix in float32/float64 compute."""
    return (isinstance(rng, (tf.Tensor, tf.Variable)) and plan.complex_rule is None and cdt in HOST_DTYPES
            and plan.size > 0 and _on_cpu(rng))


def _lwork(work: np.ndarray) -> int:
    """The optimal workspace size a LAPACK query (``lwork=-1``) returned. SciPy's default
    ``lwork`` is the minimum, which makes LAPACK take its unblocked code: 7x slower at 1024x1024
    (400 against 57 ms, measured), slower than TF's own QR."""
    return max(1, int(work[0].real))


def _orthonormal_in_place(a: np.ndarray) -> None:
    """``a`` (Fortran-ordered ``(n, m)``, n >= m) becomes ``Q`` of its thin QR with the signs of
    ``diag(R)`` (zeros as +1) multiplied into Q's columns."""
    geqrf, orgqr = lapack.get_lapack_funcs(("geqrf", "orgqr"), (a,))
    h, tau, _, info = geqrf(a, lwork=_lwork(geqrf(a, lwork=-1, overwrite_a=True)[2]), overwrite_a=True)
    if info != 0 or not np.shares_memory(h, a):
        raise RuntimeError(f"LAPACK geqrf failed in place (info={info})")
    sign = np.sign(np.diagonal(h)).astype(a.dtype)
    sign[sign == 0] = 1
    q, _, info = orgqr(h, tau, lwork=_lwork(orgqr(h, tau, lwork=-1, overwrite_a=True)[1]), overwrite_a=True)
    if info != 0 or not np.shares_memory(q, a):
        raise RuntimeError(f"LAPACK orgqr failed in place (info={info})")
    a *= sign


def _matrices(out: np.ndarray, perm: tuple[int, ...], nb: int, rows: int, cols: int) -> np.ndarray | None:
    """``out`` seen as the ``(nb, rows, cols)`` matrices (axes in ``perm`` order, merged), or None
    where that needs a copy."""
    view = out.transpose(perm)
    try:
        view.shape = (nb, rows, cols)  # raises where no view exists
    except AttributeError:
        return None
    return view


def _host(gauss: Any, plan: Plan, release: bool) -> np.ndarray:
    """The orthogonal tensor from the Gaussian ``(nb, n, m)`` matrices (a host array, or a
    one-element list holding it that is emptied once read: ``release``)."""
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    a = gauss.pop() if release else gauss
    gain = a.dtype.type(plan.gain)
    out = None
    for b in range(nb):
        q = np.asfortranarray(a[b])  # LAPACK's order, a copy
        if release and nb == 1:
            del a  # the only reference: the Gaussian is freed before the output exists
        _orthonormal_in_place(q)
        q *= gain
        m = q if rows >= cols else q.T
        if out is None:
            out = aligned_empty(plan.shape, q.dtype)
            mats = _matrices(out, perm, nb, rows, cols)
            if mats is None:  # a layout whose matrices are no view of the tensor: one more copy
                mats = np.empty((nb, rows, cols), q.dtype)
        mats[b] = m
        del q, m
    if not np.shares_memory(mats, out):
        np.copyto(out, mats.reshape(tuple(plan.shape[i] for i in perm)).transpose(np.argsort(perm)))
    return out


def orthogonal(rng: tf.Tensor, plan: Plan, cdt: str) -> tf.Tensor:
    """``plan``'s orthogonal tensor (see the module docstring), in ``plan.dtype``."""
    perm, nb, rows, cols = plan.layout.orthogonal_matrix(plan.shape)
    n, m = max(rows, cols), min(rows, cols)
    dt = tf.as_dtype(cdt)
    g = _graphs.normal((nb, n, m), rng, 0.0, 1.0, dt)  # stateless_normal, at 1x (not 3x)
    if tf.executing_eagerly():
        box = [g.numpy()]  # the host copy
        del g
        out = _host(box, plan, release=True)
        with tf.device("/CPU:0"):
            t = tf.experimental.dlpack.from_dlpack(out.__dlpack__())
    else:  # in a graph: the same host computation, as an op on the CPU
        with tf.device("/CPU:0"):
            t = tf.numpy_function(lambda x: _host(x, plan, release=False), [g], dt, stateful=False)
        t.set_shape(plan.shape)
    return t if plan.dtype == cdt else tf.cast(t, plan.dtype)
