"""Seed-claim experiments (issue 5): predicates, planted counter-examples, every backend.

* every claim's predicate is evaluated on the NumPy engine at the report's DEFAULT config;
* each framework (torch, tensorflow, jax; skipped with the reason when missing, failing when
  required) runs the reduced QUICK config and must reach the same verdicts as NumPy, and its
  autodiff must reproduce NumPy's hand-written backprop on identical weights;
* planted counter-examples (records of another regime, or doctored numbers) make every claim
  and every primitive predicate fail, so a pass means something;
* bad input raises errors naming the argument; non-finite runs are measured, never raised.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from initspec.conformance.experiments import (
    CLAIM_IDS, CLAIMS, DEFAULT, QUICK, ExperimentConfig, merge_experiments, run_experiments,
)
from initspec.conformance.experiments import claims as C
from initspec.conformance.experiments import metrics, tasks
from initspec.conformance.experiments.driver import failed_result, load_engine
from initspec.conformance.experiments.numpy import _loss_and_grads
from initspec.conformance.results import load, write_atomic

FRAMEWORKS = ("torch", "tensorflow", "jax")
#: The BLAS thread count of the runner's experiment workers (cli/experiments.py WORKER_ENV).
RUNNER_BLAS_THREADS = 1
#: Relative agreement of a framework's loss/gradients with NumPy's on identical float32 weights:
#: sqrt(float32 eps) ~ 3.5e-4, float32 rounding accumulated over a few layers in a different order.
AUTODIFF_RTOL = float(np.sqrt(np.finfo(np.float32).eps))
#: Central finite differences in float64 with step h: truncation O(h^2), rounding O(eps/h).
FD_STEP = 1e-6
FD_RTOL = 1e-6


# --- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def numpy_default():
    """The NumPy engine at the report's configuration (50 x 256 nets), with one BLAS thread as
    in the runner's workers (``initspec experiments``/``conform`` set the same)."""
    with threadpool_limits(limits=RUNNER_BLAS_THREADS):
        return run_experiments("numpy", DEFAULT, catch_errors=False)


@pytest.fixture(scope="session")
def numpy_quick():
    with threadpool_limits(limits=RUNNER_BLAS_THREADS):
        return run_experiments("numpy", QUICK, catch_errors=False)


def _claim(results, cid):
    return next(c for c in results["claims"] if c["id"] == cid)


def _verdicts(results, backend):
    return {c["id"]: c["per_backend"][backend]["verdict"] for c in results["claims"]}


def _reevaluate(results):
    """Claims evaluated afresh on (possibly doctored) records: {id: (holds, measured)}."""
    cfg = ExperimentConfig.from_dict(results["config"])
    return {s.id: C.evaluate_claim(s, results, cfg) for s in CLAIMS}


# --- the claims on NumPy ---------------------------------------------------------------------
@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_claim_holds_on_numpy(numpy_default, cid):
    c = _claim(numpy_default, cid)
    entry = c["per_backend"]["numpy"]
    assert entry["verdict"] == "pass", f"{cid}: {c['predicate']}\nmeasured: {entry['measured']}"
    assert c["predicate"] and c["claim"] and 1 <= c["issue_claim"] <= 5


def test_numpy_run_shape(numpy_default):
    info = numpy_default["backends"]["numpy"]
    assert info["status"] == "ok" and info["weights_from"] == "adapter" and not info["errors"]
    assert set(info["duration_s"]) == {"symmetry", "signal", "trainability", "total"}
    assert len(numpy_default["symmetry"]) == len(tasks.SYMMETRY_INITS)
    assert len(numpy_default["signal"]) == len(tasks.SIGNAL_INITS) * len(tasks.ACTIVATIONS)
    assert len(numpy_default["trainability"]) == len(tasks.TRAIN_RUNS)
    for r in numpy_default["signal"]:
        assert len(r["act_std"]) == len(r["grad_norm"]) == DEFAULT.depth
        assert (r["saturation"] is None) == (r["activation"] in ("relu", "linear"))
    for r in numpy_default["symmetry"]:
        assert [L["units"] for L in r["layers"]] == [DEFAULT.sym_width] * DEFAULT.sym_depth
        assert len(r["loss_curve"]) == DEFAULT.sym_steps + 1


