"""What a monitoring report calls for, and the rule that says so. Pure: the report in, a
decision out; `shipyard monitor` writes it into the report, and `drift-issue` and
`retrain-pr` act on it.

- retrain: labels show the model worse than on its test set (concept drift); or the data
  drifted in this window and the one before it, with enough labelled rows to learn from;
  or the model is older than `monitor.max_model_age_days`, with enough labelled rows.
- issue: the data or the outputs drifted, but there is nothing (yet) to retrain on.
- none: otherwise.

A retraining needs labelled rows to add: without them it would rebuild the same model.
"""

from __future__ import annotations

from typing import Any

from shipyard.config import MonitorConfig

RETRAIN, ISSUE, NONE = "retrain", "issue", "none"


def decide(
    report: dict[str, Any], config: MonitorConfig, model_age_days: float | None = None
) -> dict[str, Any]:
    drift = report["drift"]["verdict"] == "drift"
    before = report.get("previous_window", {}).get("verdict") == "drift"
    outputs = report.get("outputs", {}).get("verdict") == "drift"
    feedback = report.get("feedback", {})
    labelled = feedback.get("labelled_rows", 0)
    enough = labelled >= config.min_labels
    max_age = config.max_model_age_days

    if feedback.get("verdict") == "worse than on the test set":
        return _said(RETRAIN, "concept drift", feedback["rule"], labelled)
    if drift and before and enough:
        rule = (
            f"data drift in this window and the previous one, and >= {config.min_labels} "
            "labelled rows"
        )
        return _said(RETRAIN, "persistent data drift", rule, labelled)
    if max_age is not None and model_age_days is not None and model_age_days > max_age and enough:
        rule = f"model older than {max_age} days, and >= {config.min_labels} labelled rows"
        return _said(RETRAIN, "model age", rule, labelled)
    if drift or outputs:
        what = " and ".join(w for w, on in (("data", drift), ("output", outputs)) if on)
        rule = f"{what} drift without enough labelled rows to retrain on"
        return _said(ISSUE, f"{what} drift", rule, labelled)
    return _said(NONE, "no drift", "no drift, no worse realized metric", labelled)


def _said(action: str, reason: str, rule: str, labelled: int) -> dict[str, Any]:
    return {"action": action, "reason": reason, "rule": rule, "labelled_rows": labelled}
