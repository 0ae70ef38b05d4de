"""Run the quality gate against a base revision: gather both runs' metrics and per-row
predictions (git and DVC I/O), then let `gate.judge` decide."""

from __future__ import annotations

import json
from pathlib import Path

from shipyard import gate, revisions
from shipyard.config import GateConfig


def run_gate(
    cfg: GateConfig,
    base: str,
    metrics: str = "reports/evaluate/metrics.json",
    predictions: str = "data/predictions",
) -> tuple[gate.Verdict, bool]:
    """(verdict, whether the base had metrics to compare with)."""
    import pandas as pd

    from shipyard.evaluation import METRICS, scores

    head = json.loads(Path(metrics).read_text())[cfg.model]
    rev = revisions.resolve(base)
    base_all = revisions.read_json(rev, metrics)
    base_metrics = base_all.get(cfg.model) if base_all else None

    deltas = None
    path = f"{predictions}/{cfg.model}.parquet"
    base_rows = revisions.read_parquet(rev, path) if base_metrics else None
    if base_rows is not None:
        head_rows = pd.read_parquet(path)
        comparable = list(head_rows.columns) == list(base_rows.columns)  # same task, labels
        if comparable and set(head_rows["row_id"]) == set(base_rows["row_id"]):  # same rows
            base_rows = base_rows.set_index("row_id").loc[head_rows["row_id"]]  # pair rows
            metric, _ = METRICS[cfg.main_metric]
            deltas = gate.paired_bootstrap(
                metric,
                head_rows["label"].to_numpy(),
                scores(head_rows),
                scores(base_rows),
                cfg.bootstrap.samples,
                cfg.bootstrap.seed,
            )
    return gate.judge(cfg, head, base_metrics, deltas), base_metrics is not None
