"""The features files (data/features/{train,val,test}.parquet): what featurize writes and
train, baseline and evaluate read. Apart from the featurizer, so that changing how
features are made reruns what reads features, not everything that imports this format."""

from __future__ import annotations

import numpy as np
import pandas as pd

ROW_ID = "row_id"  # position in the raw table: joins predictions of two runs row by row
LABEL = "label"  # classification: class index into data.labels; regression: the target


def arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of a featurized frame: int64 class indices, or float32 targets."""
    # Copies: Parquet hands out read-only buffers, which torch cannot wrap.
    x = frame.drop(columns=[ROW_ID, LABEL]).to_numpy(dtype=np.float32, copy=True)
    y = frame[LABEL].to_numpy(copy=True)
    return x, y.astype(np.float32 if y.dtype.kind == "f" else np.int64)
