"""Portable mode of the torch adapter's idiomatic API: ``initialize_``/``NAME_(..., stream=, seed=)``
and ``init_module_(..., portable=True, seed=, prefix=)`` give the portable stream's values, equal
bit for bit to ``initspec.backends.torch.portable.sample`` and to the NumPy reference.

Expected values are never hard-coded: they are computed here from the portable samplers with the
same scheme, shape, layout, dtype, seed, stream and parameters."""

from __future__ import annotations

import numpy as np
import pytest

from initspec.backends import portable as ref

pytestmark = pytest.mark.torch


def _np(tb, x) -> np.ndarray:
    return tb.to_numpy(x)


# -- initialize_ / NAME_ ------------------------------------------------------------------------
#: (scheme, shape, dtype, params) filled with layout "torch", stream "w", seed 5
CASES = [
    ("he_normal", (64, 32), "float32", {}),
    ("he_truncated_normal", (64, 32), "float32", {}),
    ("truncated_normal", (40, 24), "float32", {"mean": 0.5, "std": 2.0}),
    ("glorot_uniform", (64, 32), "float32", {}),
    ("uniform", (17, 5), "float64", {"low": -1.0, "high": 3.0}),
    ("he_normal", (64, 32), "complex64", {}),
    ("glorot_normal", (64, 32), "float16", {}),
    ("he_uniform", (16, 4, 3, 3), "float32", {"groups": 2}),  # grouped conv weight
    ("he_uniform", (16,), "float32", {"fans": (72, 144)}),  # bias with explicit fans
    ("orthogonal", (16, 8), "float32", {}),  # structured: portable Gaussian, then QR
]


@pytest.mark.parametrize("scheme,shape,dtype,params", CASES)
def test_inplace_equals_portable_sample_and_reference(tb, torch, pt, scheme, shape, dtype, params):
    w = torch.empty(shape, dtype=tb.torch_dtype(dtype))
    out = tb.INPLACE[scheme](w, stream="w", seed=5, **params)
    assert out is w
    want_torch = pt.sample(scheme, shape, layout="torch", dtype=dtype, seed=5, stream="w", **params)
    np.testing.assert_array_equal(_np(tb, w), _np(tb, want_torch))
    want = ref.sample(scheme, shape, layout="torch", dtype=dtype, seed=5, stream="w", **params)
    if scheme == "orthogonal":  # QR agrees across backends to rounding only (portable docstring)
        np.testing.assert_allclose(_np(tb, w), want, rtol=0, atol=1e-6)
    else:
        np.testing.assert_array_equal(_np(tb, w), want)


def test_bfloat16_equals_portable_torch_sample(tb, torch, pt):  # NumPy has no bfloat16
    w = tb.he_truncated_normal_(torch.empty(8, 6, dtype=torch.bfloat16), stream="w", seed=3)
    want = pt.sample("he_truncated_normal", (8, 6), layout="torch", dtype="bfloat16", seed=3, stream="w")
    assert w.dtype == torch.bfloat16 and torch.equal(w, want)


def test_he_normal_example_from_the_brief(tb, torch):
    w = tb.he_normal_(torch.empty(64, 32), stream="w", seed=5)
    np.testing.assert_array_equal(_np(tb, w), ref.sample("he_normal", (64, 32), layout="torch", seed=5,
                                                         stream="w"))


def test_initialize_by_name_with_layout_and_params(tb, torch):
    w = tb.initialize_(torch.empty(16, 8), "variance_scaling", layout="torch_linear", stream="fc.weight",
                       seed=9, scale=0.5, mode="fan_avg", distribution="truncated_normal")
    want = ref.sample("variance_scaling", (16, 8), layout="torch_linear", seed=9, stream="fc.weight",
                      scale=0.5, mode="fan_avg", distribution="truncated_normal")
    np.testing.assert_array_equal(_np(tb, w), want)


