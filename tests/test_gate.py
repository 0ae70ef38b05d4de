import numpy as np
import pytest

from shipyard.config import BootstrapConfig, ConfigError, GateConfig, MetricRule
from shipyard.gitops.gate import judge, paired_bootstrap
from shipyard.pipeline.task import accuracy, rmse


def rule(limit: float | None = None, tolerance: float = 0.0) -> MetricRule:
    return MetricRule(limit=limit, tolerance=tolerance)


def config(**rules: MetricRule) -> GateConfig:
    return GateConfig(
        model="mlp",
        main_metric="accuracy",
        rules=rules or {"accuracy": rule(0.8, 0.0), "log_loss": rule(0.5, 0.05)},
        bootstrap=BootstrapConfig(samples=500, confidence=0.95, seed=0),
    )


def probabilities(y: np.ndarray, correct: np.ndarray, n_classes: int = 3) -> np.ndarray:
    """Confident probabilities, right where `correct` says so, wrong elsewhere."""
    predicted = np.where(correct, y, (y + 1) % n_classes)
    return np.eye(n_classes)[predicted] * 0.9 + 0.1 / n_classes


@pytest.fixture
def y():
    return np.arange(400) % 3


def test_bootstrap_of_identical_predictions_is_zero(y):
    p = probabilities(y, np.ones(400, bool))
    assert np.all(paired_bootstrap(accuracy, y, p, p, 200, 0) == 0)


def test_bootstrap_sees_a_real_drop_and_forgives_noise(y):
    rng = np.random.default_rng(1)
    base = probabilities(y, rng.random(400) < 0.95)
    much_worse = probabilities(y, rng.random(400) < 0.70)
    deltas = paired_bootstrap(accuracy, y, much_worse, base, 500, 0)
    assert np.quantile(deltas, 0.975) < 0  # a drop beyond noise
    verdict = judge(
        config(), {"accuracy": 0.70, "log_loss": 0.3}, {"accuracy": 0.95, "log_loss": 0.3}, deltas
    )
    assert not verdict.passed
    assert any("beyond noise" in reason for reason in verdict.reasons)

    # Two rows flipped out of 400: within noise, so it passes despite tolerance 0.
    correct = rng.random(400) < 0.95
    flipped = correct.copy()
    flipped[np.flatnonzero(correct)[:2]] = False
    noise = paired_bootstrap(
        accuracy, y, probabilities(y, flipped), probabilities(y, correct), 500, 0
    )
    verdict = judge(
        config(), {"accuracy": 0.945, "log_loss": 0.3}, {"accuracy": 0.95, "log_loss": 0.3}, noise
    )
    assert verdict.passed, verdict.summary()


def test_limits_follow_direction():
    verdict = judge(config(), {"accuracy": 0.75, "log_loss": 0.6}, None)
    assert [c.passed for c in verdict.checks] == [False, False]
    assert "accuracy 0.7500 (limit >= 0.8)" in verdict.reasons[0]
    assert "log_loss 0.6000 (limit <= 0.5)" in verdict.reasons[1]


def test_regression_beyond_tolerance_fails_without_bootstrap():
    base = {"accuracy": 0.9, "log_loss": 0.20}
    ok = judge(config(), {"accuracy": 0.9, "log_loss": 0.24}, base)
    assert ok.passed
    worse = judge(config(), {"accuracy": 0.9, "log_loss": 0.30}, base)
    assert not worse.passed and "log_loss vs base +0.1000" in worse.reasons[0]


def test_first_pr_without_base_checks_limits_only():
    verdict = judge(config(), {"accuracy": 0.9, "log_loss": 0.2}, None)
    assert verdict.passed and len(verdict.checks) == 2


def test_missing_metric_fails():
    verdict = judge(config(), {"accuracy": 0.9}, None)
    assert not verdict.passed and "log_loss: missing" in verdict.reasons[0]


def test_a_metric_no_task_has_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown metric 'acuracy'"):
        judge(config(accuracy=rule(0.5), acuracy=rule(0.5)), {"accuracy": 1.0}, None)


def test_rmse_gate_fails_a_rise_beyond_noise_and_passes_a_fall():
    rng = np.random.default_rng(0)
    truth = rng.normal(100, 20, 300)
    good = truth + rng.normal(0, 5, 300)
    worse = truth + rng.normal(0, 15, 300)
    cfg = GateConfig(
        model="mlp",
        main_metric="rmse",
        rules={"rmse": rule(30.0, 0.0)},
        bootstrap=BootstrapConfig(samples=500, confidence=0.95, seed=0),
    )
    rose = paired_bootstrap(rmse, truth, worse, good, 500, 0)
    verdict = judge(cfg, {"rmse": rmse(truth, worse)}, {"rmse": rmse(truth, good)}, rose)
    assert not verdict.passed and "a rise beyond noise" in verdict.reasons[0]
    fell = paired_bootstrap(rmse, truth, good, worse, 500, 0)
    verdict = judge(cfg, {"rmse": rmse(truth, good)}, {"rmse": rmse(truth, worse)}, fell)
    assert verdict.passed, verdict.summary()
    assert not judge(cfg, {"rmse": 31.0}, None).passed  # a ceiling, for lower-is-better


def test_notes_say_what_was_left_out_next_to_the_verdict():
    verdict = judge(config(), {"accuracy": 0.9, "log_loss": 0.2}, None)
    verdict.notes.append("base 'main' unavailable (no such revision): limits only")
    assert verdict.summary().splitlines()[:3] == [
        "gate PASSED",
        "  note base 'main' unavailable (no such revision): limits only",
        "  ok   accuracy 0.9000 (limit >= 0.8)",
    ]


def test_without_base_predictions_the_main_metric_falls_back_to_its_tolerance():
    """Degraded is stricter, not blind: accuracy's tolerance (0) judges any drop."""
    base = {"accuracy": 0.95, "log_loss": 0.2}
    verdict = judge(config(), {"accuracy": 0.945, "log_loss": 0.2}, base, None)
    assert not verdict.passed
    assert "accuracy vs base -0.0050 (tolerated regression 0)" in verdict.reasons[0]
