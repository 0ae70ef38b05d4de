"""Before a candidate takes all traffic: its logged answers against the stable version's.

Two prediction logs (serving/prediction_log.py: one JSON line per row, with model version,
output, latency and, with a shadow candidate, its answer beside the primary's) from the
same traffic: the stable Deployment's and the canary's. Or one log, the primary's, whose
rows carry the shadow candidate's answers (the shadow strategy): then the candidate's
outputs are those answers, on the very same rows.

Checks, each with its numbers and its rule:
- error rate: candidate answers that are errors (a shadow's `{"error": ...}`) and, given
  Prometheus scrapes of both, 5xx answers per request, at most `max_error_increase` above
  stable's;
- latency: the candidate's p99 per request at most `max_latency_ratio` times stable's;
- output distribution: the outputs (label, class probabilities, or value) compared as the
  monitor compares a window with its reference (shipyard.monitor.drift: the same tests,
  Benjamini-Hochberg correction, effect floors and minimum rows from conf/monitor);
- agreement on shadowed rows: the share of rows where both give the same label (or, for
  values, the mean difference in stable-value standard deviations within the monitor's
  numeric effect floor).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from shipyard.config import MonitorConfig


@dataclass(frozen=True)
class Limits:
    max_error_increase: float = 0.01  # candidate error rate - stable's, at most
    max_latency_ratio: float = 1.5  # candidate p99 / stable p99, at most
    min_agreement: float = 0.9  # labels: share of shadowed rows both answer alike


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None  # None: not measured (no data for it)
    detail: str
    numbers: dict[str, Any]


def dominant_version(lines: list[dict[str, Any]]) -> str | None:
    """The model version most rows were answered by (a log spans a restart or two)."""
    from collections import Counter

    counts = Counter(line.get("model_version") for line in lines)
    return counts.most_common(1)[0][0] if counts else None


def of_version(lines: list[dict[str, Any]], version: str | None) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("model_version") == version]


def shadow_answers(lines: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(primary line, shadow answer) for every row the candidate answered or failed on
    (rows it dropped, its queue full, are no evidence either way)."""
    return [
        (line, line["shadow"])
        for line in lines
        if isinstance(line.get("shadow"), dict) and "dropped" not in line["shadow"]
    ]


def outputs_table(outputs: list[dict[str, Any]]) -> tuple[Any, list[str], list[str]]:
    """Outputs as columns the drift tests take: `label` (a category), `value` and each
    class's `p(<label>)` (numbers)."""
    import pandas as pd

    rows = []
    for output in outputs:
        row = {key: value for key, value in output.items() if key in ("label", "value")}
        for label, p in (output.get("probabilities") or {}).items():
            row[f"p({label})"] = p
        rows.append(row)
    table = pd.DataFrame(rows)
    categorical = ["label"] if "label" in table else []
    numeric = [c for c in table.columns if c not in categorical]
    if categorical:
        table["label"] = table["label"].astype("string")
    return table, numeric, categorical


def latency_p99(lines: list[dict[str, Any]]) -> tuple[int, float] | None:
    """(requests, p99 latency in ms), once per request (its rows share the latency)."""
    import numpy as np

    per_request = {line["request_id"]: line["latency_ms"] for line in lines if "latency_ms" in line}
    if not per_request:
        return None
    return len(per_request), float(np.quantile(list(per_request.values()), 0.99))


