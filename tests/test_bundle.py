import json

import numpy as np
import pandas as pd
import pytest

from shipyard import bundle, features, sklearn_io
from shipyard.config import DataConfig
from shipyard.models import mlp
from tests.conftest import standard_features

DATA = DataConfig(
    name="toy",
    task="classification",
    source={},
    target="target",
    labels=["a", "b", "c"],
    min_rows=1,
    numeric_features=["x", "y"],
)
FEATS = standard_features()
SCHEMA = {
    "task": "classification",
    "features": ["x", "y"],
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
    featurizer = features.build_featurizer(FEATS).fit(raw[DATA.numeric_features])
    sklearn_io.dump(featurizer, tmp_path / "featurizer.skops")
    net = mlp.MLP(mlp.Architecture(2, [8], 3, 0.0)).eval()
    mlp.save(net, tmp_path / "mlp")
    card = {
        "version": "toy-1",
        "task": "classification",
        "dataset": "toy",
        "n_features": 2,
        "labels": SCHEMA["labels"],
        "git_commit": "abc",
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
    expected = mlp.predict_proba(net, featurizer.transform(raw[["x", "y"]])).numpy()
    # Columns in another order: the bundle selects features by name.
    got = loaded.predict_proba(raw[["y", "x"]])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert loaded.version == "toy-1" and loaded.labels == ["a", "b", "c"]
    assert "toy-1" in (out / "README.md").read_text()


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
