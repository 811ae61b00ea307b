"""The conformance runner, its worker and the fan table (numpy in-process; one end-to-end run in
subprocesses; framework fan rules checked against the frameworks where installed)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from initspec.backends import numpy as np_backend
from initspec.conformance import checks as C
from initspec.conformance import fans_table, runner, worker
from initspec.conformance.results import load
from initspec.errors import UnknownNameError

# ---------------------------------------------------------------------------- input validation


def test_parse_backends_accepts_and_dedupes():
    assert runner.parse_backends("numpy, torch,numpy") == ("numpy", "torch")


@pytest.mark.parametrize("text", ["nump", "numpy,tpu"])
def test_unknown_backend_names_the_value(text):
    with pytest.raises(UnknownNameError, match="Received: --backends="):
        runner.parse_backends(text)


def test_parse_schemes_accepts_aliases():
    assert runner.parse_schemes("kaiming_normal_, he_normal,xavier_uniform") == ("he_normal", "glorot_uniform")
    assert runner.parse_schemes(None) is None


def test_empty_backends_rejected():
    with pytest.raises(runner.RunnerError, match="Received: --backends=''"):
        runner.parse_backends("")


def test_unknown_device_names_the_value():
    with pytest.raises(UnknownNameError, match="Received: --device='tpu'"):
        runner.check_device("tpu")


def test_out_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(runner.RunnerError, match="is a file"):
        runner.check_out_dir(f)


def test_out_under_a_file_is_refused(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(runner.RunnerError, match="not writable"):
        runner.check_out_dir(f / "sub")


@pytest.mark.parametrize("argv, message", [
    (["conform", "--backends", "nump"], "Unknown backend 'nump'"),
    (["conform", "--device", "tpu"], "Unknown device 'tpu'"),
    (["conform", "--seed", "-1"], "--seed must be a non-negative int"),
    (["conform", "--schemes", "he_normal,kaimin"], "Unknown scheme 'kaimin'"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    from initspec.cli import main

    code = main([*argv, "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0]


def test_cli_out_is_a_file_exit_2(tmp_path, capsys):
    from initspec.cli import main

    f = tmp_path / "f"
    f.write_text("")
    assert main(["conform", "--backends", "numpy", "--out", str(f), "--no-progress"]) == 2
    assert "must be a folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------- cases and seeds


def test_case_seed_is_deterministic_distinct_and_in_range():
    seeds = [worker.case_seed(7, i) for i in range(200)]
    assert seeds == [worker.case_seed(7, i) for i in range(200)]
    assert len(set(seeds)) == 200
    assert all(0 <= s < 2**31 for s in seeds)
    assert worker.case_seed(8, 0) != worker.case_seed(7, 0)


def test_backend_cases_translate_to_each_framework_layout():
    matrix = [("he_normal", "keras_dense", (256, 384), "float32", {}),
              ("he_normal", "keras_conv", (3, 3, 64, 160), "float32", {}),
              ("dirac", "torch_conv", (64, 32, 3, 3), "float32", {}),
              ("delta_orthogonal", "keras_conv", (3, 3, 32, 64), "float32", {})]
    torch_cases = worker.backend_cases("torch", matrix)
    assert [(c.layout, c.shape) for c in torch_cases[:2]] == [("torch_linear", (384, 256)),
                                                              ("torch_conv", (160, 64, 3, 3))]
    assert torch_cases[0].logical == ("keras_dense", (256, 384))
    # dirac / delta_orthogonal mean the same logical kernel in every layout (Plan.perm)
    assert [(c.layout, c.shape) for c in torch_cases[2:]] == [("torch_conv", (64, 32, 3, 3)),
                                                              ("torch_conv", (64, 32, 3, 3))]
    assert [(c.layout, c.shape) for c in worker.backend_cases("tensorflow", matrix)[2:]] == [
        ("keras_conv", (3, 3, 32, 64)), ("keras_conv", (3, 3, 32, 64))]
    jax_cases = worker.backend_cases("jax", matrix)
    assert [(c.layout, c.shape) for c in jax_cases[:2]] == [("flax_dense", (256, 384)), ("flax_conv", (3, 3, 64, 160))]
    assert [(c.layout, c.shape) for c in worker.backend_cases("numpy", matrix)] == [(m[1], m[2]) for m in matrix]


def test_translated_cases_keep_the_spec_std():
    """The same logical layer must get the same element law in every framework's layout."""
    for backend in ("torch", "tensorflow", "jax"):
        for case, logical in zip(worker.backend_cases(backend, C.DEFAULT_MATRIX), C.DEFAULT_MATRIX):
            a = C.case_plan(logical).element
            b = C.case_plan((case.scheme, case.layout, case.shape, case.dtype, case.params)).element
            assert (a.kind, a.std) == (b.kind, b.std) or (math.isnan(a.var) and math.isnan(b.var)), (backend, case)


