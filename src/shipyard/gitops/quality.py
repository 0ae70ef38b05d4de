"""Run the quality gate against a base revision: gather both runs' metrics and per-row
predictions (git and DVC I/O), then let `gate.judge` decide.

It degrades rather than fails when the base is partly out of reach; the verdict's notes
say what was left out and why, one line each:
- base commit unavailable (unknown name, fetch failed): limits only;
- base without metrics (a first pull request): limits only;
- base predictions unavailable (not in cache or remote, remote unreachable): the main
  metric is judged by its tolerance, like the others, instead of the paired bootstrap.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shipyard.config import GateConfig
from shipyard.gitops import gate, revisions


def _main_deltas(
    cfg: GateConfig, commit: str, path: str, timeout: float
) -> tuple[Any | None, str | None]:
    """(paired bootstrap of head - base on the main metric, or None; a note on why not)."""
    import pandas as pd

    from shipyard.pipeline.feature_files import LABEL, ROW_ID
    from shipyard.pipeline.task import metric

    skipped = "paired bootstrap skipped:"
    if not Path(path).exists():
        return None, f"{skipped} this run's predictions {path} missing (`dvc pull` them)"
    try:
        base_rows = revisions.read_parquet(commit, path, timeout)
    except revisions.Unavailable as err:
        return None, f"{skipped} base predictions {path} at {commit[:7]} unavailable ({err})"
    head_rows = pd.read_parquet(path)
    comparable = list(head_rows.columns) == list(base_rows.columns)  # same task, labels
    if not (comparable and set(head_rows[ROW_ID]) == set(base_rows[ROW_ID])):  # same rows
        return None, f"{skipped} base predictions at {commit[:7]} are for other test rows"
    base_rows = base_rows.set_index(ROW_ID).loc[head_rows[ROW_ID]]  # pair rows
    task, function, _ = metric(cfg.main_metric)
    deltas = gate.paired_bootstrap(
        function,
        head_rows[LABEL].to_numpy(),
        task.scores(head_rows),
        task.scores(base_rows),
        cfg.bootstrap.samples,
        cfg.bootstrap.seed,
    )
    return deltas, None


def run_gate(
    cfg: GateConfig,
    base: str,
    metrics: str = "reports/evaluate/metrics.json",
    predictions: str = "data/predictions",
    timeout: float = revisions.FETCH_TIMEOUT_S,
) -> tuple[gate.Verdict, str | None]:
    """(verdict, the base commit, or None if it could not be had).

    Raises revisions.Unavailable only when this run's own metrics are missing: there is
    nothing to judge then."""
    if not Path(metrics).exists():
        raise revisions.Unavailable(f"{metrics} not found: reproduce the pipeline first")
    head = json.loads(Path(metrics).read_text()).get(cfg.model, {})

    def limits_only(why: str, commit: str | None) -> tuple[gate.Verdict, str | None]:
        verdict = gate.judge(cfg, head, None)
        verdict.notes.append(f"{why}: limits only")
        return verdict, commit

    try:
        commit = revisions.resolve(base, timeout)
    except revisions.Unavailable as err:
        return limits_only(f"base '{base}' unavailable ({err})", None)

    at = f"'{base}' ({commit[:7]})"
    try:
        base_all = revisions.read_json(commit, metrics)
    except revisions.Unavailable as err:
        return limits_only(f"base {at} metrics unreadable ({err})", commit)
    base_metrics = base_all.get(cfg.model) if isinstance(base_all, dict) else None
    if base_all is None:
        return limits_only(f"base {at} has no metrics yet (first run)", commit)
    if base_metrics is None:
        return limits_only(f"base {at} has no metrics for model '{cfg.model}'", commit)

    deltas, note = None, None
    # Only the main metric's comparison needs the base's rows: don't fetch them otherwise.
    if cfg.main_metric in head and cfg.main_metric in base_metrics:  # (it has a rule: config)
        deltas, note = _main_deltas(cfg, commit, f"{predictions}/{cfg.model}.parquet", timeout)
    verdict = gate.judge(cfg, head, base_metrics, deltas)
    verdict.notes += [note] if note else []
    return verdict, commit
