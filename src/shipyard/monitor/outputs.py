"""The model's outputs in a window against its outputs on the test set: drift of what it
answers (the predicted label and its top probability, or the value), and for a classifier a
label-free estimate of its accuracy from how confident it is.

The reference is evaluate's saved test predictions of the model the bundle ships, so both
sides are the same model on rows it was not trained on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.config import MonitorConfig
from shipyard.monitor.drift import column_drift, summary

if TYPE_CHECKING:
    import pandas as pd


def output_drift(
    reference: pd.DataFrame, window: pd.DataFrame, config: MonitorConfig
) -> dict[str, Any]:
    """The drift summary of the monitored outputs (Task.monitored of the test set's scores
    and of the window's), their own correction family."""
    numeric = [c for c in reference.columns if reference[c].dtype.kind == "f"]
    categorical = [c for c in reference.columns if c not in numeric]
    return summary(
        column_drift(reference, window, numeric, categorical, config), len(window), config
    )


def estimated_accuracy(
    test_scores: np.ndarray, test_truth: np.ndarray, window_scores: np.ndarray
) -> dict[str, Any]:
    """Expected accuracy on the window's rows, without labels: each row's chance of being
    right given its top probability, calibrated on the test set (isotonic regression of
    right/wrong on the top probability), averaged. It assumes confidence ranks correctness
    as it did on the test set; a changed world (concept drift) breaks that, and only labels
    show it."""
    from sklearn.isotonic import IsotonicRegression

    right = (test_scores.argmax(axis=1) == test_truth).astype(float)
    calibration = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    calibration.fit(test_scores.max(axis=1), right)
    expected = float(np.mean(calibration.predict(window_scores.max(axis=1))))
    return {
        "metric": "accuracy",
        "estimated": round(expected, 4),
        "test_set": round(float(right.mean()), 4),
        "method": "top probability, isotonic-calibrated on the test set",
    }