def test_nonfinite_is_measured_not_raised(numpy_default):
    """N(0, 1) + ReLU overflows: recorded as the outcome (layer index, NaN loss), no exception."""
    rec = C.View(numpy_default).sig[("normal_large", "relu")]
    assert rec["nonfinite_layer"] is not None and 1 < rec["nonfinite_layer"] <= DEFAULT.depth
    tr = C.View(numpy_default).trn[("relu", "normal_large")]
    assert not math.isfinite(tr["final_loss"])


def test_claims_survive_json_roundtrip(numpy_default, tmp_path):
    """NaN/inf become null in the file; re-evaluating the claims from the file gives the same
    verdicts (the report and the merge work from files)."""
    path = write_atomic(tmp_path / "x.json", {"schema": "initspec.results", "version": 1, "e": numpy_default})
    loaded = json.loads(path.read_text())["e"]
    again = _reevaluate(loaded)
    assert {k: "pass" if ok else "fail" for k, (ok, _) in again.items()} == _verdicts(numpy_default, "numpy")


# --- planted counter-examples: every claim can fail -------------------------------------------
def _swap_sig(res, target, source):
    """Replace signal record ``target`` (init, act) by the numbers of ``source``."""
    v = C.View(res)
    src = copy.deepcopy(v.sig[source])
    src["init"], src["activation"] = target
    res["signal"] = [src if (r["init"], r["activation"]) == target else r for r in res["signal"]]


def _swap_sym(res, target, source):
    v = C.View(res)
    src = copy.deepcopy(v.sym[source])
    src["init"] = target
    res["symmetry"] = [src if r["init"] == target else r for r in res["symmetry"]]


def _swap_trn(res, target, source):
    v = C.View(res)
    src = copy.deepcopy(v.trn[source])
    src["activation"], src["init"] = target
    res["trainability"] = [src if (r["activation"], r["init"]) == target else r for r in res["trainability"]]


def _plant_loss(res):
    C.View(res).sym["zeros"]["final_loss"] = 1e-3  # a symmetric net that fits better than every random one


SIG_SMALL, SIG_LARGE = "normal_small", "normal_large"
PLANTS = {
    "zeros_symmetry": lambda r: _swap_sym(r, "zeros", "glorot_uniform"),
    "constant_symmetry": lambda r: _swap_sym(r, "constant", "zeros"),  # symmetric but never moved
    "random_breaks_symmetry": lambda r: _swap_sym(r, "orthogonal", "constant"),
    "symmetric_nets_learn_less": _plant_loss,
    "small_init_vanishes": lambda r: _swap_sig(r, ("normal_small", "relu"), ("he_normal", "relu")),
    "small_init_sigmoid_gradients_vanish": lambda r: _swap_sig(r, (SIG_SMALL, "sigmoid"),
                                                               ("he_normal", "relu")),
    "small_init_stalls": lambda r: _swap_trn(r, ("tanh", "normal_small"), ("tanh", "glorot_normal")),
    "large_init_explodes": lambda r: _swap_sig(r, ("normal_large", "relu"), ("he_normal", "relu")),
    "large_init_saturates": lambda r: _swap_sig(r, ("normal_large", "tanh"), ("glorot_normal", "tanh")),
    "large_init_gradients_explode": lambda r: _swap_sig(r, (SIG_LARGE, "tanh"), ("glorot_uniform", "tanh")),
    "large_init_training_unstable": lambda r: _swap_trn(r, ("tanh", SIG_LARGE), ("tanh", "glorot_normal")),
    "glorot_tanh_in_range": lambda r: _swap_sig(r, ("glorot_uniform", "tanh"), ("normal_large", "tanh")),
    "glorot_sigmoid_in_range": lambda r: _swap_sig(r, ("glorot_normal", "sigmoid"), (SIG_LARGE, "sigmoid")),
    "glorot_sigmoid_gradients_vanish": lambda r: _swap_sig(r, ("glorot_normal", "sigmoid"),
                                                           ("glorot_normal", "tanh")),
    "he_relu_in_range": lambda r: _swap_sig(r, ("he_uniform", "relu"), ("glorot_normal", "relu")),
    "glorot_relu_halves": lambda r: _swap_sig(r, ("orthogonal", "relu"), ("he_normal", "relu")),
    "orthogonal_linear_isometry": lambda r: _swap_sig(r, ("orthogonal", "linear"),
                                                      ("glorot_normal", "linear")),
    "glorot_tanh_trains": lambda r: _swap_trn(r, ("tanh", "glorot_normal"), ("tanh", "normal_small")),
    "he_relu_trains": lambda r: _swap_trn(r, ("relu", "he_normal"), ("relu", "glorot_normal")),
}


