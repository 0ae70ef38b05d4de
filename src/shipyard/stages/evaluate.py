"""evaluate: test metrics and plots for the MLP and the baseline; per-row test predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from shipyard.config import PARAMS_FILE, DataConfig, EvaluateConfig, load_section, load_value
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True, help="MLP directory")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline (.skops)")
    parser.add_argument("--live", type=Path, required=True, help="dvclive directory")
    parser.add_argument("--predictions", type=Path, required=True, help="per-row predictions")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    import numpy as np
    import pandas as pd
    from dvclive import Live

    from shipyard.pipeline import mlp, sklearn_io
    from shipyard.pipeline.evaluation import (
        metrics,
        one_vs_rest,
        plot_sample,
        predictions_frame,
        residual_points,
    )
    from shipyard.pipeline.feature_files import ROW_ID, arrays

    labels = load_section("data", DataConfig, args.params).labels
    plot_rows = load_section("evaluate", EvaluateConfig, args.params).plot_rows
    test = pd.read_parquet(args.features / "test.parquet")
    x, y = arrays(test)
    baseline = sklearn_io.load(args.baseline)
    if labels:
        # The baseline has columns only for classes it saw in training; widen to all labels.
        baseline_scores = np.zeros((len(x), len(labels)))
        baseline_scores[:, baseline.classes_] = baseline.predict_proba(x)
    else:
        baseline_scores = baseline.predict(x)
    # float64 throughout: metrics and dvclive's JSON plots need plain Python floats.
    outputs = {
        "mlp": mlp.predict(mlp.load(args.model), x).astype(np.float64),
        "baseline": np.asarray(baseline_scores, dtype=np.float64),
    }
    if labels:  # float32 softmax sums to 1 only within float32 rounding; metrics check that
        outputs = {name: p / p.sum(axis=1, keepdims=True) for name, p in outputs.items()}
    y_true = y.astype(np.float64) if not labels else y

    drawn = plot_sample(len(y), plot_rows, load_value("seed", args.params))
    args.predictions.mkdir(parents=True, exist_ok=True)
    with Live(str(args.live), dvcyaml=False, save_dvc_exp=False) as live:
        for name, scores in outputs.items():
            for metric, value in metrics(y_true, scores).items():
                live.log_metric(f"{name}/{metric}", value, plot=False)
            y_drawn, drawn_scores = y_true[drawn], scores[drawn]
            if labels:
                predicted = drawn_scores.argmax(axis=1)
                live.log_sklearn_plot(
                    "confusion_matrix", y_drawn, predicted, f"confusion/{name}.json"
                )
                curve = one_vs_rest(y_drawn, drawn_scores)
                live.log_sklearn_plot("roc", *curve, f"roc/{name}.json")
                live.log_sklearn_plot("precision_recall", *curve, f"precision_recall/{name}.json")
            else:
                points = residual_points(y_drawn, drawn_scores)
                live.log_plot(f"residuals/{name}", points, x="predicted", y="residual")
            predictions_frame(test[ROW_ID], y_true, scores, labels).to_parquet(
                args.predictions / f"{name}.parquet", index=False
            )
        summary = dict(live.summary)
    print(f"evaluate: {summary}")


if __name__ == "__main__":
    entrypoint(main)
