"""A number the model cannot represent is a validation failure whatever data.ranges says:
the same bound the service applies to requests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from shipyard.config import MAX_ABS_VALUE
from shipyard.pipeline.validation import validate
from tests.helpers import data_config


def table(a: list[float]) -> pd.DataFrame:
    n = len(a)
    return pd.DataFrame(
        {"a": a, "b": np.arange(n, dtype=float), "target": ["no", "yes"] * (n // 2)}
    )


def test_a_finite_number_beyond_what_the_model_represents_names_column_check_and_row():
    report = validate(table([1.0, -1e308, 3.0, MAX_ABS_VALUE]), data_config())  # no ranges
    lines = [p.describe() for p in report.problems]
    assert len(lines) == 1 and "column 'a'" in lines[0] and "magnitude at most" in lines[0]
    assert "row 1" in lines[0] and "row 3" not in lines[0]  # the bound itself is fine


def test_inf_is_reported_once_as_not_finite():
    report = validate(table([1.0, float("inf"), 3.0, 4.0]), data_config())
    lines = [p.describe() for p in report.problems]
    assert len(lines) == 1 and "finite" in lines[0] and "magnitude" not in lines[0]
