import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from shipyard.fast_transform import compile_featurizer


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, size=(200, 5))
    x[rng.random(x.shape) < 0.1] = np.nan
    return x


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
@pytest.mark.parametrize("with_mean", [True, False])
def test_compiled_pipeline_equals_scikit_learn(data, strategy, with_mean):
    pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy=strategy, fill_value=0.5)),
            ("scale", StandardScaler(with_mean=with_mean)),
        ]
    ).fit(data)
    fast = compile_featurizer(pipe)
    assert fast is not None
    np.testing.assert_allclose(fast(data), pipe.transform(data), rtol=1e-12, atol=1e-12)


def test_unknown_steps_fall_back(data):
    pipe = Pipeline([("impute", SimpleImputer()), ("scale", MinMaxScaler())]).fit(data)
    assert compile_featurizer(pipe) is None
    indicator = SimpleImputer(add_indicator=True).fit(data)
    assert compile_featurizer(indicator) is None


def test_column_missing_in_all_training_rows_falls_back(data):
    data[:, 2] = np.nan
    assert compile_featurizer(SimpleImputer(keep_empty_features=False).fit(data)) is None


def test_numeric_only_column_transformer_compiles_mixed_does_not(data):
    import pandas as pd

    from shipyard import features
    from tests.conftest import data_config, standard_features

    frame = pd.DataFrame(data, columns=list("abcde"))
    numeric = data_config(numeric_features=list("abcde"))
    featurizer = features.build_featurizer(numeric, standard_features()).fit(frame)
    fast = compile_featurizer(featurizer)
    assert fast is not None
    np.testing.assert_allclose(fast(data), featurizer.transform(frame), rtol=1e-12, atol=1e-12)

    mixed = data_config(numeric_features=list("abcd"), categorical_features=["k"])
    frame = frame.drop(columns="e").assign(k=["u", "v"] * 100)
    assert (
        compile_featurizer(features.build_featurizer(mixed, standard_features()).fit(frame)) is None
    )
