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


def newest_lines(log: Path, n: int, bad: list[int] | None = None) -> list[dict[str, Any]]:
    """The newest `n` lines of a JSON-lines log and its rotated files, oldest first. A line
    that does not parse (a write cut short) is skipped and counted in `bad`; a file rotated
    away while reading is skipped."""
    found: list[dict[str, Any]] = []
    skipped = 0
    for path in log_files(log):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            continue
        for line in reversed(lines):
            if len(found) == n:
                break
            if not line.strip():
                continue
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                skipped += 1
        if len(found) == n:
            break
    if bad is not None:
        bad.append(skipped)
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
    test_counts: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Ground truth joined to the window's rows of this card's model version by (request
    id, row; the newest of repeats): the join rate, the label delay, and the realized
    metric against the test set's. For accuracy, once `monitor.min_labels` rows are
    labelled: Fisher's exact test, one-sided, of the window's [right, wrong] against the
    test set's (`test_counts`: both are samples; a test against the test accuracy as if
    exact alarms more often the more labels arrive)."""
    import numpy as np
    from scipy import stats

    truth = {(f["request_id"], f.get("row", 0)): f for f in feedback}
    mine = {
        (line["request_id"], line["row"]): line
        for line in window
        if line.get("model_version") == card["version"]
    }
    joined = [(line, truth[key]) for key, line in mine.items() if key in truth]
    section: dict[str, Any] = {
        "model_rows": len(mine),
        "other_versions_rows": sum(line.get("model_version") != card["version"] for line in window),
        "labelled_rows": len(joined),
        "join_rate": round(len(joined) / len(mine), 4) if mine else 0.0,
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
        section.update(
            metric="accuracy", realized=round(correct / len(joined), 4), test_set=round(expected, 4)
        )
        if test_counts is None:
            section["verdict"] = "reported (no test-set counts to test against)"
            return section
        right, n = test_counts
        table = [[correct, len(joined) - correct], [right, n - right]]
        p = float(stats.fisher_exact(table, alternative="less").pvalue)
        worse = p < config.alpha
        section.update(
            p_value=p,
            verdict="worse than on the test set" if worse else "as on the test set",
            rule=f"Fisher's exact test, one-sided, window vs the {n} test rows, p < {config.alpha}",
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


def test_counts(predictions: Path) -> tuple[int, int] | None:
    """(right, rows) of evaluate's saved test predictions of a classifier, if present."""
    import pandas as pd

    if not predictions.exists():
        return None
    frame = pd.read_parquet(predictions, columns=["label", "predicted"])
    return int((frame["label"] == frame["predicted"]).sum()), len(frame)


def monitor(
    log: Path,
    reference: Path,
    bundle: Path,
    config: MonitorConfig,
    feedback: Path | None = None,
    predictions: Path | None = None,
) -> dict[str, Any]:
    """The report. `predictions`: evaluate's saved test predictions of the shipped model
    (default data/predictions/<model>.parquet), for the test set's counts."""
    import pandas as pd

    from shipyard.pipeline.bundle import read_card, read_schema, shipped_model
    from shipyard.pipeline.features import inputs
    from shipyard.pipeline.task import task

    schema = read_schema(bundle)
    card = read_card(bundle)
    categorical = list(schema.categorical)
    numeric = [f for f in schema.features if f not in set(categorical)]
    table = pd.read_parquet(reference) if reference.suffix == ".parquet" else pd.read_csv(reference)
    bad: list[int] = []
    lines = newest_lines(log, config.window_rows, bad)
    window = pd.DataFrame.from_records([line["input"] for line in lines], columns=schema.features)
    # as the model sees them: a category 3 and "3" (or 3.0, in a column with gaps) is one
    table = inputs(table, schema.features, categorical)
    window = inputs(window, schema.features, categorical)
    columns = column_drift(table, window, numeric, categorical, config)
    report = {
        "schema_version": SCHEMA_VERSION,
        "model_version": card["version"],
        "log": str(log),
        "reference": {"path": str(reference), "rows": len(table)},
        "window": {"rows": len(window), "window_rows": config.window_rows, "bad_lines": bad[0]},
        "drift": summary(columns, len(window), config),
    }
    if feedback is not None and log_files(feedback):
        truth = newest_lines(feedback, 10 * config.window_rows)
        labelled = task(schema.task).labelled
        saved = predictions or Path(f"data/predictions/{shipped_model(card)}.parquet")
        counts = test_counts(saved) if labelled else None
        report["feedback"] = feedback_section(lines, truth, card, labelled, config, counts)
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
