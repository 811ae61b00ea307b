"""The drop-in ``initspec.backends.torch.nn_init`` against ``torch.nn.init`` (torch 2.13): the same
names and signatures (plus keyword-only ``stream``/``seed``), gains, fans, laws (KS tests with fixed
seeds against the closed form), exception types, zero-element behaviour, deprecated aliases, and the
same values as torch for the same generator where torch's result is one draw of its RNG; plus the
idiomatic API's refusal of ``truncated_normal_(a=, b=)``. Deliberate differences: docs/drop-in.md."""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest
from scipy import stats

pytestmark = pytest.mark.torch

#: KS p-value below which a sample is declared not from the law (fixed seeds: deterministic)
KS_ALPHA = 1e-4
SEED = 1234
RANDOM = ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
          "kaiming_normal_", "orthogonal_", "sparse_"]
DEPRECATED = ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
              "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"]


@pytest.fixture(scope="module")
def ni(tb):
    return tb.nn_init


@pytest.fixture(scope="module")
def tinit(torch):
    import torch.nn.init

    return torch.nn.init


def gen(torch, seed: int = SEED):
    return torch.Generator().manual_seed(seed)


def ks(x, law) -> float:
    return stats.kstest(np.asarray(x, dtype=np.float64).ravel(), law.cdf).pvalue


# -- the API surface ---------------------------------------------------------------------------------
def test_every_public_function_of_torch_is_there(ni, tinit):
    assert set(tinit.__all__) <= set(dir(ni))
    assert set(tinit.__all__) <= set(ni.__all__)


@pytest.mark.parametrize("name", ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
                                  "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                  "kaiming_normal_", "orthogonal_", "sparse_"])
def test_signature_equals_torch(ni, tinit, name):
    """Names, kinds, order and defaults of torch's parameters; only keyword-only stream/seed added."""
    ours = list(inspect.signature(getattr(ni, name)).parameters.values())
    theirs = list(inspect.signature(getattr(tinit, name)).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours[:len(theirs)]] == \
        [(p.name, p.kind, p.default) for p in theirs]
    extra = ours[len(theirs):]
    assert all(p.kind is p.KEYWORD_ONLY and p.name in ("stream", "seed") and p.default is None for p in extra)
    assert [type(p.default) for p in ours[:len(theirs)]] == [type(p.default) for p in theirs]
    assert bool(extra) == (name in RANDOM)


def test_exported_as_a_submodule_only(tb, ni):
    import initspec.backends.torch.nn_init as mod

    assert tb.nn_init is mod
    assert tb.normal_ is not ni.normal_  # the idiomatic API keeps its own functions


# -- gains and fans ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("nonlinearity", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                          "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                                          "leaky_relu", "selu"])
@pytest.mark.parametrize("param", [None, 0, 0.2, 10])
def test_calculate_gain_equals_torch(ni, tinit, nonlinearity, param):
    assert ni.calculate_gain(nonlinearity, param) == pytest.approx(tinit.calculate_gain(nonlinearity, param),
                                                                   rel=1e-15)


def test_calculate_gain_values_and_errors(ni):
    assert ni.calculate_gain("tanh") == 5.0 / 3 and ni.calculate_gain("selu") == 0.75
    assert ni.calculate_gain("relu") == math.sqrt(2.0)
    assert ni.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01 ** 2))
    for param in (True, [1], {"a": "b"}, "0.1"):
        with pytest.raises(ValueError, match="Received: param="):
            ni.calculate_gain("leaky_relu", param)
    for name in ("relux", "identity", "gelu", ""):  # torch 2.13 has no "identity"
        with pytest.raises(ValueError, match="Unsupported nonlinearity"):
            ni.calculate_gain(name)


@pytest.mark.parametrize("shape", [(3, 5), (7, 3, 2), (4, 6, 3, 3), (2, 3, 1, 2, 5), (0, 3), (4, 0, 3)])
def test_fans_equal_torch(ni, tinit, torch, shape):
    w = torch.empty(shape)
    assert ni._calculate_fan_in_and_fan_out(w) == tinit._calculate_fan_in_and_fan_out(w)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "FAN_IN", "Fan_Out"])
