"""`shipyard promotion-check` on prediction logs written by the service's own log writer
(serving/prediction_log.py): a canary that answers like stable is promoted; one whose
outputs shift, that is slower, or a shadow that disagrees or fails, is not, and the
verdict names the check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from shipyard.monitor.promotion import compare
from shipyard.serving.prediction_log import Entry, PredictionLog
from tests.helpers import monitor_config

CONFIG = monitor_config(min_rows=300, min_labels=100)


def answers(version: str, p_yes: np.ndarray) -> list[dict]:
    return [
        {
            "label": "yes" if p > 0.5 else "no",
            "probabilities": {"no": float(1 - p), "yes": float(p)},
            "model_version": version,
        }
        for p in p_yes
    ]


def write_log(
    path: Path, version: str, p_yes: np.ndarray, latency_ms: float = 5.0, shadow=None
) -> Path:
    """Requests of 10 rows each through PredictionLog, as the service logs them."""
    log = PredictionLog(path, 10**8, 1, shadow=shadow, queue=10**4)

    async def fill() -> None:
        outputs = answers(version, p_yes)
        for at in range(0, len(outputs), 10):
            rows = [{"a": float(i), "b": 1.0} for i in range(at, at + 10)]
            log.add(Entry(f"r{at}", latency_ms, rows, outputs[at : at + 10], "2025-01-01T00:00Z"))
        await log.drain()
        await log.close(5)

    asyncio.run(fill())
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def by_name(result: dict) -> dict[str, dict]:
    return {c["name"]: c for c in result["checks"]}


@pytest.fixture
def p_yes() -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, 1000)


def test_a_canary_like_stable_is_promoted(tmp_path, p_yes):
    rng = np.random.default_rng(1)
    stable = write_log(tmp_path / "stable.jsonl", "s1", p_yes)
    canary = write_log(tmp_path / "canary.jsonl", "c1", rng.uniform(0, 1, 600), 5.5)
    result = compare(lines(stable), lines(canary), CONFIG)
    assert result["verdict"] == "promote", result
    assert (result["stable_version"], result["candidate_version"]) == ("s1", "c1")
    checks = by_name(result)
    assert checks["latency"]["passed"] and checks["output distribution"]["passed"]
    assert checks["agreement"]["passed"] is None  # no shadowed rows: not measured


def test_shifted_outputs_or_slow_canary_are_not_promoted(tmp_path, p_yes):
    stable = lines(write_log(tmp_path / "stable.jsonl", "s1", p_yes))
    shifted = write_log(tmp_path / "shifted.jsonl", "c1", np.clip(p_yes[:600] + 0.3, 0, 1))
    result = compare(stable, lines(shifted), CONFIG)
    assert result["verdict"] == "do not promote"
    drift = by_name(result)["output distribution"]
    assert drift["passed"] is False and "p(yes)" in drift["numbers"]["drifted"]
    slow = write_log(tmp_path / "slow.jsonl", "c2", p_yes[:600], latency_ms=20.0)
    checks = by_name(compare(stable, lines(slow), CONFIG))
    assert checks["latency"]["passed"] is False and "x4.00" in checks["latency"]["detail"]


def test_too_few_canary_rows_is_no_evidence(tmp_path, p_yes):
    stable = lines(write_log(tmp_path / "stable.jsonl", "s1", p_yes))
    few = write_log(tmp_path / "few.jsonl", "c1", p_yes[:100])
    result = compare(stable, lines(few), CONFIG)
    assert result["verdict"] == "do not promote"
    assert "insufficient data" in by_name(result)["output distribution"]["detail"]


def shadow_of(version: str, flip: float):
    """A candidate answering the logged rows: stable's answers, a share of labels flipped."""
    rng = np.random.default_rng(2)

    def predict(rows: list[dict]) -> list[dict]:
        p = np.array([row["a"] for row in rows]) % 100 / 100
        p = np.where(rng.uniform(size=len(p)) < flip, 1 - p, p)
        return answers(version, p)

    return predict


def test_shadow_rows_are_compared_on_the_same_rows(tmp_path):
    p = np.arange(1000) % 100 / 100  # what shadow_of computes from the rows, unflipped
    agreeing = write_log(tmp_path / "a.jsonl", "s1", p, shadow=shadow_of("c1", 0.0))
    result = compare(lines(agreeing), None, CONFIG)
    assert result["candidate_version"] == "c1" and result["verdict"] == "promote", result
    assert by_name(result)["agreement"]["numbers"]["agreement"] == 1.0
    disagreeing = write_log(tmp_path / "d.jsonl", "s1", p, shadow=shadow_of("c1", 0.3))
    result = compare(lines(disagreeing), None, CONFIG)
    assert result["verdict"] == "do not promote"
    assert by_name(result)["agreement"]["passed"] is False


def test_a_failing_shadow_counts_as_errors(tmp_path, p_yes):
    def broken(rows: list[dict]) -> list[dict]:
        raise KeyError("the candidate needs features the requests lack")

    failing = write_log(tmp_path / "f.jsonl", "s1", p_yes, shadow=broken)
    result = compare(lines(failing), None, CONFIG)
    assert result["verdict"] == "do not promote"
    errors = by_name(result)["error rate"]
    assert errors["passed"] is False and errors["numbers"]["candidate"] == 1.0


def test_the_cli_writes_the_verdict_for_the_job_summary(tmp_path, p_yes, monkeypatch):
    from shipyard import cli
    from tests.helpers import composed

    params = composed(tmp_path)  # noqa: F841 (writes tmp_path/params.yaml)
    stable = write_log(tmp_path / "stable.jsonl", "s1", p_yes)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "report" / "promotion.json"
    argv = ["promotion-check", "--stable", str(stable), "--canary", str(stable)]
    argv += ["--output", str(out), "--params", str(tmp_path / "params.yaml")]
    cli.main(argv)  # stable against itself: promote
    assert json.loads(out.read_text())["verdict"] == "promote"
    assert "## Promotion check: PROMOTE" in summary.read_text()
    assert out.with_suffix(".md").read_text() in summary.read_text()