def http_errors(metrics_text: str) -> tuple[float, float]:
    """(requests, 5xx answers) to /predict in a Prometheus scrape of BentoML's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    total = errors = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if not sample.name.endswith("request_total"):
                continue
            if sample.labels.get("endpoint") != "/predict":
                continue
            total += sample.value
            if str(sample.labels.get("http_response_code", "")).startswith("5"):
                errors += sample.value
    return total, errors


def error_check(
    candidate_errors: tuple[float, float],
    stable_errors: tuple[float, float],
    limits: Limits,
    what: str,
) -> Check:
    (n_c, e_c), (n_s, e_s) = candidate_errors, stable_errors
    if n_c == 0:
        return Check("error rate", None, f"no candidate {what} to count", {})
    rate_c, rate_s = e_c / n_c, (e_s / n_s if n_s else 0.0)
    passed = rate_c - rate_s <= limits.max_error_increase
    numbers = {"candidate": round(rate_c, 4), "stable": round(rate_s, 4), "of": int(n_c)}
    return Check(
        "error rate",
        passed,
        f"{what}: candidate {rate_c:.2%} vs stable {rate_s:.2%} "
        f"(at most +{limits.max_error_increase:.2%})",
        numbers,
    )


def latency_check(
    stable: list[dict[str, Any]], candidate: list[dict[str, Any]], limits: Limits
) -> Check:
    s, c = latency_p99(stable), latency_p99(candidate)
    if s is None or c is None:
        return Check("latency", None, "no latency logged for the candidate (a shadow's is not)", {})
    ratio = c[1] / s[1] if s[1] > 0 else float("inf")
    return Check(
        "latency",
        ratio <= limits.max_latency_ratio,
        f"p99 per request: candidate {c[1]:.1f} ms vs stable {s[1]:.1f} ms, "
        f"x{ratio:.2f} (at most x{limits.max_latency_ratio:g})",
        {
            "candidate_p99_ms": round(c[1], 2),
            "stable_p99_ms": round(s[1], 2),
            "ratio": round(ratio, 3),
        },
    )


def distribution_check(
    stable: list[dict[str, Any]], candidate: list[dict[str, Any]], config: MonitorConfig
) -> Check:
    from shipyard.monitor.drift import column_drift, summary

    reference, numeric, categorical = outputs_table(stable)
    window, _, _ = outputs_table(candidate)
    missing = [c for c in [*numeric, *categorical] if c not in window]
    if missing or not len(window):
        return Check("output distribution", False, f"the candidate's outputs lack {missing}", {})
    drift = summary(
        column_drift(reference, window, numeric, categorical, config), len(window), config
    )
    if drift["verdict"] == "insufficient data":
        return Check(
            "output distribution",
            False,
            f"insufficient data: {len(window)} candidate rows, at least {config.min_rows} "
            "(monitor.min_rows) to judge",
            drift,
        )
    return Check(
        "output distribution",
        drift["verdict"] == "no drift",
        f"{drift['verdict']} ({drift['rule']})"
        + (f"; shifted: {', '.join(drift['drifted'])}" if drift["drifted"] else ""),
        drift,
    )


def agreement_check(
    shadowed: list[tuple[dict[str, Any], dict[str, Any]]], limits: Limits, config: MonitorConfig
) -> Check:
    import numpy as np

    answered = [(line["output"], answer) for line, answer in shadowed if "error" not in answer]
    if not answered:
        return Check("agreement", None, "no shadowed rows (no shadow candidate ran)", {})
    if "label" in answered[0][0]:
        same = sum(str(a.get("label")) == str(b.get("label")) for a, b in answered)
        share = same / len(answered)
        return Check(
            "agreement",
            share >= limits.min_agreement,
            f"same label on {same} of {len(answered)} shadowed rows, {share:.1%} "
            f"(at least {limits.min_agreement:.0%})",
            {"rows": len(answered), "agreement": round(share, 4)},
        )
    primary = np.array([a["value"] for a, _ in answered], dtype=float)
    shadow = np.array([b.get("value", np.nan) for _, b in answered], dtype=float)
    shift = float(np.nanmean(np.abs(primary - shadow)) / (np.std(primary) or 1.0))
    return Check(
        "agreement",
        shift <= config.numeric_effect,
        f"mean |difference| {shift:.3f} stable std on {len(answered)} shadowed rows "
        f"(at most {config.numeric_effect}, monitor.numeric_effect)",
        {"rows": len(answered), "mean_abs_difference_std": round(shift, 4)},
    )


def compare(
    stable_log: list[dict[str, Any]],
    canary_log: list[dict[str, Any]] | None,
    config: MonitorConfig,
    limits: Limits = Limits(),
    metrics: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The verdict on promoting the candidate: from the canary's own log, or (None) from
    the shadow answers in the stable log; `metrics`: (stable, canary) Prometheus scrapes."""
    stable_version = dominant_version(stable_log)
    stable = of_version(stable_log, stable_version)
    shadowed = shadow_answers(stable)
    if canary_log is not None:
        candidate_version = dominant_version(canary_log)
        candidate = of_version(canary_log, candidate_version)
        candidate_outputs = [line["output"] for line in candidate]
    else:
        candidate_version = dominant_version([answer for _, answer in shadowed])
        candidate = []
        candidate_outputs = [
            {k: v for k, v in answer.items() if k != "model_version"}
            for _, answer in shadowed
            if "error" not in answer
        ]
    # an error carries no version: it counts against whichever candidate ran
    shadowed = [
        (line, answer)
        for line, answer in shadowed
        if "error" in answer or answer.get("model_version") == candidate_version
    ]
    checks = []
    if shadowed:
        failed = sum("error" in answer for _, answer in shadowed)
        checks.append(
            error_check((len(shadowed), failed), (len(stable), 0), limits, "shadowed rows")
        )
    if metrics is not None:
        checks.append(
            error_check(
                http_errors(metrics[1]), http_errors(metrics[0]), limits, "/predict requests"
            )
        )
    if canary_log is not None:
        checks.append(latency_check(stable, candidate, limits))
    stable_outputs = [line["output"] for line in stable]
    checks.append(distribution_check(stable_outputs, candidate_outputs, config))
    checks.append(agreement_check(shadowed, limits, config))
    judged = [c for c in checks if c.passed is not None]
    passed = bool(judged) and all(c.passed for c in judged)
    return {
        "verdict": "promote" if passed else "do not promote",
        "stable_version": stable_version,
        "candidate_version": candidate_version,
        "stable_rows": len(stable),
        "candidate_rows": len(candidate_outputs),
        "limits": asdict(limits),
        "checks": [asdict(c) for c in checks],
    }


def markdown(result: dict[str, Any]) -> str:
    """The verdict and its numbers, for the release job's summary."""
    mark = {True: "pass", False: "**FAIL**", None: "not measured"}
    lines = [
        f"## Promotion check: {result['verdict'].upper()}",
        "",
        f"Candidate `{result['candidate_version']}` ({result['candidate_rows']} rows) against "
        f"stable `{result['stable_version']}` ({result['stable_rows']} rows).",
        "",
        "| check | result | numbers |",
        "|---|---|---|",
    ]
    lines += [f"| {c['name']} | {mark[c['passed']]} | {c['detail']} |" for c in result["checks"]]
    return "\n".join(lines) + "\n"