def test_every_claim_has_a_plant():
    assert set(PLANTS) == set(CLAIM_IDS)


@pytest.mark.parametrize("cid", CLAIM_IDS)
def test_planted_counter_example_fails(numpy_default, cid):
    doctored = copy.deepcopy(numpy_default)
    PLANTS[cid](doctored)
    result = _reevaluate(doctored)
    assert result[cid][0] is False, f"{cid} still holds on planted data: {result[cid][1]}"


def test_missing_record_is_a_failure_naming_it(numpy_default):
    doctored = copy.deepcopy(numpy_default)
    doctored["signal"] = [r for r in doctored["signal"] if r["init"] != "orthogonal"]
    holds, measured = _reevaluate(doctored)["orthogonal_linear_isometry"]
    assert not holds and "orthogonal" in measured["error"]


# --- primitive predicates on records of the wrong regime --------------------------------------
def test_primitives_reject_other_regimes(numpy_default):
    v = C.View(numpy_default)
    he_relu, glorot_tanh = v.sig[("he_normal", "relu")], v.sig[("glorot_normal", "tanh")]
    assert C.vanishes(v.sig[("normal_small", "tanh")])[0] and not C.vanishes(he_relu)[0]
    assert not C.grads_vanish(he_relu)[0]
    assert not C.explodes(he_relu)[0]
    assert not C.saturates(glorot_tanh)[0] and C.unsaturated(glorot_tanh)[0]
    assert not C.unsaturated(v.sig[("normal_large", "tanh")])[0]
    assert C.saturates(he_relu)[0] is False and C.unsaturated(he_relu)[0] is False  # no saturation for relu
    assert not C.grads_explode(glorot_tanh, glorot_tanh)[0]
    he_band = C.he_band(DEFAULT.depth, DEFAULT.width)
    assert not C.variance_ratio_within(v.sig[("glorot_normal", "relu")], *he_band)[0]
    assert not C.per_layer_ratio_within(he_relu, *C.HALVING_BAND)[0]
    assert not C.isometric(v.sig[("glorot_normal", "linear")])[0]
    assert not C.keeps_std(v.sig[("normal_small", "tanh")], C.GLOROT_TANH_MIN_STD)[0]
    assert not C.one_unit(v.sym["he_normal"])[0] and not C.all_distinct(v.sym["zeros"])[0]
    assert not C.weights_moved(v.sym["zeros"])[0]
    assert not C.stalls(v.trn[("tanh", "glorot_normal")])[0]
    assert not C.unstable_training(v.trn[("tanh", "glorot_normal")])[0]
    assert not C.improves(v.trn[("relu", "normal_small")], 1 - C.PROGRESS_MIN)[0]


