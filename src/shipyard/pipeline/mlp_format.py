"""The MLP's directory (models/mlp/): its file names and the architecture record.

No torch here: what only names, copies or hashes those files (the package stage) need not
pay for importing it.
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHTS = "model.safetensors"
ARCH = "model.json"


@dataclass
class Architecture:
    in_features: int
    hidden_sizes: list[int]
    n_outputs: int  # the task's output width (Task.n_outputs)
    dropout: float
    task: str  # a name in shipyard.pipeline.task.TASKS (model.json always records it)
    # Task.target_scale: maps a net that learns a standardized target back to its units.
    target_mean: float = 0.0
    target_std: float = 1.0
