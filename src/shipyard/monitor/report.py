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
from shipyard.monitor.decide import decide
from shipyard.monitor.drift import column_drift, summary
from shipyard.monitor.logs import exists, window_lines

SCHEMA_VERSION = 2


Line = dict[str, Any]


def join(
    window: list[Line], feedback: list[Line], version: str
) -> tuple[dict[tuple[str, int], Line], list[tuple[Line, Line]]]:
    """The window's rows of model `version` by (request id, row; the newest of repeats),
    and those with ground truth, paired with it (the newest label of a row wins)."""
    truth = {(f["request_id"], f.get("row", 0)): f for f in feedback}
    mine = {
        (line["request_id"], line["row"]): line
        for line in window
        if line.get("model_version") == version
    }
    return mine, [(line, truth[key]) for key, line in mine.items() if key in truth]


def labelled_rows(joined: list[tuple[Line, Line]], target: str, labelled: bool) -> Any:
    """The joined rows as training rows: request_id, row, the logged features, the target."""
    import pandas as pd

    field = "label" if labelled else "value"
    return pd.DataFrame.from_records(
        [
            {
                "request_id": line["request_id"],
                "row": line["row"],
                **line["input"],
                target: f[field],
            }
            for line, f in joined
        ]
    )


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
    labelled: `accuracy_drop_p` against `test_counts`, at `monitor.metric_alpha`."""
    import numpy as np

    mine, joined = join(window, feedback, card["version"])
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
        p = accuracy_drop_p(correct, len(joined), right, n)
        worse = p < config.metric_alpha
        section.update(
            p_value=p,
            verdict="worse than on the test set" if worse else "as on the test set",
            rule=(
                f"Fisher's exact test, one-sided, window vs the {n} test rows, "
                f"p < {config.metric_alpha}"
            ),
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


def accuracy_drop_p(correct: int, labelled: int, right: int, tested: int) -> float:
    """p of "the window's accuracy is below the test set's": Fisher's exact test, one-sided,
    of the window's [right, wrong] against the test set's. Both are samples; a test against
    the test accuracy as if it were exact alarms more often the more labels arrive."""
    from scipy import stats

    table = [[correct, labelled - correct], [right, tested - right]]
    return float(stats.fisher_exact(table, alternative="less").pvalue)


def monitor(
    log: str,
    reference: Path,
    bundle: Path,
    config: MonitorConfig,
    feedback: str | None = None,
    predictions: Path | None = None,
    model_age_days: float | None = None,
) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]], Any]:
    """The report, the frames its plots draw ({name: (reference, window)}), and the
    window's rows joined to their ground truth as training rows (`labelled_rows`; None
    without any).

    `log`/`feedback`: a log file or a store of collected partitions. The newest
    `window_rows` lines are the window; the `window_rows` before them, the previous window
    (is the drift persistent?). `predictions`: evaluate's saved test predictions of the
    shipped model (default data/predictions/<model>.parquet): the reference of the outputs,
    and the test set's counts for the realized accuracy."""
    import pandas as pd

    from shipyard.monitor.outputs import estimated_accuracy, output_drift
    from shipyard.pipeline.bundle import read_card, read_schema, shipped_model
    from shipyard.pipeline.features import inputs
    from shipyard.pipeline.task import task

    schema = read_schema(bundle)
    card = read_card(bundle)
    kind = task(schema.task)
    categorical = list(schema.categorical)
    numeric = [f for f in schema.features if f not in set(categorical)]
    table = pd.read_parquet(reference) if reference.suffix == ".parquet" else pd.read_csv(reference)
    bad: list[int] = []
    both = window_lines(log, "predictions", 2 * config.window_rows, bad)
    lines, before = both[-config.window_rows :], both[: -config.window_rows]

    def frame(part: list[dict[str, Any]]) -> pd.DataFrame:
        rows = pd.DataFrame.from_records([line["input"] for line in part], columns=schema.features)
        # as the model sees them: a category 3 and "3" (or 3.0, in a column with gaps) is one
        return inputs(rows, schema.features, categorical)

    table = inputs(table, schema.features, categorical)
    window = frame(lines)
    columns = column_drift(table, window, numeric, categorical, config)
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "model_version": card["version"],
        "log": str(log),
        "reference": {"path": str(reference), "rows": len(table)},
        "window": {
            "rows": len(window),
            "window_rows": config.window_rows,
            "bad_lines": bad[0],
            "from": lines[0].get("timestamp") if lines else None,
            "to": lines[-1].get("timestamp") if lines else None,
        },
        "drift": summary(columns, len(window), config),
    }
    shown = {c: (table[c], window[c]) for c in _most_drifted(report["drift"])}
    if before:
        earlier = column_drift(table, frame(before), numeric, categorical, config)
        report["previous_window"] = {
            k: v for k, v in summary(earlier, len(before), config).items() if k != "columns"
        }

    labelled = None
    saved = predictions or Path(f"data/predictions/{shipped_model(card)}.parquet")
    test = pd.read_parquet(saved) if saved.exists() else None
    mine = [
        line for line in lines if line.get("model_version") == card["version"] and "output" in line
    ]
    if test is not None and mine:
        test_scores = kind.scores(test)
        window_scores = kind.answered_scores(schema.labels, [line["output"] for line in mine])
        outputs = (
            kind.monitored(schema.labels, test_scores),
            kind.monitored(schema.labels, window_scores),
        )
        report["outputs"] = output_drift(*outputs, config)
        for name in _most_drifted(report["outputs"], 2):
            shown[f"output {name}"] = (outputs[0][name], outputs[1][name])
        if kind.labelled:
            truth = test["label"].to_numpy()
            report["estimate"] = estimated_accuracy(test_scores, truth, window_scores)

    if feedback is not None and exists(feedback, "feedback"):
        truth_lines = window_lines(feedback, "feedback", 10 * config.window_rows, [])
        counts = None
        if kind.labelled and test is not None:
            counts = int((test["label"] == test["predicted"]).sum()), len(test)
        report["feedback"] = feedback_section(
            lines, truth_lines, card, kind.labelled, config, counts
        )
        _, joined = join(lines, truth_lines, card["version"])
        labelled = labelled_rows(joined, schema.target, kind.labelled) if joined else None
    report["decision"] = decide(report, config, model_age_days)
    return report, shown, labelled


