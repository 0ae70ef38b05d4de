"""Offline batch scoring (`shipyard predict`): a table file through the service's own
checks (serving.columns) and model (pipeline.inference.Bundle), streamed in record
batches, so memory stays bounded whatever the file's size.

Valid rows are scored into one Parquet file: `row` (the row's position in the input, from
0), the ID columns, then `predicted` (the label, or the value) and, for a classification,
`proba_<label>` per label, as evaluate names them. Invalid rows are not scored: each bad
cell is one line of the rejects file (row, column, check, message), so a table with bad
rows is still scored and says which rows it left out and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.serving.columns import Batch, Contract, columns_of, from_table, valid

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.pipeline.inference import Bundle

BATCH_ROWS = 65_536  # rows read, checked and scored at a time: bounds the memory used
PROBA = "proba_"  # as evaluate's predictions name each label's probability


@dataclass
class Summary:
    rows: int = 0
    scored: int = 0
    rejected_rows: int = 0
    problems: int = 0  # bad cells: a rejected row has one or more


def rejects_path(output: Path) -> Path:
    """Where the rejects go by default: beside the output, `<name>.rejects.parquet`."""
    return output.with_name(f"{output.name.removesuffix('.parquet')}.rejects.parquet")


def record_batches(path: Path, rows: int, contract: Contract) -> Iterator[pa.RecordBatch]:
    """The table's record batches of about `rows` rows: Parquet as typed; CSV with the
    contract's columns read as text, checked as the service checks text (a bad value is a
    rejected row, not a failed read; empty cells and NA, NaN, null are missing)."""
    import pyarrow as pa

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        # not pre-buffered: with it, pyarrow keeps every batch it has read (as the raw table's
        # readers found: pipeline/raw_table.py)
        yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=rows)
    elif path.suffix == ".csv":
        from pyarrow import csv

        text = {name: pa.string() for name in columns_of(contract)}
        options = csv.ConvertOptions(column_types=text, strings_can_be_null=True)
        reader = csv.open_csv(path, convert_options=options)
        pending: list[pa.RecordBatch] = []
        for batch in reader:  # blocks are by bytes: regrouped by rows
            pending.append(batch)
            if sum(len(b) for b in pending) >= rows:
                yield from pa.Table.from_batches(pending).combine_chunks().to_batches()
                pending = []
        if pending:
            yield from pa.Table.from_batches(pending).combine_chunks().to_batches()
    else:
        raise ValueError(f"{path}: expected a .parquet or .csv file")


def answers(bundle: Bundle, batch: Batch) -> dict[str, np.ndarray]:
    """The model's answer columns for valid rows: `predicted`, and per label its
    probability (classification)."""
    scores = bundle.predict_columns(batch.numeric, batch.categorical)
    if bundle.labels is None:
        return {"predicted": scores.reshape(len(batch))}
    labels = np.asarray(bundle.labels)
    return {
        "predicted": labels[scores.argmax(axis=1)],
        **{f"{PROBA}{label}": scores[:, j] for j, label in enumerate(bundle.labels)},
    }


def scored_table(
    table: pa.Table, keep: np.ndarray, first_row: int, columns: dict[str, np.ndarray], ids: list
) -> pa.Table:
    """The output's rows for the valid rows `keep` of `table` (whose first row is the
    input's `first_row`)."""
    import pyarrow as pa

    parts: dict[str, Any] = {"row": pa.array(first_row + keep, pa.int64())}
    for name in ids:
        parts[name] = table.column(name).take(pa.array(keep))
    parts |= columns
    return pa.table(parts)


def rejects_table(verdicts: np.ndarray, contract: Contract, first_row: int) -> pa.Table:
    """One line per bad cell: row, column, check (pydantic's error type), message."""
    import pyarrow as pa

    rows, cols = np.nonzero(verdicts)
    names = np.asarray(columns_of(contract), dtype=object)
    codes = verdicts[rows, cols]
    said = {int(code): contract.message(int(code)) for code in np.unique(codes)}
    return pa.table(
        {
            "row": pa.array(first_row + rows, pa.int64()),
            "column": pa.array(names[cols], pa.string()),
            "check": pa.array([said[int(c)][1] for c in codes], pa.string()),
            "message": pa.array([said[int(c)][0] for c in codes], pa.string()),
        }
    )


def score_file(
    bundle: Bundle,
    contract: Contract,
    source: Path,
    output: Path,
    rejects: Path,
    rows: int = BATCH_ROWS,
    target: str | None = None,
) -> Summary:
    """Score `source` into `output`, its invalid rows into `rejects` (both Parquet, both
    written, the rejects file empty when no row was rejected). `target`: a column the
    table may have (the raw table's target), left out. Raises ColumnProblems when whole
    columns are wrong (every row would be rejected)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    summary = Summary()
    writer = rejected = None
    ids = contract.ignored
    try:
        for record_batch in record_batches(source, rows, contract):
            table = pa.Table.from_batches([record_batch])
            if target is not None and target in table.column_names:
                table = table.drop_columns([target])
            batch, verdicts = from_table(table, contract, text_numbers=source.suffix == ".csv")
            good, keep = valid(batch, verdicts)
            present = [name for name in ids if name in table.column_names]
            out = scored_table(table, keep, summary.rows, answers(bundle, good), present)
            if writer is None:
                writer = pq.ParquetWriter(output, out.schema)
            writer.write_table(out)
            bad = rejects_table(verdicts, contract, summary.rows)
            if rejected is None:
                rejected = pq.ParquetWriter(rejects, bad.schema)
            rejected.write_table(bad)
            summary.rows += len(batch)
            summary.scored += len(keep)
            summary.rejected_rows += len(batch) - len(keep)
            summary.problems += len(bad)
    finally:
        for each in (writer, rejected):
            if each is not None:
                each.close()
    return summary
