"""The Keras drop-in (``initspec.backends.keras.initializers``): Keras' own test modules, shipped in
the Keras wheel (``keras/src/initializers/*_test.py``), run against it with their ``initializers``
name swapped for the drop-in - in-process on the TF Keras backend, and in subprocesses under
``KERAS_BACKEND=jax`` / ``torch`` (this file is the subprocess' script: ``python
test_keras_dropin.py jax`` prints one JSON result per native test). Plus the drop-in's own
checks: Keras' values bit for bit, trap-free positional arguments, validation, portable stream.

Native tests that cannot pass are listed in :data:`EXPECTED_DIFFERENCES` with the reason, as in
``docs/drop-in-keras.md``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
import unittest
from pathlib import Path

import pytest

#: The native Keras test modules run against the drop-in on every backend; ``initializer_test``
#: (custom initializers with a sharding layout) is JAX-only in Keras (pytest ``skipif`` and
#: ``multi_device`` marks, which a unittest run ignores), so it runs in the jax subprocess only.
NATIVE_MODULES = ("random_initializers_test", "constant_initializers_test")
JAX_ONLY_MODULES = ("initializer_test",)
#: native test id -> reason it cannot pass against the drop-in (docs/drop-in-keras.md, one table).
EXPECTED_DIFFERENCES: dict[str, str] = {}
#: Keras backends whose native tests run in a subprocess, and the frameworks they need.
SUBPROCESS_BACKENDS = ("jax", "torch")


def _skip_if_backend(given_backend: str, reason: str):
    """Keras' ``conftest.skip_if_backend`` (the wheel ships no conftest) as a unittest decorator."""
    import keras

    return unittest.skipIf(keras.backend.backend() == given_backend, reason)


def _load_native(name: str) -> types.ModuleType:
    """A fresh copy of ``keras.src.initializers.<name>`` whose ``initializers`` (and
    ``compute_fans``) are the drop-in's."""
    import keras
    from initspec.backends.keras import initializers as dropin

    path = Path(keras.__file__).parent / "src" / "initializers" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_initspec_native_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("conftest")
    sys.modules["conftest"] = types.SimpleNamespace(skip_if_backend=_skip_if_backend)
    try:
        spec.loader.exec_module(mod)
    finally:
        if saved is None:
            sys.modules.pop("conftest", None)
        else:
            sys.modules["conftest"] = saved
    mod.initializers = dropin
    if hasattr(mod, "compute_fans"):
        mod.compute_fans = dropin.compute_fans
    return mod


def _native_cases(mod: types.ModuleType) -> list[unittest.TestCase]:
    suite = unittest.defaultTestLoader.loadTestsFromModule(mod)
    out: list[unittest.TestCase] = []

    def flatten(s):
        for t in s:
            flatten(t) if isinstance(t, unittest.TestSuite) else out.append(t)

    flatten(suite)
    return out


def _case_id(case: unittest.TestCase) -> str:
    return f"{type(case).__name__}.{case._testMethodName}"


