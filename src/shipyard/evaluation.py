"""Test-set metrics for a classifier's probabilities. Pure numpy / scikit-learn."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def accuracy(y_true: np.ndarray, proba: np.ndarray) -> float:
    return float((proba.argmax(axis=1) == y_true).mean())


def f1_macro(y_true: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    labels = np.arange(proba.shape[1])
    return float(f1_score(y_true, proba.argmax(axis=1), average="macro", labels=labels))


def roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    """One-vs-rest, macro-averaged; the positive column's score for two classes."""
    from sklearn.metrics import roc_auc_score

    if proba.shape[1] == 2:
        return float(roc_auc_score(y_true, proba[:, 1]))
    labels = np.arange(proba.shape[1])
    return float(roc_auc_score(y_true, proba, multi_class="ovr", labels=labels))


def log_loss(y_true: np.ndarray, proba: np.ndarray) -> float:
    from sklearn.metrics import log_loss as sk_log_loss

    return float(sk_log_loss(y_true, proba, labels=np.arange(proba.shape[1])))


# name -> (function, whether higher is better)
METRICS = {
    "accuracy": (accuracy, True),
    "f1_macro": (f1_macro, True),
    "roc_auc": (roc_auc, True),
    "log_loss": (log_loss, False),
}


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """accuracy, macro F1, ROC AUC (one-vs-rest, macro) and log loss."""
    return {name: function(y_true, proba) for name, (function, _) in METRICS.items()}


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
