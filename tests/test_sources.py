import pandas as pd
import pytest

from shipyard.pipeline import sources
from tests.helpers import BROKEN_TABLES, ROOT, composed

ARGS = dict(
    n_rows=400,
    numeric_features=["a", "b", "c"],
    categorical_features=["k"],
    labels=["x", "y"],
    n_informative=3,
    n_categories=3,
    noise=0.0,
    seed=7,
)


def test_synthetic_is_seeded_and_uses_configured_names():
    first, second = sources.synthetic(**ARGS), sources.synthetic(**ARGS)
    pd.testing.assert_frame_equal(first, second)
    assert list(first.columns) == ["a", "b", "c", "k", "target"]
    assert set(first["target"]) == {"x", "y"}
    assert set(first["k"]) == {"level_0", "level_1", "level_2"}
    assert not first.equals(sources.synthetic(**{**ARGS, "seed": 8}))


def test_synthetic_categories_carry_signal_and_regression_has_values():
    frame = sources.synthetic(**{**ARGS, "n_rows": 3000})
    shares = frame.groupby("k")["target"].apply(lambda t: (t == "y").mean())
    assert shares.max() - shares.min() > 0.2  # the category predicts the class
    values = sources.synthetic(**{**ARGS, "labels": None, "noise": 1.0})
    assert values["target"].dtype.kind == "f" and values["target"].nunique() == 400


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


def problems(frame: pd.DataFrame) -> list[dict]:
    return frame.attrs.get(sources.READ_PROBLEMS, [])


def test_undecodable_bytes_are_pinned_to_their_cells(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("a,city\n1,Paris\n2,M\xfcnchen\n".encode("latin-1"))
    frame = sources.read_table(str(path))
    assert len(frame) == 2  # the rest of the table is still read
    [problem] = problems(frame)
    assert problem["column"] == "city" and problem["rows"] == [1]
    assert "utf-8" in problem["check"]
    assert sources.read_table(str(path), encoding="latin-1").loc[1, "city"] == "München"


def test_repeated_header_is_named(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    [problem] = problems(sources.read_table(str(path)))
    assert problem["column"] == "a" and problem["check"] == "unique column names"
    assert "positions [1, 3]" in problem["detail"]


def test_truncated_parquet_is_a_read_problem_and_survives_parquet(tmp_path):
    good = tmp_path / "t.parquet"
    pd.DataFrame({"a": range(1000)}).to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:300])
    frame = sources.read_table(str(cut))
    assert frame.empty and problems(frame)[0]["check"] == "readable Parquet file"
    # ingest writes the frame to Parquet: the problems must travel with it.
    frame.to_parquet(tmp_path / "raw.parquet")
    assert problems(pd.read_parquet(tmp_path / "raw.parquet")) == problems(frame)


def test_missing_file_is_an_error_not_bad_data(tmp_path):
    with pytest.raises(FileNotFoundError):
        sources.read_table(str(tmp_path / "nope.csv"))


# The broken tables whose problem is in the file itself: the source names it. In every
# other one the file reads fine, and judging it is validation's job.
READ_PROBLEM_CASES = {
    "non-utf8-bytes",
    "duplicate-header",
    "ragged-csv-row",
    "truncated-parquet",
    "semicolon-delimited",
}


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    data = composed(tmp_path_factory.mktemp("params"), "data=csv").data
    return data, pd.read_csv(ROOT / data.source["path"])


@pytest.mark.parametrize("case", list(BROKEN_TABLES))
def test_source_reads_each_broken_table_and_names_only_what_it_could_not_read(
    churn, case, tmp_path
):
    data, good = churn
    broken = BROKEN_TABLES[case](good, data)
    path = tmp_path / ("table.parquet" if broken.parquet else "table.csv")
    path.write_bytes(broken.content)
    frame = sources.read_table(str(path), encoding=data.source["encoding"])
    if case not in READ_PROBLEM_CASES:
        assert problems(frame) == []
        return
    [problem] = [p for p in problems(frame) if p["check"] == broken.check]
    assert problem["column"] == broken.column
    assert problem["rows"] == list(broken.rows)
    assert broken.says in problem["detail"]
    if broken.column != sources.FILE:  # a problem in some cells: the rest is still read
        assert len(frame) == len(good)