def run_native(names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every native test of ``names`` against the drop-in: ``{id: {"outcome", "detail"}}``."""
    results: dict[str, dict[str, str]] = {}
    for name in names:
        for case in _native_cases(_load_native(name)):
            res = unittest.TestResult()
            case.run(res)
            if res.errors or res.failures:
                outcome, detail = "failed", (res.errors or res.failures)[0][1]
            elif res.skipped:
                outcome, detail = "skipped", res.skipped[0][1]
            else:
                outcome, detail = "passed", ""
            results[f"{name}::{_case_id(case)}"] = {"outcome": outcome, "detail": detail[-2000:]}
    return results


def _check(results: dict[str, dict[str, str]]) -> None:
    assert results, "no native tests collected"
    bad = {k: r["detail"] for k, r in results.items()
           if r["outcome"] == "failed" and k.split("::", 1)[1] not in EXPECTED_DIFFERENCES}
    assert not bad, "native Keras tests failing against the drop-in:\n" + "\n".join(f"{k}:\n{v}" for k, v in bad.items())
    fixed = [k for k, r in results.items() if r["outcome"] == "passed" and k.split("::", 1)[1] in EXPECTED_DIFFERENCES]
    assert not fixed, f"listed as expected differences but passing (update docs/drop-in-keras.md): {fixed}"


# --------------------------------------------------------------------------------------------
# native Keras tests: TF backend in-process, jax / torch in subprocesses
# --------------------------------------------------------------------------------------------
@pytest.mark.tensorflow
def test_native_keras_tests_tensorflow_backend(keras):
    assert keras.backend.backend() == "tensorflow"
    results = run_native(NATIVE_MODULES)
    _check(results)
    assert sum(r["outcome"] == "passed" for r in results.values()) >= 20


def _run_subprocess(backend: str) -> dict[str, dict[str, str]]:
    from tests.backends._keras_backends import run_under_keras_backend  # not importable in the script run

    extra = {}
    if backend == "jax":  # initializer_test's layout tests need 4 devices (as Keras' multi_device CI)
        extra["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    return run_under_keras_backend(__file__, backend, extra)


@pytest.mark.tensorflow
@pytest.mark.jax
def test_native_keras_tests_jax_backend():
    pytest.importorskip("jax")
    results = _run_subprocess("jax")
    _check(results)
    assert results["initializer_test::InitializersLayoutTest.test_initializer_with_data_parallel_layout"][
        "outcome"] == "passed"


@pytest.mark.tensorflow
@pytest.mark.torch
def test_native_keras_tests_torch_backend():
    pytest.importorskip("torch")
    _check(_run_subprocess("torch"))


# --------------------------------------------------------------------------------------------
# the drop-in's own checks (TF Keras backend)
# --------------------------------------------------------------------------------------------
@pytest.mark.tensorflow
def test_values_are_keras_own_bit_for_bit(keras):
    from initspec.backends.keras import initializers as K

    np = pytest.importorskip("numpy")
    pairs = [("HeNormal", (42,)), ("GlorotNormal", (1,)), ("LecunUniform", (2,)), ("RandomNormal", (0.1, 0.2, 3)),
             ("RandomUniform", (-1.0, 1.0, 4)), ("TruncatedNormal", (0.0, 0.3, 5)), ("Orthogonal", (2.0, 6)),
             ("VarianceScaling", (2.0, "fan_out", "untruncated_normal", 7)), ("Identity", (2.0,)), ("Constant", (3.0,))]
    for name, args in pairs:
        for shape in ((8, 6), (3, 3, 4, 5)) if name not in ("Identity",) else ((4, 6),):
            ours = keras.ops.convert_to_numpy(getattr(K, name)(*args)(shape))
            native = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(*args)(shape))
            assert np.array_equal(ours, native), (name, shape)
        keys = set(getattr(keras.initializers, name)(*args).get_config())
        # Keras' Identity.get_config omits gain (lost on reload); the drop-in keeps it
        assert set(getattr(K, name)(*args).get_config()) == keys | ({"gain"} if name == "Identity" else set())


@pytest.mark.tensorflow
def test_validation_and_portable_stream(keras):
    from initspec.backends import portable
    from initspec.backends.keras import initializers as K

    with pytest.raises(ValueError, match=r"Received: stddev=-1"):
        K.RandomNormal(stddev=-1)
    with pytest.raises(ValueError, match=r"Received: seed=True"):
        K.HeNormal(True)
    with pytest.raises(ValueError, match=r"Received: input_axes='a'"):
        K.VarianceScaling(input_axes="a")
    init = K.HeNormal(seed=3, stream="dense/kernel")
    assert init.get_config()["stream"] == "dense/kernel" and "stream" not in K.HeNormal(3).get_config()
    want = portable.sample("variance_scaling", (6, 4), layout="keras", seed=3, stream="dense/kernel", scale=2.0)
    assert (keras.ops.convert_to_numpy(init((6, 4))) == want).all()
    with pytest.raises(TypeError, match=r"SeedGenerator"):
        K.RandomNormal(seed=keras.random.SeedGenerator(1), stream="s")
    assert K.get("he_normal").__class__ is K.HeNormal and K.compute_fans((512, 8, 64), [0], [1, 2]) == (512, 512)


if __name__ == "__main__":  # subprocess entry: python test_keras_dropin.py <keras backend>
    import keras as _keras

    if _keras.backend.backend() != sys.argv[1]:
        sys.exit(f"KERAS_BACKEND={sys.argv[1]!r} expected, Keras runs {_keras.backend.backend()!r}")
    print(json.dumps(run_native(NATIVE_MODULES + (JAX_ONLY_MODULES if sys.argv[1] == "jax" else ()))))
