"""Fit an MLP with Lightning: seeded, early-stopped, checkpointed, resumable."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.config import ModelConfig, TrainerConfig
from shipyard.pipeline.hardware import resolve_precision
from shipyard.pipeline.mlp import MLP, Architecture
from shipyard.pipeline.task import Task

LAST = "last.ckpt"
CURVES = "curves.jsonl"  # the rows logged to dvclive, beside the checkpoints they go with


@dataclass
class Fitted:
    net: MLP
    epochs: int  # epochs completed, counting those before a resume
    resumed: bool
    is_global_zero: bool  # under DDP every rank runs the stage; only rank 0 writes outputs


def architecture(
    train: tuple[np.ndarray, np.ndarray], task: Task, labels: list[Any] | None, model: ModelConfig
) -> Architecture:
    """The network for `task` on the train split: its output width and target scale."""
    x, y = train
    mean, std = task.target_scale(y)
    return Architecture(
        x.shape[1],
        list(model.hidden_sizes),
        task.n_outputs(labels),
        model.dropout,
        task=task.name,
        target_mean=mean,
        target_std=std,
    )


def fit(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    task: Task,
    labels: list[Any] | None,
    model: ModelConfig,
    trainer: TrainerConfig,
    seed: int,
    checkpoint_dir: Path,
    log_dir: Path | None = None,
) -> Fitted:
    """Train for `task` (over `labels`, if it has them); the result holds the network
    with its best (lowest val loss) weights.

    If `checkpoint_dir` holds a `last.ckpt` from an interrupted run, training resumes
    from it, and ends as the uninterrupted run would: the same weights, the same curves in
    `log_dir` (even if it was deleted since, as `dvc repro` does). Callers key the directory
    by config and data so a stale run is never resumed.
    """
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from shipyard.pipeline.modules import InMemory, Module, RandomState, Stopping

    L.seed_everything(seed, workers=True, verbose=False)
    net = MLP(architecture(train, task, labels, model))
    module = Module(net, lr=model.lr, weight_decay=model.weight_decay)
    shuffle = torch.Generator().manual_seed(seed)  # the train loader's order, checkpointed

    resume = checkpoint_dir / LAST
    ckpt_path = str(resume) if resume.exists() else None
    best = ModelCheckpoint(dirpath=checkpoint_dir, monitor="val/loss")
    # What a run resumes from: every epoch's end. (`save_last` saves only when `best` does,
    # and a run resumed from its last best epoch would train again every epoch since.)
    # After `best` (Lightning keeps checkpoint callbacks' order), so that it holds its state.
    latest = ModelCheckpoint(dirpath=checkpoint_dir, filename=Path(LAST).stem)
    callbacks = [
        Stopping(monitor="val/loss", patience=trainer.patience),
        RandomState(shuffle),
        best,
        latest,
    ]
    logger = False
    if log_dir is not None:
        from shipyard.workarounds.live_logger import JournaledLiveLogger, ReplayCurves

        # The stage's dvc.yaml declares the plots, and `dvc exp run` saves experiments:
        # dvclive must neither rewrite dvc.yaml nor make its own experiment.
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        logger = JournaledLiveLogger(
            checkpoint_dir / CURVES, dir=str(log_dir), save_dvc_exp=False, dvcyaml=False
        )
        callbacks.append(ReplayCurves(logger))

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*GPU available but not used.*")
        run = L.Trainer(
            accelerator=trainer.accelerator,
            devices=trainer.devices,
            strategy=trainer.strategy,
            precision=resolve_precision(trainer.precision, trainer.accelerator),
            max_epochs=trainer.max_epochs,
            deterministic=trainer.deterministic,
            callbacks=callbacks,
            logger=logger,
            default_root_dir=checkpoint_dir,
            enable_progress_bar=False,
            enable_model_summary=False,
            log_every_n_steps=1,  # metrics are logged per epoch; this only silences a warning
        )
        data = InMemory(train, val, model.batch_size, shuffle)
        run.fit(module, datamodule=data, ckpt_path=ckpt_path)

    state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
    module.load_state_dict(state["state_dict"])
    net = module.net.cpu().eval()
    return Fitted(net, run.current_epoch, ckpt_path is not None, run.is_global_zero)
