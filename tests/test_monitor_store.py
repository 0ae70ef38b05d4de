"""Logs as a data product: rotated files -> Parquet partitions in a folder or real S3 (once
each), read back as the monitor reads a log; labels imported from a file, all or nothing."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from shipyard.monitor.labels import LabelError, import_labels
from shipyard.monitor.logs import newest_lines, window_lines
from shipyard.monitor.store import collect
from tests.helpers import data_config, toy_bundle
from tests.servers import BUCKET


def write_log(path, start: int, n: int) -> None:
    with path.open("w") as out:
        for i in range(start, start + n):
            line = {
                "timestamp": f"2026-11-25T10:{i // 60:02d}:{i % 60:02d}+00:00",
                "request_id": f"r{i}",
                "row": 0,
                "model_version": "v1",
                "input": {"a": float(i), "k": "p"},
                "output": {"label": "no", "probabilities": {"no": 0.7, "yes": 0.3}},
            }
            out.write(json.dumps(line) + "\n")


def rotated(tmp_path):
    log = tmp_path / "predictions.jsonl"
    write_log(log.with_name("predictions.jsonl.2"), 0, 30)  # oldest
    write_log(log.with_name("predictions.jsonl.1"), 30, 30)
    write_log(log, 60, 10)  # live: not collected
    return log


def test_rotated_files_become_partitions_once_and_read_back_as_the_log(tmp_path):
    log = rotated(tmp_path)
    store = str(tmp_path / "store")
    assert len(collect(log, store, "predictions")) == 2
    assert collect(log, store, "predictions") == []  # again: nothing new
    files = sorted((tmp_path / "store/predictions").rglob("*.parquet"))
    assert [f.parent.name for f in files] == ["date=2026-11-25"] * 2
    assert list(pd.read_parquet(files[0]).columns)[:4] == [
        "timestamp",
        "request_id",
        "row",
        "model_version",
    ]
    # the newest 40 collected lines are exactly the log's lines 20..59
    assert window_lines(store, "predictions", 40, []) == newest_lines(log, 50)[:40]


def test_partitions_go_to_real_s3(tmp_path, s3_remote, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_remote.key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_remote.secret)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_remote.endpoint)
    log = rotated(tmp_path)
    store = f"s3://{BUCKET}/monitoring-test"
    assert len(collect(log, store, "predictions")) == 2
    assert collect(log, store, "predictions") == []
    got = window_lines(store, "predictions", 60, [])
    assert [line["request_id"] for line in got] == [f"r{i}" for i in range(60)]


def test_a_label_file_is_appended_as_feedback_or_refused_whole(tmp_path):
    toy_bundle(tmp_path, data_config(), n_rows=20)
    feedback = tmp_path / "feedback.jsonl"
    good = tmp_path / "labels.csv"
    pd.DataFrame({"request_id": ["r1", "r2"], "row": [0, 0], "label": ["yes", "no"]}).to_csv(
        good, index=False
    )
    assert import_labels(good, feedback, tmp_path / "bundle") == 2
    lines = [json.loads(x) for x in feedback.read_text().splitlines()]
    assert [(x["request_id"], x["label"]) for x in lines] == [("r1", "yes"), ("r2", "no")]
    assert all(x["timestamp"] for x in lines)

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"request_id": ["r3", "r4"], "label": ["yes", "maybe"]}).to_csv(bad, index=False)
    with pytest.raises(LabelError, match=r"row 1, label: .*not one of the model's labels"):
        import_labels(bad, feedback, tmp_path / "bundle")
    assert len(feedback.read_text().splitlines()) == 2  # nothing of the bad file


def test_rotated_files_are_collected_when_the_live_file_is_gone(tmp_path):
    log = rotated(tmp_path)
    log.unlink()  # rotated away, nothing written since
    assert len(collect(log, str(tmp_path / "store"), "predictions")) == 2
