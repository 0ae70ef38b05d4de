"""Drift statistics on windows drawn with a known truth: in-distribution windows rarely
alarm; a 0.2 sigma shift in one of ten columns is caught at 1,000 rows, and only there."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from shipyard.monitor.drift import column_drift, summary
from tests.helpers import monitor_config

CONFIG = monitor_config()
NUMERIC = [f"x{i}" for i in range(10)]
PLANS = ["basic", "plus", "pro"]


def table(
    n: int, rng: np.random.Generator, shift: float = 0.0, plans=(0.5, 0.3, 0.2)
) -> pd.DataFrame:
    frame = pd.DataFrame(rng.normal(size=(n, 10)), columns=NUMERIC)
    frame["x3"] += shift
    frame["plan"] = rng.choice(PLANS, size=n, p=plans)
    return frame


def drifted(reference: pd.DataFrame, window: pd.DataFrame) -> list[str]:
    found = column_drift(reference, window, NUMERIC, ["plan"], CONFIG)
    return [c.column for c in found if c.drifted]


def test_in_distribution_windows_rarely_alarm():
    rng = np.random.default_rng(0)
    reference = table(20_000, rng)
    alarms = sum(bool(drifted(reference, table(5000, rng))) for _ in range(30))
    assert alarms <= 2  # of 30 windows, each testing 11 columns


def test_a_small_shift_in_one_column_is_caught_and_only_there():
    rng = np.random.default_rng(1)
    reference = table(20_000, rng)
    found = [drifted(reference, table(1000, rng, shift=0.2)) for _ in range(30)]
    assert sum(f == ["x3"] for f in found) >= 27


def test_a_tiny_shift_on_a_huge_window_is_significant_but_below_the_effect_floor():
    rng = np.random.default_rng(2)
    reference = table(20_000, rng)
    (x3,) = [
        c
        for c in column_drift(reference, table(50_000, rng, shift=0.05), NUMERIC, [], CONFIG)
        if c.column == "x3"
    ]
    assert x3.q_value < 0.05 and x3.effect < CONFIG.numeric_effect and not x3.drifted


def test_category_frequencies_and_missing_values_drift():
    rng = np.random.default_rng(3)
    reference = table(20_000, rng)
    assert drifted(reference, table(2000, rng, plans=(0.3, 0.3, 0.4))) == ["plan"]
    window = table(2000, rng)
    window.loc[:400, "plan"] = None  # a fifth of the rows lose their plan
    assert drifted(reference, window) == ["plan"]


def test_a_small_window_is_not_judged():
    rng = np.random.default_rng(4)
    found = column_drift(table(5000, rng), table(499, rng), NUMERIC, ["plan"], CONFIG)
    assert found is None
    report = summary(found, 499, CONFIG)
    assert report["verdict"] == "insufficient data" and report["min_rows"] == 500


def test_the_summary_names_its_rule_and_every_column():
    rng = np.random.default_rng(5)
    columns = column_drift(table(5000, rng), table(1000, rng, shift=1.0), NUMERIC, ["plan"], CONFIG)
    report = summary(columns, 1000, CONFIG)
    assert report["verdict"] == "drift" and report["drifted"] == ["x3"]
    assert "Benjamini-Hochberg" in report["rule"] and len(report["columns"]) == 11


def test_monitor_config_is_checked():
    from shipyard.config import ConfigError

    with pytest.raises(ConfigError, match=r"monitor\.min_rows"):
        dataclasses.replace(CONFIG, window_rows=100, min_rows=200)


def test_tied_integer_columns_sampled_from_the_reference_do_not_alarm():
    # counts and pixels: few distinct values, many ties (scipy's Cramer-von Mises flagged
    # every such column; KS and Welch's t hold their level)
    rng = np.random.default_rng(5)
    reference = pd.DataFrame(rng.poisson(2.0, size=(20_000, 10)).astype(float), columns=NUMERIC)
    alarms = sum(
        bool(
            [
                c
                for c in column_drift(
                    reference, reference.sample(1000, random_state=i), NUMERIC, [], CONFIG
                )
                if c.drifted
            ]
        )
        for i in range(20)
    )
    assert alarms <= 1
