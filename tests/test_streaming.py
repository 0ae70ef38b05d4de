"""The pipeline's streaming pieces give what the in-memory ones give: the synthetic source
in chunks, the raw table in row groups, validation batch by batch, the split from the
target column, the transform batch by batch, the features files read row group by row
group."""

import numpy as np
import pandas as pd
import pytest

from shipyard.config import DataChecks
from shipyard.pipeline import evaluation, feature_files, features, raw_table, sources
from shipyard.pipeline.validation import validate, validate_batches
from tests.helpers import data_config, standard_features

SYNTHETIC = dict(
    n_rows=1000,
    numeric_features=["a", "b", "c"],
    categorical_features=["k"],
    labels=[0, 1, 2],
    n_informative=3,
    n_categories=3,
    noise=0.05,
    seed=7,
)


@pytest.mark.parametrize("labels", [[0, 1, 2], None], ids=["classes", "values"])
def test_synthetic_rows_do_not_depend_on_chunks_or_blocks(monkeypatch, labels):
    monkeypatch.setattr(sources, "SYNTHETIC_BLOCK", 300)  # 1000 rows: four blocks
    args = {**SYNTHETIC, "labels": labels}
    whole = sources.synthetic(**args)
    assert len(whole) == 1000 and whole.index.equals(pd.RangeIndex(1000))
    for chunk_rows in (64, 300, 5000):
        chunks = list(sources.synthetic(**args, chunk_rows=chunk_rows))
        assert max(len(c) for c in chunks) <= chunk_rows
        pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)
    pd.testing.assert_frame_equal(sources.synthetic(**args), whole)  # seeded
    # the blocks are not copies of each other
    assert not np.allclose(whole["a"].iloc[:300].to_numpy(), whole["a"].iloc[300:600].to_numpy())


def test_chunks_call_a_source_with_chunk_rows_and_wrap_one_without():
    spec = {"_target_": "shipyard.pipeline.sources.synthetic", **SYNTHETIC}
    assert [len(c) for c in sources.chunks(spec, 400)] == [400, 400, 200]
    bundled = {"_target_": "shipyard.pipeline.sources.sklearn_bundled", "name": "digits"}
    assert [len(c) for c in sources.chunks(bundled, 400)] == [1797]


def test_parquet_source_in_record_batches(tmp_path):
    frame = sources.synthetic(**SYNTHETIC)
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=300)
    chunks = list(sources.read_table(str(tmp_path / "t.parquet"), chunk_rows=256))
    assert [len(c) for c in chunks] == [256, 256, 256, 232]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes((tmp_path / "t.parquet").read_bytes()[:300])
    [chunk] = sources.read_table(str(cut), chunk_rows=256)
    assert chunk.empty
    assert chunk.attrs[sources.READ_PROBLEMS][0]["check"] == "readable Parquet file"


def test_raw_table_round_trip_in_row_groups_with_read_problems(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_table, "BATCH_ROWS", 4)
    first = pd.DataFrame({"n": [1, 2, 3, 4, 5], "s": list("abcde")})
    second = pd.DataFrame({"n": [6, None, 8], "s": ["f", "g", None]})  # n: a missing value
    problem = {"column": "s", "check": "valid utf-8 text", "rows": [1], "detail": "bytes"}
    second.attrs[raw_table.READ_PROBLEMS] = [problem]  # a problem found after the first chunk
    path = tmp_path / "raw.parquet"
    assert raw_table.write(iter([first, second]), path) == (8, 2)
    # the chunk's row 1 is the table's row 6
    assert raw_table.read_problems(path) == [{**problem, "rows": [6]}]
    whole = pd.read_parquet(path)
    batches = list(raw_table.batches(path, batch_rows=3))
    assert [b.index.start for b in batches] == [0, 3, 6]
    # n is float in every batch, as in the whole file, not int in the batches without a gap
    assert all(b["n"].dtype == np.float64 for b in batches)
    pd.testing.assert_frame_equal(pd.concat(batches), whole)
    assert raw_table.rows(path, np.array([6, 0, 4]), ["s"])["s"].tolist() == ["g", "a", "e"]


