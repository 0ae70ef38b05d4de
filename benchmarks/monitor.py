"""Monitoring benchmark: what the drift and realized-accuracy tests catch, how often they
alarm for nothing, and what a report costs, against the monitoring issue's targets.

Tables of 45 numeric (standard normal) and 5 categorical columns (shares 0.5/0.3/0.19 and
a rare 0.01) with a 20,000-row reference, judged with conf/monitor/default.yaml:
- false alarms: in-distribution windows that flag any column (Clopper-Pearson 95 % bound);
- power by shift: k sigma on one numeric column, by window size; 2 points moved into the
  rare category;
- realized accuracy: a window of labelled rows against a 1,000-row test set (Fisher's exact
  test), at the test accuracy (false positives) and 5 points below it (power);
- time and peak memory of `shipyard monitor` over a 100k-line prediction log x 50 features
  (as the service writes it) against a 100k-row reference.

    python -m benchmarks.monitor [--trials 200]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks.scale import measured
from shipyard.config import MonitorConfig
from shipyard.monitor.drift import column_drift
from shipyard.monitor.report import accuracy_drop_p
from shipyard.monitor.shift import mean_shift, reweight

ROOT = Path(__file__).resolve().parents[1]
NUMERIC = [f"x{i:02d}" for i in range(45)]
CATEGORICAL = [f"c{i}" for i in range(5)]
CATEGORIES, SHARES = ["a", "b", "c", "rare"], [0.5, 0.3, 0.19, 0.01]


def table(n: int, rng: np.random.Generator) -> pd.DataFrame:
    frame = pd.DataFrame(rng.normal(size=(n, len(NUMERIC))), columns=NUMERIC)
    for column in CATEGORICAL:
        frame[column] = rng.choice(CATEGORIES, n, p=SHARES)
    return frame


def upper_bound(hits: int, trials: int) -> float:
    from scipy import stats

    return float(stats.binomtest(hits, trials).proportion_ci(method="exact").high)


def lower_bound(hits: int, trials: int) -> float:
    from scipy import stats

    return float(stats.binomtest(hits, trials).proportion_ci(method="exact").low)


def flagged(reference: pd.DataFrame, window: pd.DataFrame, config: MonitorConfig) -> set[str]:
    found = column_drift(reference, window, NUMERIC, CATEGORICAL, config) or []
    return {c.column for c in found if c.drifted}


def drift_figures(config: MonitorConfig, trials: int) -> None:
    rng = np.random.default_rng(0)
    reference = table(20_000, rng)
    print(f"{'check':<48}{'rate':>8}{'95% CI':>16}{'target':>12}  met")

    def row(name: str, hits: int, n: int, target: str, met: bool) -> None:
        low, high = lower_bound(hits, n), upper_bound(hits, n)
        print(f"{name:<48}{hits / n:8.1%}{f'{low:.1%}..{high:.1%}':>16}{target:>12}  {met}")

    alarms = sum(bool(flagged(reference, table(5000, rng), config)) for _ in range(trials))
    row(
        f"false alarm, {trials} windows of 5,000",
        alarms,
        trials,
        "<=5%, ub<=8%",
        alarms / trials <= 0.05 and upper_bound(alarms, trials) <= 0.08,
    )
    caught = sum(
        "x03" in flagged(reference, mean_shift(table(1000, rng), "x03", 0.2, scale=1.0), config)
        for _ in range(trials)
    )
    row(
        f"0.2 sigma in x03, {trials} windows of 1,000",
        caught,
        trials,
        ">=95%",
        caught >= 0.95 * trials,
    )
    caught = sum(
        "c0" in flagged(reference, reweight(table(2000, rng), "c0", "rare", 0.02, rng), config)
        for _ in range(trials)
    )
    row(
        f"+2 points into rare c0, {trials} windows of 2,000",
        caught,
        trials,
        ">=95%",
        caught >= 0.95 * trials,
    )

    small = max(trials // 4, 20)
    sizes = [500, 1000, 2000, 5000]
    print(f"\npower by shift (sigma) and window rows, {small} windows each:")
    print(f"{'shift':<8}" + "".join(f"{n:>8,}" for n in sizes))
    for k in (0.05, 0.1, 0.2, 0.3):
        cells = []
        for n in sizes:
            hits = sum(
                "x03" in flagged(reference, mean_shift(table(n, rng), "x03", k, scale=1.0), config)
                for _ in range(small)
            )
            cells.append(f"{hits / small:8.0%}")
        print(f"{k:<8}" + "".join(cells))


def accuracy_figures(config: MonitorConfig, trials: int) -> None:
    """The realized-accuracy test on labelled windows drawn at known accuracies."""
    rng = np.random.default_rng(1)
    print(
        f"\nrealized accuracy vs the test set, Fisher one-sided at p < {config.metric_alpha}, "
        f"{5 * trials} trials each:"
    )
    print(
        f"{'test acc':<10}{'test rows':>10}{'labels':>8}{'false pos':>12}{'5-pt drop':>12}"
        "  met (<=2%, >=95%)"
    )
    for accuracy, tested, labels in itertools.product((0.8, 0.9, 0.97), (1000, 5000), (1000, 2000)):
        if True:
            n = 5 * trials
            right = rng.binomial(tested, accuracy, n)
            same = rng.binomial(labels, accuracy, n)
            worse = rng.binomial(labels, accuracy - 0.05, n)
            fp = np.mean(
                [
                    accuracy_drop_p(c, labels, r, tested) < config.metric_alpha
                    for c, r in zip(same, right, strict=True)
                ]
            )
            power = np.mean(
                [
                    accuracy_drop_p(c, labels, r, tested) < config.metric_alpha
                    for c, r in zip(worse, right, strict=True)
                ]
            )
            met = fp <= 0.02 and power >= 0.95 if labels == 2000 else ""
            print(f"{accuracy:<10}{tested:>10,}{labels:>8,}{fp:12.1%}{power:12.1%}  {met}")


def cost_figures(config: MonitorConfig, rows: int) -> None:
    """`shipyard monitor` in a fresh process over a prediction log as the service writes it."""
    from tests.helpers import data_config, toy_bundle

    with tempfile.TemporaryDirectory(prefix="shipyard-monitor-") as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(2)
        data = data_config(numeric_features=NUMERIC, categorical_features=CATEGORICAL)
        toy_bundle(tmp, data, n_rows=200)
        reference = tmp / "reference.parquet"
        table(rows, rng).to_parquet(reference)
        log = tmp / "predictions.jsonl"
        window = table(rows, rng).to_dict("records")
        with log.open("w") as out:
            for i, inputs in enumerate(window):
                line = {
                    "timestamp": "2026-11-25T10:00:00+00:00",
                    "request_id": f"r{i}",
                    "row": 0,
                    "model_version": "toy",
                    "input": inputs,
                    "output": {"label": "no", "probabilities": {"no": 0.9, "yes": 0.1}},
                }
                out.write(json.dumps(line) + "\n")
        params = yaml.safe_load((ROOT / "params.yaml").read_text())
        params["monitor"]["window_rows"] = rows
        (tmp / "params.yaml").write_text(yaml.safe_dump(params))
        cmd = [sys.executable, "-m", "shipyard.cli", "monitor", "--log", str(log)]
        cmd += ["--reference", str(reference), "--bundle", str(tmp / "bundle")]
        cmd += ["--out", str(tmp / "out"), "--params", str(tmp / "params.yaml")]
        wall, peak = measured(cmd, ROOT)
        print(
            f"\nshipyard monitor, {rows:,} logged rows x 50 features vs {rows:,} reference rows:"
            f" {wall:.1f} s (target <= 30), peak {peak:.0f} MiB (target <= 1536)"
            f"  met {wall <= 30 and peak <= 1536}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=200, help="windows per acceptance figure")
    parser.add_argument("--rows", type=int, default=100_000, help="log rows for the cost")
    parser.add_argument("--only", choices=["drift", "accuracy", "cost"])
    args = parser.parse_args()
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    config = MonitorConfig(**yaml.safe_load((ROOT / "conf/monitor/default.yaml").read_text()))
    if args.only in (None, "drift"):
        drift_figures(config, args.trials)
    if args.only in (None, "accuracy"):
        accuracy_figures(config, args.trials)
    if args.only in (None, "cost"):
        cost_figures(config, args.rows)


if __name__ == "__main__":
    main()
