"""The LightningModule that trains an MLP: the network's task gives loss and metrics."""

from __future__ import annotations

import lightning as L
import torch

from shipyard.pipeline.mlp import MLP


class Module(L.LightningModule):
    def __init__(self, net: MLP, lr: float, weight_decay: float) -> None:
        super().__init__()
        self.net = net
        self.save_hyperparameters(ignore=["net"])  # lr and weight_decay, logged by dvclive

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        x, y = batch
        loss = self.net.task.loss(self(x), y, self.net.arch)
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        x, y = batch
        out = self(x)
        self.log("val/loss", self.net.task.loss(out, y, self.net.arch), batch_size=len(y))
        for name, value in self.net.task.val_metrics(out, y).items():
            self.log(f"val/{name}", value, batch_size=len(y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
