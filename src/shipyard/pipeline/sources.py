"""Data sources: each returns the raw table as a DataFrame, or, given `chunk_rows`, as
DataFrames of at most that many rows each, so that ingest never holds a large table whole
(`chunks`). Selected by `data.source._target_`.

Sources do not judge the data (that is the validate stage's job): they read what is there,
even an empty, truncated or mis-encoded file, so a bad table stops the pipeline at
validation with a message naming the column. What they could not read travels with the
frame (or a chunk) as `attrs[READ_PROBLEMS]`; ingest keeps it in the raw table's metadata
(pipeline/raw_table.py).
"""

from __future__ import annotations

import csv
import inspect
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shipyard.pipeline.raw_table import ARROW_SCHEMA, FILE, READ_PROBLEMS


def chunks(spec: dict[str, Any], chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The rows of the source `spec` (a `_target_` and its arguments), chunk by chunk: a
    source that takes `chunk_rows` yields DataFrames of at most that many rows; any other
    returns its table in one."""
    from hydra.utils import get_method, instantiate

    if "chunk_rows" in inspect.signature(get_method(spec["_target_"])).parameters:
        table = instantiate(spec, chunk_rows=chunk_rows)
    else:
        table = instantiate(spec)
    return iter([table]) if isinstance(table, pd.DataFrame) else iter(table)


def with_partitions(
    source: Iterable[pd.DataFrame], folder: Path, target: str
) -> Iterator[pd.DataFrame]:
    """The source's chunks, then the rows of each Parquet partition in `folder` (labelled
    production rows a retraining pull request added: shipyard.monitor.retrain), in name
    order, with the source's columns and types. A partition DVC tracks but the workspace
    lacks is an error: reproducing without it would train on other data than the lock says.
    """
    if folder.is_dir():
        for tracked in sorted(folder.glob("*.parquet.dvc")):
            if not tracked.with_suffix("").exists():
                raise ValueError(f"{tracked.with_suffix('')} is missing: run `dvc pull` first")
    paths = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    return _then_partitions(iter(source), paths, target)


def _then_partitions(
    source: Iterator[pd.DataFrame], paths: list[Path], target: str
) -> Iterator[pd.DataFrame]:
    first = None
    for chunk in source:
        first = chunk if first is None else first
        yield chunk
    if first is None:
        return
    for path in paths:
        part = pd.read_parquet(path)
        if target not in part.columns:
            raise ValueError(f"{path} has no target column '{target}'")
        # the log holds the features; columns the model ignores (IDs) stay empty
        part = part.reindex(columns=first.columns)
        yield part.astype(first.dtypes.to_dict(), errors="ignore")


def sklearn_bundled(name: str) -> pd.DataFrame:
    """A dataset that ships inside scikit-learn (digits, wine, breast_cancer, diabetes...)."""
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}", None)
    if loader is None:
        raise ValueError(f"scikit-learn bundles no dataset named '{name}'")
    return loader(as_frame=True).frame


# The synthetic table is made in blocks of this many rows, each from its own seeded
# generator, so that a table of any size is made in bounded memory, and its rows do not
# depend on how a reader chunks them.
SYNTHETIC_BLOCK = 262_144
_PILOT_ROWS = 10_000  # the rows whose quantiles cut the categorical levels


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
    chunk_rows: int | None = None,
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """A seeded table: same arguments, same rows. Classification when `labels` is given
    (`noise` = share of labels replaced by a random class), regression otherwise (`noise`
    = std of the target's noise). Categorical columns are informative features cut into
    `n_categories` text levels, so they carry signal like the numeric ones.

    Classification: each class is two Gaussian clusters near a vertex of a hypercube in the
    informative features (_SyntheticMaker); the other features are noise. Regression: a
    random linear target of the informative features. With `chunk_rows`, the rows come as
    DataFrames of at most that many rows (the same rows)."""
    maker = _SyntheticMaker(
        len(numeric_features) + len(categorical_features),
        min(n_informative, len(numeric_features) + len(categorical_features)),
        len(labels) if labels else 0,
        noise,
        seed,
    )
    edges = maker.edges(len(categorical_features), n_categories)
    levels = np.array([f"level_{i}" for i in range(n_categories)], dtype=object)

    def frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
        n_cat = len(categorical_features)
        out = pd.DataFrame(x[:, n_cat:], columns=numeric_features)
        for i, name in enumerate(categorical_features):
            out[name] = levels[np.searchsorted(edges[i], x[:, i])]
        out[target] = np.asarray(labels, dtype=object)[y] if labels else y
        if labels:
            out[target] = out[target].infer_objects()
        return out

    def chunked(size: int) -> Iterator[pd.DataFrame]:
        for block in range(-(-n_rows // SYNTHETIC_BLOCK)):
            rows = min(SYNTHETIC_BLOCK, n_rows - block * SYNTHETIC_BLOCK)
            x, y = maker.sample(np.random.default_rng([seed, 2, block]), rows)
            for start in range(0, rows, size):
                yield frame(x[start : start + size], y[start : start + size])

    if chunk_rows is not None:
        return chunked(chunk_rows)
    parts = list(chunked(SYNTHETIC_BLOCK))
    return pd.concat(parts, ignore_index=True) if parts else frame(*maker.sample(None, 0))


class _SyntheticMaker:
    """The synthetic table's structure (cluster centres and transforms, or the target's
    coefficients), drawn once from the seed; rows are drawn from it block by block."""

    def __init__(self, n_features: int, informative: int, n_classes: int, noise: float, seed: int):
        structure = np.random.default_rng([seed, 0])
        self.n_features, self.informative, self.n_classes = n_features, informative, n_classes
        self.noise, self.seed = noise, seed
        if n_classes:
            # Each class sits at a vertex of the hypercube in the informative features,
            # the second class at the first's opposite vertex, so that every informative
            # feature (the categorical ones too) tells some classes apart; each class is
            # two clusters, near its vertex, of their own spreads: not linearly separable.
            bits = structure.integers(0, 2, (n_classes, informative))
            if n_classes > 1:
                bits[1] = 1 - bits[0]
            vertices = np.repeat(2.0 * bits - 1.0, 2, axis=0)  # cluster c: class c // 2
            offsets = structure.uniform(-0.5, 0.5, vertices.shape)
            self.centres = (vertices + offsets).astype(np.float32)
            self.spreads = structure.uniform(0.5, 1.5, vertices.shape).astype(np.float32)
        else:
            self.coef = 100.0 * structure.uniform(size=informative)

    def sample(self, rng: np.random.Generator | None, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """(float32 features, class indices or float64 targets) of `rows` new rows."""
        rng = rng or np.random.default_rng([self.seed, 9])
        # float32 halves the memory of a large table; plenty of precision
        x = rng.standard_normal((rows, self.n_features), dtype=np.float32)
        informative = x[:, : self.informative]
        if not self.n_classes:
            y = informative.astype(np.float64) @ self.coef
            return x, y + self.noise * rng.standard_normal(rows)
        clusters = rng.integers(len(self.centres), size=rows)
        informative *= self.spreads[clusters]
        informative += self.centres[clusters]
        y = clusters // 2
        flipped = rng.random(rows) < self.noise
        y[flipped] = rng.integers(self.n_classes, size=int(flipped.sum()))
        return x, y

    def edges(self, n_categorical: int, n_categories: int) -> list[np.ndarray]:
        """Each categorical feature's cut points: quantiles of a seeded pilot sample, the
        same whatever the table's size."""
        x, _ = self.sample(np.random.default_rng([self.seed, 1]), _PILOT_ROWS)
        cuts = np.linspace(0, 1, n_categories + 1)[1:-1]
        return [np.quantile(x[:, i], cuts) for i in range(n_categorical)]


