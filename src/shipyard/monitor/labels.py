"""Labels that arrive in batches (a CSV or Parquet file of request_id, row, label or value),
appended to the feedback log as POST /feedback would: validated by the same model (a label
must be one of the bundle's), all or nothing, with a timestamp."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

TIMESTAMP = "timestamp"


class LabelError(ValueError):
    """The file cannot be imported; nothing was appended."""


def import_labels(file: Path, feedback_log: Path, bundle: Path) -> int:
    """Append the file's labels to `feedback_log`; returns how many. A `timestamp` column,
    if present, is kept (when the label became known); else now."""
    import orjson
    import pandas as pd

    from shipyard.config import MAX_ABS_VALUE
    from shipyard.pipeline.bundle import read_schema
    from shipyard.serving.schema import Problems, feedback_model, read_items

    if not file.exists():
        raise LabelError(f"no file at {file}")
    try:
        table = pd.read_parquet(file) if file.suffix == ".parquet" else pd.read_csv(file)
    except (ValueError, OSError) as err:
        raise LabelError(f"{file}: not a readable CSV or Parquet table ({err})") from None
    if table.empty:
        return 0
    stamps = table.pop(TIMESTAMP).astype(str).tolist() if TIMESTAMP in table else None
    if "row" not in table:
        table["row"] = 0
    schema = read_schema(bundle)
    item = feedback_model(schema, MAX_ABS_VALUE, 2**31)
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    try:
        items = read_items(orjson.dumps({"feedback": records}), "feedback", item, len(records))
    except Problems as problems:
        first = problems.first[0]
        where = ", ".join(str(p) for p in first["loc"][1:])  # [feedback, row index, column]
        raise LabelError(
            f"{file}: {problems.count} problem(s); first at row {where}: {first['msg']}"
        ) from None
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    lines = [
        orjson.dumps({TIMESTAMP: stamps[i] if stamps else now, **x.model_dump()}).decode()
        for i, x in enumerate(items)
    ]
    feedback_log.parent.mkdir(parents=True, exist_ok=True)
    with feedback_log.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    return len(lines)
