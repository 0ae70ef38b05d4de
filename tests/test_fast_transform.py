import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

from shipyard.workarounds.fast_transform import compile_featurizer

NUMERIC = list("abcde")


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, size=(200, 5))
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


def numeric_only(pipe: Pipeline, x: np.ndarray) -> ColumnTransformer:
    frame = pd.DataFrame(x, columns=NUMERIC)
    return ColumnTransformer([("numeric", pipe, NUMERIC)]).fit(frame)


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
@pytest.mark.parametrize("with_mean", [True, False])
def test_compiled_numeric_equals_scikit_learn(data, strategy, with_mean):
    pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy=strategy, fill_value=0.5)),
            ("scale", StandardScaler(with_mean=with_mean)),
        ]
    )
    featurizer = numeric_only(pipe, data)
    fast = compile_featurizer(featurizer)
    assert fast is not None
    expected = featurizer.transform(pd.DataFrame(data, columns=NUMERIC))
    got = fast(data, np.empty((len(data), 0), dtype=object))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_unknown_steps_fall_back(data):
    minmax = Pipeline([("impute", SimpleImputer()), ("scale", MinMaxScaler())])
    assert compile_featurizer(numeric_only(minmax, data)) is None
    indicator = Pipeline([("impute", SimpleImputer(add_indicator=True))])
    assert compile_featurizer(numeric_only(indicator, data)) is None


def test_column_missing_in_all_training_rows_falls_back(data):
    data[:, 2] = np.nan
    pipe = Pipeline([("impute", SimpleImputer(keep_empty_features=False))])
    assert compile_featurizer(numeric_only(pipe, data)) is None


def mixed(encoder) -> tuple[ColumnTransformer, pd.DataFrame]:
    rng = np.random.default_rng(1)
    colors = rng.choice(["red", "green", "blue"], 300).astype(object)
    colors[:30] = None
    colors[30:33] = "mauve"  # rare: below min_frequency
    sizes = rng.choice(["s", "m", "l", "xl"], 300).astype(object)  # never missing in training
    frame = pd.DataFrame({"a": rng.normal(size=300), "color": colors, "size": sizes})
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="__missing__")),
            ("encode", encoder),
        ]
    )
    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    featurizer = ColumnTransformer(
        [("numeric", numeric, ["a"]), ("categorical", categorical, ["color", "size"])]
    )
    return featurizer.fit(frame), frame


PROBES = pd.DataFrame(
    {
        "a": [0.5, np.nan, 1.0, -2.0, 0.0],
        "color": ["red", "mauve", None, "ultraviolet", "blue"],
        "size": ["xl", None, "s", "xxs", "m"],  # None and "xxs": never seen in training
    }
)


@pytest.mark.parametrize(
    "encoder",
    [
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False),
        OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=3, sparse_output=False),
    ],
    ids=["infrequent", "ignore-with-rare", "ignore", "max-categories"],
)
def test_compiled_categories_equal_scikit_learn(encoder):
    import warnings

    featurizer, _ = mixed(encoder)
    fast = compile_featurizer(featurizer)
    assert fast is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unknown categories, on purpose
        expected = featurizer.transform(PROBES)
    got = fast(PROBES[["a"]].to_numpy(), PROBES[["color", "size"]].to_numpy(dtype=object))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_other_encoders_fall_back():
    ordinal = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    assert compile_featurizer(mixed(ordinal)[0]) is None
    strict = OneHotEncoder(handle_unknown="error", sparse_output=False)
    assert compile_featurizer(mixed(strict)[0]) is None
    dropping = OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False)
    assert compile_featurizer(mixed(dropping)[0]) is None
