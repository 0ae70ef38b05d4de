import pandas as pd
import pytest

from shipyard.data import sources


def test_synthetic_is_seeded_and_uses_configured_names():
    args = dict(
        n_rows=200,
        features=["a", "b", "c"],
        labels=["x", "y"],
        n_informative=2,
        class_sep=1.0,
        seed=7,
    )
    first, second = (
        sources.synthetic_classification(**args),
        sources.synthetic_classification(**args),
    )
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == ["a", "b", "c", "target"]
    assert set(first["target"]) == {"x", "y"}
    other = sources.synthetic_classification(**{**args, "seed": 8})
    assert not first.equals(other)


def test_sklearn_bundled_digits():
    frame = sources.sklearn_bundled("digits")
    assert frame.shape == (1797, 65)
    assert sorted(frame["target"].unique()) == list(range(10))


def test_sklearn_bundled_unknown_name():
    with pytest.raises(ValueError, match="no dataset named 'nope'"):
        sources.sklearn_bundled("nope")


def test_read_table_does_not_judge_an_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert sources.read_table(str(empty)).empty


def test_read_table_parquet_roundtrip(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "target": [0, 1]})
    frame.to_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(sources.read_table(str(tmp_path / "t.parquet")), frame)
