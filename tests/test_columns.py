"""serving.columns: the request contract checked a column at a time, the same from JSON
rows as from Arrow tables (the columnar body, the offline scorer's files)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from shipyard.pipeline.bundle import schema_for
from shipyard.serving.columns import (
    Batch,
    ColumnProblems,
    Contract,
    Records,
    from_table,
    read_arrow,
    read_json,
    refused,
)
from shipyard.serving.schema import MAX_PROBLEMS, Problems, row_model
from tests.helpers import data_config

DATA = data_config(
    numeric_features=["n", "m"], categorical_features=["k"], nullable=["m", "k"], drop=["id"]
)
CONTRACT = Contract.of(schema_for(DATA), max_abs=10.0)
GOOD = [
    {"n": 1, "m": None, "k": "blue", "id": "C1"},
    {"n": -2.5, "m": 3.0, "k": 7, "id": 2},
    {"n": 0.0, "m": 1.0, "k": None},
]
# (a row's change, the column named, pydantic's error type)
BAD = [
    ({"n": "1.5"}, "n", "float_type"),
    ({"n": True}, "n", "float_type"),
    ({"n": None}, "n", "float_type"),
    ({"n": [1]}, "n", "float_type"),
    ({"n": 11.0}, "n", "less_than_equal"),
    ({"m": -11}, "m", "greater_than_equal"),
    ({"k": 1.5}, "k", "string_type"),
    ({"k": False}, "k", "string_type"),
    ({"k": "x" * 201}, "k", "string_too_long"),
    ({"k": 2**64 - 1}, "k", "string_type"),
    ({"id": {"nested": 1}}, "id", "scalar_type"),
    ({"id": -1e19}, "id", "scalar_type"),  # a number, bounded as a feature's
]


def arrow(rows: list[dict]) -> bytes:
    table = pa.Table.from_pylist(rows)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_valid_rows_become_columns_in_bundle_order():
    batch = read_json(json.dumps({"rows": GOOD}).encode(), CONTRACT, 10)
    assert np.array_equal(batch.numeric, [[1.0, np.nan], [-2.5, 3.0], [0.0, 1.0]], equal_nan=True)
    assert batch.categorical[:, 0].tolist() == ["blue", "7", None]  # 7 and "7": one category
    assert batch.records(CONTRACT)[0] == {"n": 1.0, "m": None, "k": "blue", "id": "C1"}
    assert batch.records(CONTRACT)[2]["id"] is None  # an ID column may be left out


@pytest.mark.parametrize(("change", "column", "kind"), BAD)
def test_each_bad_value_is_named_by_row_column_and_check(change, column, kind):
    rows = [*GOOD, {**GOOD[2], **change}]
    with pytest.raises(Problems) as bad:
        read_json(json.dumps({"rows": rows}).encode(), CONTRACT, 10)
    assert bad.value.count == 1
    assert bad.value.first[0]["loc"] == ["rows", 3, column]
    assert bad.value.first[0]["type"] == kind
    # the pydantic row model (what OpenAPI documents) refuses the same row
    with pytest.raises(ValueError, match=column):
        row_model(schema_for(DATA), 10.0).model_validate(rows[3])


def test_problems_are_counted_and_the_first_listed_row_by_row():
    rows = [{"n": "x", "m": "y", "k": None, "id": None}] * 20
    with pytest.raises(Problems) as bad:
        read_json(json.dumps({"rows": rows}).encode(), CONTRACT, 100)
    assert bad.value.count == 40
    assert len(bad.value.first) == MAX_PROBLEMS
    assert [p["loc"][1:] for p in bad.value.first[:3]] == [[0, "n"], [0, "m"], [1, "n"]]


def test_arrow_bodies_are_checked_as_json_rows_are():
    json_batch = read_json(json.dumps({"rows": GOOD[:1]}).encode(), CONTRACT, 10)
    arrow_batch = read_arrow(arrow([{"n": 1.0, "m": None, "k": "blue", "id": "C1"}]), CONTRACT, 10)
    assert np.array_equal(json_batch.numeric, arrow_batch.numeric, equal_nan=True)
    assert json_batch.records(CONTRACT) == arrow_batch.records(CONTRACT)
    for rows, said in [
        ([{"n": 1.0, "m": 1.0, "k": "x" * 201}], "string_too_long"),
        ([{"n": 11.0, "m": 1.0, "k": "a"}], "less_than_equal"),
        ([{"n": float("nan"), "m": 1.0, "k": "a"}], "finite_number"),
        ([{"n": "1.5", "m": 1.0, "k": "a"}], "float_type"),  # text is not a number here
        ([{"m": 1.0, "k": "a"}], "missing"),
        ([{"n": 1.0, "m": 1.0, "k": "a", "colour": 1}], "extra_forbidden"),
    ]:
        with pytest.raises(Problems) as bad:
            read_arrow(arrow(rows), CONTRACT, 10)
        assert bad.value.first[0]["type"] == said, rows
    for body, said in [(b"not arrow", "Invalid Arrow"), (arrow(GOOD[:1] * 11), "at most 10")]:
        with pytest.raises(Problems) as bad:
            read_arrow(body, CONTRACT, 10)
        assert said in bad.value.first[0]["msg"]


def test_tables_keep_their_valid_rows_and_name_the_rest():
    table = pa.table(
        {
            "n": ["1", "x", "2e0", None],  # CSV text
            "m": [1.0, 2.0, None, 3.0],
            "k": [3.0, 2.5, None, 1.0],  # integer codes with gaps, as pandas writes them
        }
    )
    batch, verdicts = from_table(table, CONTRACT, text_numbers=True)
    assert batch.numeric[:, 0].tolist()[::2] == [1.0, 2.0]
    assert batch.categorical[:, 0].tolist()[0] == "3"
    bad = refused(verdicts, CONTRACT)
    assert [(p["loc"][1:], p["type"]) for p in bad.first] == [
        ([1, "n"], "float_type"),
        ([1, "k"], "string_type"),
        ([3, "n"], "float_type"),
    ]
    with pytest.raises(ColumnProblems, match="n"):
        from_table(table.drop_columns(["n"]), CONTRACT)


@pytest.mark.parametrize("kind", ["numbers", "numbers and IDs", "categories"])
def test_records_render_each_row_as_its_dict_serializes(kind):
    """The prediction log writes Records.json(): for rows of numbers it is cut from one
    serialization of the number matrix; it must be, byte for byte, each row's dict
    (Batch.records) serialized: key order, nulls, signs, exponents, a % in a name, IDs."""
    import orjson

    numbers = np.array([[1.0, np.nan, -0.0], [1e-300, 2.5e17, -3.0], [0.1, 7.0, 1 / 3]])
    ids = ["a,b%s}", 2, None]
    data = data_config(
        numeric_features=["a%s", "b", "c"],
        categorical_features=[],
        nullable=["b"],
        drop=["id"] if kind == "numbers and IDs" else [],
    )
    contract = Contract.of(schema_for(data), max_abs=1e300)
    batch = Batch(numbers, np.empty((3, 0), dtype=object), {"id": ids} if contract.ignored else {})
    if kind == "categories":
        contract = CONTRACT
        batch = read_json(json.dumps({"rows": GOOD}).encode(), CONTRACT, 10)
    records = Records(batch, contract)
    assert len(records) == len(batch)
    assert records.json() == [orjson.dumps(row) for row in batch.records(contract)]
    assert list(records) == batch.records(contract)
