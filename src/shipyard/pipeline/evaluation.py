"""Test-set scoring: both models' scores on the test features, their metrics and per-row
predictions, as the task in question defines them; the plots DVC shows for the task. Pure:
the evaluate stage does the I/O."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.config import MODELS
from shipyard.pipeline.feature_files import ROW_ID, arrays
from shipyard.pipeline.task import Plot, Task

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.pipeline.mlp import MLP


@dataclass
class Scored:
    """One model on the test set."""

    scores: np.ndarray  # float64: probabilities (rows x labels), or values
    metrics: dict[str, float]
    predictions: pd.DataFrame  # per row, keyed by raw row id


def metrics(task: Task, y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Every metric of the task, in its order."""
    return {name: function(y_true, scores) for name, (function, _) in task.metrics.items()}


def score(
    task: Task, labels: list[Any] | None, net: MLP, baseline: Any, test: pd.DataFrame
) -> tuple[np.ndarray, dict[str, Scored]]:
    """(the truth, {"mlp": ..., "baseline": ...}) on a featurized test frame."""
    x, y = arrays(test)
    return score_arrays(task, labels, net, baseline, x, y, test[ROW_ID].to_numpy())


# Rows scored at a time: a network's activations for millions of rows at once would take
# gigabytes (256 float32 per row in the first hidden layer alone).
PIECE_ROWS = 65_536


def in_pieces(scores: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """`scores(x)`, computed PIECE_ROWS rows at a time when `x` has more (the same rows'
    scores, in bounded memory), in one call otherwise."""
    if len(x) <= PIECE_ROWS:
        return np.asarray(scores(x))
    return np.concatenate(
        [np.asarray(scores(x[i : i + PIECE_ROWS])) for i in range(0, len(x), PIECE_ROWS)]
    )


def score_arrays(
    task: Task,
    labels: list[Any] | None,
    net: MLP,
    baseline: Any,
    x: np.ndarray,
    y: np.ndarray,
    row_ids: np.ndarray,
) -> tuple[np.ndarray, dict[str, Scored]]:
    """`score` on a test split's arrays (feature_files.read)."""
    import pandas as pd

    from shipyard.pipeline import mlp

    y_true = task.truth(y)
    outputs = (
        in_pieces(lambda rows: mlp.predict(net, rows), x),
        in_pieces(lambda rows: task.baseline_scores(baseline, rows, labels), x),
    )
    raw = dict(zip(MODELS, outputs, strict=True))
    scored = {}
    for name, output in raw.items():
        # float64 throughout: metrics and dvclive's JSON plots need plain Python floats.
        scores = task.tidy(np.asarray(output, dtype=np.float64))
        scored[name] = Scored(
            scores,
            metrics(task, y_true, scores),
            task.predictions_frame(pd.Series(row_ids, copy=False), y_true, scores, labels),
        )
    return y_true, scored


def plot_sample(n_rows: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted indices of at most `max_rows` of `n_rows`, seeded: the rows plots draw."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, max_rows, replace=False))


def plot_definitions(task: Task, live: Path, train_live: Path) -> dict[str, list[Plot]]:
    """The dvc.yaml that evaluate writes into its dvclive directory `live`: the task's own
    plots, which dvc.yaml at the root cannot list (DVC reads the `plots` of every dvc.yaml,
    and a plot whose files a task never writes fails to load). Its validation curves, from
    train's dvclive directory `train_live`, then its test plots; paths relative to `live`."""
    to_train = Path(os.path.relpath(train_live, live)).as_posix()
    curves: list[Plot] = [
        {
            title: {
                "template": "linear",
                "x": "step",
                "y": {f"{to_train}/plots/metrics/val/{name}.tsv": name},
            }
        }
        for name, title in task.val_curves.items()
    ]
    return {"plots": [*curves, *task.plots(MODELS)]}
