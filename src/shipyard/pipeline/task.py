"""What differs between tasks, in one place: the rest of the code asks `task(name)`.

A task says which metrics it has and which way each is better, how targets are encoded,
what the network outputs and learns from, how outputs become scores (probabilities, or
values), what the baseline scores, how per-row predictions are stored and read back,
which plots training and evaluate draw (and how DVC shows them), and what the service
answers for a row. Adding a task is a class here and its entry in TASKS (data.task is
checked against it), plus a gate for its metrics in conf/gate/.

Scores are what metrics take: rows x labels probabilities, or one value per row.
torch, pandas, pydantic and scikit-learn load inside the methods that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.config import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from pydantic import BaseModel

    from shipyard.config import DataConfig
    from shipyard.pipeline.mlp_format import Architecture

Metric = Callable[[np.ndarray, np.ndarray], float]  # (truth, scores) -> value
PROBA = "proba_"  # a predictions frame's column per label: proba_<label>
# Where a dvclive directory keeps what log_plots draws: log_sklearn_plot's and log_plot's.
SKLEARN_PLOTS = "plots/sklearn"
CUSTOM_PLOTS = "plots/custom"
Plot = dict[str, dict[str, Any]]  # one entry of dvc.yaml's top-level `plots`: {title: props}


def shown(model: str) -> str:
    """A model's name in plot titles."""
    return "MLP" if model == "mlp" else model


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


