"""dvclive's Lightning logger without its per-call `inspect.stack()`.

DVCLiveLogger.log_metrics (dvclive 3.49) decides whether to sync by calling
`inspect.stack()`, which reads the source of every frame on the stack: on a small dataset
that dominates a training run. Walking the frames' code names answers the same question
without reading any source. tests/test_live_logger.py fails if dvclive changes the
functions it looks for, so this cannot drift silently.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from dvclive.fabric import DVCLiveLogger as FabricDVCLiveLogger
from dvclive.lightning import DVCLiveLogger
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


class LiveLogger(DVCLiveLogger):
    @rank_zero_only
    def log_metrics(
        self, metrics: Mapping[str, float], step: int | None = None, sync: bool | None = False
    ) -> None:
        FabricDVCLiveLogger.log_metrics(self, metrics, step, sync or called_from_sync_point())