def test_quick_keeps_one_float32_case_per_scheme():
    cases = worker.backend_cases("numpy", C.DEFAULT_MATRIX, quick=True)
    assert {c.dtype for c in cases} == {"float32"}
    assert len({c.scheme for c in cases}) == len(cases) == len({m[0] for m in C.DEFAULT_MATRIX})


# ---------------------------------------------------------------------------- the worker, in-process


def _run_numpy_worker(mod=None, **kw):
    events = []
    cfg = worker.WorkerConfig("numpy", quick=True, experiments=False, probes=False, **kw)
    w = worker.Worker(cfg, events.append)
    if mod is not None:
        w_load = worker.load
        worker.load = lambda name: mod  # noqa: E731 - planted adapter
        try:
            part = w.run()
        finally:
            worker.load = w_load
    else:
        part = w.run()
    return part, events


@pytest.fixture(scope="module")
def numpy_run():
    return _run_numpy_worker()


def test_numpy_worker_passes_and_reports_progress(numpy_run):
    part, events = numpy_run
    verdicts = {c["verdict"] for c in part["checks"]}
    assert verdicts == {"pass"}, [c["id"] for c in part["checks"] if c["verdict"] != "pass"][:5]
    assert part["backends"][0]["status"] == "ok" and part["backends"][0]["versions"]["numpy"]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done"
    start = events[0]
    assert start["total"] == sum(1 for e in events if e["event"] == "step")
    assert {"determinism", "seed_sensitivity", "variance", "ks", "device"} <= {c["check"] for c in part["checks"]}
    ids = [c["id"] for c in part["checks"]]
    assert len(ids) == len(set(ids))


def test_sample_summaries_are_small_and_consistent(numpy_run):
    part, _ = numpy_run
    assert part["samples"], "no sample summaries"
    for key, s in part["samples"].items():
        assert len(s["hist_counts"]) == worker.HIST_BINS == len(s["hist_edges"]) - 1
        assert len(s["cdf_diff_x"]) == worker.CDF_POINTS
        assert sum(s["hist_counts"]) <= math.prod(s["shape"])
        assert max(abs(v) for v in s["cdf_diff_y"]) < 0.02, key  # a correct sampler's ECDF is close
        assert json.dumps(s)  # plain JSON


class _Planted(SimpleNamespace):
    """The NumPy reference with a bug: normal laws come out 5% too wide."""


def _planted_module(scale: float = 1.05):
    def sample(scheme, shape, *, layout=None, dtype="float32", seed=0, device="cpu", **params):
        x = np_backend.sample(scheme, shape, layout=layout, dtype=dtype, seed=seed, device=device, **params)
        return (x * scale).astype(x.dtype) if scheme in ("he_normal", "normal") else x

    return _Planted(DEFAULT_LAYOUT="keras", sample=sample, to_numpy=np.asarray, device_of=np_backend.device_of,
                    device_available=np_backend.device_available, versions=np_backend.versions)


def test_a_planted_adapter_bug_fails_its_checks_and_the_exit_code():
    part, _ = _run_numpy_worker(_planted_module(), schemes=("he_normal", "normal", "glorot_uniform"))
    failed = {(c["scheme"], c["check"]) for c in part["checks"] if c["verdict"] == "fail"}
    assert ("he_normal", "variance") in failed and ("normal", "variance") in failed
    assert not {s for s, _ in failed} - {"he_normal", "normal"}
    assert any(c["scheme"] == "glorot_uniform" and c["verdict"] == "pass" for c in part["checks"])
    doc = {"checks": part["checks"]}
    assert runner.exit_code(doc) == 1


