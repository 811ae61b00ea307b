"""Which float32 step of the portable transform differs on a JAX GPU from the NumPy reference
(division, sqrt, frexp, logf, Horner, fenced/unfenced multiply-add, ndtri): mismatch counts per
step, narrow (float32) and wide (float64 division/sqrt) kernels. Run by scripts/gpu_check.sh."""
import numpy as np
import jax
from initspec.backends import portable as P
from initspec.backends.jax import portable as PJ
from initspec.backends.portable import _spec as S
gpu = jax.devices("gpu")[0]  # fails loudly without a GPU
w = P.words(3, "diag", 1 << 18)
v = S.v_open(P.OPS, w)
q = np.minimum(v, np.float32(1) - v).astype(np.float32)
f = np.float32(1.0) + (w >> np.uint32(9)).astype(np.float32) * np.float32(2.0**-23)  # in [1,2)
def run(fn, *args, wide=True):
    with PJ._x64_scope(wide):
        out = jax.jit(lambda fence, *a: fn(PJ.JaxOps(fence, wide), *a))(jax.device_put(np.int32(0), gpu), *[jax.device_put(x, gpu) for x in args])
    return np.asarray(out)
def cmp(name, fn, *args):
    ref = fn(P.OPS, *args)
    for wide in (False, True):
        got = run(fn, *args, wide=wide)
        d = got != ref
        print(f"{name:28s} wide={wide!s:5s} mismatches {int(d.sum()):7d}", "examples", list(zip(args[0][d][:2], ref[d][:2], got[d][:2])))
cmp("div", lambda o, a, b: o.div(a, b), f, f + np.float32(0.5))
cmp("sqrt", lambda o, a: o.sqrt(a), f)
cmp("frexp_m", lambda o, a: o.frexp(a)[0], q)
cmp("frexp_e", lambda o, a: o.to_f32(o.frexp(a)[1]), q)
cmp("log_pos", lambda o, a: S.log_pos(o, a), q)
cmp("horner", lambda o, a: S._horner(o, a, S.PPND7_NUM["central"]), q)
cmp("mul_add_fenced", lambda o, a: o.rnd(a * np.float32(1.2345678)) + np.float32(0.3333), q)
cmp("mul_add_plain", lambda o, a: a * np.float32(1.2345678) + np.float32(0.3333), q)
cmp("ndtri", lambda o, a: S.ndtri(o, a), v)
cmp("sub_chain", lambda o, a: (a - np.float32(0.5)) * (a - np.float32(0.5)), q)