def test_seed_none_means_zero_and_stream_and_seed_matter(tb, torch):
    a = tb.he_normal_(torch.empty(8, 8), stream="w")
    assert torch.equal(a, tb.he_normal_(torch.empty(8, 8), stream="w", seed=0))
    assert not torch.equal(a, tb.he_normal_(torch.empty(8, 8), stream="w", seed=1))
    assert not torch.equal(a, tb.he_normal_(torch.empty(8, 8), stream="v"))
    big = tb.he_normal_(torch.empty(8, 8), stream="w", seed=2**64 - 1)
    np.testing.assert_array_equal(_np(tb, big), ref.sample("he_normal", (8, 8), layout="torch",
                                                           seed=2**64 - 1, stream="w"))


def test_native_mode_unchanged(tb, torch):
    g1, g2 = (torch.Generator().manual_seed(3) for _ in range(2))
    a = tb.he_normal_(torch.empty(8, 8), generator=g1)
    b = tb.he_normal_(torch.empty(8, 8), generator=g2, stream=None, seed=None)
    assert torch.equal(a, b)


def test_parameter_with_requires_grad(tb, torch):
    p = torch.nn.Parameter(torch.empty(32, 16))
    tb.glorot_uniform_(p, stream="p", seed=1)
    assert p.requires_grad and p.grad_fn is None and p.is_leaf
    np.testing.assert_array_equal(_np(tb, p), ref.sample("glorot_uniform", (32, 16), layout="torch",
                                                         seed=1, stream="p"))


def test_non_contiguous_view_leaves_the_rest_untouched(tb, torch):
    base = torch.full((8, 12), 7.0)
    view = base.t()[:, 2:6]  # (12, 4), non-contiguous
    assert not view.is_contiguous()
    tb.he_normal_(view, stream="v", seed=4)
    np.testing.assert_array_equal(_np(tb, view), ref.sample("he_normal", (12, 4), layout="torch",
                                                            seed=4, stream="v"))
    rest = base.clone()
    rest[2:6, :] = 7.0
    assert torch.all(rest == 7.0)


def test_contiguous_slice_of_bigger_tensor(tb, torch):
    base = torch.full((10, 6), 7.0)
    tb.uniform_(base[2:5], stream="s", seed=8, low=-1.0, high=1.0)
    np.testing.assert_array_equal(_np(tb, base[2:5]), ref.sample("uniform", (3, 6), layout="torch",
                                                                 seed=8, stream="s", low=-1.0, high=1.0))
    assert torch.all(base[:2] == 7.0) and torch.all(base[5:] == 7.0)


def test_meta_tensor_validated_then_returned(tb, torch):
    w = torch.empty(8, 4, device="meta")
    assert tb.he_normal_(w, stream="w", seed=1) is w
    with pytest.raises(TypeError, match="stream"):
        tb.he_normal_(w, stream=3)
    with pytest.raises(ValueError, match="Received: seed=-1"):
        tb.he_normal_(w, stream="w", seed=-1)
    with pytest.raises(Exception, match="Received"):
        tb.he_normal_(torch.empty(4, device="meta"), stream="w")  # fans undefined below rank 2


@pytest.mark.gpu
def test_cuda_equals_reference(tb, torch):
    ok, why = tb.device_available("gpu")
    if not ok:
        pytest.skip(why)
    w = tb.he_truncated_normal_(torch.empty(64, 32, device="cuda"), stream="w", seed=5)
    assert w.device.type == "cuda"
    np.testing.assert_array_equal(_np(tb, w), ref.sample("he_truncated_normal", (64, 32), layout="torch",
                                                         seed=5, stream="w"))


# -- bad inputs ---------------------------------------------------------------------------------
def test_stream_must_be_a_str(tb, torch):
    with pytest.raises(TypeError, match=r"`stream`.*Received: stream=3"):
        tb.he_normal_(torch.empty(4, 4), stream=3)


