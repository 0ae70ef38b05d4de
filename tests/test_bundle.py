import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from shipyard.pipeline import bundle, inference, mlp, sklearn_io
from shipyard.pipeline.evaluation import score
from shipyard.pipeline.feature_files import ROW_ID
from shipyard.pipeline.features import transform
from shipyard.pipeline.task import task
from tests.helpers import data_config, toy_bundle

DATA = data_config(labels=["a", "b", "c"], numeric_features=["x", "y"])
CHURN = data_config(
    numeric_features=["tenure", "spend"],
    categorical_features=["plan"],
    nullable=["plan", "spend"],
    drop=["customer_id"],
)
REGRESSION = data_config(task="regression", labels=None, numeric_features=["x", "y", "z"])


@pytest.fixture
def made(tmp_path):
    return toy_bundle(tmp_path, DATA)


def test_bundle_predicts_raw_rows_like_the_pipeline(made):
    out, raw = made
    loaded = inference.Bundle.load(out)
    expected = mlp.predict(loaded.model, loaded.featurizer.transform(raw[["x", "y"]]))
    assert expected.shape == (60, 3)
    # Columns in another order: the bundle selects features by name.
    got = loaded.predict(raw[["y", "x"]])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert loaded._fast is not None  # numeric-only: the numpy hot path
    np.testing.assert_allclose(
        loaded.predict_array(raw[["x", "y"]].to_numpy()), expected, rtol=1e-6
    )
    assert loaded.labels == ["a", "b", "c"]
    assert loaded.version.startswith("toy-mlp-")
    assert loaded.version in (out / "README.md").read_text()


def test_mixed_bundle_takes_categories_and_regression_answers_values(tmp_path):
    data = data_config(
        task="regression",
        labels=None,
        numeric_features=["x"],
        categorical_features=["kind"],
        nullable=["x", "kind"],
    )
    out, _ = toy_bundle(tmp_path, data, n_rows=90)
    loaded = inference.Bundle.load(out)
    assert loaded._fast is not None  # categories too: dict lookups, no DataFrame
    rows = pd.DataFrame({"kind": ["q", "never-seen", None], "x": [0.5, None, 1.0]})
    got = loaded.predict(rows)
    assert got.shape == (3,) and np.isfinite(got).all()
    expected = mlp.predict(
        loaded.model,
        loaded.featurizer.transform(
            pd.DataFrame({"x": [0.5, np.nan, 1.0], "kind": ["q", "never-seen", np.nan]})
        ),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert "labels" not in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("kind", "model_files"),
    [("mlp", ["model.safetensors", "model.json"]), ("baseline", ["model.skops"])],
)
def test_bundle_holds_only_code_free_formats(tmp_path, kind, model_files):
    out, _ = toy_bundle(tmp_path, DATA, model_kind=kind)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["featurizer.skops", *model_files, "schema.json", "card.json", "README.md"]
    )


@pytest.mark.parametrize("kind", ["mlp", "baseline"])
@pytest.mark.parametrize("data", [DATA, CHURN, REGRESSION], ids=["digits", "churn", "values"])
def test_either_model_kind_answers_exactly_what_evaluate_scores(tmp_path, data, kind):
    """The bundle round trip, for each model it can ship: raw rows in, the very scores
    evaluate computes for the same rows (pipeline/evaluation.py: score), on every path."""
    out, raw = toy_bundle(tmp_path, data, n_rows=90, model_kind=kind)
    loaded = inference.Bundle.load(out)
    assert loaded.kind == kind == bundle.read_card(out)["model"]
    assert isinstance(loaded.model, mlp.MLP) == (kind == "mlp")
    if data.categorical_features:  # gaps where the data allows them
        raw.loc[::7, "plan"] = None
    target = np.resize(data.labels, len(raw)) if data.labels else np.arange(len(raw), dtype=float)
    test = transform(
        raw.assign(**{data.target: target, ROW_ID: raw.index}), loaded.featurizer, data
    )
    _, scored = score(
        task(data.task),
        data.labels,
        mlp.load(tmp_path / "mlp"),
        sklearn_io.load(tmp_path / "baseline.skops"),
        test,
    )
    expected = scored[kind].scores
    np.testing.assert_array_equal(loaded.predict(raw), expected)
    rows = raw[loaded.features].astype(object).where(raw[loaded.features].notna(), None)
    np.testing.assert_array_equal(loaded.predict_values(rows.values.tolist()), expected)
    if not data.categorical_features:
        np.testing.assert_array_equal(
            loaded.predict_array(raw[loaded.features].to_numpy()), expected
        )


