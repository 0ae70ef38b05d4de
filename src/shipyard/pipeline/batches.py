"""Mini-batches sliced from tensors held in memory (or on the device), with no per-row
work: a DataLoader over a TensorDataset indexes, and then stacks, every row of every
batch in Python, which costs more than a small network's step.

The train order is the one `DataLoader(TensorDataset(x, y), shuffle=True,
generator=shuffle)` gives, draw for draw from `shuffle`, so a run trains on the same
batches, to the same weights, as it did through a DataLoader.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

Batch = tuple[torch.Tensor, torch.Tensor]


def shuffled(n_rows: int, shuffle: torch.Generator) -> torch.Tensor:
    """One epoch's row order, drawn from `shuffle` as a shuffling DataLoader draws: a
    seed for its (absent) workers, the order, then a second permutation its sampler
    starts after the last full pass (of which it keeps no rows)."""
    torch.empty((), dtype=torch.int64).random_(generator=shuffle)
    order = torch.randperm(n_rows, generator=shuffle)
    torch.randperm(n_rows, generator=shuffle)
    return order


def rank_share(order: torch.Tensor, rank: int, world_size: int) -> torch.Tensor:
    """This rank's rows of `order` as DistributedSampler deals them: padded from its
    start to a multiple of `world_size`, then every `world_size`-th row from `rank`."""
    if world_size == 1:
        return order
    padding = -len(order) % world_size
    padded = torch.cat([order, order.repeat(padding // len(order) + 1)[:padding]])
    return padded[rank::world_size]


@dataclass
class Batches:
    """Batches of (x, y) rows, `batch_size` at a time (the last one shorter). Shuffled by
    `shuffle` on every pass when given, else in order; under data-parallel training each
    rank takes its share (`rank`, `world_size`) of every pass, as DistributedSampler would.
    """

    x: torch.Tensor
    y: torch.Tensor
    batch_size: int
    shuffle: torch.Generator | None = None
    rank: int = 0
    world_size: int = 1

    def _rows(self) -> int:
        n = len(self.x)
        return n if self.world_size == 1 else -(-n // self.world_size)

    def __len__(self) -> int:
        return -(-self._rows() // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        if self.shuffle is None and self.world_size == 1:
            for start in range(0, len(self.x), self.batch_size):  # views: no copy at all
                stop = start + self.batch_size
                yield self.x[start:stop], self.y[start:stop]
            return
        if self.shuffle is None:
            order = torch.arange(len(self.x))
        else:
            order = shuffled(len(self.x), self.shuffle)
        # The generator is on the CPU; the rows may be on a GPU: one move per pass.
        rows = rank_share(order, self.rank, self.world_size).to(self.x.device)
        for start in range(0, len(rows), self.batch_size):
            index = rows[start : start + self.batch_size]
            yield self.x[index], self.y[index]