def test_empty_source_and_header_only_tables(tmp_path):
    path = tmp_path / "raw.parquet"
    raw_table.write(iter([pd.DataFrame()]), path)
    assert raw_table.columns(path) == []
    raw_table.write(iter([pd.DataFrame({"a": pd.Series([], dtype=float)})]), path)
    [batch] = raw_table.batches(path)
    assert list(batch.columns) == ["a"] and batch.empty


CFG = data_config(
    labels=[0, 1, 2],
    numeric_features=["a", "b"],
    categorical_features=["k"],
    drop=["id"],
    ranges={"b": [-10, 10]},
    checks=DataChecks(
        min_rows=10, min_rows_per_class=3, max_duplicate_rows=0, imbalance_warning_ratio=5
    ),
)


def table(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "k": ["u", "v", "w", "u"] * (n // 4),
            "target": np.arange(n) % 3,
        }
    )


def streamed(df: pd.DataFrame, tmp_path, batch_rows: int = 7):
    path = tmp_path / "raw.parquet"
    raw_table.write(iter([df]), path)
    return validate_batches(
        raw_table.batches(path, batch_rows=batch_rows),
        raw_table.columns(path),
        raw_table.read_problems(path),
        CFG,
    )


def test_problems_in_later_batches_name_their_rows_in_the_table(tmp_path):
    df = table()
    df.loc[25, "target"] = 7  # the fourth batch of 7 rows
    df.loc[[9, 30], "b"] = 99.0  # two batches, one problem
    df.loc[33, ["a", "b", "k", "target"]] = df.loc[2, ["a", "b", "k", "target"]]  # across
    df.loc[38, ["a", "b", "k", "target"]] = df.loc[2, ["a", "b", "k", "target"]]
    report = streamed(df, tmp_path)
    assert report.to_dict() == validate(df, CFG).to_dict()  # the same report, word for word
    lines = report.summary()
    assert "column 'target' failed label in [0, 1, 2] [row 25: 7]" in lines
    [out_of_range] = [p for p in report.problems if p.check.startswith("range")]
    assert out_of_range.n_failures == 2 and [e["row"] for e in out_of_range.examples] == [9, 30]
    [duplicates] = [p for p in report.problems if "duplicate" in p.check]
    assert duplicates.n_failures == 2 and [e["row"] for e in duplicates.examples] == [33, 38]
    assert duplicates.detail == "first copies at rows [2]"


@pytest.mark.parametrize(
    "breakage",
    [
        lambda df: df.assign(a=1.5),  # constant across every batch
        lambda df: df.assign(k=None),  # all missing
        lambda df: df.assign(k=["u"] * 39 + ["v"]),  # constant but for the last batch
        lambda df: df.assign(k=[None] * 39 + ["v"]),  # missing but for the last batch
        lambda df: df.assign(target=0),  # classes without rows
        lambda df: df.drop(columns="a").assign(extra=1),  # presence: once, not per batch
        lambda df: df.assign(b=["x"] + ["0.5"] * 38 + ["y"]),  # text, as a CSV has it
        lambda df: df.head(6),  # too few rows
        lambda df: df.head(0),  # a header only
        lambda df: df.assign(target=np.where(np.arange(40) < 36, 0, np.arange(40) % 3)),
    ],
    ids=[
        "constant",
        "all-missing",
        "varies-late",
        "present-late",
        "one-class",
        "presence",
        "not-numbers",
        "too-few-rows",
        "header-only",
        "imbalance",
    ],
)
def test_batches_report_what_one_frame_reports(tmp_path, breakage):
    df = breakage(table())
    assert streamed(df, tmp_path).to_dict() == validate(df, CFG).to_dict()