@pytest.mark.parametrize(("ratio", "holds"), [
    (math.inf, True), (26.0, True), (0.953, True),  # N(0, 1) + tanh: median and smallest measured (DEFAULT)
    (0.834, True),  # N(0, 1) + tanh: smallest at QUICK over 50 seeds x {1, 2} threads x 4 engines (JAX)
    (C.UNSTABLE_MIN_BASELINE_RATIO, True), (0.59, False),
    (0.394, False), (0.13, False),  # Glorot + tanh: largest and median measured (DEFAULT)
])
def test_unstable_training_margin(ratio, holds):
    """The predicate's threshold between the measured spreads (docs/measurements/claims-spread.md)."""
    assert C.unstable_training({"final_loss": 0.5 * ratio, "baseline_loss": 0.5, "initial_loss": 1.0})[0] is holds


def _draws(*ratios):
    rec = {"initial_loss": 1.0, "final_loss": ratios[0]}
    return {**rec, "replicates": [{"replicate": i, "initial_loss": 1.0, "final_loss": r}
                                  for i, r in enumerate(ratios[1:], start=1)]}


@pytest.mark.parametrize(("ratios", "holds"), [
    ((0.27, 0.31, 0.25), True),  # medians measured on each engine
    ((1.056, 0.30, 0.28), True),  # JAX seed 44's first draw did not train: one bad draw of three
    ((0.30, 1.056, 0.9501), False), ((1.0, 1.0, 1.0), False),  # a majority that does not train
    ((0.30, math.nan, math.inf), False), ((0.30,), False),  # non-finite draws; replicates missing
])
def test_he_relu_trains_is_a_statement_over_draws(ratios, holds):
    """He + ReLU "learns" in at least PROGRESS_MIN_DRAWS of its draws (a single-draw claim failed on
    one seed of 200: docs/measurements/claims-spread.md)."""
    out = C.improves_in_most(_draws(*ratios), 1 - C.PROGRESS_MIN, C.PROGRESS_MIN_DRAWS)
    assert out[0] is holds and out[1]["draws"] == len(ratios)


def test_trainability_replicates_are_independent_draws(numpy_quick):
    from initspec.conformance.experiments.tasks import TRAIN_REPLICATES, layer_seed
    rec = C.View(numpy_quick).trn[("relu", "he_normal")]
    assert len(rec["replicates"]) == TRAIN_REPLICATES[("relu", "he_normal")] - 1
    finals = {rec["final_loss"], *(r["final_loss"] for r in rec["replicates"])}
    assert len(finals) == len(rec["replicates"]) + 1
    layers = range(QUICK.train_depth + 1)
    seeds = {layer_seed(QUICK, e, i) for e in ("symmetry", "signal", "trainability") for i in layers}
    seeds |= {layer_seed(QUICK, "trainability", i, r) for r in (1, 2) for i in layers}
    assert len(seeds) == 5 * len(layers)
    top = QUICK.with_(seed=2000)  # the largest seed the config accepts
    assert layer_seed(top, "trainability", 200, 2) < 2**31


def test_claim_workers_use_one_blas_thread():
    from initspec.cli.experiments import WORKER_ENV
    assert WORKER_ENV["OPENBLAS_NUM_THREADS"] == str(RUNNER_BLAS_THREADS)


def test_primitives_on_nonfinite_numbers():
    nan, inf = math.nan, math.inf
    rec = {"act_std": [1.0, nan, nan], "act_rms": [1.0, nan, nan], "grad_norm": [nan, 1.0, 1.0],
           "saturation": [0.5, nan, nan], "nonfinite_layer": 2}
    assert C.explodes(rec)[0]  # overflow counts as exploding
    assert not C.vanishes(rec, layer=2)[0]  # NaN is not "small"
    assert not C.saturates(rec)[0] and not C.unsaturated(rec)[0]
    assert not C.grads_stable(rec)[0] and not C.grads_vanish(rec)[0]
    assert C.grads_explode(rec, {"grad_norm": [1.0, 1.0, 1.0]})[0]
    assert not C.isometric(rec)[0] and not C.variance_ratio_within(rec, 0, inf)[0]
    json_rec = {**rec, "act_std": [1.0, None, None], "grad_norm": [None, 1.0, 1.0]}  # as read from JSON
    assert C.explodes(json_rec)[0] and not C.vanishes(json_rec, layer=2)[0]
    assert not C.grads_stable(json_rec)[0]
    assert C.unstable_training({"final_loss": None, "baseline_loss": 0.5, "initial_loss": inf})[0]
    assert not C.stalls({"final_loss": nan, "initial_loss": nan})[0]