def test_unavailable_device_is_recorded_with_reason():
    part, _ = _run_numpy_worker(devices=("gpu",))
    (run,) = part["backends"]
    assert run["status"] == "unavailable" and "GPU" in run["reason"]
    assert [c["verdict"] for c in part["checks"]] == ["unavailable"]
    assert runner.exit_code({"checks": part["checks"]}) == 0


def test_missing_framework_is_unavailable_with_its_natives(monkeypatch):
    from initspec.backends import BackendUnavailable

    def missing(name):
        raise BackendUnavailable(f"Backend {name!r} is unavailable: importing 'jax' failed (ImportError)")

    monkeypatch.setattr(worker, "load", missing)
    part = worker.Worker(worker.WorkerConfig("jax", devices=("cpu", "gpu"), experiments=False)).run()
    assert [(b["device"], b["status"]) for b in part["backends"]] == [("cpu", "unavailable"), ("gpu", "unavailable")]
    assert {c["verdict"] for c in part["checks"]} == {"unavailable"}
    assert {f["framework"] for f in part["native"]} == {"jax", "flax"}
    assert {f["verdict"] for f in part["native"]} == {"unavailable"}


def test_worker_config_validates():
    with pytest.raises(ValueError, match="Received: seed=-3"):
        worker.WorkerConfig("numpy", seed=-3).validate()
    with pytest.raises(UnknownNameError, match="Received: device='tpu'"):
        worker.WorkerConfig("numpy", devices=("tpu",)).validate()


def test_jsonable_converts_complex_and_numpy():
    out = worker.jsonable({"a": complex(1, -2), "b": (np.float32(0.5), np.arange(2)), 3: [np.int64(4)]})
    assert out == {"a": [1.0, -2.0], "b": [0.5, [0, 1]], "3": [4]}
    assert json.dumps(out)


# ---------------------------------------------------------------------------- merging and exit codes


def _check(verdict, subject="initspec"):
    return {"id": f"x/{verdict}/{subject}", "verdict": verdict, "subject": subject}


@pytest.mark.parametrize("checks, code", [
    ([_check("pass"), _check("finding", "native"), _check("skip"), _check("unavailable")], 0),
    ([_check("pass"), _check("fail")], 1),
    ([_check("fail", "portable")], 1),
])
def test_exit_code_counts_only_initspec_failures(checks, code):
    assert runner.exit_code({"checks": checks}) == code


def test_crashed_worker_is_an_error_and_a_failure():
    res = runner.WorkerResult("torch", None, 139, "Traceback...\nSegmentation fault", 1.5)
    cfg = runner.RunConfig(backends=("torch",), device="all", out=Path("."))
    doc = runner.merge(cfg, [res], started=0.0)
    assert [b["status"] for b in doc["backends"]] == ["error", "error"]
    assert doc["summary"]["fail"] == 2
    assert runner.exit_code(doc) == 1
    assert "Segmentation fault" in doc["checks"][0]["message"]


def test_dedupe_ids_suffixes_duplicates_in_order():
    checks = [{"id": "a"}, {"id": "b"}, {"id": "a"}, {"id": "a"}]
    runner.dedupe_ids(checks)
    assert [c["id"] for c in checks] == ["a", "b", "a#2", "a#3"]


def test_worker_configs_split_alpha_and_start_slow_imports_first():
    cfg = runner.RunConfig(backends=("numpy", "torch", "tensorflow", "jax"), device="all", alpha=1e-3)
    wcs = runner.worker_configs(cfg)
    assert [w.backend for w in wcs] == ["tensorflow", "jax", "torch", "numpy"]
    assert sum(w.alpha for w in wcs) * len(cfg.devices) == pytest.approx(1e-3)


# ---------------------------------------------------------------------------- end to end (subprocesses)


