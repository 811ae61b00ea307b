"""Unit tests of the check engine: statistics, budget, sample sizes, records, fan probe, API."""

from __future__ import annotations

import math

import numpy as np
import pytest
from initspec import SCHEMES, resolve
from initspec.conformance import assert_conforms
from initspec.conformance import stats as S
from initspec.conformance.api import as_draw, check_initializer
from initspec.conformance.checks import (
    CARRIERS,
    DEFAULT_MATRIX,
    Budget,
    case_plan,
    check_determinism,
    check_draw,
    default_budget,
    draws_needed,
    plan_n,
    reference_draw,
    summarize_verdict,
)
from initspec.conformance.checks import (
    tests_per_plan as n_budgeted_tests,
)
from initspec.conformance.fanprobe import fan_check, probe_fans, probe_shapes
from initspec.conformance.results import Check
from initspec.laws import normal_moments
from scipy import integrate, stats

ALPHA = 1e-6
REAL_LAWS = [
    ("normal", {"mean": 0.3, "std": 2.0}),
    ("uniform", {"low": -0.1, "high": 0.3}),
    ("truncated_normal", {"mean": 0.1, "std": 0.05, "a": -1.0, "b": 3.0}),
    ("he_truncated_normal", {}),
    ("orthogonal", {"gain": 2.0}),
]


def _element(scheme: str, params: dict, shape=(64, 48), dtype="float32"):
    return resolve(scheme, shape, "keras", dtype, **params).element


# ----------------------------------------------------------------------------------------------
# moments and asymptotic variances
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheme,params", REAL_LAWS, ids=[s for s, _ in REAL_LAWS])
def test_central_moments_match_numerical_integration(scheme, params):
    el = _element(scheme, params)
    mu = S.central_moments(el)
    rv = el.rv()
    for k in range(2, S.MAX_MOMENT + 1):
        num = rv.expect(lambda x, k=k: (x - el.mean) ** k)
        assert mu[k] == pytest.approx(num, rel=1e-6, abs=1e-12 * el.std**k)


def test_kurtosis_variance_is_24_for_a_normal_law():
    assert S.variance_of_kurtosis(normal_moments(3.0)) == pytest.approx(24.0)


@pytest.mark.parametrize("scheme,params", REAL_LAWS, ids=[s for s, _ in REAL_LAWS])
def test_kurtosis_variance_equals_expected_squared_influence_function(scheme, params):
    el = _element(scheme, params)
    mu = S.central_moments(el)
    m2, m3, m4 = mu[2], mu[3], mu[4]

    def infl(x):
        d = x - el.mean
        return (d**4 - m4 - 4 * m3 * d) / m2**2 - 2 * m4 / m2**3 * (d * d - m2)

    lo, hi = el.rv().support()
    lo, hi = max(lo, el.mean - 12 * el.std), min(hi, el.mean + 12 * el.std)
    num = integrate.quad(lambda x: infl(x) ** 2 * el.rv().pdf(x), lo, hi, limit=200)[0]
    assert S.variance_of_kurtosis(mu) == pytest.approx(num, rel=1e-5)


