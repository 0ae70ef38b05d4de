"""Each task on its own: metrics and which way they are better, scores, baseline, the
per-row predictions frame, evaluate's plots and the service's answer."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.config import MODELS, ConfigError
from shipyard.pipeline.task import TASKS, check_data, higher_is_better, metric, task
from tests.helpers import data_config

CLASSES = task("classification")
VALUES = task("regression")


def test_unknown_task_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown task 'ranking'.*\['classification', "):
        task("ranking")
    with pytest.raises(ConfigError, match="unknown task 'ranking'"):  # data.task asks it
        check_data(data_config(task="ranking", labels=None))


def test_metric_names_are_unique_across_tasks_and_directions_come_with_them():
    names = [name for t in TASKS.values() for name in t.metrics]
    assert len(names) == len(set(names))
    assert higher_is_better("accuracy") and higher_is_better("mlp.r2")
    assert not higher_is_better("mlp.log_loss") and not higher_is_better("baseline.rmse")
    owner, function, higher = metric("mlp.mae")
    assert owner is VALUES and function(np.array([1.0, 3.0]), np.array([2.0, 2.0])) == 1.0
    assert not higher
    with pytest.raises(ConfigError, match=r"unknown metric 'mlp\.loss'"):
        higher_is_better("mlp.loss")


def good_and_bad(t, rng):
    """Scores of a good and a poor model for the same truth, as `t` scores."""
    if t is CLASSES:
        y = np.arange(300) % 3
        good = np.where(rng.random(300) < 0.9, y, (y + 1) % 3)
        bad = np.where(rng.random(300) < 0.5, y, (y + 1) % 3)
        return y, np.eye(3)[good] * 0.8 + 0.2 / 3, np.eye(3)[bad] * 0.8 + 0.2 / 3
    y = rng.normal(100, 20, 300)
    return y, y + rng.normal(0, 5, 300), y + rng.normal(0, 20, 300)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_metric_prefers_the_better_model_in_its_direction(name):
    t = task(name)
    y, good, bad = good_and_bad(t, np.random.default_rng(0))
    for metric_name, (function, higher) in t.metrics.items():
        assert (function(y, good) > function(y, bad)) == higher, metric_name


def test_classification_metrics_of_a_perfect_classifier_and_binary_auc():
    y = np.array([0, 1, 2, 2])
    perfect = np.eye(3)[y] * 0.97 + 0.01
    m = {name: function(y, perfect) for name, (function, _) in CLASSES.metrics.items()}
    assert m["accuracy"] == m["f1_macro"] == m["roc_auc"] == 1.0
    assert m["log_loss"] == pytest.approx(-np.log(0.98), rel=1e-6)
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    roc_auc, _ = CLASSES.metrics["roc_auc"]
    assert roc_auc(np.array([0, 0, 1, 1]), proba) == 1.0  # the positive column's score


def test_regression_metrics_match_scikit_learn():
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rng = np.random.default_rng(0)
    y = rng.normal(50, 10, 200)
    predicted = y + rng.normal(0, 3, 200)
    m = {name: function(y, predicted) for name, (function, _) in VALUES.metrics.items()}
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, predicted)))
    assert m["mae"] == pytest.approx(mean_absolute_error(y, predicted))
    assert m["r2"] == pytest.approx(r2_score(y, predicted))


def test_network_outputs_become_scores():
    import torch

    from shipyard.pipeline.mlp import MLP, Architecture, predict

    torch.manual_seed(0)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    classifier = MLP(Architecture(4, [8], CLASSES.n_outputs(["a", "b", "c"]), 0.0, CLASSES.name))
    proba = predict(classifier.eval(), x)
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1.0)
    logits = classifier(torch.from_numpy(x)).detach().numpy()
    assert (proba.argmax(axis=1) == logits.argmax(axis=1)).all()

    mean, std = VALUES.target_scale(np.array([90.0, 110.0]))
    assert (mean, std) == (100.0, 10.0)
    regressor = MLP(Architecture(4, [8], 1, 0.0, VALUES.name, mean, std)).eval()
    values = predict(regressor, x)
    standardized = regressor.layers(torch.from_numpy(x)).detach().numpy()[:, 0]
    assert values.shape == (5,)
    np.testing.assert_allclose(values, standardized * 10 + 100, rtol=1e-6)  # in target units


def test_baseline_widens_to_every_label_when_a_class_is_missing_from_training():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = np.where(x[:, 0] > 0, 2, 0)  # class 1 never seen in training
    estimator = LogisticRegression().fit(x, y)
    raw = CLASSES.baseline_scores(estimator, x[:5], ["a", "b", "c"])
    assert raw.shape == (5, 3) and (raw[:, 1] == 0).all()
    np.testing.assert_array_equal(raw[:, [0, 2]], estimator.predict_proba(x[:5]))
    # float32 probabilities sum to 1 within float32 rounding only; tidy makes it exact enough.
    tidy = CLASSES.tidy(np.float32([[0.1, 0.2, 0.7000001]]).astype(np.float64))
    assert abs(tidy.sum() - 1.0) < 1e-12


def test_predictions_frame_round_trips_to_scores():
    ids = pd.Series([7, 3], index=[10, 11])
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    frame = CLASSES.predictions_frame(ids, np.array([1, 0]), proba, ["no", "yes"])
    assert list(frame.columns) == ["row_id", "label", "predicted", "proba_no", "proba_yes"]
    assert frame["row_id"].tolist() == [7, 3] and frame["predicted"].tolist() == [1, 0]
    np.testing.assert_array_equal(CLASSES.scores(frame), proba)

    values = np.array([1.0, 2.5])
    frame = VALUES.predictions_frame(pd.Series([4, 9]), np.array([1.5, 2.0]), values, None)
    assert list(frame.columns) == ["row_id", "label", "predicted"]
    np.testing.assert_array_equal(VALUES.scores(frame), values)


def test_answers_per_row_fit_the_response_model():
    scores = np.array([[0.3, 0.7], [0.9, 0.1]], dtype=np.float32)
    answers = CLASSES.answers(["cat", "dog"], scores)
    assert answers[0]["label"] == "dog" and answers[1]["label"] == "cat"
    # the float32 scores as Python floats, each the float() of its cell
    assert answers[1]["probabilities"] == {"cat": float(scores[1, 0]), "dog": float(scores[1, 1])}
    for answer in answers:
        CLASSES.response_model().model_validate({**answer, "model_version": "v"})
    assert CLASSES.answers(["cat", "dog"], np.array([0.3, 0.7])) == [
        {"label": "dog", "probabilities": {"cat": 0.3, "dog": 0.7}}
    ]  # one row's scores
    answers = VALUES.answers(None, np.array([[12.5], [-1.0]], dtype=np.float32))
    assert answers == [{"value": 12.5}, {"value": -1.0}]
    VALUES.response_model().model_validate({**answers[0], "model_version": "v"})


@pytest.mark.parametrize(
    ("name", "y", "scores", "files"),
    [
        (
            "classification",
            np.array([0, 1, 1]),
            np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]),
            ["sklearn/confusion/m.json", "sklearn/precision_recall/m.json", "sklearn/roc/m.json"],
        ),
        ("regression", np.array([1.0, 2.0]), np.array([1.5, 1.5]), ["custom/residuals/m.json"]),
    ],
)
def test_each_task_draws_its_own_plots_and_declares_exactly_those(tmp_path, name, y, scores, files):
    from dvclive import Live

    with Live(str(tmp_path), dvcyaml=False, save_dvc_exp=False) as live:
        for model in ("m", "n"):
            task(name).log_plots(live, model, y, scores)
    plots = tmp_path / "plots"
    drawn = {str(p.relative_to(tmp_path)) for p in plots.rglob("*.json")}
    assert drawn == {f"plots/{f.replace('/m.', f'/{m}.')}" for f in files for m in ("m", "n")}
    if name == "regression":
        points = json.loads((plots / files[0]).read_text())
        assert points[0] == {"actual": 1.0, "predicted": 1.5, "residual": 0.5}
    # The plots DVC is told about draw on exactly these files.
    definitions = task(name).plots(["m", "n"])
    declared = {path for plot in definitions for props in plot.values() for path in props["y"]}
    assert declared == drawn
    titles = [title for plot in definitions for title in plot]
    assert len(titles) == len(set(titles))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_validation_metric_has_a_curve(name):
    import torch

    t = task(name)
    if t.labelled:  # logits for 2 labels, class indices
        out, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
    else:  # values
        out, y = torch.zeros(4), torch.zeros(4)
    assert set(t.val_metrics(out, y)) == set(t.val_curves)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_evaluate_declares_the_task_plots_beside_its_files(name):
    from shipyard.pipeline.evaluation import plot_definitions

    written = plot_definitions(task(name), Path("reports/evaluate"), Path("dvclive/train"))
    plots = written["plots"]
    curves = plots[: len(task(name).val_curves)]
    assert plots[len(curves) :] == task(name).plots(MODELS)
    for plot, (logged, title) in zip(curves, task(name).val_curves.items(), strict=True):
        # paths relative to the file's folder, as DVC reads them
        assert plot[title]["y"] == {f"../../dvclive/train/plots/metrics/val/{logged}.tsv": logged}
