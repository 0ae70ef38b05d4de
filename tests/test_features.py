import numpy as np
import pandas as pd
import pytest

from shipyard import features
from shipyard.config import DataConfig
from tests.conftest import standard_features

DATA = DataConfig(
    name="toy",
    task="classification",
    source={},
    target="target",
    labels=["no", "yes"],
    min_rows=1,
    numeric_features=["a", "b"],
)
CFG = standard_features()


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    target = np.where(np.arange(500) % 4 == 0, "yes", "no")  # 25% positives
    return pd.DataFrame({"a": rng.normal(5, 2, 500), "b": rng.normal(size=500), "target": target})


def test_split_is_disjoint_complete_stratified_and_seeded(table):
    parts = features.split(table, "target", CFG, seed=3)
    ids = [set(p[features.ROW_ID]) for p in parts.values()]
    assert set.union(*ids) == set(range(500))
    assert sum(len(i) for i in ids) == 500
    assert len(parts["test"]) == 100 and len(parts["val"]) == 100
    for part in parts.values():
        assert (part["target"] == "yes").mean() == pytest.approx(0.25, abs=0.02)
    again = features.split(table, "target", CFG, seed=3)
    assert all(parts[k].equals(again[k]) for k in parts)
    assert not features.split(table, "target", CFG, seed=4)["test"].equals(parts["test"])


def test_featurizer_is_fit_on_train_only(table):
    parts = features.split(table, "target", CFG, seed=3)
    featurizer = features.build_featurizer(CFG).fit(parts["train"][DATA.numeric_features])
    scaler = featurizer.named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, parts["train"][["a", "b"]].mean().to_numpy())
    out = features.transform(parts["train"], featurizer, DATA)
    assert list(out.columns) == [features.ROW_ID, features.LABEL, "a", "b"]
    assert out["a"].dtype == np.float32
    np.testing.assert_allclose(out[["a", "b"]].mean(), 0, atol=1e-5)


def test_imputer_fills_missing_values_with_train_median(table):
    parts = features.split(table, "target", CFG, seed=3)
    featurizer = features.build_featurizer(CFG).fit(parts["train"][DATA.numeric_features])
    row = pd.DataFrame({"a": [np.nan], "b": [0.0]})
    median = parts["train"]["a"].median()
    expected = featurizer.transform(pd.DataFrame({"a": [median], "b": [0.0]}))
    np.testing.assert_allclose(featurizer.transform(row), expected)


def test_labels_encode_to_their_index_in_config():
    encoded = features.encode_labels(pd.Series(["yes", "no", "yes"]), ["no", "yes"])
    assert encoded.tolist() == [1, 0, 1]


def test_arrays_are_writable_copies(table):
    parts = features.split(table, "target", CFG, seed=3)
    featurizer = features.build_featurizer(CFG).fit(parts["train"][DATA.numeric_features])
    x, y = features.arrays(features.transform(parts["test"], featurizer, DATA))
    assert x.shape == (100, 2) and x.flags.writeable and y.dtype == np.int64