def one_vs_rest(y_true: np.ndarray, proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten to binary (is this the class?, its score): micro-averaged ROC/PR curves."""
    onehot = np.eye(proba.shape[1], dtype=np.int64)[y_true]
    return onehot.ravel(), proba.ravel()


def residual_points(y_true: np.ndarray, predicted: np.ndarray) -> list[dict[str, float]]:
    """Points for the predicted-vs-actual and residual plots."""
    return [
        {"actual": float(a), "predicted": float(p), "residual": float(p - a)}
        for a, p in zip(y_true, predicted, strict=True)
    ]


def in_c_order(x: np.ndarray) -> np.ndarray:
    """Features as a row-major array. A float32 matrix product sums in another order for
    a column-major array (the features files' arrays are; the service's rows are not), so
    the baseline scores the same rows the same way in evaluate and in the service."""
    return np.ascontiguousarray(x)


class Task:
    """The interface: one instance per task in TASKS."""

    name: str
    labelled: bool  # targets are labels from a declared set (data.labels), not values
    metrics: dict[str, tuple[Metric, bool]]  # name -> (function, whether higher is better)
    val_curves: dict[str, str]  # each val_metrics name -> the title of its training curve

    def n_outputs(self, labels: list[Any] | None) -> int:
        """The network's output width."""
        raise NotImplementedError

    def target_scale(self, y: np.ndarray) -> tuple[float, float]:
        """(mean, std) mapping the network's standardized output back to target units."""
        raise NotImplementedError

    def strata(self, target: pd.Series) -> pd.Series | None:
        """What the train/val/test split stratifies on, if anything."""
        raise NotImplementedError

    def encode_target(self, values: pd.Series, labels: list[Any] | None) -> np.ndarray:
        """The raw target as the features files store it."""
        raise NotImplementedError

    def truth(self, y: np.ndarray) -> np.ndarray:
        """The features files' labels as metrics and predictions frames take them."""
        raise NotImplementedError

    def head(self, out: torch.Tensor, arch: Architecture) -> torch.Tensor:
        """The last layer's output as the network returns it and the loss takes it."""
        raise NotImplementedError

    def loss(self, out: torch.Tensor, y: torch.Tensor, arch: Architecture) -> torch.Tensor:
        raise NotImplementedError

    def val_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logged per validation epoch besides the loss, as val/<name>."""
        raise NotImplementedError

    def to_scores(self, out: torch.Tensor) -> torch.Tensor:
        """The network's output as scores."""
        raise NotImplementedError

    def baseline_scores(self, estimator: Any, x: np.ndarray, labels: list[Any] | None) -> Any:
        """A fitted scikit-learn baseline's scores for features `x`."""
        raise NotImplementedError

    def tidy(self, scores: np.ndarray) -> np.ndarray:
        """Float64 scores as the metrics take them."""
        raise NotImplementedError

    def predictions_frame(
        self, row_ids: pd.Series, y_true: np.ndarray, scores: np.ndarray, labels: list[Any] | None
    ) -> pd.DataFrame:
        """Per-row predictions keyed by raw row id, so two runs compare row by row:
        row_id, label (the truth), predicted, then whatever `scores` needs."""
        raise NotImplementedError

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """The scores, back from a predictions frame."""
        raise NotImplementedError

    def log_plots(self, live: Any, model: str, y_true: np.ndarray, scores: np.ndarray) -> None:
        """Evaluate's plots of one model's test scores, with a dvclive Live."""
        raise NotImplementedError

    def plots(self, models: Sequence[str]) -> list[Plot]:
        """How DVC shows what log_plots drew for `models`: dvc.yaml `plots` entries, paths
        relative to the Live's directory."""
        raise NotImplementedError

    def answers(self, labels: list[Any] | None, scores: np.ndarray) -> list[dict[str, Any]]:
        """The service's answer for each row, from the rows' scores (one row per first
        axis entry)."""
        raise NotImplementedError

    def response_model(self) -> type[BaseModel]:
        """The service's pydantic model of one row's answer (plus the model version)."""
        raise NotImplementedError

    def answered_scores(
        self, labels: list[Any] | None, answers: list[dict[str, Any]]
    ) -> np.ndarray:
        """The scores back from the service's answers (as the prediction log holds them)."""
        raise NotImplementedError

    def monitored(self, labels: list[Any] | None, scores: np.ndarray) -> pd.DataFrame:
        """What monitoring watches of a model's outputs, a column each (numeric or text)."""
        raise NotImplementedError


class Classification(Task):
    name = "classification"
    labelled = True
    metrics = {
        "accuracy": (accuracy, True),
        "f1_macro": (f1_macro, True),
        "roc_auc": (roc_auc, True),
        "log_loss": (log_loss, False),
    }
    val_curves = {"acc": "Validation accuracy"}

    def n_outputs(self, labels: list[Any] | None) -> int:
        return len(labels or [])  # one logit per label

    def target_scale(self, y: np.ndarray) -> tuple[float, float]:
        return 0.0, 1.0  # logits need no scale

    def strata(self, target: pd.Series) -> pd.Series | None:
        return target  # every split keeps the class balance

    def encode_target(self, values: pd.Series, labels: list[Any] | None) -> np.ndarray:
        """Class indices into `labels` (validation guarantees every value is in it)."""
        index = {label: i for i, label in enumerate(labels or [])}
        return values.map(index).to_numpy(dtype=np.int64)

    def truth(self, y: np.ndarray) -> np.ndarray:
        return y

    def head(self, out: torch.Tensor, arch: Architecture) -> torch.Tensor:
        return out  # logits: cross-entropy takes them as they are

    def loss(self, out: torch.Tensor, y: torch.Tensor, arch: Architecture) -> torch.Tensor:
        from torch.nn import functional as F

        return F.cross_entropy(out, y)

    def val_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"acc": (out.argmax(dim=-1) == y).float().mean()}

    def to_scores(self, out: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.softmax(out, dim=-1)

    def baseline_scores(self, estimator: Any, x: np.ndarray, labels: list[Any] | None) -> Any:
        # The baseline has columns only for classes it saw in training; widen to all labels.
        proba = np.zeros((len(x), len(labels or [])))
        proba[:, estimator.classes_] = estimator.predict_proba(in_c_order(x))
        return proba

    def tidy(self, scores: np.ndarray) -> np.ndarray:
        # float32 softmax sums to 1 only within float32 rounding; log loss checks that.
        return scores / scores.sum(axis=1, keepdims=True)

    def predictions_frame(
        self, row_ids: pd.Series, y_true: np.ndarray, scores: np.ndarray, labels: list[Any] | None
    ) -> pd.DataFrame:
        """The predicted class index, then each label's probability (proba_<label>)."""
        import pandas as pd

        from shipyard.pipeline.feature_files import LABEL, ROW_ID

        frame = pd.DataFrame(scores, columns=[f"{PROBA}{label}" for label in labels or []])
        frame.insert(0, "predicted", scores.argmax(axis=1))
        frame.insert(0, LABEL, y_true)
        frame.insert(0, ROW_ID, row_ids.to_numpy())
        return frame

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        return frame[[c for c in frame.columns if c.startswith(PROBA)]].to_numpy()

    def log_plots(self, live: Any, model: str, y_true: np.ndarray, scores: np.ndarray) -> None:
        """Confusion matrix, and micro-averaged ROC and precision-recall curves."""
        predicted = scores.argmax(axis=1)
        live.log_sklearn_plot("confusion_matrix", y_true, predicted, f"confusion/{model}.json")
        curve = one_vs_rest(y_true, scores)
        live.log_sklearn_plot("roc", *curve, f"roc/{model}.json")
        live.log_sklearn_plot("precision_recall", *curve, f"precision_recall/{model}.json")

    def plots(self, models: Sequence[str]) -> list[Plot]:
        """A confusion matrix per model; ROC and precision-recall curves, models overlaid."""

        def files(kind: str, field: str) -> dict[str, str]:
            return {f"{SKLEARN_PLOTS}/{kind}/{model}.json": field for model in models}

        return [
            *(
                {
                    f"Confusion matrix ({shown(model)}, test)": {
                        "template": "confusion",
                        "x": "actual",
                        "y": {f"{SKLEARN_PLOTS}/confusion/{model}.json": "predicted"},
                    }
                }
                for model in models
            ),
            {
                "ROC, one-vs-rest micro-average (test)": {
                    "template": "simple",
                    "x": "fpr",
                    "y": files("roc", "tpr"),
                }
            },
            {
                "Precision-recall, micro-average (test)": {
                    "template": "simple",
                    "x": "recall",
                    "y": files("precision_recall", "precision"),
                }
            },
        ]

    def answers(self, labels: list[Any] | None, scores: np.ndarray) -> list[dict[str, Any]]:
        """The label, and class probabilities keyed by label."""
        labels = labels or []
        keys = [str(label) for label in labels]
        scores = np.asarray(scores).reshape(-1, len(keys))
        # tolist: Python floats for the whole matrix in one call (float() per cell is slow)
        top, rows = scores.argmax(axis=1).tolist(), scores.tolist()
        return [
            {"label": labels[best], "probabilities": dict(zip(keys, row, strict=True))}
            for best, row in zip(top, rows, strict=True)
        ]

    def response_model(self) -> type[BaseModel]:
        from pydantic import BaseModel

        class ClassPrediction(BaseModel):
            label: int | str
            probabilities: dict[str, float]
            model_version: str

        return ClassPrediction

    def answered_scores(
        self, labels: list[Any] | None, answers: list[dict[str, Any]]
    ) -> np.ndarray:
        keys = [str(label) for label in labels or []]
        return np.array([[a["probabilities"][k] for k in keys] for a in answers], dtype=float)

    def monitored(self, labels: list[Any] | None, scores: np.ndarray) -> pd.DataFrame:
        """The predicted label (text) and the top probability."""
        import pandas as pd

        names = np.array([str(label) for label in labels or []], dtype=object)
        scores = scores.reshape(len(scores), len(names))
        return pd.DataFrame(
            {"predicted": names[scores.argmax(axis=1)], "confidence": scores.max(axis=1)}
        )


class Regression(Task):
    name = "regression"
    labelled = False
    metrics = {"rmse": (rmse, False), "mae": (mae, False), "r2": (r2, True)}
    val_curves = {"mae": "Validation MAE"}

    def n_outputs(self, labels: list[Any] | None) -> int:
        return 1

    def target_scale(self, y: np.ndarray) -> tuple[float, float]:
        # The net learns the standardized target: one learning rate suits any units.
        return float(y.mean()), float(y.std()) or 1.0

    def strata(self, target: pd.Series) -> pd.Series | None:
        return None

    def encode_target(self, values: pd.Series, labels: list[Any] | None) -> np.ndarray:
        return values.to_numpy(dtype=np.float64)

    def truth(self, y: np.ndarray) -> np.ndarray:
        return y.astype(np.float64)  # the features files hold float32

    def head(self, out: torch.Tensor, arch: Architecture) -> torch.Tensor:
        return out.squeeze(-1) * arch.target_std + arch.target_mean  # in the target's units

    def loss(self, out: torch.Tensor, y: torch.Tensor, arch: Architecture) -> torch.Tensor:
        from torch.nn import functional as F

        # MSE of the standardized target: the same scale whatever the target's units.
        return F.mse_loss(out, y) / arch.target_std**2

    def val_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mae": (out - y).abs().mean()}

    def to_scores(self, out: torch.Tensor) -> torch.Tensor:
        return out

    def baseline_scores(self, estimator: Any, x: np.ndarray, labels: list[Any] | None) -> Any:
        return estimator.predict(in_c_order(x))

    def tidy(self, scores: np.ndarray) -> np.ndarray:
        return scores

    def predictions_frame(
        self, row_ids: pd.Series, y_true: np.ndarray, scores: np.ndarray, labels: list[Any] | None
    ) -> pd.DataFrame:
        """The predicted value."""
        import pandas as pd

        from shipyard.pipeline.feature_files import LABEL, ROW_ID

        return pd.DataFrame({ROW_ID: row_ids.to_numpy(), LABEL: y_true, "predicted": scores})

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["predicted"].to_numpy()

    def log_plots(self, live: Any, model: str, y_true: np.ndarray, scores: np.ndarray) -> None:
        """Predicted vs actual and residuals, both drawn from one set of points."""
        points = residual_points(y_true, scores)
        live.log_plot(f"residuals/{model}", points, x="predicted", y="residual")

    def plots(self, models: Sequence[str]) -> list[Plot]:
        """Predicted vs actual and residuals, models overlaid: two views of one file each."""

        def files(field: str) -> dict[str, str]:
            return {f"{CUSTOM_PLOTS}/residuals/{model}.json": field for model in models}

        return [
            {
                "Predicted vs actual (test)": {
                    "template": "scatter",
                    "x": "actual",
                    "y": files("predicted"),
                }
            },
            {"Residuals (test)": {"template": "scatter", "x": "predicted", "y": files("residual")}},
        ]

    def answers(self, labels: list[Any] | None, scores: np.ndarray) -> list[dict[str, Any]]:
        return [{"value": value} for value in np.asarray(scores, dtype=float).ravel().tolist()]

    def response_model(self) -> type[BaseModel]:
        from pydantic import BaseModel

        class ValuePrediction(BaseModel):
            value: float
            model_version: str

        return ValuePrediction

    def answered_scores(
        self, labels: list[Any] | None, answers: list[dict[str, Any]]
    ) -> np.ndarray:
        return np.array([a["value"] for a in answers], dtype=float)

    def monitored(self, labels: list[Any] | None, scores: np.ndarray) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({"value": np.asarray(scores, dtype=float).ravel()})


TASKS: dict[str, Task] = {t.name: t for t in (Classification(), Regression())}


def task(name: str) -> Task:
    """The task called `name` (data.task, Architecture.task, BundleSchema.task)."""
    if name not in TASKS:
        raise ConfigError(f"unknown task '{name}': expected one of {sorted(TASKS)}")
    return TASKS[name]


def check_data(data: DataConfig) -> Task:
    """The task `data.task` names, after checking `data.labels` fits it; else a ConfigError
    naming the key."""
    try:
        kind = task(data.task)
    except ConfigError as err:
        raise ConfigError(f"data.task: {err}") from None
    if kind.labelled and not data.labels:
        raise ConfigError(f"data.labels: a {data.task} dataset lists its labels")
    if not kind.labelled and data.labels:
        raise ConfigError(f"data.labels: a {data.task} dataset has none (set it to null)")
    return kind


def metric(name: str) -> tuple[Task, Metric, bool]:
    """The task that has metric `name`, its function and whether higher is better.
    A model prefix is dropped ("mlp.log_loss" is log_loss); metric names are unique
    across tasks."""
    short = name.rsplit(".", 1)[-1]
    for t in TASKS.values():
        if short in t.metrics:
            return (t, *t.metrics[short])
    known = sorted(m for t in TASKS.values() for m in t.metrics)
    raise ConfigError(f"unknown metric '{name}': expected one of {known}")


def higher_is_better(name: str) -> bool:
    """Which way metric `name` (maybe model-prefixed) is better; ConfigError if unknown."""
    return metric(name)[2]