def test_fan_modes(ni, tinit, torch, mode):
    """``mode`` is case-insensitive, as in torch; std = gain / sqrt(fan(mode))."""
    w = torch.empty(48, 16, 3, 3, dtype=torch.float64)
    fan = ni._calculate_correct_fan(w, mode)
    assert fan == tinit._calculate_correct_fan(w, mode) == (16 * 9 if mode.lower() == "fan_in" else 48 * 9)
    ni.kaiming_normal_(w, mode=mode, nonlinearity="relu", generator=gen(torch))
    assert ks(w, stats.norm(0, math.sqrt(2.0 / fan))) > KS_ALPHA


# -- laws (KS with fixed seeds) --------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(2000,), (40, 50), (10, 6, 5, 7)])
def test_uniform_and_normal_laws(ni, torch, shape):
    w = torch.empty(shape, dtype=torch.float64)
    ni.uniform_(w, -1.5, 2.5, gen(torch))
    assert w.min() >= -1.5 and w.max() < 2.5 and ks(w, stats.uniform(-1.5, 4.0)) > KS_ALPHA
    ni.normal_(w, 0.7, 2.0, gen(torch))
    assert ks(w, stats.norm(0.7, 2.0)) > KS_ALPHA


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 0.3, 0.2, 0.9), (0.0, 1.0, 2.0, 3.0),
                                          (0.0, 0.02, -2.0, 2.0)])
def test_trunc_normal_has_absolute_bounds(ni, torch, dtype, mean, std, a, b):
    """torch's semantics: (a, b) are absolute values, not std units; no value reaches a bound."""
    w = torch.empty(20000, dtype=getattr(torch, dtype))
    ni.trunc_normal_(w, mean, std, a, b, gen(torch))
    x = w.double()
    assert x.min() > a and x.max() < b
    if dtype in ("float32", "float64"):
        assert ks(x, stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)) > KS_ALPHA


