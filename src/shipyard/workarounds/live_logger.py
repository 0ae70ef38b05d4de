"""dvclive's Lightning logger, without its per-call `inspect.stack()` or its Studio payload
when there is no Studio, and resumable under `dvc repro`.

DVCLiveLogger.log_metrics (dvclive 3.49) decides whether to sync by calling
`inspect.stack()`, which reads the source of every frame on the stack: on a small dataset
that dominates a training run. Walking the frames' code names answers the same question
without reading any source. tests/test_live_logger.py fails if dvclive changes the
functions it looks for, so this cannot drift silently.

Each sync (twice an epoch) `Live.post_data_to_studio` also re-reads every curve file it has
written to build a payload for DVC Studio, and queues it even when Studio is not
configured (the worker then drops it): the cost grows with every epoch. `OfflineLive` skips
building what would be dropped; the test checks the same skip-set dvclive's own
`post_to_studio` consults.

dvclive's own `resume=True` appends to what its directory holds, which a resumed stage
cannot rely on: `dvc repro` deletes a stage's outs, dvclive's directory among them, before
it runs the stage again, and an interrupted run may have logged an epoch after its last
checkpoint, which the resumed run trains and logs again. JournaledLiveLogger keeps its own
record of the rows it logs beside the checkpoints, and a resumed run logs again those of the
epochs its checkpoint holds (ReplayCurves), into a dvclive directory started afresh.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dvclive import Live
from dvclive.fabric import DVCLiveLogger as FabricDVCLiveLogger
from dvclive.lightning import DVCLiveLogger
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only

# The Lightning functions from which dvclive syncs (its `_should_sync`).
SYNC_POINTS = frozenset(
    {"update_train_step_metrics", "update_train_epoch_metrics", "log_eval_end_metrics"}
)


def called_from_sync_point() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in SYNC_POINTS:
            return True
        frame = frame.f_back
    return False


class OfflineLive(Live):
    def post_data_to_studio(self) -> None:
        if "data" in self._studio_events_to_skip:  # no Studio: post_to_studio would drop it
            return
        super().post_data_to_studio()


class LiveLogger(DVCLiveLogger):
    @property
    @rank_zero_experiment
    def experiment(self) -> Live:
        if self._experiment is None:
            self._experiment = OfflineLive(**self._kwargs)
        return self._experiment

    @rank_zero_only
    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, sync: bool | None = False
    ) -> None:
        FabricDVCLiveLogger.log_metrics(self, metrics, step, sync or called_from_sync_point())


class JournaledLiveLogger(LiveLogger):
    """LiveLogger that also appends each row it logs, as a line of JSON, to `journal`.

    Always starts dvclive's directory afresh (no `resume`): `start` fills it again, as it
    was written, syncs (which order the summary's keys) included.
    """

    def __init__(self, journal: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs, resume=False)
        self.journal = journal

    @rank_zero_only
    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, sync: bool | None = False
    ) -> None:
        sync = bool(sync or called_from_sync_point())
        super().log_metrics(metrics, step, sync)
        values = {name: _scalar(value) for name, value in metrics.items()}
        row = {"step": step, "metrics": values, "sync": sync}
        with self.journal.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps(row) + "\n")

    @rank_zero_only
    def start(self, epoch: int | None) -> None:
        """Logs again the journal's rows up to `epoch`, the last epoch of the checkpoint a
        run resumes from (None: a new run, which starts the journal afresh)."""
        # Lightning tags each row it logs with its epoch; the later ones are trained again.
        rows = [
            row
            for row in (_rows(self.journal) if epoch is not None else [])
            if row["metrics"].get("epoch", epoch) <= epoch
        ]
        # The journal first, whole, so that an interruption now loses no row of it.
        partial = self.journal.with_name(self.journal.name + ".partial")
        partial.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        partial.replace(self.journal)
        for row in rows:
            super().log_metrics(row["metrics"], row["step"], row["sync"])


class ReplayCurves(Callback):
    """Starts `logger` as the fit starts, once it knows the epoch a checkpoint holds (and
    even if there is nothing left to train: the checkpoint of a run's last epoch)."""

    def __init__(self, logger: JournaledLiveLogger) -> None:
        self.logger = logger
        self.epoch: int | None = None

    def on_load_checkpoint(self, trainer: Any, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        self.epoch = checkpoint["epoch"]

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.logger.start(self.epoch)


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _rows(journal: Path) -> list[dict[str, Any]]:
    rows = []
    if journal.exists():
        for line in journal.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # the last line, cut short by the interruption
                break
    return rows
