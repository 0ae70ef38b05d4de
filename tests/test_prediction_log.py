"""The prediction log's bounds, in-process: rotation, failed writes, the shadow queue."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from shipyard.serving.prediction_log import Entry, PredictionLog, check_writable, log_path


def entry(request_id: str, n: int = 2) -> Entry:
    rows = [{"x": float(i)} for i in range(n)]
    outputs = [{"model_version": "v1", "value": float(i)} for i in range(n)]
    return Entry(request_id, 1.0, rows, outputs)


def lines(path) -> list[dict]:
    return [
        json.loads(line)
        for p in sorted(path.parent.glob(path.name + "*"))
        for line in p.read_text().splitlines()
    ]


def test_relative_log_paths_live_under_the_state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SHIPYARD_STATE_DIR", str(tmp_path))
    assert log_path("logs/p.jsonl") == tmp_path / "logs/p.jsonl"
    assert log_path("/abs/p.jsonl").as_posix() == "/abs/p.jsonl"
    monkeypatch.delenv("SHIPYARD_STATE_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert log_path("p.jsonl") == tmp_path / "xdg/shipyard/p.jsonl"
    (tmp_path / "a-file").write_text("")
    assert "File exists" in check_writable(tmp_path / "a-file/p.jsonl")
    assert check_writable(tmp_path / "new/p.jsonl") is None


def test_the_log_rotates_by_size_and_keeps_every_row_of_a_request_together(tmp_path):
    path = tmp_path / "p.jsonl"
    log = PredictionLog(path, max_bytes=500, backups=50)
    for i in range(20):
        log.add(entry(f"r{i}", n=3))
    files = list(tmp_path.glob("p.jsonl*"))
    assert len(files) > 1 and all(f.stat().st_size <= 500 + 400 for f in files)
    got = lines(path)
    assert len(got) == 60
    for f in files:  # a request's rows are written in one record, never split
        ids = [json.loads(line)["request_id"] for line in f.read_text().splitlines()]
        assert all(ids.count(i) == 3 for i in set(ids))


def test_shadow_queue_is_bounded_counts_drops_and_logs_every_row(tmp_path):
    path = tmp_path / "p.jsonl"
    release = threading.Event()
    seen: list[int] = []

    def slow_candidate(rows):
        release.wait(5)  # the candidate is stuck until the load has come and gone
        seen.append(len(rows))
        return [{"model_version": "v2", "value": -1.0} for _ in rows]

    async def main() -> PredictionLog:
        log = PredictionLog(path, 10**6, 1, shadow=slow_candidate, queue=3, max_busy=1.0)
        for i in range(10):  # 1 taken by the worker, 3 queued, 6 dropped
            log.add(entry(f"r{i}"))
            await asyncio.sleep(0)
        release.set()
        await asyncio.wait_for(log.drain(), 10)
        return log

    asyncio.run(main())
    got = lines(path)
    assert len(got) == 20  # every row of every request, dropped or not
    dropped = [line for line in got if line["shadow"] == {"dropped": "shadow queue full"}]
    shadowed = [line for line in got if line["shadow"].get("model_version") == "v2"]
    assert len(dropped) == 12 and len(shadowed) == 8
    assert max(seen) > 2  # queued requests are answered together


def test_a_failing_candidate_is_logged_never_raised(tmp_path):
    path = tmp_path / "p.jsonl"

    def broken(rows):
        raise KeyError("no_such_feature")

    async def main() -> None:
        log = PredictionLog(path, 10**6, 1, shadow=broken, queue=8)
        log.add(entry("r1"))
        await asyncio.wait_for(log.drain(), 10)

    asyncio.run(main())
    assert all("no_such_feature" in line["shadow"]["error"] for line in lines(path))


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
def test_failed_writes_are_counted_and_reported_once(caplog, monkeypatch):
    log = PredictionLog(Path("/dev/full"), 10**6, 1)
    counted = []
    monkeypatch.setattr(log.file.failed, "inc", counted.append)  # the counter, observed
    with caplog.at_level("WARNING", logger="bentoml.shipyard"):
        for i in range(5):
            log.add(entry(f"r{i}", n=3))
            time.sleep(0)
    assert counted == [3] * 5
    reports = [r for r in caplog.records if "No space left" in r.getMessage()]
    assert len(reports) == 1


def test_shutdown_logs_what_the_candidate_never_answered(tmp_path):
    path = tmp_path / "p.jsonl"
    stuck = threading.Event()

    def never(rows):
        stuck.wait(3)
        return [{"model_version": "v2"}] * len(rows)

    async def main() -> None:
        log = PredictionLog(path, 10**6, 1, shadow=never, queue=8)
        for i in range(4):
            log.add(entry(f"r{i}"))
            await asyncio.sleep(0)
        await log.close(timeout_s=0.2)

    asyncio.run(main())
    stuck.set()
    time.sleep(0.2)  # the candidate's late answer for r0 must not log it twice
    got = lines(path)
    # r0 was with the candidate, r1-r3 queued: all logged once, none with an answer
    assert sorted(line["request_id"] for line in got) == sorted(["r0", "r1", "r2", "r3"] * 2)
    assert all(line["shadow"] == {"dropped": "shutting down"} for line in got)


def test_a_failed_write_leaves_no_half_line(tmp_path):
    path = tmp_path / "p.jsonl"
    log = PredictionLog(path, 10**6, 1)
    log.add(entry("ok"))
    good = path.stat().st_size
    log.file._size = good  # as emit records it; then the write fails halfway:
    with path.open("a") as f:
        f.write('{"request_id": "torn"')
    try:
        raise OSError(28, "No space left on device")
    except OSError:
        log.file.handleError(None)  # what logging calls from inside emit's except
    log.add(entry("after"))
    assert [line["request_id"] for line in lines(path)] == ["ok", "ok", "after", "after"]
