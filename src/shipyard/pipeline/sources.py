"""Data sources: each returns the raw table as a DataFrame. Selected by `data.source._target_`.

Sources do not judge the data (that is the validate stage's job): they read what is there,
even an empty, truncated or mis-encoded file, so a bad table stops the pipeline at
validation with a message naming the column. What they could not read travels with the
frame as `frame.attrs[READ_PROBLEMS]` (pandas keeps attrs in the Parquet file ingest writes).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.pipeline.raw_table import FILE, READ_PROBLEMS


def with_partitions(frame: pd.DataFrame, folder: Path, target: str) -> pd.DataFrame:
    """The source's rows, then the rows of each Parquet partition in `folder` (labelled
    production rows a retraining pull request added: shipyard.monitor.retrain), in name
    order, with the source's columns. A partition DVC tracks but the workspace lacks is an
    error: reproducing without it would train on other data than the lock says."""
    if not folder.is_dir():
        return frame
    for tracked in sorted(folder.glob("*.parquet.dvc")):
        if not tracked.with_suffix("").exists():
            raise ValueError(f"{tracked.with_suffix('')} is missing: run `dvc pull` first")
    parts = []
    for path in sorted(folder.glob("*.parquet")):
        part = pd.read_parquet(path)
        if target not in part.columns:
            raise ValueError(f"{path} has no target column '{target}'")
        # the log holds the features; columns the model ignores (IDs) stay empty
        part = part.reindex(columns=frame.columns)
        parts.append(part.astype(frame.dtypes.to_dict(), errors="ignore"))
    if not parts:
        return frame
    attrs = frame.attrs
    joined = pd.concat([frame, *parts], ignore_index=True)
    joined.attrs = attrs
    return joined


def sklearn_bundled(name: str) -> pd.DataFrame:
    """A dataset that ships inside scikit-learn (digits, wine, breast_cancer, diabetes...)."""
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}", None)
    if loader is None:
        raise ValueError(f"scikit-learn bundles no dataset named '{name}'")
    return loader(as_frame=True).frame


def synthetic(
    n_rows: int,
    numeric_features: list[str],
    categorical_features: list[str],
    labels: list[Any] | None,
    n_informative: int,
    n_categories: int,
    noise: float,
    seed: int,
    target: str = "target",
) -> pd.DataFrame:
    """A seeded table: same arguments, same rows. Classification when `labels` is given
    (`noise` = share of flipped labels), regression otherwise (`noise` = std of the
    target's noise). Categorical columns are informative features cut into `n_categories`
    text levels, so they carry signal like the numeric ones."""
    from sklearn.datasets import make_classification, make_regression

    n_features = len(numeric_features) + len(categorical_features)
    informative = min(n_informative, n_features)
    # shuffle=False puts the informative features first: the categoricals come from them.
    if labels:
        x, y = make_classification(
            n_samples=n_rows,
            n_features=n_features,
            n_informative=informative,
            n_redundant=0,
            n_classes=len(labels),
            flip_y=noise,
            shuffle=False,
            random_state=seed,
        )
    else:
        x, y = make_regression(
            n_samples=n_rows,
            n_features=n_features,
            n_informative=informative,
            noise=noise,
            shuffle=False,
            random_state=seed,
        )
    x = x.astype(np.float32)  # halves the memory of a million-row table; plenty of precision
    n_cat = len(categorical_features)
    frame = pd.DataFrame(x[:, n_cat:], columns=numeric_features)
    levels = np.array([f"level_{i}" for i in range(n_categories)], dtype=object)
    for i, name in enumerate(categorical_features):
        edges = np.quantile(x[:, i], np.linspace(0, 1, n_categories + 1)[1:-1])
        frame[name] = levels[np.searchsorted(edges, x[:, i])]
    frame[target] = np.asarray(labels, dtype=object)[y] if labels else y
    if labels:
        frame[target] = frame[target].infer_objects()
    return frame


def read_table(
    path: str,
    encoding: str = "utf-8",
    storage_options: dict[str, Any] | None = None,
    remote: str | None = None,
    delimiter: str = ",",
) -> pd.DataFrame:
    """A CSV or Parquet file, local or on S3 (`s3://bucket/key`), read without judging it.

    For `s3://` paths, `remote` names a DVC remote whose endpoint and credentials to use
    (its .dvc/config and config.local settings); otherwise s3fs finds credentials itself.
    """
    if remote and storage_options is None:
        storage_options = dvc_remote_storage_options(remote)
    opener = _open_remote if "://" in path else _open_local
    raw = opener(path, storage_options)  # a wrong path is a config mistake: it raises
    name = Path(path.split("?")[0]).name
    if name.lower().endswith((".parquet", ".pq")):
        return _parquet(raw, name)
    return _csv(raw, name, encoding, delimiter)


def _open_local(path: str, _: dict[str, Any] | None) -> bytes:
    return Path(path).read_bytes()


def _open_remote(path: str, storage_options: dict[str, Any] | None) -> bytes:
    import fsspec

    with fsspec.open(path, "rb", **(storage_options or {})) as file:
        return file.read()


def dvc_remote_storage_options(remote: str) -> dict[str, Any]:
    """s3fs options from a DVC remote's config, so data and cache share one set of keys."""
    from dvc.repo import Repo

    with Repo() as repo:
        conf = dict(repo.config["remote"].get(remote) or {})
    if not conf:
        raise ValueError(f"no DVC remote named '{remote}' (see `dvc remote list`)")
    options: dict[str, Any] = {}
    for dvc_key, s3fs_key in (
        ("access_key_id", "key"),
        ("secret_access_key", "secret"),
        ("session_token", "token"),
        ("profile", "profile"),
    ):
        if conf.get(dvc_key):
            options[s3fs_key] = conf[dvc_key]
    client = {k: conf[k] for k in ("region",) if conf.get(k)}
    if conf.get("endpointurl"):
        client["endpoint_url"] = conf["endpointurl"]
    if client:
        options["client_kwargs"] = {
            ("region_name" if k == "region" else k): v for k, v in client.items()
        }
    return options


def _problem(
    column: str | None, check: str, rows: list[int] | None = None, detail: str = ""
) -> dict[str, Any]:
    return {"column": column, "check": check, "rows": rows or [], "detail": detail}


def _with_problems(frame: pd.DataFrame, problems: list[dict[str, Any]]) -> pd.DataFrame:
    if problems:
        frame.attrs[READ_PROBLEMS] = problems
    return frame


def _unreadable(check: str, detail: str) -> pd.DataFrame:
    return _with_problems(pd.DataFrame(), [_problem(FILE, check, detail=detail)])


def _parquet(raw: bytes, name: str) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(io.BytesIO(raw))
    except (pa.ArrowException, OSError, ValueError) as err:
        return _unreadable("readable Parquet file", f"{name}: {err}")


def _csv(raw: bytes, name: str, encoding: str, delimiter: str = ",") -> pd.DataFrame:
    problems: list[dict[str, Any]] = []
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        # Keep the readable part, and point at the cells holding the undecodable bytes.
        text = raw.decode(encoding, errors="replace")
        problems.append(_problem(None, f"valid {encoding} text"))
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except pd.errors.EmptyDataError:
        return _with_problems(pd.DataFrame(), problems)
    except (pd.errors.ParserError, csv.Error) as err:  # csv.Error: NUL bytes, binary junk
        return _unreadable("readable CSV file", f"{name}: {err}")
    if not frame.index.equals(pd.RangeIndex(len(frame))):  # extra fields became an index
        detail = f"{name}: rows have more fields than the header's {len(header)} names"
        return _unreadable("readable CSV file", detail)
    # One column whose name holds another delimiter: most likely the wrong delimiter.
    others = [d for d in (";", "\t", "|", ",") if d != delimiter and len(header) == 1]
    guess = next((d for d in others if d in header[0]), None)
    if guess:
        detail = f"one column, named {header[0][:60]!r}: set data.source.delimiter to {guess!r}?"
        problems.append(_problem(FILE, f"columns split by {delimiter!r}", detail=detail))
    # pandas renames a repeated header `x` to `x.1`; say so instead of inventing a column.
    for column in sorted({c for c in header if header.count(c) > 1}):
        positions = [i + 1 for i, c in enumerate(header) if c == column]
        detail = f"the header names it {len(positions)} times (positions {positions})"
        problems.append(_problem(column, "unique column names", detail=detail))
    if problems and problems[0]["column"] is None:
        where = _bad_bytes(frame, encoding) or [{**problems[0], "column": FILE}]
        problems = where + problems[1:]
    return _with_problems(frame, problems)


def _bad_bytes(frame: pd.DataFrame, encoding: str) -> list[dict[str, Any]]:
    """Columns (header included) whose text held bytes that are not valid `encoding`."""
    problems = []
    for column in frame.columns:
        values = frame[column]
        rows: list[int] = []
        if values.dtype.kind in "OSUT" or str(values.dtype) == "str":
            # positions, not index labels: a ragged file can leave pandas a MultiIndex
            bad = values.astype(str).str.contains("\ufffd", regex=False).to_numpy()
            rows = [int(i) for i in bad.nonzero()[0]]
        if "\ufffd" in str(column) or rows:
            detail = f"undecodable bytes (set data.source.encoding if the file is not {encoding})"
            problems.append(_problem(str(column), f"valid {encoding} text", rows, detail))
    return problems