def test_end_to_end_numpy_run_writes_valid_results(tmp_path):
    cfg = runner.RunConfig(backends=("numpy",), device="all", out=tmp_path, quick=True, experiments=False,
                           natives=False, report=False, schemes=("he_normal", "uniform", "zeros"))
    doc, code = runner.run_conformance(cfg, progress=False)
    assert code == 0
    on_disk = load(tmp_path / "results.json")
    assert on_disk["summary"] == doc["summary"]
    assert on_disk["summary"]["fail"] == 0 and on_disk["summary"]["pass"] > 20
    assert {c["scheme"] for c in on_disk["checks"] if c["backend"] == "numpy" and c["device"] == "cpu"} == {
        "he_normal", "uniform", "zeros"}
    runs = {(b["backend"], b["device"]): b for b in on_disk["backends"]}
    assert runs[("numpy", "cpu")]["status"] == "ok"
    assert runs[("numpy", "gpu")]["status"] == "unavailable" and runs[("numpy", "gpu")]["reason"]
    assert on_disk["fans"] and on_disk["config"]["seed"] == 0
    assert on_disk["environment"]["workers"]["numpy"]["returncode"] == 0


# ---------------------------------------------------------------------------- the fan table


def test_fan_table_rows_cover_every_layer_and_framework():
    rows = fans_table.fan_rows()
    layers = {r["layer"] for r in rows}
    assert len(layers) == 5
    for layer in layers:
        assert {r["framework"] for r in rows if r["layer"] == layer} == {"spec", "torch", "keras", "jax"}
    for r in rows:
        assert set(r["std"]) == set(fans_table.FAN_TABLE_SCHEMES)
        assert r["std"]["he_normal"] == pytest.approx(math.sqrt(2.0 / r["fan_in"]))
        assert r["std"]["glorot_normal"] == pytest.approx(math.sqrt(2.0 / (r["fan_in"] + r["fan_out"])))


def test_fan_table_records_the_known_departures():
    rows = {(r["layer"], r["framework"]): r for r in fans_table.fan_rows()}
    dw = next(k for k in {k[0] for k in rows} if k.startswith("Depthwise"))
    assert (rows[(dw, "keras")]["fan_in"], rows[(dw, "spec")]["fan_in"]) == (576.0, 9.0)
    ct = next(k for k in {k[0] for k in rows} if k.startswith("ConvTranspose"))
    assert rows[(ct, "jax")]["fan_in"] == rows[(ct, "spec")]["fan_out"]  # Flax swaps them
    assert rows[(ct, "torch")]["fan_in"] == rows[(ct, "keras")]["fan_in"] == rows[(ct, "spec")]["fan_in"]
    grouped = next(k for k in {k[0] for k in rows} if "groups" in k)
    assert rows[(grouped, "torch")]["fan_out"] == 4 * rows[(grouped, "spec")]["fan_out"]


def _stored_shapes(framework):
    return [w.shape for layer in fans_table.LAYERS for w in layer.stored if w.framework == framework]


@pytest.mark.torch
def test_torch_fan_rule_matches_torch(load_backend):
    load_backend("torch")
    import torch
    from torch.nn.init import _calculate_fan_in_and_fan_out

    for shape in _stored_shapes("torch"):
        assert fans_table.torch_fans(shape) == tuple(float(f) for f in _calculate_fan_in_and_fan_out(torch.empty(shape)))


@pytest.mark.tensorflow
def test_keras_fan_rule_matches_keras(load_backend):
    load_backend("tensorflow")
    from keras.src.initializers.random_initializers import compute_fans

    for shape in _stored_shapes("keras"):
        assert fans_table.keras_fans(shape) == tuple(float(f) for f in compute_fans(shape))


@pytest.mark.jax
def test_jax_fan_rule_matches_jax(load_backend):
    load_backend("jax")
    from jax._src.nn.initializers import _compute_fans

    for shape in _stored_shapes("jax"):
        got = _compute_fans(shape)
        assert fans_table.jax_fans(shape) == tuple(float(f) for f in got)


