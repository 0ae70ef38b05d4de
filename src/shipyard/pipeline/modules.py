"""The LightningModules that train an MLP, one per task: loss, logged metrics, optimizer."""

from __future__ import annotations

import lightning as L
import torch
from torch.nn import functional as F

from shipyard.pipeline.mlp import MLP


class _Task(L.LightningModule):
    def __init__(self, net: MLP, lr: float, weight_decay: float) -> None:
        super().__init__()
        self.net = net
        self.save_hyperparameters(ignore=["net"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def val_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.loss(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        out = self(x)
        self.log("val/loss", self.loss(out, y), batch_size=len(y))
        for name, value in self.val_metrics(out, y).items():
            self.log(f"val/{name}", value, batch_size=len(y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )


class Classifier(_Task):
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(out, y)

    def val_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"acc": (out.argmax(dim=-1) == y).float().mean()}


class Regressor(_Task):
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # MSE of the standardized target: the same scale whatever the target's units.
        return F.mse_loss(out, y) / self.net.arch.target_std**2

    def val_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mae": (out - y).abs().mean()}
