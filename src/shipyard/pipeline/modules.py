"""The LightningModule that trains an MLP (the network's task gives loss and metrics), the
data module that feeds it from memory, and the callbacks that make a resumed run end as the
uninterrupted run would."""

from __future__ import annotations

import random
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.callbacks.early_stopping import EarlyStoppingReason

from shipyard.pipeline.batches import Batches
from shipyard.pipeline.mlp import MLP

Split = tuple[np.ndarray, np.ndarray]


class EpochMeans:
    """Batch-size-weighted means of per-batch values over an epoch, summed as Lightning's
    `self.log(..., on_epoch=True)` sums them (float32 value x batch size, then / rows), so
    the logged figures, and the early stopping and checkpoints they drive, are the same.
    `self.log` once per batch moves its whole result record to the value's device each
    call: ~0.8 ms, more than a small network's step."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.rows = 0

    def add(self, values: dict[str, torch.Tensor], rows: int) -> None:
        for name, value in values.items():
            weighted = value.detach().float() * rows
            self.sums[name] = self.sums[name] + weighted if name in self.sums else weighted
        self.rows += rows

    def pop(self) -> dict[str, torch.Tensor]:
        means = {name: total / self.rows for name, total in self.sums.items()}
        self.sums, self.rows = {}, 0
        return means


class Module(L.LightningModule):
    def __init__(self, net: MLP, lr: float, weight_decay: float) -> None:
        super().__init__()
        self.net = net
        self.save_hyperparameters(ignore=["net"])  # lr and weight_decay, logged by dvclive
        self.epoch = {"train": EpochMeans(), "val": EpochMeans()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.net.task.loss(self(x), y, self.net.arch)
        self.epoch["train"].add({"loss": loss}, len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        out = self(x)
        values = {"loss": self.net.task.loss(out, y, self.net.arch)}
        self.epoch["val"].add(values | self.net.task.val_metrics(out, y), len(y))

    def _log_epoch(self, split: str) -> None:
        for name, value in self.epoch[split].pop().items():
            self.log(f"{split}/{name}", value, on_step=False, on_epoch=True)

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )


class InMemory(L.LightningDataModule):
    """The train and val splits as tensors, moved to the training device once (as the
    trainer sets up, when the device is known) and sliced into batches there. Under
    data-parallel training each rank takes its share of every pass, as Lightning's
    DistributedSampler would (it only deals out DataLoaders)."""

    def __init__(self, train: Split, val: Split, batch_size: int, shuffle: torch.Generator):
        super().__init__()
        self.splits = {"train": train, "val": val}
        self.batch_size = batch_size
        self.shuffle = shuffle  # the train order's generator, checkpointed by RandomState
        self.tensors: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def setup(self, stage: str) -> None:
        device = self.trainer.strategy.root_device
        for name, (x, y) in self.splits.items():
            self.tensors[name] = (torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))

    def _batches(self, name: str, shuffle: torch.Generator | None) -> Batches:
        trainer = self.trainer
        x, y = self.tensors[name]
        return Batches(x, y, self.batch_size, shuffle, trainer.global_rank, trainer.world_size)

    def train_dataloader(self) -> Batches:
        return self._batches("train", self.shuffle)

    def val_dataloader(self) -> Batches:
        return self._batches("val", None)


class RandomState(Callback):
    """Checkpoints the random state training draws on, and restores it when a run resumes.

    Lightning checkpoints weights, optimizer, loops and callbacks, but no random state: a
    resumed run would shuffle in another order (`shuffle`, the train loader's generator,
    seeded afresh) and draw other dropout masks (from torch's global generator) than the
    run it continues. The state is read as a checkpoint is taken, at an epoch's end. Each
    part is set again before its next draw: `shuffle` as the checkpoint loads (the resumed
    fit's first pass over the train loader starts before any hook of its training), the
    global generators as training starts (nothing draws from them in between, in either run).
    """

    def __init__(self, shuffle: torch.Generator) -> None:
        self.shuffle = shuffle
        self._global: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        # Tensors and plain Python values only: checkpoints load with `weights_only=True`.
        kind, keys, pos, has_gauss, gauss = np.random.get_state()
        return {
            "shuffle": self.shuffle.get_state(),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "numpy": [kind, keys.tolist(), pos, has_gauss, gauss],
            "python": random.getstate(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.shuffle.set_state(state_dict["shuffle"])
        self._global = state_dict

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._global is None:
            return
        state, self._global = self._global, None
        torch.set_rng_state(state["torch"])
        if state["cuda"]:
            torch.cuda.set_rng_state_all(state["cuda"])
        kind, keys, pos, has_gauss, gauss = state["numpy"]
        np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))


class Stopping(EarlyStopping):
    """EarlyStopping that stays stopped when a run resumes from a checkpoint taken in the
    epoch that stopped it: Lightning restores the callback's count, not the stop, and would
    train an epoch more than the uninterrupted run did."""

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.stopping_reason is not EarlyStoppingReason.NOT_STOPPED:
            trainer.should_stop = True