def test_choice_is_the_better_model_by_the_main_metric_ties_to_the_baseline():
    higher = {"mlp": {"accuracy": 0.9}, "baseline": {"accuracy": 0.8}}
    assert bundle.choose(higher, "accuracy", True, "best") == ("mlp", pytest.approx(0.1))
    assert bundle.choose(higher, "accuracy", True, "baseline") == ("baseline", pytest.approx(-0.1))
    assert bundle.choose(higher, "accuracy", True, "mlp") == ("mlp", pytest.approx(0.1))
    # Lower is better (rmse): the margin is still positive for the better model.
    lower = {"mlp": {"rmse": 55.0, "r2": 0.5}, "baseline": {"rmse": 52.0, "r2": 0.4}}
    assert bundle.choose(lower, "rmse", False, "best") == ("baseline", 3.0)
    assert bundle.choose(lower, "rmse", False, "mlp") == ("mlp", -3.0)
    assert bundle.choose(lower, "r2", True, "best") == ("mlp", pytest.approx(0.1))
    # A tie ships the simpler model, with a margin of exactly 0 (not -0.0).
    tie = {"mlp": {"rmse": 50.0}, "baseline": {"rmse": 50.0}}
    model, margin = bundle.choose(tie, "rmse", False, "best")
    assert (model, str(margin)) == ("baseline", "0.0")
    nan = {"mlp": {"accuracy": float("nan")}, "baseline": {"accuracy": 0.5}}
    assert bundle.choose(nan, "accuracy", True, "best")[0] == "baseline"
    with pytest.raises(ValueError, match=r"package\.model: 'forest'"):
        bundle.choose(higher, "accuracy", True, "forest")


def test_card_says_which_model_won_and_by_how_much(tmp_path):
    out, _ = toy_bundle(tmp_path, DATA, model_kind="baseline")
    card = bundle.read_card(out)
    assert card["model"] == "baseline"
    assert card["selection"] == {
        "wanted": "best",
        "main_metric": "accuracy",
        "higher_is_better": True,
        "scores": {"mlp": 0.5, "baseline": 0.75},
        "margin": 0.25,
    }
    assert card["params"]["package"] == {"model": "best"}
    line = "Ships: **baseline** (package.model: best): test accuracy 0.7500 vs mlp 0.5000, "
    assert f"- {line}better by 0.2500\n" in (out / "README.md").read_text()
    tie = {**card, "selection": {**card["selection"], "margin": 0.0}}
    assert bundle.shipped(tie).endswith("a tie, so the simpler model")
    assert bundle.shipped({"version": "old"}) == "Ships: **mlp**"  # a card from before


def test_version_follows_the_shipped_model(tmp_path):
    mlp_card = bundle.read_card(toy_bundle(tmp_path / "a", DATA)[0])
    baseline_card = bundle.read_card(toy_bundle(tmp_path / "b", DATA, model_kind="baseline")[0])
    assert mlp_card["version"].startswith("toy-mlp-")
    assert baseline_card["version"].startswith("toy-baseline-")
    # content-addressed: the same estimator, the same version
    again = bundle.read_card(toy_bundle(tmp_path / "c", DATA, model_kind="baseline")[0])
    assert again["version"] == baseline_card["version"]


def test_schema_comes_from_the_data_config_and_round_trips(tmp_path):
    schema = bundle.schema_for(CHURN)
    assert schema.features == ["tenure", "spend", "plan"]  # numeric, then categorical
    assert schema.categorical == ["plan"]
    assert schema.nullable == ["spend", "plan"]  # in feature order
    assert schema.ignored == ["customer_id"] and schema.labels == ["no", "yes"]
    # The file's key order is the version's input and the service's contract.
    assert list(json.loads(schema.to_json())) == [
        "task",
        "features",
        "categorical",
        "nullable",
        "ignored",
        "target",
        "labels",
    ]
    assert bundle.BundleSchema.from_json(schema.to_json()) == schema
    out, _ = toy_bundle(tmp_path, CHURN)
    assert bundle.read_schema(out) == schema


def test_schema_with_unknown_or_missing_keys_is_refused():
    raw = json.loads(bundle.schema_for(CHURN).to_json())
    with pytest.raises(ValueError, match=r"unknown keys \['colour'\], missing keys \[\]"):
        bundle.BundleSchema.from_json(json.dumps({**raw, "colour": "red"}))
    del raw["nullable"]
    with pytest.raises(ValueError, match=r"missing keys \['nullable'\]"):
        bundle.BundleSchema.from_json(json.dumps(raw))


def test_card_names_task_data_metrics_and_params(made):
    out, _ = made
    card = bundle.read_card(out)
    assert card["task"] == "classification" and card["labels"] == ["a", "b", "c"]
    assert card["dataset"] == "toy" and card["n_features"] == 2
    assert card["params"]["model"]["hidden_sizes"] == [8] and card["params"]["trainer"] is None


def test_version_is_content_addressed():
    schema = bundle.schema_for(DATA)
    v1 = bundle.model_version("d", "m", b"weights", schema)
    assert v1.startswith("d-m-") and v1 == bundle.model_version("d", "m", b"weights", schema)
    assert v1 != bundle.model_version("d", "m", b"other", schema)
    changed = replace(schema, labels=["a", "b", "d"])
    assert v1 != bundle.model_version("d", "m", b"weights", changed)


class Sneaky:
    """Not a scikit-learn type: loading it would run our code."""


def test_skops_refuses_types_outside_sklearn_and_numpy(tmp_path):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    sklearn_io.dump(Pipeline([("f", FunctionTransformer(Sneaky))]), tmp_path / "evil.skops")
    with pytest.raises(ValueError, match="untrusted"):
        sklearn_io.load(tmp_path / "evil.skops")
