"""Test-set metrics for a classifier's probabilities. Pure numpy / scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """accuracy, macro F1, ROC AUC (one-vs-rest, macro) and log loss."""
    from sklearn import metrics

    classes = np.arange(proba.shape[1])
    y_pred = proba.argmax(axis=1)
    if len(classes) == 2:
        auc = metrics.roc_auc_score(y_true, proba[:, 1])
    else:
        auc = metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro", labels=classes)),
        "roc_auc": float(auc),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=classes)),
    }


def one_vs_rest(y_true: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten to binary (is this the class?, its score): micro-averaged ROC/PR curves."""
    onehot = np.eye(proba.shape[1], dtype=np.int64)[y_true]
    return onehot.ravel(), proba.ravel()


def predictions_frame(
    row_ids: pd.Series, y_true: np.ndarray, proba: np.ndarray, labels: list[Any]
) -> pd.DataFrame:
    """Per-row predictions, keyed by raw row id, so two runs can be compared row by row."""
    frame = pd.DataFrame(proba, columns=[f"proba_{label}" for label in labels])
    frame.insert(0, "predicted", proba.argmax(axis=1))
    frame.insert(0, "label", y_true)
    frame.insert(0, "row_id", row_ids.to_numpy())
    return frame
