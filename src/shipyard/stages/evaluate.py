"""evaluate: test metrics and plots for the MLP and the baseline; per-row test predictions;
the dvc.yaml that declares this task's plots."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shipyard.config import PARAMS_FILE, DataConfig, EvaluateConfig, load_section, load_seed
from shipyard.stages import entrypoint

HEADER = "# Written by the evaluate stage: the plots of this run's task (see dvc.yaml).\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True, help="MLP directory")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline (.skops)")
    parser.add_argument("--live", type=Path, required=True, help="dvclive directory")
    parser.add_argument("--predictions", type=Path, required=True, help="per-row predictions")
    parser.add_argument(
        "--train-live", type=Path, required=True, help="train's dvclive directory (its curves)"
    )
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    import yaml
    from dvclive import Live

    from shipyard.pipeline import mlp, sklearn_io
    from shipyard.pipeline.evaluation import plot_definitions, plot_sample, score_arrays
    from shipyard.pipeline.feature_files import read
    from shipyard.pipeline.task import task

    data = load_section("data", DataConfig, args.params)
    plot_rows = load_section("evaluate", EvaluateConfig, args.params).plot_rows
    data_task = task(data.task)
    x, y, row_ids = read(args.features / "test.parquet")
    y_true, scored = score_arrays(
        data_task, data.labels, mlp.load(args.model), sklearn_io.load(args.baseline), x, y, row_ids
    )
    del x  # scored: the features' memory back before the plots and the predictions

    drawn = plot_sample(len(y_true), plot_rows, load_seed(args.params))
    args.predictions.mkdir(parents=True, exist_ok=True)
    # Live starts by deleting what a previous run wrote in args.live, its dvc.yaml included.
    with Live(str(args.live), dvcyaml=False, save_dvc_exp=False) as live:
        for name, model in scored.items():
            for metric, value in model.metrics.items():
                live.log_metric(f"{name}/{metric}", value, plot=False)
            data_task.log_plots(live, name, y_true[drawn], model.scores[drawn])
            model.predictions.to_parquet(args.predictions / f"{name}.parquet", index=False)
        summary = dict(live.summary)
    # Not a dvc.yaml out (DVC allows none): rewritten on every run, complete or not at all.
    definitions = plot_definitions(data_task, args.live, args.train_live)
    partial = args.live / "dvc.yaml.tmp"
    partial.write_text(HEADER + yaml.safe_dump(definitions, sort_keys=False))
    os.replace(partial, args.live / "dvc.yaml")
    print(f"evaluate: {summary}")


if __name__ == "__main__":
    entrypoint(main)
