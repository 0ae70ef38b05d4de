import numpy as np
import pytest

from shipyard.pipeline.evaluation import metrics, one_vs_rest
from shipyard.pipeline.hardware import pick_precision, resolve_precision


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
    y = np.array([0, 1, 2, 2])
    perfect = np.eye(3)[y] * 0.97 + 0.01
    m = metrics(y, perfect)
    assert m["accuracy"] == 1.0 and m["f1_macro"] == 1.0 and m["roc_auc"] == 1.0
    assert m["log_loss"] == pytest.approx(-np.log(0.98), rel=1e-6)
    wrong = np.eye(3)[(y + 1) % 3] * 0.97 + 0.01
    assert metrics(y, wrong)["accuracy"] == 0.0


def test_binary_auc_uses_positive_column():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    assert metrics(y, proba)["roc_auc"] == 1.0


def test_one_vs_rest_flattens_rows_by_class():
    truth, score = one_vs_rest(np.array([1, 0]), np.array([[0.2, 0.8], [0.6, 0.4]]))
    assert truth.tolist() == [0, 1, 1, 0]
    assert score.tolist() == [0.2, 0.8, 0.6, 0.4]


def test_predictions_frame_keeps_row_ids_and_names_classes():
    import pandas as pd

    from shipyard.pipeline.evaluation import predictions_frame

    frame = predictions_frame(
        pd.Series([7, 3], index=[10, 11]),
        np.array([1, 0]),
        np.array([[0.2, 0.8], [0.6, 0.4]]),
        ["no", "yes"],
    )
    assert list(frame.columns) == ["row_id", "label", "predicted", "proba_no", "proba_yes"]
    assert frame["row_id"].tolist() == [7, 3] and frame["predicted"].tolist() == [1, 0]


def test_regression_metrics_match_scikit_learn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(0)
    y = rng.normal(50, 10, 200)
    predicted = y + rng.normal(0, 3, 200)
    m = metrics(y, predicted)
    assert sorted(m) == ["mae", "r2", "rmse"]
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, predicted)))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, predicted))
    assert m["r2"] == pytest.approx(r2_score(y, predicted))


def test_regression_predictions_frame_round_trips_to_scores():
    import pandas as pd

    from shipyard.pipeline.evaluation import predictions_frame, scores

    frame = predictions_frame(pd.Series([4, 9]), np.array([1.5, 2.0]), np.array([1.0, 2.5]), None)
    assert list(frame.columns) == ["row_id", "label", "predicted"]
    assert scores(frame).tolist() == [1.0, 2.5]


def test_plot_sample_is_all_rows_or_a_seeded_subset():
    from shipyard.pipeline.evaluation import plot_sample

    assert plot_sample(10, 50, 0).tolist() == list(range(10))
    sample = plot_sample(100_000, 500, 3)
    assert len(set(sample)) == 500 and list(sample) == sorted(sample)
    assert (plot_sample(100_000, 500, 3) == sample).all()
