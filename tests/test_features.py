import numpy as np
import pandas as pd
import pytest

from shipyard.pipeline import feature_files, features
from tests.helpers import data_config, standard_features

DATA = data_config()
MIXED = data_config(numeric_features=["a"], categorical_features=["color"], nullable=["color"])
REGRESSION = data_config(task="regression", labels=None)
CFG = standard_features()


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    target = np.where(np.arange(500) % 4 == 0, "yes", "no")  # 25% positives
    return pd.DataFrame({"a": rng.normal(5, 2, 500), "b": rng.normal(size=500), "target": target})


def fitted(parts: dict[str, pd.DataFrame], data=DATA):
    train = features.inputs(parts["train"], data.features, data.categorical_features)
    return features.build_featurizer(data, CFG).fit(train)


def test_split_is_disjoint_complete_stratified_and_seeded(table):
    parts = features.split(table, DATA, CFG, seed=3)
    ids = [set(p[feature_files.ROW_ID]) for p in parts.values()]
    assert set.union(*ids) == set(range(500))
    assert sum(len(i) for i in ids) == 500
    assert len(parts["test"]) == 100 and len(parts["val"]) == 100
    for part in parts.values():
        assert (part["target"] == "yes").mean() == pytest.approx(0.25, abs=0.02)
    again = features.split(table, DATA, CFG, seed=3)
    assert all(parts[k].equals(again[k]) for k in parts)
    assert not features.split(table, DATA, CFG, seed=4)["test"].equals(parts["test"])


def test_regression_split_and_float_targets(table):
    table = table.assign(target=np.linspace(0, 100, 500))
    parts = features.split(table, REGRESSION, CFG, seed=3)
    assert sum(len(p) for p in parts.values()) == 500
    _, y = feature_files.arrays(
        features.transform(parts["test"], fitted(parts, REGRESSION), REGRESSION)
    )
    assert y.dtype == np.float32 and set(y) <= set(np.linspace(0, 100, 500).astype(np.float32))


def test_featurizer_is_fit_on_train_only(table):
    parts = features.split(table, DATA, CFG, seed=3)
    featurizer = fitted(parts)
    scaler = featurizer.named_transformers_["numeric"]["scale"]
    np.testing.assert_allclose(scaler.mean_, parts["train"][["a", "b"]].mean().to_numpy())
    out = features.transform(parts["train"], featurizer, DATA)
    assert list(out.columns) == [
        feature_files.ROW_ID,
        feature_files.LABEL,
        "numeric__a",
        "numeric__b",
    ]
    assert out["numeric__a"].dtype == np.float32
    np.testing.assert_allclose(out[["numeric__a", "numeric__b"]].mean(), 0, atol=1e-5)


def test_imputer_fills_missing_values_with_train_median(table):
    parts = features.split(table, DATA, CFG, seed=3)
    featurizer = fitted(parts)
    row = pd.DataFrame({"a": [np.nan], "b": [0.0]})
    median = parts["train"]["a"].median()
    expected = featurizer.transform(pd.DataFrame({"a": [median], "b": [0.0]}))
    np.testing.assert_allclose(featurizer.transform(row), expected)


@pytest.fixture
def colors() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    color = rng.choice(["red", "green", "blue"], 300).astype(object)
    color[:40] = None  # missing: a category of its own
    color[40:42] = "mauve"  # rarer than min_frequency: "infrequent"
    return pd.DataFrame({"a": rng.normal(size=300), "color": color, "target": ["no", "yes"] * 150})


def one_hot(featurizer, rows: pd.DataFrame) -> dict[str, float]:
    x = features.featurize(features.inputs(rows, MIXED.features, ["color"]), featurizer)
    names = featurizer.get_feature_names_out()
    return {n.split("__", 1)[1]: v for n, v in zip(names, x[0], strict=True) if "color" in n}


def test_categories_one_hot_with_missing_and_unseen_defined(colors):
    featurizer = fitted({"train": colors}, MIXED)
    columns = sorted(one_hot(featurizer, colors.head(1)))
    assert columns == [
        "color___missing__",
        "color_blue",
        "color_green",
        "color_infrequent_sklearn",
        "color_red",
    ]
    red = one_hot(featurizer, pd.DataFrame({"a": [0.0], "color": ["red"]}))
    assert red["color_red"] == 1.0 and sum(red.values()) == 1.0
    missing = one_hot(featurizer, pd.DataFrame({"a": [0.0], "color": [None]}))
    assert missing["color___missing__"] == 1.0 and sum(missing.values()) == 1.0
    # Never seen in training: encoded like the rare categories, without a warning per call.
    unseen = one_hot(featurizer, pd.DataFrame({"a": [0.0], "color": ["ultraviolet"]}))
    assert unseen["color_infrequent_sklearn"] == 1.0 and sum(unseen.values()) == 1.0


def test_integer_categories_are_text(colors):
    codes = colors.assign(color=colors["color"].map({"red": 1, "green": 2, "blue": 3}))
    featurizer = fitted({"train": codes}, MIXED)
    assert one_hot(featurizer, pd.DataFrame({"a": [0.0], "color": ["2"]}))["color_2"] == 1.0
    assert one_hot(featurizer, pd.DataFrame({"a": [0.0], "color": [2]}))["color_2"] == 1.0


def test_labels_encode_to_their_index_in_config_and_values_to_float():
    from shipyard.pipeline.task import task

    encoded = task(DATA.task).encode_target(pd.Series(["yes", "no", "yes"]), DATA.labels)
    assert encoded.tolist() == [1, 0, 1] and encoded.dtype == np.int64
    values = task(REGRESSION.task).encode_target(pd.Series([1, 2.5]), REGRESSION.labels)
    assert values.tolist() == [1.0, 2.5] and values.dtype == np.float64


def test_arrays_are_writable_copies(table):
    parts = features.split(table, DATA, CFG, seed=3)
    x, y = feature_files.arrays(features.transform(parts["test"], fitted(parts), DATA))
    assert x.shape == (100, 2) and x.flags.writeable and y.dtype == np.int64


def test_ordinal_encoder_is_a_config_swap_with_unseen_as_minus_one(colors):
    from dataclasses import replace

    ordinal = {
        "_target_": "sklearn.preprocessing.OrdinalEncoder",
        "handle_unknown": "use_encoded_value",
        "unknown_value": -1,
    }
    cfg = replace(CFG, categorical=replace(CFG.categorical, encoder=ordinal))
    featurizer = features.build_featurizer(MIXED, cfg).fit(
        features.inputs(colors, MIXED.features, ["color"])
    )
    rows = pd.DataFrame({"a": [0.0, 0.0], "color": ["red", "ultraviolet"]})
    x = features.featurize(features.inputs(rows, MIXED.features, ["color"]), featurizer)
    assert x.shape == (2, 2) and x[0, 1] >= 0 and x[1, 1] == -1
