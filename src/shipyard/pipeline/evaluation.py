"""Test-set metrics: a classifier's probabilities or a regressor's values against the truth.
Pure numpy / scikit-learn."""

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


def rmse(y_true: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - y_true) ** 2)))


def mae(y_true: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - y_true)))


def r2(y_true: np.ndarray, predicted: np.ndarray) -> float:
    residual = np.sum((y_true - predicted) ** 2)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return float(1.0 - residual / total) if total else 0.0


# name -> (function, whether higher is better)
CLASSIFICATION = {
    "accuracy": (accuracy, True),
    "f1_macro": (f1_macro, True),
    "roc_auc": (roc_auc, True),
    "log_loss": (log_loss, False),
}
REGRESSION = {
    "rmse": (rmse, False),
    "mae": (mae, False),
    "r2": (r2, True),
}
METRICS = {**CLASSIFICATION, **REGRESSION}


def metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Classification (probabilities, rows x classes): accuracy, macro F1, ROC AUC
    (one-vs-rest, macro), log loss. Regression (values): RMSE, MAE, R2."""
    chosen = CLASSIFICATION if scores.ndim == 2 else REGRESSION
    return {name: function(y_true, scores) for name, (function, _) in chosen.items()}


def one_vs_rest(y_true: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten to binary (is this the class?, its score): micro-averaged ROC/PR curves."""
    onehot = np.eye(proba.shape[1], dtype=np.int64)[y_true]
    return onehot.ravel(), proba.ravel()


def predictions_frame(
    row_ids: pd.Series, y_true: np.ndarray, scores: np.ndarray, labels: list[Any] | None
) -> pd.DataFrame:
    """Per-row predictions, keyed by raw row id, so two runs can be compared row by row:
    the predicted class and each class's probability, or the predicted value."""
    if scores.ndim == 2:
        frame = pd.DataFrame(scores, columns=[f"proba_{label}" for label in labels or []])
        frame.insert(0, "predicted", scores.argmax(axis=1))
    else:
        frame = pd.DataFrame({"predicted": scores})
    frame.insert(0, "label", y_true)
    frame.insert(0, "row_id", row_ids.to_numpy())
    return frame


def scores(frame: pd.DataFrame) -> np.ndarray:
    """What `metrics` takes, back from a predictions frame: probabilities, or values."""
    proba = [c for c in frame.columns if c.startswith("proba_")]
    return frame[proba].to_numpy() if proba else frame["predicted"].to_numpy()


def plot_sample(n_rows: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted indices of at most `max_rows` of `n_rows`, seeded: the rows plots draw."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, max_rows, replace=False))


def residual_points(y_true: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    """Points for the predicted-vs-actual and residual plots."""
    return [
        {"actual": float(a), "predicted": float(p), "residual": float(p - a)}
        for a, p in zip(y_true, predicted, strict=True)
    ]