def test_he_band_is_centered_on_the_lognormal_spread():
    lo, hi = C.he_band(50, 256)
    var = C.HANIN_COEFF * 50 / 256
    assert math.log(lo) + math.log(hi) == pytest.approx(-var)  # centre -s^2/2
    assert math.log(hi) - math.log(lo) == pytest.approx(2 * C.HE_BAND_SIGMAS * math.sqrt(var))


# --- metrics --------------------------------------------------------------------------------
def test_distinct_count():
    rng = np.random.default_rng(0)
    col = rng.standard_normal((8, 1))
    same = np.repeat(col, 5, axis=1)
    assert metrics.distinct_count(same) == 1
    assert metrics.distinct_count(np.zeros((8, 5))) == 1
    ulp = same * (1 + np.finfo(np.float32).eps * np.arange(5))  # a few ulps apart: still one unit
    assert metrics.distinct_count(ulp) == 1
    assert metrics.distinct_count(rng.standard_normal((8, 6))) == 6
    two = np.concatenate([same, same + 1.0], axis=1)
    assert metrics.distinct_count(two) == 2
    with_nan = same.copy()
    with_nan[0, 2] = np.nan
    assert metrics.distinct_count(with_nan) == 2  # the NaN column is its own unit


def test_activation_rank():
    rng = np.random.default_rng(1)
    col = rng.standard_normal((20, 1)).astype(np.float32)
    assert metrics.activation_rank(np.repeat(col, 7, axis=1)) == 1
    assert metrics.activation_rank(np.zeros((20, 7))) == 0
    assert metrics.activation_rank(rng.standard_normal((20, 7))) == 7
    assert metrics.activation_rank(np.full((3, 3), np.inf)) is None


def test_saturation_fraction():
    h = np.array([0.0, 0.5, 0.96, -0.999, 1.0])
    assert metrics.saturation_fraction(h, "tanh") == pytest.approx(3 / 5)  # 1 - h^2 < 0.1
    s = np.array([0.5, 0.02, 0.98, 0.3])
    assert metrics.saturation_fraction(s, "sigmoid") == pytest.approx(2 / 4)  # h(1 - h) < 0.025
    assert metrics.saturation_fraction(h, "relu") is None


# --- the NumPy engine's hand-written backprop -------------------------------------------------
@pytest.mark.parametrize("activation", tasks.ACTIVATIONS)
def test_numpy_backprop_matches_finite_differences(activation):
    rng = np.random.default_rng(3)
    sizes = (3, 4, 4, 1)
    params = [(rng.standard_normal((a, b)) * 0.7, rng.standard_normal(b) * 0.1)
              for a, b in zip(sizes, sizes[1:])]
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))
    _, _, grads = _loss_and_grads(params, x, y, activation)
    for li, (w, _) in enumerate(params):
        fd = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            for sign in (1, -1):
                w[idx] += sign * FD_STEP
                fd[idx] += sign * _loss_and_grads(params, x, y, activation)[0] / (2 * FD_STEP)
                w[idx] -= sign * FD_STEP
        np.testing.assert_allclose(grads[li][0], fd, rtol=FD_RTOL, atol=FD_RTOL * np.abs(fd).max())


# --- config validation ----------------------------------------------------------------------
@pytest.mark.parametrize("field, value, exc", [
    ("depth", 0, ValueError), ("depth", 201, ValueError), ("width", 8, ValueError), ("steps", 0, ValueError),
    ("depth", True, TypeError), ("width", 64.0, TypeError), ("steps", "10", TypeError),
    ("lr_tanh", 0.0, ValueError), ("lr_relu", math.nan, ValueError), ("small_std", -1.0, ValueError),
    ("seed", -1, ValueError), ("seed", None, TypeError),
])
def test_config_rejects_bad_values(field, value, exc):
    with pytest.raises(exc, match=re.escape(f"Received: {field}={value!r}")):
        DEFAULT.with_(**{field: value})


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match=r"Received: dept=3"):
        ExperimentConfig.from_dict({"dept": 3})
    assert ExperimentConfig.from_dict(DEFAULT.as_dict()) == DEFAULT


