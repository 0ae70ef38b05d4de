"""evaluate: test metrics and plots for the MLP and the baseline; per-row test predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from shipyard.config import PARAMS_FILE, DataConfig, load_section
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

    from shipyard import sklearn_io
    from shipyard.evaluation import classification_metrics, one_vs_rest, predictions_frame
    from shipyard.features import ROW_ID, arrays
    from shipyard.models import mlp

    labels = load_section("data", DataConfig, args.params).labels
    test = pd.read_parquet(args.features / "test.parquet")
    x, y = arrays(test)
    baseline = sklearn_io.load(args.baseline)
    # The baseline has columns only for classes it saw in training; widen to all labels.
    baseline_proba = np.zeros((len(x), len(labels)))
    baseline_proba[:, baseline.classes_] = baseline.predict_proba(x)
    probas = {
        "mlp": mlp.predict_proba(mlp.load(args.model), x).numpy(),
        "baseline": baseline_proba,
    }
    # float64 throughout: metrics and dvclive's JSON plots need plain Python floats.
    probas = {name: proba.astype(np.float64) for name, proba in probas.items()}

    args.predictions.mkdir(parents=True, exist_ok=True)
    with Live(str(args.live), dvcyaml=False, save_dvc_exp=False) as live:
        for name, proba in probas.items():
            for metric, value in classification_metrics(y, proba).items():
                live.log_metric(f"{name}/{metric}", value, plot=False)
            live.log_sklearn_plot(
                "confusion_matrix", y, proba.argmax(axis=1), f"confusion/{name}.json"
            )
            live.log_sklearn_plot("roc", *one_vs_rest(y, proba), f"roc/{name}.json")
            live.log_sklearn_plot(
                "precision_recall", *one_vs_rest(y, proba), f"precision_recall/{name}.json"
            )
            predictions_frame(test[ROW_ID], y, proba, labels).to_parquet(
                args.predictions / f"{name}.parquet", index=False
            )
        summary = dict(live.summary)
    print(f"evaluate: {summary}")


if __name__ == "__main__":
    entrypoint(main)
