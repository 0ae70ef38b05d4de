import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from shipyard.pipeline import bundle, inference, mlp, sklearn_io
from tests.helpers import data_config, toy_bundle

DATA = data_config(labels=["a", "b", "c"], numeric_features=["x", "y"])
CHURN = data_config(
    numeric_features=["tenure", "spend"],
    categorical_features=["plan"],
    nullable=["plan", "spend"],
    drop=["customer_id"],
)


@pytest.fixture
def made(tmp_path):
    return toy_bundle(tmp_path, DATA)


def test_bundle_predicts_raw_rows_like_the_pipeline(made):
    out, raw = made
    loaded = inference.Bundle.load(out)
    expected = mlp.predict(loaded.net, loaded.featurizer.transform(raw[["x", "y"]]))
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
        loaded.net,
        loaded.featurizer.transform(
            pd.DataFrame({"x": [0.5, np.nan, 1.0], "kind": ["q", "never-seen", np.nan]})
        ),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert "labels" not in (out / "README.md").read_text()


def test_bundle_holds_only_code_free_formats(made):
    out, _ = made
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "featurizer.skops",
            "model.safetensors",
            "model.json",
            "schema.json",
            "card.json",
            "README.md",
        ]
    )


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