def test_run_experiments_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"Received: backend='pytorch'"):
        run_experiments("pytorch", QUICK)
    with pytest.raises(ValueError, match=r"Received: experiments='signals'"):
        run_experiments("numpy", QUICK, experiments=("signals",))


def test_subset_of_experiments_skips_the_other_claims():
    cfg = QUICK.with_(sym_steps=5)
    res = run_experiments("numpy", cfg, experiments=("symmetry",))
    for c in res["claims"]:
        spec = next(s for s in CLAIMS if s.id == c["id"])
        assert c["verdict"] == ("skip" if "symmetry" not in spec.needs else c["verdict"])
    assert res["signal"] == [] and res["trainability"] == []


def test_experiment_errors_are_recorded(monkeypatch):
    from initspec.conformance.experiments import driver

    def boom(engine, config):
        raise RuntimeError("planted failure")

    monkeypatch.setitem(driver.RUNNERS, "symmetry", boom)
    res = run_experiments("numpy", QUICK, experiments=("symmetry",))
    info = res["backends"]["numpy"]
    assert info["status"] == "error" and "planted failure" in info["errors"]["symmetry"]
    assert _claim(res, "zeros_symmetry")["verdict"] == "fail"
    assert "planted failure" in _claim(res, "zeros_symmetry")["per_backend"]["numpy"]["reason"]
    with pytest.raises(RuntimeError, match="planted failure"):
        run_experiments("numpy", QUICK, experiments=("symmetry",), catch_errors=False)


def test_backend_setup_errors_are_recorded(monkeypatch):
    from initspec.backends import BackendUnavailable
    from initspec.conformance.experiments import driver

    def broken(name):
        raise SyntaxError("planted broken adapter")

    monkeypatch.setattr(driver, "load_engine", broken)
    res = run_experiments("numpy", QUICK)
    assert res["backends"]["numpy"]["status"] == "error"
    assert "planted broken adapter" in res["backends"]["numpy"]["reason"]
    assert {c["verdict"] for c in res["claims"]} == {"fail"}
    with pytest.raises(SyntaxError):
        run_experiments("numpy", QUICK, catch_errors=False)

    def missing(name):
        raise BackendUnavailable("planted: no framework")

    monkeypatch.setattr(driver, "load_engine", missing)
    res = run_experiments("numpy", QUICK)
    assert res["backends"]["numpy"]["status"] == "unavailable"
    assert {c["verdict"] for c in res["claims"]} == {"unavailable"}


def test_weights_fall_back_to_the_reference_only_while_the_adapter_is_missing(monkeypatch):
    import types

    import initspec.backends
    from initspec.backends import numpy as reference
    from initspec.conformance.experiments import _engine

    def no_module(name):
        module = f"initspec.backends.{name}"
        raise ModuleNotFoundError(f"No module named {module!r}", name=module)

    monkeypatch.setattr(initspec.backends, "load", no_module)
    assert _engine.weight_source("torch") == (reference, _engine.WEIGHTS_FROM_REFERENCE)
    monkeypatch.setattr(initspec.backends, "load", lambda name: types.ModuleType("stub"))  # no sample yet
    assert _engine.weight_source("torch") == (reference, _engine.WEIGHTS_FROM_REFERENCE)

    def other_missing(name):
        raise ModuleNotFoundError("No module named 'scipy'", name="scipy")

    monkeypatch.setattr(initspec.backends, "load", other_missing)
    with pytest.raises(ModuleNotFoundError, match="scipy"):
        _engine.weight_source("torch")
    monkeypatch.setattr(initspec.backends, "load", lambda name: reference)
    assert _engine.weight_source("numpy") == (reference, _engine.WEIGHTS_FROM_ADAPTER)


