"""The service module's wiring, imported in-process (no server)."""

import json
import os
import subprocess
import sys

import pytest

from shipyard.pipeline.bundle import schema_for
from shipyard.serving.schema import row_model
from tests.helpers import data_config, toy_bundle

CHECK = """
import json
from shipyard.serving.service import Prediction, Predictor
api = Predictor.apis["predict"]
declared = api.output_spec.media_type
api.output_spec.media_type = None  # what BentoML would compute itself
fields = {"label": 0, "probabilities": {"0": 0.25}, "value": 1.5, "model_version": "v"}
sample = Prediction(**{k: v for k, v in fields.items() if k in Prediction.model_fields})
out = api.output_spec([sample, sample])
ours = json.loads(out.model_dump_json())  # pydantic's serializer, set by the service
dumped = json.loads(out.model_dump())  # what BentoML sends (the dump, when it is text)
theirs = json.loads(json.dumps(type(out).__base__.model_dump(out, mode="json")))  # its own
print(json.dumps({"declared": declared, "computed": api.output_spec.mime_type(),
                  "batchable": api.batchable, "max_batch_size": api.max_batch_size,
                  "answer": sorted(Prediction.model_fields),
                  "same_json": ours == theirs == dumped}))
"""


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (data_config(), ["label", "model_version", "probabilities"]),
        (data_config(task="regression", labels=None), ["model_version", "value"]),
    ],
)
def test_declared_media_type_is_what_bentoml_computes(tmp_path, data, answer):
    # A real toy bundle: the service module reads its schema at import.
    bundle_dir, _ = toy_bundle(tmp_path, data)
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SHIPYARD_BUNDLE": str(bundle_dir)},
    ).stdout
    wiring = json.loads(out.strip().splitlines()[-1])
    assert wiring["declared"] == wiring["computed"] == "application/json"
    assert wiring["batchable"] is True and wiring["max_batch_size"] >= 1
    assert wiring["answer"] == answer  # the bundle's task's answer
    assert wiring["same_json"]


def test_row_model_takes_categories_nulls_where_allowed_and_ignored_columns():
    from pydantic import ValidationError

    data = data_config(
        numeric_features=["n", "m"], categorical_features=["k"], nullable=["m", "k"], drop=["id"]
    )
    row = row_model(schema_for(data), max_abs_value=10.0)
    ok = row.model_validate({"n": 1.0, "k": "blue", "m": None, "id": "C001"})
    assert list(ok.__dict__.values())[:3] == [1.0, None, "blue"]  # features in bundle order
    assert row.model_validate({"n": 1.0, "k": 7, "m": 2.0}).__dict__["f2"] == 7
    with pytest.raises(ValidationError, match="n"):
        row.model_validate({"n": None, "k": "blue", "m": 1.0})  # n is not nullable
    with pytest.raises(ValidationError, match="k"):
        row.model_validate({"n": 1.0, "k": 1.5, "m": 1.0})  # a float is not a category
    with pytest.raises(ValidationError, match="at most 200"):
        row.model_validate({"n": 1.0, "k": "x" * 201, "m": 1.0})
    with pytest.raises(ValidationError, match="k"):  # beyond 64 bits: no JSON tool keeps it
        row.model_validate({"n": 1.0, "k": 2**64, "m": 1.0})
    with pytest.raises(ValidationError, match="id"):  # an ID is a scalar, not a document
        row.model_validate({"n": 1.0, "k": "blue", "m": 1.0, "id": {"nested": [1] * 10}})


def test_row_model_requires_exact_features_by_name():
    from pydantic import ValidationError

    row = row_model(schema_for(data_config(numeric_features=["a/b", "c"])), max_abs_value=10.0)
    assert list(row.model_validate({"a/b": 1, "c": 2.5}).__dict__.values()) == [1.0, 2.5]
    with pytest.raises(ValidationError, match="c"):
        row.model_validate({"a/b": 1})
    with pytest.raises(ValidationError, match="less than or equal"):
        row.model_validate({"a/b": 11.0, "c": 0.0})


def test_store_labels_come_from_the_card_alone():
    from shipyard.serving.store import labels_for

    card = {
        "version": "v",
        "data_md5": "0",
        "metrics": {"mlp": {"accuracy": 0.91234}},
        "params": {"seed": 1},
    }
    labels = labels_for(card)
    assert labels["version"] == "v" and labels["mlp.accuracy"] == "0.9123"
    assert all(isinstance(value, str) for value in labels.values())
    # The card has no commit: `make bento` labels the bento with it at release.
    assert "git_commit" not in labels


def test_read_json_bounds_the_problems_of_any_request():
    from shipyard.serving.columns import Contract, read_json
    from shipyard.serving.schema import MAX_PROBLEMS, Problems

    contract = Contract.of(schema_for(data_config(numeric_features=["a", "b"])), 10.0)
    batch = read_json(b'{"rows": [{"a": 1, "b": 2.5}]}', contract, 5)
    assert batch.numeric.tolist() == [[1.0, 2.5]]
    assert batch.records(contract) == [{"a": 1.0, "b": 2.5}]
    strangers = {"rows": [{f"k{i}": 1 for i in range(1000)} for _ in range(5)]}
    with pytest.raises(Problems) as bad:
        read_json(json.dumps(strangers).encode(), contract, 5)
    # every row misses both features and has 1000 unknown keys: all counted, few listed
    assert bad.value.count == 5 * (2 + 1000)
    assert len(bad.value.first) == MAX_PROBLEMS
    assert bad.value.first[0] == {
        "loc": ["rows", 0, "a"],
        "msg": "Field required",
        "type": "missing",
    }
    for body, said in [
        (b'{"rows": [{"a": NaN, "b": 1}]}', "Invalid JSON"),
        (b'{"rows": []}', "got 0 items"),
        (b'{"rows": [1, 2, 3, 4, 5, 6]}', "at most 5"),
        (b'{"rows": [{"a": "x", "b": true}]}', "valid number"),
        (b"[" * 5000, "Invalid JSON"),
    ]:
        with pytest.raises(Problems) as bad:
            read_json(body, contract, 5)
        assert said in bad.value.first[0]["msg"], body[:40]


def test_the_default_body_limit_fits_the_largest_valid_requests():
    from shipyard.serving.schema import MAX_CATEGORY_LENGTH, body_limit

    wide = schema_for(data_config(numeric_features=["n"], categorical_features=["k"]))
    astral = "\U0001f600" * MAX_CATEGORY_LENGTH  # escaped by json.dumps as 12 bytes each
    rows = {"rows": [{"n": -1.2345678901234567e-300, "k": astral}] * 50}
    assert len(json.dumps(rows)) <= body_limit(wide, 50)
    # one number per row: feedback items (a 64-character request id) are the larger
    narrow = schema_for(data_config(task="regression", labels=None, numeric_features=["n"]))
    item = {"request_id": "\u00e9" * 64, "row": 49, "value": -1.2345678901234567e-300}
    assert len(json.dumps({"feedback": [item] * 50})) <= body_limit(narrow, 50)
