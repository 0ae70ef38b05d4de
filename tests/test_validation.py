import numpy as np
import pandas as pd
import pytest

from shipyard.config import DataConfig
from shipyard.validation import validate

CFG = DataConfig(
    name="toy",
    task="classification",
    source={},
    target="target",
    labels=[0, 1, 2],
    min_rows=10,
    numeric_features=["a", "b"],
)


def good() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": rng.normal(size=30), "b": rng.normal(size=30), "target": np.arange(30) % 3}
    )


def test_good_table_passes():
    report = validate(good(), CFG)
    assert report.ok, report.summary()
    assert report.to_dict()["ok"] is True


def text_in_numeric(df):
    df = df.astype({"b": object})
    df.loc[4, "b"] = "abc"
    return df


def null_in_numeric(df):
    df.loc[6, "a"] = np.nan
    return df


def unknown_label(df):
    df.loc[2, "target"] = 42
    return df


def null_label(df):
    df = df.astype({"target": "float64"})
    df.loc[8, "target"] = np.nan
    return df


@pytest.mark.parametrize(
    ("breakage", "column", "check", "row"),
    [
        (lambda df: df.drop(columns=["a"]), "a", "missing column", None),
        (lambda df: df.assign(extra=1), "extra", "unexpected column", None),
        (text_in_numeric, "b", "coerce_dtype", 4),
        (null_in_numeric, "a", "not_nullable", 6),
        (unknown_label, "target", "label in", 2),
        (null_label, "target", "not_nullable", 8),
        (lambda df: df.head(3), "<table>", "at least 10 rows", None),
        (lambda df: pd.DataFrame(), "<table>", "not empty", None),
        (lambda df: df.head(0), "<table>", "at least 10 rows", None),
    ],
    ids=[
        "missing-column",
        "extra-column",
        "text-in-numeric",
        "null-feature",
        "unknown-label",
        "null-label",
        "too-few-rows",
        "empty-file",
        "header-only",
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


def test_labels_never_seen_are_a_warning_not_an_error():
    df = good()
    df["target"] = df["target"].where(df["target"] != 2, 0)
    report = validate(df, CFG)
    assert report.ok
    assert any("[2]" in w for w in report.warnings)
