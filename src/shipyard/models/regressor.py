"""The LightningModule that trains an MLP regressor: loss, logged metrics, optimizer."""

from __future__ import annotations

import lightning as L
import torch
from torch.nn import functional as F

from shipyard.models.mlp import MLP


class Regressor(L.LightningModule):
    def __init__(self, net: MLP, lr: float, weight_decay: float) -> None:
        super().__init__()
        self.net = net
        self.save_hyperparameters(ignore=["net"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _loss(self, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # MSE of the standardized target: the same scale whatever the target's units.
        return F.mse_loss(pred, y) / self.net.arch.target_std**2

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self._loss(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        pred = self(x)
        self.log("val/loss", self._loss(pred, y), batch_size=len(y))
        self.log("val/mae", (pred - y).abs().mean(), batch_size=len(y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
