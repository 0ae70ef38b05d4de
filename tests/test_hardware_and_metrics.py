import numpy as np
import pandas as pd
import pytest

from shipyard.pipeline.evaluation import metrics, score
from shipyard.pipeline.hardware import pick_precision, resolve_precision
from shipyard.pipeline.mlp import MLP, Architecture
from shipyard.pipeline.task import task


@pytest.mark.parametrize(
    ("on_gpu", "bf16", "expected"),
    [(False, False, "32-true"), (True, True, "bf16-mixed"), (True, False, "16-mixed")],
)
def test_auto_precision_follows_hardware(on_gpu, bf16, expected):
    assert pick_precision(on_gpu, bf16) == expected


def test_explicit_precision_is_kept():
    assert resolve_precision("64-true", "cpu") == "64-true"


def test_auto_precision_on_cpu_accelerator_is_fp32():
    assert resolve_precision("auto", "cpu") == "32-true"


def test_metrics_of_a_perfect_and_a_wrong_classifier():
    classes = task("classification")
    y = np.array([0, 1, 2, 2])
    perfect = np.eye(3)[y] * 0.97 + 0.01
    m = metrics(classes, y, perfect)
    assert list(m) == ["accuracy", "f1_macro", "roc_auc", "log_loss"]  # metrics.json's order
    assert m["accuracy"] == 1.0 and m["log_loss"] == pytest.approx(-np.log(0.98), rel=1e-6)
    wrong = np.eye(3)[(y + 1) % 3] * 0.97 + 0.01
    assert metrics(classes, y, wrong)["accuracy"] == 0.0


def test_regression_metrics_in_their_order():
    y = np.array([1.0, 2.0, 3.0])
    m = metrics(task("regression"), y, y + 1)
    assert m == {"rmse": 1.0, "mae": 1.0, "r2": pytest.approx(-0.5)}


def featurized_test(y: np.ndarray) -> pd.DataFrame:
    """A features file's test part: row ids, labels, two float32 features."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(y), 2)).astype(np.float32)
    return pd.DataFrame(
        {"row_id": np.arange(len(y)) + 100, "label": y, "f0": x[:, 0], "f1": x[:, 1]}
    )


def test_scoring_a_classifier_and_a_baseline_that_missed_a_class():
    import torch
    from sklearn.linear_model import LogisticRegression

    classes, labels = task("classification"), ["a", "b", "c"]
    test = featurized_test(np.arange(30) % 3)
    x = test[["f0", "f1"]].to_numpy()
    baseline = LogisticRegression().fit(x, np.where(x[:, 0] > 0, 2, 0))  # never saw "b"
    torch.manual_seed(0)
    net = MLP(Architecture(2, [4], 3, 0.0, "classification")).eval()
    y_true, scored = score(classes, labels, net, baseline, test)
    assert y_true.tolist() == test["label"].tolist()
    for name, model in scored.items():
        assert model.scores.dtype == np.float64 and model.scores.shape == (30, 3), name
        np.testing.assert_allclose(model.scores.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert list(model.metrics) == list(classes.metrics)
        assert model.predictions["row_id"].tolist() == list(range(100, 130))
        np.testing.assert_array_equal(classes.scores(model.predictions), model.scores)
    assert (scored["baseline"].scores[:, 1] == 0).all()
    assert scored["mlp"].metrics["log_loss"] == pytest.approx(
        -np.log(scored["mlp"].scores[np.arange(30), y_true]).mean()
    )


def test_scoring_a_regressor_in_float64():
    import torch
    from sklearn.linear_model import Ridge

    values = task("regression")
    test = featurized_test(np.linspace(0, 10, 20).astype(np.float32))
    baseline = Ridge().fit(test[["f0", "f1"]].to_numpy(), test["label"].to_numpy())
    torch.manual_seed(0)
    net = MLP(Architecture(2, [4], 1, 0.0, "regression", 5.0, 3.0)).eval()
    y_true, scored = score(values, None, net, baseline, test)
    assert y_true.dtype == np.float64
    for model in scored.values():
        assert model.scores.dtype == np.float64 and model.scores.shape == (20,)
        assert list(model.metrics) == ["rmse", "mae", "r2"]
        assert list(model.predictions.columns) == ["row_id", "label", "predicted"]


def test_plot_sample_is_all_rows_or_a_seeded_subset():
    from shipyard.pipeline.evaluation import plot_sample

    assert plot_sample(10, 50, 0).tolist() == list(range(10))
    sample = plot_sample(100_000, 500, 3)
    assert len(set(sample)) == 500 and list(sample) == sorted(sample)
    assert (plot_sample(100_000, 500, 3) == sample).all()
