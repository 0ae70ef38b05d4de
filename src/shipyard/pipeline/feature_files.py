"""The features files (data/features/{train,val,test}.parquet): what featurize writes and
train, baseline and evaluate read. Apart from the featurizer, so that changing how
features are made reruns what reads features, not everything that imports this format."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

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


def fit_sample(rows: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """The train rows a model held in memory is fit on (the featurizer, the baseline): all
    of `rows`, in their order, up to `limit` (features.fit_rows); else a seeded sample of
    `limit` of them, in table order."""
    if len(rows) <= limit:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))


def n_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def write(parts: Iterable[tuple[str, pd.DataFrame]], out_dir: Path) -> dict[str, int]:
    """Append each (split name, frame) to `out_dir/<name>.parquet`, a row group each, so
    that no split is held whole; returns each split's row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writers: dict[str, pq.ParquetWriter] = {}
    sizes: dict[str, int] = {}
    try:
        for name, frame in parts:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(out_dir / f"{name}.parquet", table.schema)
            writers[name].write_table(table)
            sizes[name] = sizes.get(name, 0) + len(frame)
    finally:
        for writer in writers.values():
            writer.close()
    return sizes


def read(path: Path, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, labels, row ids) of a features file, as `arrays` gives them, or of its
    rows at the sorted positions `rows`: read row group by row group into arrays made
    once, never as a whole frame (a frame and its array copy would double the memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    names = [n for n in file.schema_arrow.names if n not in (ROW_ID, LABEL)]
    n_rows = file.metadata.num_rows if rows is None else len(rows)
    # column-major, as DataFrame.to_numpy gives a frame's array: the same array, the same
    # sums in a float32 matrix product (task.in_c_order)
    x = np.empty((n_rows, len(names)), dtype=np.float32, order="F")
    values = pa.types.is_floating(file.schema_arrow.field(LABEL).type)  # regression targets
    y = np.empty(n_rows, dtype=np.float32 if values else np.int64)
    row_ids = np.empty(n_rows, dtype=np.int64)
    start = done = 0
    for group in range(file.num_row_groups):
        table = file.read_row_group(group)
        stop = start + table.num_rows
        if rows is None:
            pick = None
        else:
            low, high = np.searchsorted(rows, [start, stop])
            pick = rows[low:high] - start
        size = table.num_rows if pick is None else len(pick)
        for target, column in ((y, LABEL), (row_ids, ROW_ID)):
            values = table.column(column).to_numpy()
            target[done : done + size] = values if pick is None else values[pick]
        for j, name in enumerate(names):
            values = table.column(name).to_numpy()
            x[done : done + size, j] = values if pick is None else values[pick]
        start, done = stop, done + size
    return x, y, row_ids
