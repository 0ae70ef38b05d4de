import numpy as np
import pandas as pd
import pytest

from shipyard.config import DataChecks
from shipyard.pipeline.validation import validate
from tests.helpers import BROKEN_TABLES, ROOT, composed, data_config

CFG = data_config(
    labels=[0, 1, 2],
    numeric_features=["a", "b"],
    categorical_features=["k"],
    drop=["id"],
    nullable=["k"],
    ranges={"b": [-10, 10]},
    checks=DataChecks(
        min_rows=10, min_rows_per_class=3, max_duplicate_rows=0, imbalance_warning_ratio=5
    ),
)


def good() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(30)],
            "a": rng.normal(size=30),
            "b": rng.normal(size=30),
            "k": ["u", "v", None] * 10,
            "target": np.arange(30) % 3,
        }
    )


def test_good_table_passes():
    report = validate(good(), CFG)
    assert report.ok, report.summary()
    assert report.to_dict()["ok"] is True
    assert report.class_counts == {"0": 10, "1": 10, "2": 10}
    assert "30 rows" in report.markdown() and "valid" in report.markdown()


def test_declared_id_column_may_be_absent():
    assert validate(good().drop(columns="id"), CFG).ok


def text_in_numeric(df):
    df = df.astype({"b": object})
    df.loc[4, "b"] = "abc"
    return df


def set_cell(column, row, value, dtype=None):
    def breakage(df):
        if dtype:
            df = df.astype({column: dtype})
        df.loc[row, column] = value
        return df

    return breakage


def duplicate_row(df):
    df.loc[7] = df.loc[3]
    return df


@pytest.mark.parametrize(
    ("breakage", "column", "check", "row"),
    [
        (lambda df: df.drop(columns=["a"]), "a", "missing from the table", None),
        (lambda df: df.assign(extra=1), "extra", "not declared in the data config", None),
        (text_in_numeric, "b", "not a number", 4),
        (set_cell("a", 6, np.nan), "a", "not null", 6),
        (set_cell("target", 2, 42), "target", "label in", 2),
        (set_cell("target", 8, np.nan, "float64"), "target", "not null", 8),
        (set_cell("b", 5, 99.0), "b", "range [-10, 10]", 5),
        (lambda df: df.head(6), "<table>", "at least 10 rows", None),
        (lambda df: pd.DataFrame(), "<table>", "not empty", None),
        (lambda df: df.head(0), "<table>", "at least 10 rows", None),
        (lambda df: df.assign(a=1.5), "a", "not constant", None),
        (lambda df: df.assign(k=None), "k", "not all missing", None),
        (duplicate_row, "<table>", "at most 0 duplicate rows", 7),
        (lambda df: df.assign(target=0), "target", "at least 3 rows per class", None),
        (lambda df: df[df["target"] != 2], "target", "at least 3 rows per class", None),
    ],
    ids=[
        "missing-column",
        "extra-column",
        "text-in-numeric",
        "null-feature",
        "unknown-label",
        "null-label",
        "out-of-range",
        "too-few-rows",
        "empty-file",
        "header-only",
        "constant-column",
        "all-null-column",
        "duplicate-row",
        "one-class-only",
        "class-without-rows",
    ],
)
def test_broken_table_names_column_check_and_rows(breakage, column, check, row):
    report = validate(breakage(good()), CFG)
    assert not report.ok
    matches = [p for p in report.problems if p.column == column and check in p.check]
    assert matches, report.summary()
    if row is not None:
        assert row in [e["row"] for e in matches[0].examples]
        assert f"row {row}" in report.summary()
    assert f"'{column}'" in report.summary()
    assert "problem" in report.markdown()


def test_imbalance_is_a_warning_not_an_error():
    df = pd.concat([good(), good().assign(target=0)], ignore_index=True)
    df = df.assign(a=np.random.default_rng(1).normal(size=len(df)))  # no duplicates
    df.loc[df["target"] == 1, "target"] = [1] * 3 + [0] * 7
    report = validate(df, CFG)
    assert report.ok, report.summary()
    assert any("class imbalance" in w for w in report.warnings)
    assert "warning: class imbalance" in report.markdown()


def test_regression_target_must_be_a_number_in_range():
    cfg = data_config(task="regression", labels=None, ranges={"target": [0, 100]})
    df = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 7, "target": np.arange(20.0)})
    assert validate(df, cfg).ok
    df.loc[3, "target"] = 500.0
    report = validate(df, cfg)
    assert [p.check for p in report.problems] == ["range [0, 100]"]


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    """The CSV example's data config (conf/data/csv.yaml) and its table."""
    data = composed(tmp_path_factory.mktemp("params"), "data=csv").data
    return data, pd.read_csv(ROOT / data.source["path"])


def ingested(source: dict, path, tmp_path) -> pd.DataFrame:
    """What validate reads: the source (as ingest instantiates it) written to Parquet."""
    from hydra.utils import instantiate

    instantiate({**source, "path": str(path)}).to_parquet(tmp_path / "raw.parquet", index=False)
    return pd.read_parquet(tmp_path / "raw.parquet")


def test_the_example_table_is_valid_as_configured(churn, tmp_path):
    data, good = churn
    report = validate(ingested(data.source, ROOT / data.source["path"], tmp_path), data)
    assert report.ok, report.summary()
    counts = good[data.target].value_counts()
    assert report.class_counts == {str(label): int(counts[label]) for label in data.labels}


# validation.py lists the repeats themselves among the "first copies" ([3, 9, 1200, 1201]).
@pytest.mark.parametrize("case", list(BROKEN_TABLES))
def test_each_broken_table_names_its_column_check_and_rows(churn, case, tmp_path):
    """Every way the example table can break, read and validated as the pipeline does;
    tests/test_broken_data_e2e.py runs a few of them through `dvc repro`."""
    data, good = churn
    broken = BROKEN_TABLES[case](good, data)
    path = tmp_path / ("table.parquet" if broken.parquet else "table.csv")
    path.write_bytes(broken.content)
    report = validate(ingested(data.source, path, tmp_path), data)
    assert not report.ok
    matches = [p for p in report.problems if p.column == broken.column and broken.check in p.check]
    assert len(matches) == 1, report.summary()
    [problem] = matches
    assert [e["row"] for e in problem.examples][: len(broken.rows)] == list(broken.rows)
    # The line `dvc repro` shows: column, check, rows and what else it must say.
    lines = report.summary().splitlines()
    line = next(x for x in lines if f"column '{broken.column}' failed" in x and broken.check in x)
    assert broken.says in line, line
    for row in broken.rows:
        assert f"row {row}:" in line, line
