"""The raw table ingest writes (data/raw/dataset.parquet) and validate and featurize read:
the source's rows as they are, plus what the source could not read. Apart from the
sources, so that a change in how a source reads reruns ingest, and validate only if the
table changes.

The table is written and read in row groups, so that no stage holds all of it: a source
hands ingest its rows chunk by chunk (a DataFrame each), and readers get them back batch
by batch. What the source could not read travels in a chunk's `attrs[READ_PROBLEMS]`;
ingest stores it in the file's metadata under pandas' own key for attrs, which
`read_problems` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

READ_PROBLEMS = "shipyard_read_problems"  # [{"column", "check", "rows", "detail"}]
FILE = "<file>"  # the column name for problems with the file as a whole
ATTRS_KEY = b"PANDAS_ATTRS"  # where pandas keeps a frame's attrs in a Parquet file
# A chunk's attrs key for its source's own Arrow schema (serialized), when it has one: a
# column with no value in the first chunk has no type pandas can tell, but the file has.
ARROW_SCHEMA = "shipyard_arrow_schema"
# Rows per row group and per batch read: about 100 MB of 50 float columns, small against
# the 4 GiB the pipeline has for ten million rows, large enough that per-batch costs
# (pandera's checks, a transform call) stay small against the rows' own.
BATCH_ROWS = 262_144


def write(chunks: Iterable[pd.DataFrame], path: Path) -> tuple[int, int]:
    """Write the chunks (one schema: the first chunk's) as the raw table, a row group or
    more each; the read problems any chunk carries go into the file's metadata. Returns
    (rows, columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    problems: list[dict[str, Any]] = []
    rows = 0
    columns = 0
    try:
        for number, chunk in enumerate(chunks):
            # rows of the whole table: a later chunk's rows start where the earlier ones end
            problems += [
                {**p, "rows": [r + rows for r in p["rows"]]}
                for p in chunk.attrs.get(READ_PROBLEMS, [])
            ]
            if writer is None:
                writer = pq.ParquetWriter(path, _schema(chunk))
                columns = len(chunk.columns)
            try:
                table = pa.Table.from_pandas(chunk, schema=writer.schema, preserve_index=False)
            except pa.ArrowException as err:
                # The file's types are fixed by its first chunk; a later one that does not
                # fit them (a float in an integer column) is the source's to fix.
                raise ValueError(f"chunk {number} of the source: {err}") from err
            writer.write_table(table, row_group_size=BATCH_ROWS)
            rows += len(chunk)
        if writer is None:  # a source with no chunks at all: an empty table
            writer = pq.ParquetWriter(path, pa.schema([]))
        if problems:
            attrs = json.dumps({READ_PROBLEMS: problems})
            writer.add_key_value_metadata({ATTRS_KEY.decode(): attrs})
    except BaseException:
        if writer is not None:
            writer.close()
        path.unlink(missing_ok=True)  # half a table is no table
        raise
    writer.close()
    return rows, columns


def _schema(chunk: pd.DataFrame) -> Any:
    """The file's schema from its first chunk; a column typed `null` there (no value in
    it) takes its source's declared type, when the source declared one."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(chunk, preserve_index=False)
    declared = chunk.attrs.get(ARROW_SCHEMA)
    if declared:
        source = pa.ipc.read_schema(pa.py_buffer(declared))
        for i, field in enumerate(schema):
            if pa.types.is_null(field.type) and field.name in source.names:
                schema = schema.set(i, field.with_type(source.field(field.name).type))
    return schema


def read_problems(path: Path) -> list[dict[str, Any]]:
    """What the source could not read, as ingest stored it (or pandas, for a frame whose
    attrs held it)."""
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata.metadata or {}
    attrs = json.loads(metadata.get(ATTRS_KEY, b"{}"))
    return list(attrs.get(READ_PROBLEMS, []))


def columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(path).schema_arrow.names)


def column(path: Path, name: str) -> pd.Series:
    """One column of the table, whole."""
    import pandas as pd

    return pd.read_parquet(path, columns=[name])[name]


def rows(path: Path, positions: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The rows at `positions` (in that order) of some columns, read batch by batch: no
    more of the table is held than those rows and a batch."""
    import numpy as np
    import pandas as pd

    wanted = np.sort(positions)
    picked = []
    for batch in batches(path, columns):
        start, stop = batch.index.start, batch.index.stop  # a RangeIndex: see batches()
        low, high = np.searchsorted(wanted, [start, stop])
        picked.append(batch.iloc[wanted[low:high] - start])
    frame = pd.concat(picked)
    return frame.iloc[np.searchsorted(wanted, positions)]


def batches(
    path: Path, columns: list[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[pd.DataFrame]:
    """The table (or some of its columns), batch by batch, as pandas reads the whole file:
    each batch's index holds its rows' positions in the table. A table without rows is
    one empty batch."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    # not pre-buffered: with it, pyarrow keeps every batch it has read (the whole table)
    file = pq.ParquetFile(path, pre_buffer=False)
    widened = _widened(file, columns)
    start = 0
    for batch in file.iter_batches(batch_size=batch_rows, columns=columns):
        frame = pa.Table.from_batches([batch]).to_pandas()
        if widened:
            frame = frame.astype(widened)
        frame.index = pd.RangeIndex(start, start + len(frame))
        start += len(frame)
        yield frame
    if start == 0:  # no rows: one empty batch still has the columns
        empty = file.schema_arrow.empty_table()
        yield (empty if columns is None else empty.select(columns)).to_pandas()


def _widened(file: Any, columns: list[str] | None) -> dict[str, str]:
    """The dtype of each integer or boolean column with a missing value anywhere in the
    file, as pandas reads it from the whole file: float64 (NaN for missing) or object
    (None). In a batch without a missing value pandas reads int64 or bool: every batch gets
    the whole file's dtype, so that values compare and hash alike whichever batch they are
    in."""
    import pyarrow as pa

    names = columns if columns is not None else file.schema_arrow.names
    found = {}
    for name in names:
        field = file.schema_arrow.field(name)
        if pa.types.is_integer(field.type):
            dtype = "float64"
        elif pa.types.is_boolean(field.type):
            dtype = "object"
        else:
            continue
        index = file.schema_arrow.get_field_index(name)
        nulls = 0
        for group in range(file.metadata.num_row_groups):
            stats = file.metadata.row_group(group).column(index).statistics
            if stats is None or not stats.has_null_count:
                nulls = file.read(columns=[name]).column(name).null_count
                break
            nulls += stats.null_count
        if nulls:
            found[name] = dtype
    return found