@pytest.mark.parametrize("seed,exc", [(-1, ValueError), (2**64, ValueError), (1.5, TypeError),
                                      (True, TypeError), ("0", TypeError)])
def test_bad_seed(tb, torch, seed, exc):
    with pytest.raises(exc, match=r"`seed`.*Received: seed="):
        tb.he_normal_(torch.empty(4, 4), stream="w", seed=seed)


def test_generator_and_stream_conflict(tb, torch):
    with pytest.raises(ValueError, match=r"`generator` and `stream`.*Received: generator=.*stream='w'"):
        tb.he_normal_(torch.empty(4, 4), generator=torch.Generator(), stream="w")


def test_seed_without_stream(tb, torch):
    with pytest.raises(ValueError, match=r"seed= selects the portable stream's seed; pass stream=\.\.\., "
                                         r"or use generator= for torch's generator.*Received: seed=3"):
        tb.he_normal_(torch.empty(4, 4), seed=3)
    with pytest.raises(ValueError, match="seed="):
        tb.initialize_(torch.empty(4, 4), "he_normal", seed=0)


def test_failed_call_leaves_tensor_untouched(tb, torch):
    w = torch.full((4, 4), 7.0)
    with pytest.raises(TypeError):
        tb.he_normal_(w, stream="w", seed="x")
    with pytest.raises(TypeError, match="Received: gain='nope'"):
        tb.he_normal_(w, stream="w", gain="nope")
    with pytest.raises(ValueError, match="Received: generator="):
        tb.he_normal_(w, stream="w", generator=torch.Generator())
    assert torch.all(w == 7.0)


# -- init_module_(portable=True) ----------------------------------------------------------------
def _model(torch):
    nn = torch.nn
    torch.manual_seed(0)
    return nn.ModuleDict({
        "encoder": nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), nn.ReLU(), nn.Linear(12, 6)),
        "head": nn.Linear(6, 3),
        "norm": nn.LayerNorm(3),
    })


def test_init_module_values_equal_portable_sample(tb, torch, pt):
    model = _model(torch)
    norm_before = {k: v.clone() for k, v in model["norm"].state_dict().items()}
    tb.init_module_(model, weight="he_uniform", bias="he_normal", portable=True, seed=11)
    sd = model.state_dict()
    layers = {"encoder.0": (model["encoder"][0], "torch_conv", 2), "encoder.2": (model["encoder"][2],
              "torch_linear", 1), "head": (model["head"], "torch_linear", 1)}
    for path, (layer, layout, groups) in layers.items():
        w_shape = tuple(layer.weight.shape)
        want_w = pt.sample("he_uniform", w_shape, layout=layout, seed=11, stream=f"{path}.weight",
                           groups=groups)
        np.testing.assert_array_equal(_np(tb, sd[f"{path}.weight"]), _np(tb, want_w))
        np.testing.assert_array_equal(
            _np(tb, sd[f"{path}.weight"]),
            ref.sample("he_uniform", w_shape, layout=layout, seed=11, stream=f"{path}.weight", groups=groups))
        fans = tb.plan_for("he_normal", w_shape, layout, groups=groups).fans
        want_b = pt.sample("he_normal", tuple(layer.bias.shape), layout=layout, seed=11,
                           stream=f"{path}.bias", fans=(fans.fan_in, fans.fan_out))
        np.testing.assert_array_equal(_np(tb, sd[f"{path}.bias"]), _np(tb, want_b))
    for k, v in model["norm"].state_dict().items():
        assert torch.equal(v, norm_before[k])  # LayerNorm untouched


def test_init_module_seed_none_means_zero(tb, torch):
    a, b = _model(torch), _model(torch)
    tb.init_module_(a, portable=True)
    tb.init_module_(b, portable=True, seed=0)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k


