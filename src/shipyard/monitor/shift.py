"""Seeded shifts for drills: move a window of rows away from the training distribution by a
known amount, to see what the monitor catches (benchmarks/monitor.py, the e2e loop, and a
user's own fire drill against their own data).

    from shipyard.monitor.shift import mean_shift, reweight, flip_labels
    window = mean_shift(rows, "x03", k=0.2, rng=np.random.default_rng(0))

Each returns a changed copy; nothing is changed in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def mean_shift(
    frame: pd.DataFrame, column: str, k: float, scale: float | None = None
) -> pd.DataFrame:
    """`column` moved by k standard deviations (of `frame`'s column, or `scale`: pass the
    reference's std to shift a window by the reference's sigma)."""
    shifted = frame.copy()
    sigma = float(frame[column].std()) if scale is None else scale
    shifted[column] = frame[column] + k * sigma
    return shifted


def reweight(
    frame: pd.DataFrame, column: str, category: Any, points: float, rng: np.random.Generator
) -> pd.DataFrame:
    """`points` (0.02 = 2 percentage points) of the rows, drawn among those not already in
    `category`, moved into it: the category's share rises by `points`, the others fall in
    proportion."""
    shifted = frame.copy()
    others = np.flatnonzero((frame[column] != category).to_numpy())
    n = min(len(others), round(points * len(frame)))
    moved = rng.choice(others, size=n, replace=False)
    shifted.iloc[moved, shifted.columns.get_loc(column)] = category
    return shifted


def flip_labels(
    labels: Sequence[Any] | np.ndarray,
    rate: float,
    classes: Sequence[Any],
    rng: np.random.Generator,
) -> np.ndarray:
    """A share `rate` of the labels replaced by another class, drawn uniformly: the world's
    answer changed under the same inputs (concept drift), for a model right on those rows
    an accuracy drop of `rate`."""
    labels = np.asarray(labels, dtype=object).copy()
    flipped = np.flatnonzero(rng.random(len(labels)) < rate)
    for i in flipped:
        choices = [c for c in classes if c != labels[i]]
        labels[i] = choices[rng.integers(len(choices))]
    return labels
