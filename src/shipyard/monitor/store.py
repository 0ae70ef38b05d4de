"""The logs as a data product: rotated JSON-lines files in, Parquet partitions out, in a
store (a folder, or an s3:// path: the DVC remote's, by default), and the newest rows back.

    <store>/<kind>/date=2026-11-25/20261125T101500-<content hash>.parquet

`kind` is "predictions" or "feedback". A partition is one rotated file, named by its first
timestamp and its content's hash, so collecting again writes nothing new, and the names sort
oldest first. Only rotated files are collected: the live file is still being written.
Columns: the log line's scalars; a prediction's `input` flattened to `input.<feature>` (the
features are flat) and its `output` kept as JSON text (its shape is the task's).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from fsspec import AbstractFileSystem

INPUT = "input."


def filesystem(store: str) -> tuple[AbstractFileSystem, str]:
    """fsspec's filesystem and root for a folder or URL. S3 credentials and endpoint come
    from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL), as
    for the DVC remote."""
    import os

    from fsspec.core import url_to_fs

    options: dict[str, Any] = {}
    if store.startswith("s3://") and os.environ.get("AWS_ENDPOINT_URL"):
        options["client_kwargs"] = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"]}
    return url_to_fs(store, **options)


def dvc_remote_store(repo: str = ".") -> str:
    """`<default DVC remote's URL>/monitoring`: the logs go where the data goes."""
    from dvc.repo import Repo

    with Repo(repo) as dvc:
        config = dvc.config
        name = config["core"].get("remote")
        if not name:
            raise ValueError("no default DVC remote: pass --store, or `dvc remote add -d`")
        url = config["remote"][name]["url"]
    if "://" not in url and not Path(url).is_absolute():
        url = str((Path(repo) / ".dvc" / url).resolve())  # DVC resolves it beside its config
    return url.rstrip("/") + "/monitoring"


def partition(lines: list[dict[str, Any]]) -> pd.DataFrame:
    """One log file's lines as a table."""
    import pandas as pd

    records = []
    for line in lines:
        record = {k: v for k, v in line.items() if k not in ("input", "output")}
        if "input" in line:
            record.update({INPUT + name: value for name, value in line["input"].items()})
        if "output" in line:
            record["output"] = json.dumps(line["output"], sort_keys=True)
        records.append(record)
    return pd.DataFrame.from_records(records)


def lines_of(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A partition's rows back as log lines."""
    inputs = [c for c in table.columns if c.startswith(INPUT)]
    scalars = [c for c in table.columns if c not in inputs and c != "output"]
    frame = table.astype(object).where(table.notna(), None)
    found = []
    for record in frame.to_dict("records"):
        line = {c: record[c] for c in scalars}
        if inputs:
            line["input"] = {c[len(INPUT) :]: record[c] for c in inputs}
        if record.get("output") is not None:
            line["output"] = json.loads(record["output"])
        found.append(line)
    return found


def collect(log: Path, store: str, kind: str) -> list[str]:
    """Each rotated file of `log` not yet in the store, as a partition. Returns the paths
    written (none when everything is there already)."""
    from shipyard.monitor.logs import log_files, read_lines

    fs, root = filesystem(store)
    written = []
    for path in [p for p in log_files(log) if p != log]:  # not the live file
        content = path.read_bytes()
        lines = read_lines(content)
        if not lines:
            continue
        digest = hashlib.sha256(content).hexdigest()[:16]
        first = str(lines[0].get("timestamp", "0000-00-00T00:00:00"))
        stamp = first[:19].replace("-", "").replace(":", "")
        target = f"{root}/{kind}/date={first[:10]}/{stamp}-{digest}.parquet"
        if fs.exists(target):
            continue
        fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(target, "wb") as out:
            partition(lines).to_parquet(out, index=False)
        written.append(target)
    return written


def newest_stored(store: str, kind: str, n: int) -> list[dict[str, Any]]:
    """The newest `n` lines of the store's `kind` partitions, oldest first."""
    import pandas as pd

    fs, root = filesystem(store)
    if not fs.exists(f"{root}/{kind}"):
        return []
    files = sorted(fs.glob(f"{root}/{kind}/date=*/*.parquet"), key=lambda p: p.rsplit("/", 1)[1])
    found: list[dict[str, Any]] = []
    for path in reversed(files):
        with fs.open(path, "rb") as source:
            found = lines_of(pd.read_parquet(source)) + found
        if len(found) >= n:
            break
    return found[-n:] if n else []