def read_table(
    path: str,
    encoding: str = "utf-8",
    storage_options: dict[str, Any] | None = None,
    remote: str | None = None,
    delimiter: str = ",",
    chunk_rows: int | None = None,
) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """A CSV or Parquet file, local or on S3 (`s3://bucket/key`), read without judging it.

    For `s3://` paths, `remote` names a DVC remote whose endpoint and credentials to use
    (its .dvc/config and config.local settings); otherwise s3fs finds credentials itself.
    With `chunk_rows`, a Parquet file is read record batch by record batch, never whole
    (so a large table should be Parquet); a CSV file is read whole, by the careful reader
    that names bad bytes, repeated headers and a wrong delimiter, and comes as one chunk.
    """
    if remote and storage_options is None:
        storage_options = dvc_remote_storage_options(remote)
    name = Path(path.split("?")[0]).name
    parquet = name.lower().endswith((".parquet", ".pq"))
    if parquet and chunk_rows is not None:
        return _parquet_chunks(path, storage_options, name, chunk_rows)
    opener = _open_remote if "://" in path else _open_local
    raw = opener(path, storage_options)  # a wrong path is a config mistake: it raises
    if parquet:
        return _parquet(raw, name)
    frame = _csv(raw, name, encoding, delimiter)
    return frame if chunk_rows is None else iter([frame])


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


def _parquet_chunks(
    path: str, storage_options: dict[str, Any] | None, name: str, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """A Parquet file's record batches as DataFrames, the file opened once (through
    fsspec, which for a remote one reads the footer and then each row group by range)."""
    import fsspec
    import pyarrow as pa
    import pyarrow.parquet as pq

    # fsspec for local paths too: one way in; a wrong path is a config mistake: it raises
    with fsspec.open(path, "rb", **(storage_options or {})) as file:
        try:
            # not pre-buffered: with it, pyarrow keeps every batch read (a 10M-row table
            # whole); without it, it reads each column chunk as it goes
            parquet = pq.ParquetFile(file, pre_buffer=False)
        except (pa.ArrowException, OSError, ValueError) as err:
            yield _unreadable("readable Parquet file", f"{name}: {err}")
            return
        empty = parquet.schema_arrow.empty_table().to_pandas()  # a table without rows
        declared = parquet.schema_arrow.serialize().to_pybytes()
        try:
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                chunk = pa.Table.from_batches([batch]).to_pandas()
                chunk.attrs[ARROW_SCHEMA] = declared  # a column empty in this chunk keeps its type
                yield chunk
        except (pa.ArrowException, OSError, ValueError) as err:
            # The rows already read are written; the problem fails validation all the same.
            problem = _problem(FILE, "readable Parquet file", detail=f"{name}: {err}")
            yield _with_problems(empty, [problem])
            return
        if parquet.metadata.num_rows == 0:
            yield empty


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
