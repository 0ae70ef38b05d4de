import json

import numpy as np
import pandas as pd
import pytest

from shipyard.pipeline import bundle, features, mlp, sklearn_io
from tests.helpers import data_config, standard_features

DATA = data_config(labels=["a", "b", "c"], numeric_features=["x", "y"])
FEATS = standard_features()
SCHEMA = {
    "task": "classification",
    "features": ["x", "y"],
    "categorical": [],
    "nullable": [],
    "ignored": [],
    "target": "target",
    "labels": ["a", "b", "c"],
}


@pytest.fixture
def made(tmp_path):
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    raw = pd.DataFrame(
        {"x": rng.normal(10, 3, 60), "y": rng.normal(size=60), "target": ["a", "b", "c"] * 20}
    )
    featurizer = features.build_featurizer(DATA, FEATS).fit(raw[DATA.numeric_features])
    sklearn_io.dump(featurizer, tmp_path / "featurizer.skops")
    net = mlp.MLP(mlp.Architecture(2, [8], 3, 0.0)).eval()
    mlp.save(net, tmp_path / "mlp")
    card = {
        "version": "toy-1",
        "task": "classification",
        "dataset": "toy",
        "n_features": 2,
        "labels": SCHEMA["labels"],
        "data_md5": "0",
        "metrics": {"mlp": {"accuracy": 0.5}},
        "params": {"seed": 1},
    }
    out = tmp_path / "bundle"
    bundle.write(out, tmp_path / "featurizer.skops", tmp_path / "mlp", SCHEMA, card)
    return raw, featurizer, net, out


def test_bundle_predicts_raw_rows_like_the_pipeline(made):
    raw, featurizer, net, out = made
    loaded = bundle.Bundle.load(out)
    expected = mlp.predict(net, featurizer.transform(raw[["x", "y"]]))
    # Columns in another order: the bundle selects features by name.
    got = loaded.predict(raw[["y", "x"]])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert loaded._fast is not None  # numeric-only: the numpy hot path
    np.testing.assert_allclose(
        loaded.predict_array(raw[["x", "y"]].to_numpy()), expected, rtol=1e-6
    )
    assert loaded.version == "toy-1" and loaded.labels == ["a", "b", "c"]
    assert "toy-1" in (out / "README.md").read_text()


def test_mixed_bundle_takes_categories_and_regression_answers_values(tmp_path):
    data = data_config(
        task="regression",
        labels=None,
        numeric_features=["x"],
        categorical_features=["kind"],
        nullable=["x", "kind"],
    )
    rng = np.random.default_rng(0)
    raw = pd.DataFrame({"x": rng.normal(size=90), "kind": ["p", "q", "r"] * 30})
    featurizer = features.build_featurizer(data, FEATS).fit(raw)
    sklearn_io.dump(featurizer, tmp_path / "f.skops")
    net = mlp.MLP(mlp.Architecture(1 + 3, [8], 1, 0.0, "regression", 50.0, 10.0)).eval()
    mlp.save(net, tmp_path / "mlp")
    schema = {
        **SCHEMA,
        "task": "regression",
        "features": ["x", "kind"],
        "labels": None,
        "categorical": ["kind"],
        "nullable": ["x", "kind"],
    }
    card = {
        "version": "r-1",
        "task": "regression",
        "dataset": "toy",
        "n_features": 2,
        "labels": None,
        "data_md5": "0",
        "metrics": {},
        "params": {},
    }
    bundle.write(tmp_path / "b", tmp_path / "f.skops", tmp_path / "mlp", schema, card)
    loaded = bundle.Bundle.load(tmp_path / "b")
    assert loaded._fast is not None  # categories too: dict lookups, no DataFrame
    rows = pd.DataFrame({"kind": ["q", "never-seen", None], "x": [0.5, None, 1.0]})
    got = loaded.predict(rows)
    assert got.shape == (3,) and np.isfinite(got).all()
    expected = mlp.predict(
        net,
        featurizer.transform(
            pd.DataFrame({"x": [0.5, np.nan, 1.0], "kind": ["q", "never-seen", np.nan]})
        ),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert "labels" not in (tmp_path / "b" / "README.md").read_text()


def test_bundle_holds_only_code_free_formats(made):
    *_, out = made
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
    assert json.loads((out / "schema.json").read_text()) == SCHEMA


def test_version_is_content_addressed():
    v1 = bundle.model_version("m", b"weights", SCHEMA)
    assert v1 == bundle.model_version("m", b"weights", SCHEMA)
    assert v1 != bundle.model_version("m", b"other", SCHEMA)


class Sneaky:
    """Not a scikit-learn type: loading it would run our code."""


def test_skops_refuses_types_outside_sklearn_and_numpy(tmp_path):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    sklearn_io.dump(Pipeline([("f", FunctionTransformer(Sneaky))]), tmp_path / "evil.skops")
    with pytest.raises(ValueError, match="untrusted"):
        sklearn_io.load(tmp_path / "evil.skops")
