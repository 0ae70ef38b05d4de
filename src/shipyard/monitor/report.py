"""`shipyard monitor`: the newest window of the prediction log against the training rows.

Writes report.json (schema-versioned, for machines: the retraining decision reads it) and
report.md (for people) with the verdict, the rule that made it and every column's figures.
"""

from __future__ import annotations

import json
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


def newest_rows(log: Path, n: int) -> list[dict[str, Any]]:
    """The inputs of the newest `n` logged rows (fewer if the log has fewer), oldest first."""
    rows: list[dict[str, Any]] = []
    for path in log_files(log):
        lines = path.read_text(encoding="utf-8").splitlines()
        taken = [json.loads(line)["input"] for line in reversed(lines) if line.strip()]
        rows.extend(taken[: n - len(rows)])
        if len(rows) >= n:
            break
    return rows[::-1]


def monitor(log: Path, reference: Path, bundle: Path, config: MonitorConfig) -> dict[str, Any]:
    import pandas as pd

    from shipyard.pipeline.bundle import read_card, read_schema

    schema = read_schema(bundle)
    categorical = list(schema.categorical)
    numeric = [f for f in schema.features if f not in set(categorical)]
    table = pd.read_parquet(reference) if reference.suffix == ".parquet" else pd.read_csv(reference)
    window = pd.DataFrame.from_records(
        newest_rows(log, config.window_rows), columns=schema.features
    )
    columns = column_drift(table, window, numeric, categorical, config)
    return {
        "schema_version": SCHEMA_VERSION,
        "model_version": read_card(bundle)["version"],
        "log": str(log),
        "reference": {"path": str(reference), "rows": len(table)},
        "window": {"rows": len(window), "window_rows": config.window_rows},
        "drift": summary(columns, len(window), config),
    }


def markdown(report: dict[str, Any]) -> str:
    drift = report["drift"]
    lines = [
        f"# Monitoring: {drift['verdict']}",
        "",
        f"Model `{report['model_version']}`; the newest {report['window']['rows']} logged rows "
        f"against {report['reference']['rows']} reference rows.",
        "",
    ]
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