def test_an_integer_column_with_a_gap_in_one_batch_still_finds_duplicates(tmp_path):
    df = table().assign(a=np.arange(40) % 5)  # integers
    df["a"] = df["a"].astype(object)
    df.loc[39, "a"] = None  # float in the last batch only, int64 in the others
    df.loc[30] = df.loc[2]  # a repeat, across batches of different types
    cfg = data_config(**{**CFG.__dict__, "nullable": ["a"]})
    path = tmp_path / "raw.parquet"
    raw_table.write(iter([df.astype({"a": "Int64"})]), path)
    report = validate_batches(
        raw_table.batches(path, batch_rows=7), raw_table.columns(path), [], cfg
    )
    [duplicates] = [p for p in report.problems if "duplicate" in p.check]
    assert [e["row"] for e in duplicates.examples] == [30]


def test_a_column_empty_in_the_first_chunk_keeps_its_source_type(tmp_path):
    """The raw table's types come from its first chunk, where a column with no value has
    none pandas can tell: the Parquet source's own schema gives it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pa.table(  # written by another tool: no pandas dtypes to restore
        {
            "n": pa.array(np.arange(6, dtype=float)),
            "flag": pa.array([None, None, None, True, False, None], pa.bool_()),
            "s": pa.array([None, None, None, "x", "y", None], pa.string()),
        }
    )
    pq.write_table(source, tmp_path / "source.parquet")
    chunks = sources.read_table(str(tmp_path / "source.parquet"), chunk_rows=3)
    path = tmp_path / "raw.parquet"
    assert raw_table.write(chunks, path) == (6, 3)
    back = pd.read_parquet(path)
    assert back["flag"].tolist()[3:5] == [True, False] and back["s"].tolist()[3] == "x"


def test_a_boolean_column_with_a_gap_in_one_batch_still_finds_duplicates(tmp_path):
    df = table().assign(flag=np.arange(40) % 2 == 0)
    df["flag"] = df["flag"].astype(object)
    df.loc[39, "flag"] = None  # object in the last batch only, bool in the others
    df.loc[30] = df.loc[2]  # a repeat, across batches of different types
    categorical = [*CFG.categorical_features, "flag"]
    cfg = data_config(**{**CFG.__dict__, "categorical_features": categorical, "nullable": ["flag"]})
    path = tmp_path / "raw.parquet"
    raw_table.write(iter([df.astype({"flag": "boolean"})]), path)
    batches = list(raw_table.batches(path, batch_rows=7))
    assert {str(b["flag"].dtype) for b in batches} == {"object"}  # as the whole file reads
    report = validate_batches(iter(batches), raw_table.columns(path), [], cfg)
    [duplicates] = [p for p in report.problems if "duplicate" in p.check]
    assert [e["row"] for e in duplicates.examples] == [30]


DATA = data_config()
FEATURES = standard_features()


@pytest.fixture
def labelled() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    target = np.where(np.arange(500) % 4 == 0, "yes", "no")
    return pd.DataFrame({"a": rng.normal(5, 2, 500), "b": rng.normal(size=500), "target": target})


def old_split(df: pd.DataFrame, data, seed: int) -> dict[str, pd.DataFrame]:
    """The split as featurize made it from the whole frame, before it streamed."""
    from sklearn.model_selection import train_test_split

    from shipyard.pipeline.task import task

    df = df.reset_index(drop=True).rename_axis("row_id").reset_index()
    strata = task(data.task).strata
    rest, test = train_test_split(
        df, test_size=FEATURES.split.test_size, stratify=strata(df["target"]), random_state=seed
    )
    share = FEATURES.split.val_size / (1 - FEATURES.split.test_size)
    train, val = train_test_split(
        rest, test_size=share, stratify=strata(rest["target"]), random_state=seed
    )
    return {"train": train, "val": val, "test": test}


@pytest.mark.parametrize("regression", [False, True], ids=["classes", "values"])
def test_split_from_the_target_column_is_the_old_split(labelled, regression):
    data = DATA
    if regression:
        labelled = labelled.assign(target=np.linspace(0, 100, 500))
        data = data_config(task="regression", labels=None)
    rows = features.split_rows(labelled["target"], data, FEATURES, seed=3)
    old = old_split(labelled, data, seed=3)
    for name, part in old.items():
        assert rows[name].tolist() == part["row_id"].tolist()  # same rows, same order
        pd.testing.assert_frame_equal(features.split(labelled, data, FEATURES, 3)[name], part)


def test_fit_sample_is_everything_or_a_seeded_sample():
    train = np.array([9, 3, 7, 1])
    assert feature_files.fit_sample(train, 4, seed=0) is train  # order kept
    sample = feature_files.fit_sample(np.arange(1000), 100, seed=0)
    assert len(set(sample)) == 100 and sample.tolist() == sorted(sample)
    assert (feature_files.fit_sample(np.arange(1000), 100, seed=0) == sample).all()


def test_streamed_featurize_equals_the_whole_frame_transform(labelled, tmp_path):
    labelled = labelled.assign(b=labelled["b"].where(labelled.index % 7 != 0))  # gaps
    path = tmp_path / "raw.parquet"
    raw_table.write(iter([labelled]), path)
    rows = features.split_rows(raw_table.column(path, "target"), DATA, FEATURES, seed=3)
    fit = raw_table.rows(path, rows["train"], DATA.features)
    featurizer = features.build_featurizer(DATA, FEATURES).fit(fit)
    batches = raw_table.batches(path, [*DATA.features, "target"], batch_rows=64)
    sizes = feature_files.write(
        features.transform_batches(batches, rows, featurizer, DATA), tmp_path
    )
    assert sizes == {name: len(r) for name, r in rows.items()}
    parts = features.split(labelled, DATA, FEATURES, seed=3)
    for name, part in parts.items():
        written = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert written["row_id"].is_monotonic_increasing  # table order
        expected = features.transform(part, featurizer, DATA).sort_values("row_id")
        pd.testing.assert_frame_equal(written, expected.reset_index(drop=True))


def test_sharded_reader_equals_the_frame_arrays(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "row_id": np.arange(1000) * 3,
            "label": rng.integers(0, 3, 1000),
            **{f"f{i}": rng.normal(size=1000).astype(np.float32) for i in range(5)},
        }
    )
    path = tmp_path / "train.parquet"
    frame.to_parquet(path, row_group_size=128)
    x, y, row_ids = feature_files.read(path)
    old_x, old_y = feature_files.arrays(pd.read_parquet(path))
    np.testing.assert_array_equal(x, old_x)
    np.testing.assert_array_equal(y, old_y)
    assert x.flags.f_contiguous == old_x.flags.f_contiguous and x.flags.writeable
    assert y.dtype == old_y.dtype and (row_ids == frame["row_id"]).all()
    some = np.array([0, 5, 127, 128, 600, 999])
    x, y, row_ids = feature_files.read(path, some)
    np.testing.assert_array_equal(x, old_x[some])
    np.testing.assert_array_equal(y, old_y[some])
    assert (row_ids == some * 3).all()
    values = frame.assign(label=rng.normal(size=1000))
    values.to_parquet(path, row_group_size=128)
    assert feature_files.read(path)[1].dtype == np.float32


def test_scores_in_pieces_are_the_scores(monkeypatch):
    x = np.random.default_rng(0).normal(size=(1000, 4)).astype(np.float32)
    weights = np.arange(8, dtype=np.float32).reshape(4, 2)
    whole = evaluation.in_pieces(lambda rows: rows @ weights, x)
    monkeypatch.setattr(evaluation, "PIECE_ROWS", 64)
    pieces = evaluation.in_pieces(lambda rows: rows @ weights, x)
    assert pieces.shape == (1000, 2)
    np.testing.assert_allclose(pieces, whole, rtol=1e-6)
