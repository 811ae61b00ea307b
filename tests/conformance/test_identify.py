"""``initspec identify``: loading and adapting callables, naming the closest scheme, listing the
deviations of planted wrong initializers, and one-line errors (exit 2) for bad callables."""

from __future__ import annotations

import math
import re
import sys
import textwrap

import numpy as np
import pytest

from initspec.backends import numpy as ref
from initspec.conformance import identify as I

SEED = 7


def numpy_init(scheme: str, layout: str = "keras", factor: float = 1.0, **params):
    """A plain ``(shape, seed) -> array`` initializer: the NumPy reference, times ``factor``."""
    def init(shape, seed=0):
        return (ref.initialize(scheme, shape, layout, "float32", seed, **params) * np.float32(factor)).astype(np.float32)

    init.__qualname__ = f"numpy_init[{scheme}x{factor}]"
    return init


@pytest.fixture()
def user_module(tmp_path, monkeypatch):
    """A user's module on sys.path with good and bad initializers."""
    (tmp_path / "user_inits.py").write_text(textwrap.dedent("""
        import math
        import numpy as np

        def he(shape, seed=0):
            return np.random.default_rng(seed).normal(0, math.sqrt(2 / math.prod(shape[:-1])), shape).astype(np.float32)

        def wrong_shape(shape):
            return np.zeros((3, 3), np.float32)

        def raises(shape):
            raise RuntimeError("boom")

        def ints(shape):
            return np.zeros(shape, np.int32)

        NOT_CALLABLE = 3
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "user_inits"
    sys.modules.pop("user_inits", None)


# ---------------------------------------------------------------------------- loading / adapting


def test_load_callable_accepts_colon_and_dot_forms(user_module):
    assert I.load_callable(f"{user_module}:he").__name__ == "he"
    assert I.load_callable(f"{user_module}.he").__name__ == "he"
    assert I.load_callable("initspec.backends.numpy:he_normal").__name__ == "he_normal"


@pytest.mark.parametrize("target, message", [
    ("nosuchmodule_xyz:f", "Cannot import module 'nosuchmodule_xyz'"),
    ("user_inits:nothere", "has no attribute 'nothere'"),
    ("user_inits:NOT_CALLABLE", "is not callable"),
    ("", "Expected MODULE:CALLABLE"),
])
def test_load_callable_errors_name_the_input(user_module, target, message):
    with pytest.raises(I.IdentifyError, match=message):
        I.load_callable(target)


def test_plain_callables_are_adapted_with_and_without_seed():
    seeded = I.as_draw(lambda shape, seed=0: np.random.default_rng(seed).normal(size=shape))
    assert seeded.seeded and not seeded.takes_dtype
    assert np.array_equal(seeded.draw((4, 5), 3), seeded.draw((4, 5), 3))
    plain = I.as_draw(lambda shape: np.ones(shape))
    assert not plain.seeded and plain.draw((2, 3), 0).shape == (2, 3)


# ---------------------------------------------------------------------------- identification


def test_reference_he_normal_is_identified():
    r = I.identify(numpy_init("he_normal"), "keras", seed=SEED)
    assert r["closest"]["scheme"] == "he_normal" and r["closest"]["passes"], r["closest"]["deviations"]
    assert r["probe"]["mode"] == "fan_in" and r["probe"]["distribution"] == "normal"
    assert r["nearest_named"] is None
    assert all(d["verdict"] == "pass" for d in r["determinism"])


def test_truncated_normal_is_not_confused_with_the_plain_normal():
    r = I.identify(numpy_init("glorot_truncated_normal", "torch"), "torch", seed=SEED)
    assert r["closest"]["scheme"] == "glorot_truncated_normal" and r["closest"]["passes"]
    assert r["probe"]["mode"] == "fan_avg" and r["probe"]["distribution"] == "truncated_normal"


def test_a_std_off_by_5_percent_is_named_with_its_deviation():
    r = I.identify(numpy_init("he_normal", factor=1.05), "keras", seed=SEED)
    # in spec terms it IS variance scaling with scale 2 * 1.05^2; the nearest NAMED scheme is he_normal
    assert r["closest"]["scheme"] == "variance_scaling" and r["closest"]["passes"]
    assert r["closest"]["params"]["scale"] == pytest.approx(2 * 1.05**2, rel=0.03)
    nn = r["nearest_named"]
    assert nn["scheme"] == "he_normal" and not nn["passes"]
    assert nn["std_ratio"] == pytest.approx(1.05, rel=0.01)
    assert any(d.startswith("variance:") for d in nn["deviations"])


def test_torch_linear_rule_is_fan_in_with_a_third():
    r = I.identify(numpy_init("variance_scaling", "torch", scale=1 / 3, mode="fan_in", distribution="uniform"),
                   "torch", seed=SEED)
    c = r["closest"]
    assert (c["scheme"], c["params"]["mode"], c["params"]["distribution"]) == ("variance_scaling", "fan_in", "uniform")
    assert c["params"]["scale"] == pytest.approx(1 / 3)  # snapped to the simple fraction
    assert c["passes"]


def test_wrong_fan_mode_is_reported():
    r = I.identify(numpy_init("variance_scaling", "keras", scale=2.0, mode="fan_out", distribution="normal"),
                   "keras", seed=SEED)
    assert r["probe"]["mode"] == "fan_out"
    he = next(x for x in r["candidates"] if x["scheme"] == "he_normal") if any(
        x["scheme"] == "he_normal" for x in r["candidates"]) else None
    assert r["closest"]["params"].get("mode") == "fan_out"
    assert he is None or he["failed"]


@pytest.mark.parametrize("fn, scheme, params", [
    (lambda shape: np.zeros(shape, np.float32), "zeros", {}),
    (lambda shape: np.full(shape, 0.25, np.float32), "constant", {"value": 0.25}),
    (lambda shape: np.eye(*shape, dtype=np.float32), "identity", {}),
    (numpy_init("orthogonal", "keras"), "orthogonal", {}),
    (numpy_init("orthogonal", "keras", gain=2.0), "orthogonal", {"gain": 2.0}),
])
def test_structured_initializers_are_recognised(fn, scheme, params):
    r = I.identify(fn, "keras", seed=SEED)
    assert (r["closest"]["scheme"], r["closest"]["params"]) == (scheme, params)
    assert r["closest"]["passes"], r["closest"]["deviations"]


def test_orthogonality_is_judged_in_the_layouts_flattening():
    """A torch conv kernel (out, in, kh, kw) orthogonal over its rows is not orthogonal in Keras'
    flattening (the last axis as outputs); for rank 2 the two flattenings are transposes."""
    x = numpy_init("orthogonal", "torch_conv")((16, 8, 3, 3), 0)
    assert I.detect_structure(x, "torch_conv") == ("orthogonal", {})
    assert I.detect_structure(x, "keras_conv") is None
    w = numpy_init("orthogonal", "torch")((96, 32), 0)
    assert I.detect_structure(w, "torch") == I.detect_structure(w, "keras") == ("orthogonal", {})


def test_snap_scale():
    assert I.snap_scale(0.3401) == pytest.approx(1 / 3)
    assert I.snap_scale(2.03) == 2.0
    assert I.snap_scale(2.2) == pytest.approx(2.2)  # 11/5: denominator 5 allowed, exact
    assert I.snap_scale(1.1025) == 1.1025  # nearest fraction with denominator <= 6 is 7/6, 5.8% away


# ---------------------------------------------------------------------------- bad callables


@pytest.mark.parametrize("name, message", [
    ("wrong_shape", "returned shape (3, 3)"),
    ("raises", "raised RuntimeError for shape"),
    ("ints", "expected floats"),
])
def test_bad_callables_raise_one_line_errors(user_module, name, message):
    fn = I.load_callable(f"{user_module}:{name}")
    with pytest.raises(I.IdentifyError, match=re.escape(message)) as ei:
        I.identify(fn, "keras")
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("target", ["user_inits:wrong_shape", "user_inits:raises", "nosuchmodule_xyz:f",
                                    "user_inits:NOT_CALLABLE"])
def test_cli_bad_callable_exit_2(user_module, target, capsys):
    from initspec.cli import main

    assert main(["identify", target, "--layout", "keras"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("initspec: error:")


def test_cli_unknown_layout_exit_2(user_module, capsys):
    from initspec.cli import main

    assert main(["identify", "user_inits:he", "--layout", "kears"]) == 2
    assert "Unknown layout 'kears'" in capsys.readouterr().err


def test_cli_json_output(user_module, capsys):
    import json

    from initspec.cli import main

    assert main(["identify", "user_inits:he", "--layout", "keras", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["closest"]["scheme"] == "he_normal" and d["kind"].startswith("plain (shape, seed)")


# ---------------------------------------------------------------------------- framework callables


@pytest.mark.torch
def test_torch_inplace_function(load_backend):
    load_backend("torch")
    import torch.nn.init as tinit

    a = I.as_draw(tinit.kaiming_uniform_)
    assert a.kind.startswith("torch in-place") and "generator" in a.note
    r = I.identify(tinit.kaiming_uniform_, "torch", seed=SEED)
    assert r["closest"]["scheme"] == "he_uniform" and r["closest"]["passes"]


@pytest.mark.tensorflow
def test_keras_class_and_instance(load_backend):
    load_backend("tensorflow")
    import keras

    r = I.identify(keras.initializers.HeNormal, "keras", seed=SEED)
    assert r["closest"]["scheme"] == "he_truncated_normal" and r["closest"]["passes"]
    inst = keras.initializers.RandomNormal(stddev=0.5)
    a = I.as_draw(inst)
    x = a.draw((64, 64), 1)
    assert np.array_equal(x, a.draw((64, 64), 1)) and x.std() == pytest.approx(0.5, rel=0.1)


@pytest.mark.jax
def test_jax_factory_and_init(load_backend):
    load_backend("jax")
    import jax

    assert I.as_draw(jax.nn.initializers.lecun_normal).note.startswith("factory")
    assert I.as_draw(jax.nn.initializers.zeros).kind.startswith("JAX initializer")
    r = I.identify(jax.nn.initializers.glorot_uniform, "jax", seed=SEED)
    assert r["closest"]["scheme"] == "glorot_uniform" and r["closest"]["passes"]
    assert math.isclose(r["probe"]["scale"], 1.0, rel_tol=0.05)
