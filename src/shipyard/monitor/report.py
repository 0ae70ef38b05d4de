"""`shipyard monitor`: the newest window of the prediction log against the training rows.

Writes report.json (schema-versioned, for machines: the retraining decision reads it) and
report.md (for people) with the verdict, the rule that made it and every column's figures.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from shipyard.config import MonitorConfig
from shipyard.monitor.drift import column_drift, summary

SCHEMA_VERSION = 1


def log_files(log: Path) -> list[Path]:
    """The log and its rotated files (RotatingFileHandler: log, log.1, log.2, ...), newest
    first."""
    rotated = sorted(
        (p for p in log.parent.glob(f"{log.name}.*") if p.suffix[1:].isdigit()),
        key=lambda p: int(p.suffix[1:]),
    )
    return [p for p in [log, *rotated] if p.exists()]


def newest_lines(log: Path, n: int) -> list[dict[str, Any]]:
    """The newest `n` lines of a JSON-lines log and its rotated files, oldest first."""
    found: list[dict[str, Any]] = []
    for path in log_files(log):
        lines = path.read_text(encoding="utf-8").splitlines()
        taken = [json.loads(line) for line in reversed(lines) if line.strip()]
        found.extend(taken[: n - len(found)])
        if len(found) >= n:
            break
    return found[::-1]


def newest_rows(log: Path, n: int) -> list[dict[str, Any]]:
    """The inputs of the newest `n` logged rows (fewer if the log has fewer), oldest first."""
    return [line["input"] for line in newest_lines(log, n)]


def _delay_s(line: dict[str, Any], truth: dict[str, Any]) -> float | None:
    if not (line.get("timestamp") and truth.get("timestamp")):
        return None
    told, asked = truth["timestamp"], line["timestamp"]
    return (datetime.fromisoformat(told) - datetime.fromisoformat(asked)).total_seconds()


def feedback_section(
    window: list[dict[str, Any]],
    feedback: list[dict[str, Any]],
    card: dict[str, Any],
    labelled: bool,
    config: MonitorConfig,
) -> dict[str, Any]:
    """Ground truth joined to the window by (request id, row): the join rate, the label
    delay, and the realized metric against the test set's, with a one-sided binomial test
    for accuracy (classification) once `monitor.min_labels` rows are labelled."""
    import numpy as np
    from scipy import stats

    truth = {(f["request_id"], f.get("row", 0)): f for f in feedback}
    keys = [(line["request_id"], line["row"]) for line in window]
    joined = [(line, truth[key]) for line, key in zip(window, keys, strict=True) if key in truth]
    section: dict[str, Any] = {
        "labelled_rows": len(joined),
        "join_rate": round(len(joined) / len(window), 4) if window else 0.0,
    }
    delays = [d for line, f in joined if (d := _delay_s(line, f)) is not None]
    if delays:
        section["label_delay_s"] = {
            "median": round(float(np.median(delays)), 3),
            "p90": round(float(np.quantile(delays, 0.9)), 3),
        }
    shipped = card.get("model", "mlp")
    if len(joined) < config.min_labels:
        section["verdict"] = f"insufficient labels (fewer than {config.min_labels})"
        return section
    if labelled:
        correct = sum(line["output"]["label"] == f["label"] for line, f in joined)
        expected = card["metrics"][shipped]["accuracy"]
        test = stats.binomtest(correct, len(joined), expected, alternative="less")
        worse = test.pvalue < config.alpha
        section.update(
            metric="accuracy",
            realized=round(correct / len(joined), 4),
            test_set=round(expected, 4),
            p_value=float(test.pvalue),
            verdict="worse than on the test set" if worse else "as on the test set",
            rule=f"one-sided binomial test against the test-set accuracy, p < {config.alpha}",
        )
    else:
        errors = [abs(line["output"]["value"] - f["value"]) for line, f in joined]
        section.update(
            metric="mae",
            realized=round(float(np.mean(errors)), 4),
            test_set=round(card["metrics"][shipped]["mae"], 4),
            verdict="reported (no test for values yet)",
        )
    return section


def monitor(
    log: Path, reference: Path, bundle: Path, config: MonitorConfig, feedback: Path | None = None
) -> dict[str, Any]:
    import pandas as pd

    from shipyard.pipeline.bundle import read_card, read_schema
    from shipyard.pipeline.task import task

    schema = read_schema(bundle)
    card = read_card(bundle)
    categorical = list(schema.categorical)
    numeric = [f for f in schema.features if f not in set(categorical)]
    table = pd.read_parquet(reference) if reference.suffix == ".parquet" else pd.read_csv(reference)
    lines = newest_lines(log, config.window_rows)
    window = pd.DataFrame.from_records([line["input"] for line in lines], columns=schema.features)
    columns = column_drift(table, window, numeric, categorical, config)
    report = {
        "schema_version": SCHEMA_VERSION,
        "model_version": card["version"],
        "log": str(log),
        "reference": {"path": str(reference), "rows": len(table)},
        "window": {"rows": len(window), "window_rows": config.window_rows},
        "drift": summary(columns, len(window), config),
    }
    if feedback is not None and log_files(feedback):
        truth = newest_lines(feedback, 10 * config.window_rows)
        labelled = task(schema.task).labelled
        report["feedback"] = feedback_section(lines, truth, card, labelled, config)
    return report


def markdown(report: dict[str, Any]) -> str:
    drift = report["drift"]
    lines = [
        f"# Monitoring: {drift['verdict']}",
        "",
        f"Model `{report['model_version']}`; the newest {report['window']['rows']} logged rows "
        f"against {report['reference']['rows']} reference rows.",
        "",
    ]
    if "feedback" in report:
        f = report["feedback"]
        said = f"Ground truth: {f['labelled_rows']} rows labelled ({f['join_rate']:.1%})"
        if "label_delay_s" in f:
            said += f", median delay {f['label_delay_s']['median']} s"
        said += f": {f['verdict']}"
        if "realized" in f:
            said += f" ({f['metric']} {f['realized']}, {f['test_set']} on the test set)"
        lines += [said + ".", ""]
    if drift["verdict"] == "insufficient data":
        lines.append(f"Not judged: fewer than {drift['min_rows']} rows (`monitor.min_rows`).")
        return "\n".join(lines) + "\n"
    lines += [
        f"Rule: {drift['rule']}.",
        "",
        "| column | test | p | q (BH) | effect | drifted |",
        "|---|---|---|---|---|---|",
    ]
    for c in sorted(drift["columns"], key=lambda c: (not c["drifted"], c["q_value"])):
        lines.append(
            f"| {c['column']} | {c['test']} | {c['p_value']:.3g} | {c['q_value']:.3g} | "
            f"{c['effect']:.3f} ({c['effect_name']}) | {'**yes**' if c['drifted'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def write(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))