def test_init_module_submodule_with_prefix_equals_whole_model(tb, torch):
    whole, part = _model(torch), _model(torch)
    tb.init_module_(whole, portable=True, seed=3)
    report = tb.init_module_(part["encoder"], portable=True, seed=3, prefix="encoder.")
    assert [r.stream for r in report] == [f"encoder.{k}" for k in part["encoder"].state_dict()]
    enc = part["encoder"].state_dict()
    for k, v in whole.state_dict().items():
        if k.startswith("encoder."):
            assert torch.equal(enc[k[len("encoder."):]], v), k
    # without the prefix the names (and values) differ
    other = _model(torch)["encoder"]
    tb.init_module_(other, portable=True, seed=3)
    assert not torch.equal(other[2].weight, whole["encoder"][2].weight)


def test_init_module_is_independent_of_layer_order_and_extra_layers(tb, torch):
    nn = torch.nn
    torch.manual_seed(0)
    a = nn.Sequential()
    a.add_module("conv", nn.Conv1d(3, 6, 5))
    a.add_module("fc", nn.Linear(6, 4))
    b = nn.Sequential()  # reversed order, a layer in between, an extra layer at the end
    b.add_module("fc", nn.Linear(6, 4))
    b.add_module("extra", nn.Linear(9, 9))
    b.add_module("conv", nn.Conv1d(3, 6, 5))
    b.add_module("more", nn.Conv1d(6, 6, 1))
    for m in (a, b):
        tb.init_module_(m, weight="glorot_normal", bias="uniform", portable=True, seed=7)
    sa, sb = a.state_dict(), b.state_dict()
    assert set(sa) < set(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k
    assert not torch.equal(sb["fc.weight"][:4, :6], sb["extra.weight"][:4, :6])


def test_linear_weight_equals_numpy_reference(tb, torch):
    model = torch.nn.Sequential()
    model.add_module("fc", torch.nn.Linear(8, 16))
    tb.init_module_(model, weight="he_truncated_normal", bias="zeros", portable=True, seed=21)
    np.testing.assert_array_equal(
        _np(tb, model.fc.weight),
        ref.sample("he_truncated_normal", (16, 8), layout="torch_linear", seed=21, stream="fc.weight"))
    assert torch.all(model.fc.bias == 0)
    # the same tensor filled directly with the same stream name
    w = tb.he_truncated_normal_(torch.empty(16, 8), layout="torch_linear", stream="fc.weight", seed=21)
    assert torch.equal(w, model.fc.weight)


def test_init_module_by_type_rules_and_lstm(tb, torch):
    nn = torch.nn
    model = nn.Sequential(nn.LSTM(4, 6), nn.Linear(6, 2))
    tb.init_module_(model, by_type={nn.LSTM: {"weight": "glorot_uniform", "bias": "zeros"},
                                    nn.Linear: ("normal", {"std": 0.5})}, portable=True, seed=2)
    for name, p in model[0].named_parameters():
        if name.startswith("weight"):  # one (6, in) block per gate, stream "0.<name>[k]"
            want = np.concatenate([ref.sample("glorot_uniform", (6, p.shape[1]), layout="torch", seed=2,
                                              stream=f"0.{name}[{k}]") for k in range(4)])
            np.testing.assert_array_equal(_np(tb, p), want)
        else:
            assert torch.all(p == 0)
    np.testing.assert_array_equal(_np(tb, model[1].weight), ref.sample(
        "normal", (2, 6), layout="torch_linear", seed=2, stream="1.weight", std=0.5))


def test_init_module_tied_weights_use_their_first_name(tb, torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(5, 5), nn.Linear(5, 5))
    model[1].weight = model[0].weight
    tb.init_module_(model, portable=True, seed=1)
    np.testing.assert_array_equal(_np(tb, model[1].weight), ref.sample(
        "he_normal", (5, 5), layout="torch_linear", seed=1, stream="0.weight"))


def test_init_module_meta(tb, torch):
    with torch.device("meta"):
        net = torch.nn.Sequential(torch.nn.Linear(4, 4))
    assert tb.init_module_(net, portable=True, seed=1).counts()["init"] == 2


def test_init_module_portable_errors(tb, torch):
    lin = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"`generator` and `portable=True`.*Received: generator="):
        tb.init_module_(lin, portable=True, generator=torch.Generator())
    with pytest.raises(ValueError, match=r"portable=True.*Received: seed=3, prefix='', names=None, portable=False"):
        tb.init_module_(lin, seed=3)
    with pytest.raises(ValueError, match=r"Received: seed=None, prefix='enc.', names=None, portable=False"):
        tb.init_module_(lin, prefix="enc.")
    with pytest.raises(TypeError, match=r"`portable`.*Received: portable=1"):
        tb.init_module_(lin, portable=1)
    with pytest.raises(TypeError, match=r"`prefix`.*Received: prefix=3"):
        tb.init_module_(lin, portable=True, prefix=3)
    with pytest.raises(TypeError, match=r"`seed`.*Received: seed='1'"):
        tb.init_module_(lin, portable=True, seed="1")
    with pytest.raises(ValueError, match=r"`seed`.*Received: seed=-2"):
        tb.init_module_(lin, portable=True, seed=-2)
    with pytest.raises(ValueError, match=r"sets seed, stream.*Received: weight="):
        tb.init_module_(lin, weight=("he_normal", {"stream": "x", "seed": 1}), portable=True)