# --- merging --------------------------------------------------------------------------------
def _relabel(part, backend):
    out = copy.deepcopy(part)
    out["backends"] = {backend: {**part["backends"]["numpy"], "backend": backend}}
    for c in out["claims"]:
        c["per_backend"] = {backend: c["per_backend"]["numpy"]}
    for name in ("symmetry", "signal", "trainability"):
        for r in out[name]:
            r["backend"] = backend
    return out


def test_merge_agreeing_backends(numpy_quick):
    merged = merge_experiments([numpy_quick, _relabel(numpy_quick, "torch")])
    assert set(merged["backends"]) == {"numpy", "torch"}
    assert len(merged["signal"]) == 2 * len(numpy_quick["signal"])
    for c in merged["claims"]:
        assert c["agree"] and c["verdict"] == "pass" and set(c["per_backend"]) == {"numpy", "torch"}
    assert [c["id"] for c in merged["claims"]] == list(CLAIM_IDS)


def test_merge_disagreement_fails_the_claim(numpy_quick):
    other = _relabel(numpy_quick, "jax")
    _claim(other, "glorot_relu_halves")["per_backend"]["jax"]["verdict"] = "fail"
    merged = merge_experiments([numpy_quick, other])
    c = _claim(merged, "glorot_relu_halves")
    assert c["verdict"] == "fail" and not c["agree"] and c["disagreement"] == "jax: fail, numpy: pass"


def test_merge_with_unavailable_and_crashed_backends(numpy_quick):
    dead = failed_result("tensorflow", QUICK, "the experiments process exited with -9")
    gone = copy.deepcopy(numpy_quick)
    gone = {"config": numpy_quick["config"], "backends": {"jax": {"status": "unavailable"}}, "signal": [],
            "claims": C.evaluate_claims("jax", None, QUICK, unavailable="no jax")}
    merged = merge_experiments([numpy_quick, dead, gone])
    c = _claim(merged, "zeros_symmetry")
    assert c["per_backend"]["jax"]["verdict"] == "unavailable"
    tf_entry = c["per_backend"]["tensorflow"]
    assert tf_entry["verdict"] == "fail" and "-9" in tf_entry["reason"]
    assert c["verdict"] == "fail" and not c["agree"]
    only_gone = merge_experiments([gone])
    assert {c["verdict"] for c in only_gone["claims"]} == {"unavailable"}


def test_merge_rejects_mismatched_parts(numpy_quick, numpy_default):
    with pytest.raises(ValueError, match="different configs"):
        merge_experiments([numpy_quick, _relabel(numpy_default, "torch")])
    with pytest.raises(ValueError, match="appears twice"):
        merge_experiments([numpy_quick, numpy_quick])
    with pytest.raises(ValueError, match=r"Received: parts=\[\]"):
        merge_experiments([])


# --- the frameworks: reduced config, same verdicts, same gradients ----------------------------
@pytest.mark.parametrize("backend", [pytest.param(b, marks=getattr(pytest.mark, b)) for b in FRAMEWORKS])
def test_framework_reaches_numpy_verdicts(load_backend, numpy_quick, backend):
    load_backend(backend)  # skip (or fail when required) with the reason if the framework is missing
    res = run_experiments(backend, QUICK, catch_errors=False)
    info = res["backends"][backend]
    assert info["status"] == "ok" and info["weights_from"] in ("adapter", "numpy-reference")
    mine, ref = _verdicts(res, backend), _verdicts(numpy_quick, "numpy")
    assert mine == ref, {k: (mine[k], ref[k]) for k in mine if mine[k] != ref[k]}
    assert set(ref.values()) == {"pass"}
    merged = merge_experiments([numpy_quick, res])
    assert all(c["agree"] and c["verdict"] == "pass" for c in merged["claims"])