@pytest.mark.parametrize("shape", [(40, 30), (24, 8, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_xavier_laws(ni, torch, shape, gain):
    w = torch.empty(shape, dtype=torch.float64)
    rf = math.prod(shape[2:])
    std = gain * math.sqrt(2.0 / (shape[0] * rf + shape[1] * rf))
    ni.xavier_normal_(w, gain, gen(torch))
    assert ks(w, stats.norm(0, std)) > KS_ALPHA
    ni.xavier_uniform_(w, gain, gen(torch))
    bound = math.sqrt(3.0) * std
    assert w.abs().max() <= bound and ks(w, stats.uniform(-bound, 2 * bound)) > KS_ALPHA


@pytest.mark.parametrize("a,nonlinearity", [(0, "leaky_relu"), (0.3, "leaky_relu"), (0, "relu"), (5, "tanh")])
def test_kaiming_laws_are_untruncated(ni, torch, a, nonlinearity):
    """kaiming_normal_ is the untruncated normal (torch's semantics, not Keras' HeNormal)."""
    w = torch.empty(200, 100, dtype=torch.float64)
    gain = ni.calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(100)
    ni.kaiming_normal_(w, a, "fan_in", nonlinearity, gen(torch))
    assert ks(w, stats.norm(0, std)) > KS_ALPHA
    assert w.abs().max() > 3 * std  # a +-2 sigma truncation would never get there in 20000 draws
    ni.kaiming_uniform_(w, a, "fan_in", nonlinearity, gen(torch))
    assert ks(w, stats.uniform(-math.sqrt(3) * std, 2 * math.sqrt(3) * std)) > KS_ALPHA


@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (20, 2, 3, 4), (2, 3, 4, 5), (16, 16)])
@pytest.mark.parametrize("gain", [1, 0.5, -2.0])
def test_orthogonal(ni, torch, shape, gain):
    w = torch.empty(shape, dtype=torch.float64)
    ni.orthogonal_(w, gain, gen(torch))
    m = w.reshape(shape[0], -1)
    g = m.T @ m if m.shape[0] > m.shape[1] else m @ m.T
    torch.testing.assert_close(g, torch.eye(g.shape[0], dtype=torch.float64) * gain ** 2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("sparsity,std", [(0.1, 0.01), (0.35, 0.2), (0.0, 1.0)])
def test_sparse(ni, torch, sparsity, std):
    w = torch.empty(60, 300, dtype=torch.float64)
    ni.sparse_(w, sparsity, std, gen(torch))
    zeros = (w == 0).sum(0)
    assert (zeros == math.ceil(sparsity * 60)).all()
    assert ks(w[w != 0], stats.norm(0, std)) > KS_ALPHA


# -- deterministic fills equal torch's ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "int64", "bool"])
def test_deterministic_fills_equal_torch(ni, tinit, torch, dtype):
    td = getattr(torch, dtype)
    cases = [("constant_", (3, 4, 2), (3,)), ("ones_", (5, 2), ()), ("zeros_", (4,), ()), ("eye_", (3, 5), ()),
             ("eye_", (6, 2), ()), ("dirac_", (6, 3, 3), ()), ("dirac_", (6, 4, 3, 5), (2,)),
             ("dirac_", (9, 2, 3, 3, 3), (3,)), ("dirac_", (4, 8, 2, 2), (2,))]
    for name, shape, args in cases:
        ours, theirs = torch.full(shape, 7, dtype=td), torch.full(shape, 7, dtype=td)
        assert getattr(ni, name)(ours, *args) is ours
        getattr(tinit, name)(theirs, *args)
        assert torch.equal(ours, theirs), (name, shape, args)


def test_dirac_preserves_input_channels(ni, torch):
    """A dirac conv kernel passes its input channels through (per group)."""
    x = torch.randn(2, 3, 9, 9, generator=gen(torch))
    for groups in (1, 3):
        w = torch.empty(9, 3, 3, 3)
        ni.dirac_(w, groups)
        y = torch.nn.functional.conv2d(x, w)
        for g in range(groups):
            torch.testing.assert_close(y[:, 9 // groups * g: 9 // groups * g + 3], x[:, :, 1:-1, 1:-1])


# -- the same values as torch for the same generator -------------------------------------------------
@pytest.mark.parametrize("shape", [(64, 32), (16, 8, 3, 3), (8, 32)])
@pytest.mark.parametrize("name,args", [
    ("normal_", (0.3, 2.0)), ("xavier_normal_", (0.7,)), ("kaiming_normal_", ()),
    ("kaiming_normal_", (0.2, "fan_out", "leaky_relu")), ("uniform_", ()), ("uniform_", (-0.1, 0.3)),
    ("xavier_uniform_", ()), ("kaiming_uniform_", ()), ("kaiming_uniform_", (0, "fan_out", "relu")),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_generator_same_values_as_torch(ni, tinit, torch, shape, name, args, dtype):
    """One normal_/uniform_ draw: torch's values. Normals are bit-identical; uniforms agree to one
    ulp of the bounds (initspec rounds [low, high) inward to representable bounds, never returning
    ``high``)."""
    td = getattr(torch, dtype)
    ours, theirs = torch.empty(shape, dtype=td), torch.empty(shape, dtype=td)
    getattr(ni, name)(ours, *args, generator=gen(torch))
    getattr(tinit, name)(theirs, *args, generator=gen(torch))
    if "normal" in name:
        assert torch.equal(ours, theirs)
    else:
        tol = 2 * torch.finfo(td).eps * float(theirs.abs().max())
        torch.testing.assert_close(ours, theirs, rtol=0, atol=tol)


@pytest.mark.parametrize("shape", [(8, 32), (16, 8, 3, 3), (2, 3, 4, 5)])
def test_orthogonal_equals_torch_for_wide_matrices(ni, tinit, torch, shape):
    ours, theirs = torch.empty(shape, dtype=torch.float64), torch.empty(shape, dtype=torch.float64)
    ni.orthogonal_(ours, 1.5, gen(torch))
    tinit.orthogonal_(theirs, 1.5, gen(torch))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", RANDOM)
def test_generator_reproducible_and_global_rng(ni, torch, name):
    """generator=g reproduces; the global generator seeded alike gives the same values (as torch's
    own test_trunc_normal_generator checks for trunc_normal_)."""
    args = (0.2,) if name == "sparse_" else ()
    a, b, c = (torch.empty(12, 20) for _ in range(3))
    getattr(ni, name)(a, *args, generator=gen(torch, 42))
    getattr(ni, name)(b, *args, generator=gen(torch, 42))
    torch.manual_seed(42)
    getattr(ni, name)(c, *args)
    assert torch.equal(a, b) and torch.equal(a, c)


# -- errors: torch's exception types ------------------------------------------------------------------
@pytest.mark.parametrize("name,bad_shapes,args", [
    ("xavier_uniform_", [(), (3,)], ()), ("xavier_normal_", [(), (3,)], ()),
    ("kaiming_uniform_", [(), (3,)], ()), ("kaiming_normal_", [(), (3,)], ()),
    ("orthogonal_", [(), (3,)], ()), ("eye_", [(3,), (2, 3, 4)], ()), ("sparse_", [(3,), (2, 3, 4)], (0.1,)),
    ("dirac_", [(3,), (2, 3), (1, 1, 1, 1, 1, 1)], ()),
])
def test_rank_errors_are_value_errors(ni, tinit, torch, name, bad_shapes, args):
    for shape in bad_shapes:
        for mod in (tinit, ni):
            with pytest.raises(ValueError):
                getattr(mod, name)(torch.empty(shape), *args)


def test_argument_errors_have_torch_types(ni, tinit, torch):
    w = torch.empty(4, 6)
    cases = [
        (ValueError, lambda m: m.kaiming_normal_(w, mode="fan_avg")),
        (ValueError, lambda m: m.kaiming_uniform_(w, nonlinearity="gelu")),
        (ValueError, lambda m: m.dirac_(torch.empty(5, 2, 3), 2)),  # dim 0 not divisible by groups
        (RuntimeError, lambda m: m.uniform_(w, 1.0, 0.0)),
        (RuntimeError, lambda m: m.normal_(w, 0.0, -1.0)),
        (RuntimeError, lambda m: m.xavier_normal_(w, gain=-1.0)),  # a negative std
        (RuntimeError, lambda m: m.normal_(torch.empty(3, 3, dtype=torch.int64))),  # no integer sampling
        (TypeError, lambda m: m.uniform_(w, "a")),
    ]
    for exc, call in cases:
        for mod in (tinit, ni):
            with pytest.raises(exc):
                call(mod)


def test_argument_errors_are_also_initspec_errors(ni, torch):
    """The RuntimeErrors are also InitSpecErrors (ValueError) or TypeErrors, with clear messages."""
    from initspec.errors import InitSpecError

    with pytest.raises(InitSpecError, match=r"Received: a=1.0, b=0.0"):
        ni.uniform_(torch.empty(3), 1.0, 0.0)
    with pytest.raises(InitSpecError, match=r"Received: std=-1"):
        ni.normal_(torch.empty(3), 0.0, -1)
    with pytest.raises(TypeError, match="dtype=torch.int64"):
        ni.kaiming_uniform_(torch.empty(3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="must be finite"):
        ni.constant_(torch.empty(3), float("nan"))


def test_degenerate_intervals_fill_the_bound(ni, tinit, torch):
    """a == b is a point mass in torch's uniform_ and trunc_normal_, std == 0 in normal_."""
    for mod in (ni, tinit):
        u, t = torch.empty(5), torch.empty(5)
        mod.uniform_(u, 0.5, 0.5)
        mod.trunc_normal_(t, 0.0, 1.0, 0.5, 0.5)
        assert (u == 0.5).all() and (t == 0.5).all()
    w = torch.empty(5)
    ni.normal_(w, 1.5, 0.0)
    assert (w == 1.5).all()


def test_trunc_normal_warns_like_torch(ni, torch):
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        ni.trunc_normal_(torch.empty(100), mean=5.0, std=1.0, a=-1.0, b=1.0)


# -- zero-element tensors, meta tensors, autograd ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
def test_kaiming_zero_element_warns_and_is_a_noop(ni, torch, name):
    w = torch.empty(0, 3)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op") as rec:
        assert getattr(ni, name)(w) is w
    assert rec[0].filename == __file__  # stacklevel points at the caller, as torch's does
    with pytest.warns(UserWarning, match="zero-element"):
        getattr(ni, name)(torch.empty(0), mode="bad")  # the no-op comes before any other check


@pytest.mark.parametrize("name,args", [("uniform_", ()), ("normal_", ()), ("trunc_normal_", ()),
                                       ("xavier_uniform_", ()), ("xavier_normal_", ()), ("orthogonal_", ()),
                                       ("sparse_", (0.1,)), ("constant_", (2.0,)), ("ones_", ()), ("zeros_", ()),
                                       ("eye_", ())])
@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0)])
def test_other_zero_element_tensors_are_silent_noops(ni, tinit, torch, name, args, shape):
    w = torch.empty(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(ni, name)(w, *args) is w
        if not (name.startswith("xavier") and shape == (0, 0)):  # torch: ZeroDivisionError there
            getattr(tinit, name)(torch.empty(shape), *args)


@pytest.mark.parametrize("name,args", [("kaiming_normal_", ()), ("orthogonal_", ()), ("sparse_", (0.1,)),
                                       ("dirac_", ()), ("trunc_normal_", ()), ("xavier_uniform_", ())])
def test_meta_tensors_are_returned_untouched(ni, torch, name, args):
    w = torch.empty(8, 4, 3, device="meta") if name == "dirac_" else torch.empty(8, 4, device="meta")
    assert getattr(ni, name)(w, *args) is w


def test_parameters_are_filled_without_recording_grad(ni, torch):
    p = torch.nn.Parameter(torch.empty(6, 4))
    assert ni.kaiming_uniform_(p) is p and p.grad_fn is None and p.requires_grad
    assert ni.eye_(p) is p and p.grad_fn is None


def test_torch_function_dispatch(ni, torch):
    """uniform_/normal_/constant_/kaiming_uniform_ dispatch to ``__torch_function__``, as in torch."""
    seen = []

    class Traced(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    w = torch.empty(4, 4).as_subclass(Traced)
    for name in ("uniform_", "normal_", "kaiming_uniform_"):
        getattr(ni, name)(w)
    ni.constant_(w, 0.5)
    assert {"uniform_", "normal_", "kaiming_uniform_", "constant_"} <= set(seen)


# -- deprecated aliases -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DEPRECATED)
def test_deprecated_aliases_warn(ni, torch, name):
    w = torch.empty(4, 4, 3) if name == "dirac" else torch.empty(4, 4)
    args = (0.1,) if name in ("sparse", "constant") else ()
    with pytest.warns(FutureWarning, match=f"`nn.init.{name}` is now deprecated"):
        assert getattr(ni, name)(w, *args) is w


# -- portable stream ----------------------------------------------------------------------------------------
def test_portable_stream_equals_the_idiomatic_schemes(tb, ni, torch):
    """stream=/seed= give the portable values of the matching spec scheme."""
    w, v = torch.empty(64, 32), torch.empty(64, 32)
    ni.kaiming_normal_(w, nonlinearity="relu", stream="enc.w", seed=3)
    tb.he_normal_(v, stream="enc.w", seed=3)
    torch.testing.assert_close(w, v, rtol=1e-6, atol=0)
    ni.xavier_uniform_(w, stream="enc.w", seed=3)
    tb.glorot_uniform_(v, stream="enc.w", seed=3)
    torch.testing.assert_close(w, v, rtol=1e-6, atol=1e-7)
    ni.trunc_normal_(w, std=0.02, stream="enc.w", seed=3)
    tb.truncated_normal_abs_(v, std=0.02, stream="enc.w", seed=3)
    assert torch.equal(w, v)
    ni.orthogonal_(w, stream="o", seed=1)
    tb.orthogonal_(v, stream="o", seed=1)
    assert torch.equal(w, v)
    with pytest.raises(ValueError, match="cannot be used together"):
        ni.normal_(w, generator=gen(torch), stream="x")


# -- the idiomatic API's trap ------------------------------------------------------------------------------
def test_idiomatic_truncated_normal_refuses_ambiguous_bounds(tb, torch):
    w = torch.empty(8, 8)
    for kw in ({"a": -2, "b": 2}, {"a": -2}, {"b": 1.0}):
        with pytest.raises(TypeError, match="truncated_normal_abs_.*nn_init.trunc_normal_"):
            tb.truncated_normal_(w, std=0.02, **kw)
    tb.truncated_normal_(w, std=0.02)  # +-2 sigma, std units: unambiguous
    assert w.abs().max() < 0.04
    tb.initialize_(w, "truncated_normal", std=0.02, a=-1.0, b=1.0)  # by name: std units, as documented
    assert w.abs().max() < 0.02