# -- DTensor / FSDP2: each rank fills only its own shard -----------------------------------------------
_DTENSOR_SCRIPT = r'''
import os, sys
import numpy as np
import torch
import torch.distributed as dist


def main(rank, world, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor import DTensor, Partial, Replicate, Shard, distribute_tensor

    from initspec.backends import portable as P
    from initspec.backends import torch as it
    from initspec.errors import InitSpecError

    mesh = init_device_mesh("cpu", (world,))
    want = P.sample("he_truncated_normal", (15, 8), layout="torch", seed=3, stream="fc.weight")
    for placements in ([Shard(0)], [Shard(1)], [Replicate()]):  # 15 rows: uneven shards
        dt = distribute_tensor(torch.zeros(15, 8), mesh, placements)
        it.he_truncated_normal_(dt, stream="fc.weight", seed=3)
        assert np.array_equal(dt.full_tensor().numpy(), want), placements
    try:
        it.he_normal_(DTensor.from_local(torch.zeros(15, 8), mesh, [Partial()]), stream="w")
        raise AssertionError("Partial placement accepted")
    except InitSpecError as e:
        assert "placements" in str(e), e
    # FSDP2: the sharded model gets exactly the unsharded model's portable values
    make = lambda: torch.nn.Sequential(torch.nn.Linear(8, 15), torch.nn.ReLU(), torch.nn.Linear(15, 4))
    ref, model = make(), make()
    it.init_module_(ref, "he_normal", "he_uniform", portable=True, seed=9)
    for layer in (model[0], model[2], model):
        fully_shard(layer, mesh=mesh)
    it.init_module_(model, "he_normal", "he_uniform", portable=True, seed=9)
    for (name, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        assert isinstance(p, DTensor) and torch.equal(p.full_tensor(), q.detach()), name
    dist.barrier()
    if rank == 0:
        print("DTENSOR-OK")
    dist.destroy_process_group()


if __name__ == "__main__":
    torch.multiprocessing.spawn(main, args=(2, int(sys.argv[1])), nprocs=2)
'''


def test_dtensor_and_fsdp2_shards_fill_only_their_slice(tb, tmp_path):
    """Two gloo ranks on the CPU: a DTensor sharded by rows (uneven), by columns or replicated
    equals the unsharded portable values; FSDP2 + ``init_module_(portable=True)`` equals the
    unsharded model; a Partial placement is refused."""
    import socket
    import subprocess
    import sys

    torch = pytest.importorskip("torch")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with the gloo backend is not available in this torch build")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = tmp_path / "dtensor_check.py"
    script.write_text(_DTENSOR_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(port)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0 and "DTENSOR-OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]