@pytest.mark.parametrize("backend", [pytest.param(b, marks=getattr(pytest.mark, b)) for b in FRAMEWORKS])
@pytest.mark.parametrize("activation", tasks.ACTIVATIONS)
def test_framework_autodiff_matches_numpy_backprop(load_backend, backend, activation):
    """Identical float32 weights: the framework's loss, activations and gradients equal the NumPy
    engine's hand-written backprop (transposed for torch's (out, in) kernels)."""
    load_backend(backend)
    engine, ref = load_engine(backend), load_engine("numpy")
    rng = np.random.default_rng(5)
    sizes = (6, 8, 8, 8, 1)
    kernels = [(rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
               for a, b in zip(sizes, sizes[1:])]
    biases = [(0.1 * rng.standard_normal(b)).astype(np.float32) for b in sizes[1:]]
    x = rng.standard_normal((10, 6)).astype(np.float32)
    y = rng.standard_normal((10, 1)).astype(np.float32)

    def native(eng):
        return [(eng.from_numpy(k if eng.kernel_in_out else k.T), eng.from_numpy(b))
                for k, b in zip(kernels, biases)]

    with engine.session():
        xn, yn = engine.from_numpy(x), engine.from_numpy(y)
        got = engine.probe(native(engine), xn, yn, activation)
        _, losses = engine.train(native(engine), xn, yn, activation, 3, 0.1)
    want = ref.probe(native(ref), x, y, activation)
    _, want_losses = ref.train(native(ref), x, y, activation, 3, 0.1)
    assert got.loss == pytest.approx(want.loss, rel=AUTODIFF_RTOL)
    np.testing.assert_allclose(losses, want_losses, rtol=AUTODIFF_RTOL)
    for g, w in zip(got.hidden, want.hidden):
        np.testing.assert_allclose(g, w, rtol=AUTODIFF_RTOL, atol=AUTODIFF_RTOL * np.abs(w).max())
    for g, w in zip(got.grads, want.grads):
        g = engine.canonical(g)
        np.testing.assert_allclose(g, w, rtol=AUTODIFF_RTOL, atol=AUTODIFF_RTOL * np.abs(w).max())


# --- command line and isolation ---------------------------------------------------------------
def test_cli_in_process(tmp_path, capsys):
    from initspec.cli import main

    code = main(["experiments", "--backends", "numpy", "--quick", "--in-process", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = load(tmp_path / "experiments.json")
    assert doc["experiments"]["backends"]["numpy"]["status"] == "ok"
    assert doc["backends"][0]["backend"] == "numpy" and doc["backends"][0]["status"] == "ok"
    assert all(c["verdict"] == "pass" for c in doc["experiments"]["claims"])
    assert "zeros_symmetry" in out


@pytest.mark.parametrize("args, message", [
    (["--depth", "0"], "Received: depth=0"),
    (["--backends", "numpy,pytorch"], "Received: backends='pytorch'"),
    (["--backends", ","], "names no backend"),
    (["--steps", "0"], "Received: steps=0"),
])
def test_cli_bad_input(tmp_path, capsys, args, message):
    from initspec.cli import main

    code = main(["experiments", "--in-process", "--out", str(tmp_path), *args])
    assert code == 2
    assert message in capsys.readouterr().err


def test_cli_worker_process(tmp_path):
    """The per-backend process writes its section; a bad config exits 2 with the argument."""
    out = tmp_path / "numpy.json"
    cfg = json.dumps(QUICK.with_(sym_steps=5, steps=2).as_dict())
    proc = subprocess.run([sys.executable, "-m", "initspec.conformance.experiments", "numpy", "--config", cfg,
                           "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    part = json.loads(out.read_text())
    assert part["backends"]["numpy"]["status"] == "ok" and len(part["claims"]) == len(CLAIMS)
    bad = subprocess.run([sys.executable, "-m", "initspec.conformance.experiments", "numpy", "--config",
                          '{"width": 1}', "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "Received: width=1" in bad.stderr


def test_importing_the_driver_imports_no_framework():
    code = ("import sys, initspec.conformance.experiments as e, initspec.conformance.experiments.numpy; "
            "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