def test_worker_module_imports_no_framework():
    """The runner process merges and renders without importing any framework."""
    import subprocess

    code = ("import sys; import initspec.conformance.runner, initspec.conformance.worker, "
            "initspec.conformance.native_audit, initspec.conformance.identify, initspec.conformance.fans_table; "
            "bad = [m for m in ('torch', 'tensorflow', 'jax', 'keras', 'flax') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_jax_worker_gets_a_persistent_compilation_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("INITSPEC_JAX_CACHE", str(tmp_path / "jaxcache"))
    env = runner.worker_env("jax")
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "jaxcache")
    assert env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] == "0"
    assert "JAX_COMPILATION_CACHE_DIR" not in runner.worker_env("torch")
    monkeypatch.setenv("INITSPEC_JAX_CACHE", "0")
    assert "JAX_COMPILATION_CACHE_DIR" not in runner.worker_env("jax")
    monkeypatch.delenv("INITSPEC_JAX_CACHE")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/mine")
    assert runner.worker_env("jax")["JAX_COMPILATION_CACHE_DIR"] == "/mine"  # the user's own wins


def test_progress_bars_and_summary_render(capsys):
    """The rich progress bars accept every worker event, and the summary prints a table, the
    native departures and each failure with its reproduction."""
    bar = runner._Progress(True, ["numpy"])
    with bar:
        for ev in ({"event": "start", "total": 2}, {"event": "step", "label": "a"}, {"event": "note", "message": "m"},
                   {"event": "step", "label": "b"}, {"event": "done"}, {"event": "step", "backend": "other"}):
            bar.event({"backend": "numpy", **ev})
    task = bar.bar.tasks[0]
    assert (task.completed, task.total) == (2, 2)
    doc = {"backends": [{"backend": "numpy", "device": "cpu", "status": "ok", "duration_s": 1.0},
                        {"backend": "torch", "device": "gpu", "status": "unavailable", "reason": "no CUDA"}],
           "checks": [{"id": "numpy/cpu/x/variance", "backend": "numpy", "device": "cpu", "verdict": "fail",
                       "message": "variance off", "reproduce": "python -c 'x'"}],
           "native": [{"name": "keras.initializers.GlorotNormal", "verdict": "departs", "departures": ["truncated"]}],
           "summary": {"fail": 1}, "messages": ["experiments skipped"], "duration_s": 2.0}
    from rich.console import Console

    runner.print_summary(doc, Console(width=200, force_terminal=False))
    out = capsys.readouterr().out
    for text in ("numpy", "torch/gpu unavailable: no CUDA", "GlorotNormal", "truncated", "variance off",
                 "reproduce: python -c 'x'", "note: experiments skipped"):
        assert text in out, text


def test_a_hung_worker_is_killed_and_recorded(tmp_path, monkeypatch):
    """A worker that never finishes is killed at the timeout and becomes an error + a failure."""
    import subprocess as sp

    real = sp.Popen

    def hang(cmd, **kw):
        return real([sys.executable, "-c", "import time; time.sleep(60)"], **kw)

    monkeypatch.setattr(runner.subprocess, "Popen", hang)
    res = runner.run_worker(worker.WorkerConfig("numpy"), tmp_path, lambda ev: None, timeout_s=1.0)
    assert res.returncode != 0 and res.part is None and "worker timeout" in res.stderr_tail
    doc = runner.merge(runner.RunConfig(backends=("numpy",), out=tmp_path), [res], started=0.0)
    assert doc["backends"][0]["status"] == "error" and runner.exit_code(doc) == 1


def test_portable_cross_check_lands_in_results(tmp_path):
    """The runner fills the results' ``portable`` section from ``initspec portable check``."""
    pytest.importorskip("typer", reason="the portable check runs through the CLI (cli extra)")
    cfg = runner.RunConfig(backends=("numpy",), out=tmp_path, quick=True, experiments=False, natives=False,
                           probes=False, report=False, schemes=("zeros",))
    doc, code = runner.run_conformance(cfg, progress=False)
    assert code == 0
    section = doc["portable"]
    assert section["bit_identical_words"] == {"numpy": True}
    assert section["max_ulp"]["numpy"]["he_normal"] == 0
    assert load(tmp_path / "results.json")["portable"] == section
