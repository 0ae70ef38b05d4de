"""The network: a plain nn.Module, so evaluation and serving need torch but not Lightning."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from shipyard.pipeline.mlp_format import ARCH, WEIGHTS, Architecture
from shipyard.pipeline.task import task


class MLP(nn.Module):
    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.task = task(arch.task)
        layers: list[nn.Module] = []
        width = arch.in_features
        for hidden in arch.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(arch.dropout)]
            width = hidden
        layers.append(nn.Linear(width, arch.n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """What the task's loss takes: class logits, or the target in its own units."""
        return self.task.head(self.layers(x), self.arch)


def save(net: MLP, directory: str | Path) -> None:
    """Weights as safetensors (loading them runs no code) plus the architecture as JSON."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, out / WEIGHTS)
    (out / ARCH).write_text(json.dumps(asdict(net.arch), indent=2) + "\n")


def load(directory: str | Path) -> MLP:
    """The network in eval mode, on CPU."""
    from safetensors.torch import load_file

    src = Path(directory)
    net = MLP(Architecture(**json.loads((src / ARCH).read_text())))
    net.load_state_dict(load_file(src / WEIGHTS))
    return net.eval()


@torch.inference_mode()
def predict(net: MLP, x: torch.Tensor | np.ndarray) -> np.ndarray:
    """The task's scores (class probabilities, or values) for float32 features."""
    return net.task.to_scores(net(torch.as_tensor(x, dtype=torch.float32))).numpy()