def _most_drifted(drift: dict[str, Any], n: int = 4) -> list[str]:
    """The columns to draw: the drifted ones first, then by effect; at most `n`."""
    ranked = sorted(drift["columns"], key=lambda c: (not c["drifted"], -c["effect"]))
    names: list[str] = []
    for c in ranked:
        if c["column"] not in names:
            names.append(c["column"])
    return names[:n]


def markdown(report: dict[str, Any], images: list[str] | None = None) -> str:
    drift = report["drift"]
    decision = report["decision"]
    lines = [
        f"# Monitoring: {drift['verdict']}",
        "",
        f"**Decision: {decision['action']}** ({decision['reason']}). Rule: {decision['rule']}.",
        "",
        f"Model `{report['model_version']}`; the newest {report['window']['rows']} logged rows "
        f"against {report['reference']['rows']} reference rows.",
        "",
    ]
    if "previous_window" in report:
        p = report["previous_window"]
        lines += [f"The window before it ({p['rows']} rows): {p['verdict']}.", ""]
    if "outputs" in report:
        o = report["outputs"]
        said = f"Outputs against the test set's: {o['verdict']}"
        if o.get("drifted"):
            said += f" ({', '.join(o['drifted'])})"
        lines += [said + ".", ""]
    if "estimate" in report:
        e = report["estimate"]
        lines += [
            f"Estimated {e['metric']} without labels: {e['estimated']} "
            f"({e['test_set']} on the test set; {e['method']}).",
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
    if images:
        lines += ["", *[f"![{name}]({name})" for name in images]]
    return "\n".join(lines) + "\n"


LABELLED = "labelled.parquet"


def write(
    report: dict[str, Any], shown: dict[str, tuple[Any, Any]], labelled: Any, out: Path
) -> None:
    """report.json, report.md, a PNG per drawn column, and the labelled rows (what a
    retraining adds: LABELLED) in `out`; what an earlier run left there goes."""
    from shipyard.monitor.plots import render

    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.png"), out / LABELLED]:
        old.unlink(missing_ok=True)
    if labelled is not None:
        labelled.to_parquet(out / LABELLED, index=False)
    images = render(shown, out)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report, images))