@pytest.mark.parametrize("scheme,params", REAL_LAWS, ids=[s for s, _ in REAL_LAWS])
def test_fast_cdf_equals_scipy_cdf(scheme, params):
    el = _element(scheme, params)
    x = np.linspace(el.mean - 5 * el.std, el.mean + 5 * el.std, 1001)
    np.testing.assert_allclose(S.fast_cdf(el)(x), el.cdf(x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dist", ["normal", "uniform", "truncated_normal"])
def test_complex_modulus_law_has_the_spec_variance(dist):
    el = resolve("variance_scaling", (64, 48), "keras", "complex64", distribution=dist).element
    assert el.modulus_sq_rv().mean() == pytest.approx(el.var, rel=1e-12)


# ----------------------------------------------------------------------------------------------
# budget and sample size
# ----------------------------------------------------------------------------------------------
def test_budget_bonferroni_and_validation():
    b = Budget(1e-3, 500)
    assert b.per_test() == pytest.approx(2e-6)
    with pytest.raises(ValueError, match="Received: n_tests=0"):
        Budget(1e-3, 0)
    with pytest.raises(ValueError, match="Received: alpha=2"):
        Budget(2.0, 10)


def test_holm_rejects_at_least_what_bonferroni_rejects():
    b = Budget(0.05, 4)
    checks = [{"tier": "statistical", "p_value": p, "verdict": "pass"} for p in (0.001, 0.013, 0.02, 0.5)]
    b.holm(checks)
    # Bonferroni (0.0125) rejects only 0.001; Holm also 0.013 (< 0.05/3) and 0.02 (< 0.05/2)
    assert [c["verdict"] for c in checks] == ["fail", "fail", "fail", "pass"]


def test_plan_n_gives_99_9_percent_power_for_a_2_percent_std_error():
    """Exact check for a normal law: n m2 / sigma^2 ~ chi2(n - 1)."""
    plan = resolve("he_normal", (256, 384), "keras")
    alpha = default_budget().per_test()
    n = plan_n(plan, alpha=alpha)
    z = S.z_two_sided(alpha)
    se = math.sqrt(2.0 / n)  # relative se of m2 under H0
    lo, hi = 1 - z * se, 1 + z * se
    for ratio in (1.02**2, 0.98**2):
        chi = stats.chi2(n - 1, scale=ratio / n)  # law of m2 / sigma0^2
        power = chi.cdf(lo) + chi.sf(hi)
        assert power >= 0.999 - 2e-4, (ratio, power)
    assert plan_n(plan, alpha=alpha, rel_std_err=0.04) < n / 3


def test_plan_n_of_deterministic_schemes_is_one():
    assert plan_n(resolve("zeros", (4, 4), "keras"), alpha=ALPHA) == 1
    assert n_budgeted_tests(resolve("identity", (4, 4), "keras")) == 0


@pytest.mark.parametrize("scheme, dtype, params", [
    ("he_normal", "float32", {}),
    ("uniform", "float64", {"low": -0.1, "high": 0.3}),
    ("he_normal", "complex64", {}),
    ("sparse", "float32", {"sparsity": 0.1, "std": 0.01}),
])
def test_budgeted_tests_are_the_statistical_checks_check_draw_records(scheme, dtype, params):
    """REAL_TESTS / COMPLEX_TESTS (the Bonferroni count) name exactly what check_draw runs."""
    from initspec.conformance.checks import COMPLEX_TESTS, REAL_TESTS

    plan = resolve(scheme, (240, 400), "keras", dtype, **params)
    x = reference_draw(scheme, plan.shape, "keras", dtype, 3, **params)
    got = [c["check"] for c in check_draw(x, plan, alpha=ALPHA) if c["tier"] == "statistical"]
    assert sorted(got) == sorted(COMPLEX_TESTS if plan.element.is_complex else REAL_TESTS)
    assert len(got) == n_budgeted_tests(plan)


def test_plan_n_rejects_bad_arguments():
    plan = resolve("he_normal", (8, 8), "keras")
    with pytest.raises(ValueError, match="Received: alpha=0"):
        plan_n(plan, alpha=0)
    with pytest.raises(ValueError, match="Received: power=1.5"):
        plan_n(plan, alpha=ALPHA, power=1.5)


# ----------------------------------------------------------------------------------------------
# the default matrix
# ----------------------------------------------------------------------------------------------
def test_default_matrix_covers_every_scheme_and_the_dtypes():
    assert {c.scheme for c in DEFAULT_MATRIX} == set(SCHEMES)
    assert {c.dtype for c in DEFAULT_MATRIX} >= set(CARRIERS) - {"complex128"}


def test_default_matrix_one_draw_reaches_plan_n_and_stays_small():
    alpha = default_budget().per_test()
    total = 0
    for case in DEFAULT_MATRIX:
        plan = case_plan(case)
        assert draws_needed(plan, alpha) == 1, case
        total += plan.size
    assert total < 20_000_000  # a few tens of millions at most per backend


def test_default_budget_makes_200_full_runs_unlikely_to_alarm():
    b = default_budget(n_backends=1)
    assert b.alpha_total * 200 <= 0.2 + 1e-12
    assert b.n_tests == sum(n_budgeted_tests(case_plan(c)) for c in DEFAULT_MATRIX)


# ----------------------------------------------------------------------------------------------
# dtype grids, rounded KS, pile-up
# ----------------------------------------------------------------------------------------------
def test_round_to_bfloat16_matches_ml_dtypes():
    ml = pytest.importorskip(
        "ml_dtypes", reason="ml_dtypes (installed with jax) gives the reference bfloat16"
    )
    x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 10.0 ** np.arange(-5, 5).repeat(
        1000
    )
    np.testing.assert_array_equal(S.round_to_dtype(x, "bfloat16"), x.astype(ml.bfloat16).astype(np.float64))


@pytest.mark.parametrize("dtype,np_dtype", [("float16", np.float16), ("float32", np.float32)])
def test_grid_neighbours_match_nextafter(dtype, np_dtype):
    x = np.concatenate(
        [np.random.default_rng(1).standard_normal(1000), [0.0, 1.0, -1.0, 0.5, 2.0**-20]]
    ).astype(np_dtype)
    down, up = S.grid_neighbours(x.astype(np.float64), dtype)
    np.testing.assert_array_equal(up, np.nextafter(x, np_dtype(np.inf)).astype(np.float64))
    np.testing.assert_array_equal(down, np.nextafter(x, np_dtype(-np.inf)).astype(np.float64))


def test_rounded_ks_removes_the_bfloat16_rounding_bias():
    """U(0, 1) in bfloat16: the ECDF of rounded values sits ~ulp/2 above the continuous CDF
    (D ~ 2^-9 at n = 4e6 > the critical value); the rounded-law CDF removes the bias."""
    x = reference_draw("uniform", (2000, 2000), "keras", "bfloat16", seed=3)
    el = resolve("uniform", (2000, 2000), "keras", "bfloat16").element
    naive = S.ks_test(x, el.cdf, ALPHA)
    rounded = S.ks_test(x, el.cdf, ALPHA, dtype="bfloat16", low=el.low, high=el.high)
    assert not naive.passed and naive.measured > 2.0**-9 * 0.9
    assert rounded.passed and rounded.measured < naive.measured / 3


def test_pileup_limit_is_the_union_bound():
    n, p, alpha = 100_000, 1.2e-7, 1e-6
    k = S.pileup_limit(n, p, alpha)
    assert stats.binom.sf(k, n, p) / p <= alpha < stats.binom.sf(k - 1, n, p) / p


def test_pileup_catches_a_few_repeated_values_in_float32():
    plan = resolve("he_normal", (256, 384), "keras")
    x = reference_draw("he_normal", (256, 384), "keras", "float32", seed=4)
    x.ravel()[:12] = x.ravel()[100]
    got = {c["check"]: c["verdict"] for c in check_draw(x, plan, alpha=ALPHA)}
    assert got["pileup"] == "fail" and got["mean"] == "pass"


# ----------------------------------------------------------------------------------------------
# check_draw records
# ----------------------------------------------------------------------------------------------
_SAMPLE_CASES = [c for c in DEFAULT_MATRIX if c.dtype in ("float32", "bfloat16", "complex64")][::4]


@pytest.mark.parametrize(
    "case", _SAMPLE_CASES, ids=[f"{c.scheme}-{c.layout}-{c.dtype}" for c in _SAMPLE_CASES]
)
def test_reference_draw_passes_every_check(case):
    plan = case_plan(case)
    x = reference_draw(case.scheme, case.shape, case.layout, case.dtype, seed=11, **case.params)
    checks = check_draw(x, plan, alpha=default_budget().per_test(), meta={"backend": "numpy", "seed": 11})
    assert summarize_verdict(checks) == "pass", [c["message"] for c in checks if c["verdict"] != "pass"]
    n_stat = sum(c["tier"] == "statistical" for c in checks)
    assert n_stat == n_budgeted_tests(plan)


def test_records_follow_the_results_contract():
    plan = resolve("glorot_uniform", (64, 48), "keras_dense")
    x = reference_draw("glorot_uniform", (64, 48), "keras_dense", seed=0)
    checks = check_draw(
        x,
        plan,
        alpha=ALPHA,
        meta={
            "backend": "numpy",
            "device": "cpu",
            "seed": 0,
            "subject": "initspec",
            "reproduce": "python -c ...",
        },
    )
    keys = set(Check.__annotations__)
    for c in checks:
        assert set(c) <= keys and {"id", "check", "tier", "verdict", "message"} <= set(c)
        assert c["reproduce"] == "python -c ..." and c["seed"] == 0
    assert len({c["id"] for c in checks}) == len(checks)
    var = next(c for c in checks if c["check"] == "variance")
    lo, hi = var["interval"]
    assert (
        lo < var["expected"] < hi
        and var["alpha"] == ALPHA
        and var["std_ratio"] == pytest.approx(1.0, abs=0.05)
    )


def test_native_failures_are_findings():
    plan = resolve("he_truncated_normal", (256, 384), "keras")
    x = reference_draw("he_normal", (256, 384), "keras", seed=0)
    checks = check_draw(
        x, plan, alpha=ALPHA, meta={"subject": "native", "native_name": "torch.nn.init.kaiming_normal_"}
    )
    assert summarize_verdict(checks) == "finding"
    assert all("native:torch.nn.init.kaiming_normal_" in c["id"] for c in checks)


def test_stacked_draws_are_checked_together():
    plan = resolve("orthogonal", (16, 24), "keras")
    x = np.stack([reference_draw("orthogonal", (16, 24), "keras", seed=s) for s in range(300)])
    checks = check_draw(x, plan, alpha=ALPHA, draws=300)
    assert summarize_verdict(checks) == "pass"
    assert next(c for c in checks if c["check"] == "variance")["n"] == x.size


def test_check_draw_rejects_bad_arguments():
    plan = resolve("he_normal", (8, 8), "keras")
    with pytest.raises(ValueError, match="Received: alpha='a'"):
        check_draw(np.zeros((8, 8)), plan, alpha="a")
    with pytest.raises(TypeError, match="Received: plan='he_normal'"):
        check_draw(np.zeros((8, 8)), "he_normal", alpha=ALPHA)
    with pytest.raises(ValueError, match="Received: draws=0"):
        check_draw(np.zeros((8, 8)), plan, alpha=ALPHA, draws=0)


def test_bfloat16_carriers():
    plan = resolve("he_uniform", (256, 384), "keras", "bfloat16")
    x = reference_draw("he_uniform", (256, 384), "keras", "bfloat16", seed=2)
    assert x.dtype == np.float32
    assert summarize_verdict(check_draw(x, plan, alpha=ALPHA)) == "pass"
    got = {c["check"]: c["verdict"] for c in check_draw(x.astype(np.float64), plan, alpha=ALPHA)}
    assert got["dtype"] == "fail"
    got = {
        c["check"]: c["verdict"] for c in check_draw(x, plan, alpha=ALPHA, meta={"native_dtype": "float16"})
    }
    assert got["dtype"] == "fail"


# ----------------------------------------------------------------------------------------------
# determinism and verdicts
# ----------------------------------------------------------------------------------------------
def test_check_determinism():
    plan = resolve("he_normal", (8, 8), "keras")
    good = check_determinism(
        lambda s: reference_draw("he_normal", (8, 8), "keras", seed=s), (1, 2), plan=plan
    )
    assert [c["verdict"] for c in good] == ["pass", "pass"]
    eye = resolve("identity", (8, 8), "keras")
    same = check_determinism(lambda s: np.eye(8, dtype=np.float32), (1, 2), plan=eye)
    assert [c["verdict"] for c in same] == ["pass", "pass"]
    with pytest.raises(ValueError, match="Received: seeds=\\(1, 1\\)"):
        check_determinism(lambda s: np.eye(8), (1, 1), plan=eye)


def test_summarize_verdict_order():
    assert summarize_verdict([{"verdict": "pass"}, {"verdict": "finding"}]) == "finding"
    assert summarize_verdict([{"verdict": "finding"}, {"verdict": "fail"}]) == "fail"
    assert summarize_verdict([{"verdict": "skip"}]) == "skip"
    assert summarize_verdict([]) == "unavailable"


# ----------------------------------------------------------------------------------------------
# fan probe
# ----------------------------------------------------------------------------------------------
_PROBES = [
    ("glorot_uniform", {}, "keras", "fan_avg", "uniform"),
    ("he_truncated_normal", {}, "torch", "fan_in", "truncated_normal"),
    ("lecun_normal", {}, "keras_dense", "fan_in", "normal"),
    (
        "variance_scaling",
        {"mode": "fan_out", "scale": 2.0, "distribution": "uniform"},
        "keras_depthwise",
        "fan_out",
        "uniform",
    ),
    (
        "variance_scaling",
        {"mode": "fan_geo_avg", "scale": 0.7, "distribution": "normal"},
        "keras",
        "fan_geo_avg",
        "normal",
    ),
    ("normal", {"std": 0.3}, "torch_conv_transpose", "none", "normal"),
]


@pytest.mark.parametrize("scheme,params,layout,mode,dist", _PROBES, ids=[f"{p[0]}-{p[2]}" for p in _PROBES])
def test_probe_recovers_fan_mode_scale_and_family(scheme, params, layout, mode, dist):
    def draw(shape, seed):
        return reference_draw(scheme, shape, layout, "float32", seed, **params)

    result = probe_fans(draw, layout, seed=5)
    assert (result["mode"], result["distribution"]) == (mode, dist)
    plan = resolve(scheme, probe_shapes(layout)[0], layout, **params)
    checks = fan_check(result, plan, {"backend": "numpy"}, alpha=ALPHA)
    assert [c["verdict"] for c in checks] == ["pass"] * 3, [c["message"] for c in checks]
    if dist == "truncated_normal":
        assert result["truncation_sigma"] == pytest.approx(2.0, rel=0.05)


def test_probe_shapes_vary_in_out_and_receptive_field_independently():
    shapes = probe_shapes("keras")
    fans = np.array([[*resolve("he_normal", s, "keras").fans[:2]] for s in shapes])
    logs = np.column_stack([np.ones(len(shapes)), np.log(fans)])
    assert np.linalg.matrix_rank(logs) == 3


def test_fan_check_skips_structured_schemes():
    plan = resolve("orthogonal", (64, 64), "keras")
    result = probe_fans(lambda shape, seed: reference_draw("orthogonal", shape, "keras", seed=seed), "keras")
    assert [c["verdict"] for c in fan_check(result, plan)] == ["skip"]


# ----------------------------------------------------------------------------------------------
# assert_conforms
# ----------------------------------------------------------------------------------------------
def test_assert_conforms_passes_the_reference():
    assert_conforms(
        lambda shape, seed: reference_draw("he_truncated_normal", shape, "keras", seed=seed),
        "he_truncated_normal",
        "keras",
    )


def test_assert_conforms_message_shows_failures_and_reproduction():
    with pytest.raises(AssertionError) as err:
        assert_conforms(
            lambda shape, seed: reference_draw("he_normal", shape, "keras", seed=seed),
            "he_truncated_normal",
            "keras",
            seed=3,
        )
    msg = str(err.value)
    assert "support" in msg and "kurtosis" in msg and "measured=" in msg and "interval=" in msg
    assert "Reproduce: assert_conforms(" in msg and "seed=3" in msg


def test_assert_conforms_uses_several_draws_for_small_shapes():
    checks = check_initializer(
        as_draw(lambda shape, seed: reference_draw("lecun_uniform", shape, "keras", seed=seed)),
        resolve("lecun_uniform", (32, 16), "keras"),
        seed=0,
    )
    var = next(c for c in checks if c["check"] == "variance")
    assert var["n"] >= plan_n(resolve("lecun_uniform", (32, 16), "keras"), alpha=var["alpha"])
    assert summarize_verdict(checks) == "pass"


def test_assert_conforms_rejects_bad_arguments():
    with pytest.raises(TypeError, match="Received: seed='a'"):
        assert_conforms(lambda shape, seed: np.zeros(shape), "zeros", seed="a")
    with pytest.raises(TypeError, match="Received: init_fn=3"):
        as_draw(3)


@pytest.mark.torch
def test_assert_conforms_accepts_torch_in_place_functions():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    assert_conforms(torch.nn.init.xavier_normal_, "glorot_normal", "torch")
    with pytest.raises(AssertionError, match="support"):
        assert_conforms(torch.nn.init.xavier_normal_, "glorot_truncated_normal", "torch")


@pytest.mark.jax
def test_assert_conforms_accepts_jax_inits_and_factories():
    jax = pytest.importorskip("jax", reason="JAX not installed")
    assert_conforms(jax.nn.initializers.glorot_normal, "glorot_truncated_normal", "jax")
    assert_conforms(jax.nn.initializers.he_uniform(), "he_uniform", "jax", dtype="float32")


@pytest.mark.tensorflow
def test_assert_conforms_accepts_keras_initializers():
    keras = pytest.importorskip("keras", reason="Keras not installed")
    assert_conforms(keras.initializers.GlorotUniform, "glorot_uniform", "keras")
    assert_conforms(keras.initializers.TruncatedNormal(stddev=0.05), "truncated_normal", "keras", std=0.05)


def test_engine_imports_no_framework():
    import subprocess
    import sys

    code = (
        "import sys, initspec.conformance, initspec.conformance.checks, initspec.conformance.fanprobe; "
        "bad = [m for m in ('torch', 'tensorflow', 'jax', 'keras', 'flax') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
