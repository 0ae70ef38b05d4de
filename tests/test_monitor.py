"""`shipyard monitor` end to end over files: a toy bundle, its training rows, a prediction
log written as the service writes it (rotated files included)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import yaml

from shipyard.monitor.logs import log_files, newest_rows
from tests.helpers import ROOT, data_config, toy_bundle


def write_log(path, rows: pd.DataFrame, start: int = 0) -> None:
    with path.open("a") as log:
        for i, row in enumerate(rows.to_dict("records")):
            line = {"request_id": f"r{start + i}", "row": 0, "input": row, "output": {}}
            log.write(json.dumps(line) + "\n")


def run_monitor(tmp_path, log, reference) -> tuple[subprocess.CompletedProcess, dict]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["monitor"].update(window_rows=1500, min_rows=1000)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    bundle = tmp_path / "bundle"
    out = tmp_path / "monitoring"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shipyard.cli",
            "monitor",
            "--log",
            str(log),
            "--reference",
            str(reference),
            "--bundle",
            str(bundle),
            "--out",
            str(out),
            "--params",
            str(tmp_path / "params.yaml"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc, json.loads((out / "report.json").read_text())


def test_monitor_names_the_drifted_column_from_the_newest_window(tmp_path):
    data = data_config(numeric_features=["a", "b"], categorical_features=["k"])
    toy_bundle(tmp_path, data, n_rows=60)
    rng = np.random.default_rng(0)

    def rows(n: int, shift: float = 0.0) -> pd.DataFrame:
        frame = pd.DataFrame({"a": rng.normal(10, 3, n) + shift, "b": rng.normal(10, 3, n)})
        frame["k"] = rng.choice(["p", "q", "r"], n)
        return frame

    reference = tmp_path / "train.parquet"
    rows(5000).to_parquet(reference)
    log = tmp_path / "predictions.jsonl"
    write_log(log.with_name("predictions.jsonl.1"), rows(3000))  # older, rotated: in range
    write_log(log, rows(500, shift=3.0), start=3000)  # the newest 500 rows: a shifted

    proc, report = run_monitor(tmp_path, log, reference)
    assert report["schema_version"] == 2 and report["window"]["rows"] == 1500
    assert report["drift"]["verdict"] == "drift" and report["drift"]["drifted"] == ["a"]
    assert "drifted: a" in proc.stdout
    summary = (tmp_path / "monitoring/report.md").read_text()
    assert summary.startswith("# Monitoring: drift") and "| a | ks+welch |" in summary


def test_too_few_logged_rows_is_insufficient_data(tmp_path):
    data = data_config(numeric_features=["a", "b"])
    _, raw = toy_bundle(tmp_path, data, n_rows=60)
    reference = tmp_path / "train.parquet"
    raw.to_parquet(reference)
    log = tmp_path / "predictions.jsonl"
    write_log(log, raw)
    _, report = run_monitor(tmp_path, log, reference)
    assert report["drift"]["verdict"] == "insufficient data" and report["drift"]["rows"] == 60


def test_the_window_reads_rotated_files_newest_first(tmp_path):
    log = tmp_path / "p.jsonl"
    write_log(tmp_path / "p.jsonl.2", pd.DataFrame({"x": [1, 2]}))
    write_log(tmp_path / "p.jsonl.1", pd.DataFrame({"x": [3, 4]}))
    write_log(log, pd.DataFrame({"x": [5]}))
    assert [p.name for p in log_files(log)] == ["p.jsonl", "p.jsonl.1", "p.jsonl.2"]
    assert [r["x"] for r in newest_rows(log, 4)] == [2, 3, 4, 5]


def line(request_id: str, label: int, version: str = "v1") -> dict:
    at = "2026-01-01T00:00:00+00:00"
    output = {"label": label}
    return {
        "request_id": request_id,
        "row": 0,
        "timestamp": at,
        "model_version": version,
        "output": output,
    }


def test_feedback_joins_by_request_and_row_and_judges_the_realized_accuracy():
    from shipyard.monitor.report import feedback_section
    from tests.test_drift import CONFIG

    card = {"version": "v1", "metrics": {"mlp": {"accuracy": 0.95}}}
    test = (342, 360)  # evaluate's test set: 0.95 right
    # and 50 rows of the model before: not this card's to judge
    window = [line(f"old{i}", 0, "v0") for i in range(50)] + [
        line(f"r{i}", i % 2) for i in range(200)
    ]
    later = "2026-01-01T00:01:00+00:00"  # a minute after each prediction
    # half the window labelled; the model right on 60 % of those: far below 0.95
    truth = [
        {"request_id": f"r{i}", "row": 0, "timestamp": later, "label": i % 2 if i % 5 < 3 else 7}
        for i in range(0, 200, 2)
    ]
    section = feedback_section(window, truth, card, True, CONFIG, test)
    assert section["model_rows"] == 200 and section["other_versions_rows"] == 50
    assert section["labelled_rows"] == 100 and section["join_rate"] == 0.5
    assert section["label_delay_s"] == {"median": 60.0, "p90": 60.0}
    assert section["realized"] == 0.6 and section["verdict"] == "worse than on the test set"
    right = [{**t, "label": int(t["request_id"][1:]) % 2} for t in truth]
    assert (
        feedback_section(window, right, card, True, CONFIG, test)["verdict"] == "as on the test set"
    )
    untested = feedback_section(window, truth, card, True, CONFIG, None)
    assert untested["verdict"].startswith("reported") and untested["realized"] == 0.6
    few = feedback_section(window, truth[:10], card, True, CONFIG, test)
    assert few["verdict"].startswith("insufficient labels")


def test_integer_categories_with_gaps_are_one_category_in_both_tables(tmp_path):
    # the reference column has gaps, so it is read as floats (3.0); requests send 3
    data = data_config(numeric_features=["a"], categorical_features=["k"], nullable=["k"])
    toy_bundle(tmp_path, data, n_rows=60)
    rng = np.random.default_rng(1)
    codes = rng.choice([1, 2, 3], 5000).astype(float)
    codes[:50] = np.nan
    reference = tmp_path / "train.parquet"
    pd.DataFrame({"a": rng.normal(10, 3, 5000), "k": codes}).to_parquet(reference)
    window = pd.DataFrame({"a": rng.normal(10, 3, 1500), "k": rng.choice([1, 2, 3], 1500)})
    window = window.astype(object)
    window.loc[:14, "k"] = None  # the same 1 % of gaps
    log = tmp_path / "predictions.jsonl"
    write_log(log, window)
    _, report = run_monitor(tmp_path, log, reference)
    assert report["drift"]["verdict"] == "no drift", report["drift"]
