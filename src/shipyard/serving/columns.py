"""The request contract checked a column at a time: one owner for every way rows arrive.

/predict's JSON rows, its Arrow IPC bodies and the tables `shipyard predict` scores
offline (Parquet, CSV) all become a `Batch` here, through the same per-cell checks, as
whole numpy arrays: a 100-row request costs about what a one-row request did per row in
pydantic, and a bad row is still named by row and column. The checks are those of
serving.schema's row model (which documents the contract in OpenAPI): finite numbers
within `max_abs` for numeric features, text of at most MAX_CATEGORY_LENGTH characters or
integers for categories (`3` and `"3"` are one category), null only where the schema
allows it, ID columns as short scalars.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from shipyard.serving.schema import (
    MAX_CATEGORY_LENGTH,
    MAX_PROBLEMS,
    Problems,
    parse_items,
    problem,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from shipyard.pipeline.bundle import BundleSchema

# Per-cell verdicts (uint8): 0 is valid. Names are pydantic's error types, so a 400 reads
# the same whichever way the rows came.
OK, NOT_NUMBER, NOT_FINITE, TOO_BIG, TOO_SMALL, NOT_CATEGORY, TOO_LONG, NOT_SCALAR = range(8)
INT64 = (-(2**63), 2**63 - 1)  # what JSON tools keep of an integer category
NUMBER_TYPES = frozenset({float, int})
CATEGORY_TYPES = frozenset({str, int})
SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})
# A number as CSV text: what float() reads, without "nan" or "inf" (not finite).
NUMBER_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"


@dataclass(frozen=True)
class Contract:
    """What a bundle's rows must be, by column."""

    features: list[str]  # bundle order
    numeric: list[str]
    categorical: list[str]
    nullable: frozenset[str]
    ignored: list[str]
    max_abs: float

    @classmethod
    def of(cls, schema: BundleSchema, max_abs: float) -> Contract:
        categorical = set(schema.categorical)
        return cls(
            features=list(schema.features),
            numeric=[f for f in schema.features if f not in categorical],
            categorical=[f for f in schema.features if f in categorical],
            nullable=frozenset(schema.nullable),
            ignored=list(schema.ignored),
            max_abs=max_abs,
        )

    def message(self, code: int) -> tuple[str, str]:
        """(msg, type) of a verdict, worded as pydantic words it."""
        return {
            NOT_NUMBER: ("Input should be a valid number", "float_type"),
            NOT_FINITE: ("Input should be a finite number", "finite_number"),
            TOO_BIG: (f"Input should be less than or equal to {self.max_abs:g}", "less_than_equal"),
            TOO_SMALL: (
                f"Input should be greater than or equal to {-self.max_abs:g}",
                "greater_than_equal",
            ),
            NOT_CATEGORY: ("Input should be a valid string or integer", "string_type"),
            TOO_LONG: (
                f"String should have at most {MAX_CATEGORY_LENGTH} characters",
                "string_too_long",
            ),
            NOT_SCALAR: ("Input should be a short text, number, boolean or null", "scalar_type"),
        }[code]


@dataclass
class Batch:
    """Valid rows as the model takes them, in bundle order within each part."""

    numeric: np.ndarray  # float64, rows x numeric features; NaN where missing
    categorical: np.ndarray  # object, rows x categorical features: text, None where missing
    ignored: dict[str, Any] = field(default_factory=dict)  # ID columns: lists or Arrow arrays

    def __len__(self) -> int:
        return len(self.numeric)

    def records(self, contract: Contract) -> list[dict[str, Any]]:
        """Each row by column name, as the model received it (the prediction log's input):
        features in bundle order, then ID columns."""
        numbers = self.numeric
        if np.isnan(numbers).any():  # how a missing number travels here; the log says null
            numbers = np.where(np.isnan(numbers), None, numbers)
        cells = numbers.tolist()
        if contract.categorical:
            cells = [n + c for n, c in zip(cells, self.categorical.tolist(), strict=True)]
            at = {f: i for i, f in enumerate([*contract.numeric, *contract.categorical])}
            order = [at[f] for f in contract.features]
            cells = [[row[i] for i in order] for row in cells]
        if contract.ignored:
            ids = [_pylist(self.ignored.get(name), len(self)) for name in contract.ignored]
            more = zip(*ids, strict=True)
            cells = [row + list(extra) for row, extra in zip(cells, more, strict=True)]
        names = [*contract.features, *contract.ignored]
        return [dict(zip(names, row, strict=True)) for row in cells]


class Records(Sequence):
    """A batch's rows by column name (`Batch.records`), made only if asked for, and each
    row as JSON text (`json`), for the prediction log. Rows of numbers are written from the
    number matrix in one serializer call, then cut at the row and cell commas (numbers hold
    none): a dict per row made, then serialized, cost a quarter of a 100-row request."""

    def __init__(self, batch: Batch, contract: Contract) -> None:
        self.batch, self.contract = batch, contract

    def __len__(self) -> int:
        return len(self.batch)

    def __getitem__(self, index: Any) -> Any:
        return self._dicts[index]

    @functools.cached_property
    def _dicts(self) -> list[dict[str, Any]]:
        return self.batch.records(self.contract)

    def json(self) -> list[bytes]:
        contract = self.contract
        if contract.categorical:  # text among the features: each row's dict, serialized
            return [orjson.dumps(row) for row in self._dicts]
        numbers = np.ascontiguousarray(self.batch.numeric, dtype=np.float64)
        # orjson writes NaN, how a missing number travels here, as null (records: None)
        text = orjson.dumps(numbers, option=orjson.OPT_SERIALIZE_NUMPY)
        cells = [tuple(row.split(b",")) for row in text[2:-2].split(b"],[")]
        template = _template(tuple(contract.numeric), closed=not contract.ignored)
        if not contract.ignored:
            return [template % row for row in cells]
        # ID columns (any scalar, text among them) after the features, as records puts them
        ids = [_pylist(self.batch.ignored.get(name), len(self)) for name in contract.ignored]
        rest = [
            orjson.dumps(dict(zip(contract.ignored, row, strict=True)))
            for row in zip(*ids, strict=True)
        ]
        return [template % row + b"," + more[1:] for row, more in zip(cells, rest, strict=True)]


@functools.cache
def _template(names: tuple[str, ...], closed: bool) -> bytes:
    """`{"name":%s,...}` for bytes formatting (a % in a name escaped); open-ended (no
    closing brace) when more keys follow."""
    keys = [orjson.dumps(name).replace(b"%", b"%%") + b":%s" for name in names]
    return b"{" + b",".join(keys) + (b"}" if closed else b"")


def _pylist(values: Any, n: int) -> list[Any]:
    """An ID column as Python values: as sent (JSON), from Arrow, or all None (absent)."""
    if values is None:
        return [None] * n
    return values if isinstance(values, list) else values.to_pylist()


def columns_of(contract: Contract) -> list[str]:
    """Columns as a row lists them: features in bundle order, then ID columns."""
    return [*contract.features, *contract.ignored]


def refused(verdicts: np.ndarray, contract: Contract, key: str = "rows") -> Problems | None:
    """The bad cells of a rows x `columns_of(contract)` verdict matrix as Problems, row by
    row (as a reader meets them), the first MAX_PROBLEMS named; None if all are valid."""
    rows, cols = np.nonzero(verdicts)
    if not len(rows):
        return None
    names, first = columns_of(contract), []
    for r, c in zip(rows[:MAX_PROBLEMS].tolist(), cols[:MAX_PROBLEMS].tolist(), strict=True):
        msg, kind = contract.message(int(verdicts[r, c]))
        first.append(problem([key, r, names[c]], msg, kind))
    return Problems(len(rows), first)


def verdict_matrix(codes: dict[str, np.ndarray], contract: Contract, n: int) -> np.ndarray:
    """Per-column verdicts -> one rows x `columns_of(contract)` matrix."""
    return np.column_stack([codes[name] for name in columns_of(contract)]).reshape(n, -1)


# --- The checks: elementwise, on a column or a rows x columns matrix ------------------


def number_codes(
    values: np.ndarray, null: np.ndarray, wrong: np.ndarray, nullable: Any, max_abs: float
) -> np.ndarray:
    """Verdicts for numbers: `values` float64 (anything where `null` or `wrong`);
    `nullable` a bool, or per column (broadcast over the rows)."""
    codes = np.zeros(values.shape, dtype=np.uint8)
    with np.errstate(invalid="ignore"):
        codes[values > max_abs] = TOO_BIG
        codes[values < -max_abs] = TOO_SMALL
    codes[~np.isfinite(values)] = NOT_FINITE
    codes[null] = OK
    codes[null & ~np.asarray(nullable, dtype=bool)] = NOT_NUMBER
    codes[wrong] = NOT_NUMBER
    return codes


def category_codes(
    lengths: np.ndarray, null: np.ndarray, wrong: np.ndarray, nullable: Any
) -> np.ndarray:
    """Verdicts for categories, from their texts' lengths (`nullable` as number_codes)."""
    codes = np.where(lengths > MAX_CATEGORY_LENGTH, TOO_LONG, OK).astype(np.uint8)
    codes[null] = OK
    codes[null & ~np.asarray(nullable, dtype=bool)] = NOT_CATEGORY
    codes[wrong] = NOT_CATEGORY
    return codes


# --- JSON rows (dicts by column name, keys already checked: serving.schema) ------------


def _cells(rows: list[dict[str, Any]], names: list[str]) -> list[tuple[Any, ...]]:
    """Each row's values of `names`, as tuples (C speed: itemgetter)."""
    if not names:
        return [()] * len(rows)
    get = operator.itemgetter(*names)
    if len(names) == 1:
        return [(get(row),) for row in rows]
    return list(map(get, rows))


def _json_numbers(rows: list[dict[str, Any]], contract: Contract) -> tuple:
    """(float64 values, verdicts) of the numeric features: one conversion when every value
    is a number or null (the common case), value by value only otherwise."""
    names = contract.numeric
    cells = _cells(rows, names)
    shape = (len(rows), len(names))
    if set(map(type, itertools.chain.from_iterable(cells))) <= NUMBER_TYPES | {type(None)}:
        values = np.array(cells, dtype=np.float64).reshape(shape)  # None -> NaN
        null = np.isnan(values)  # JSON has no NaN: a NaN here was null
        wrong = np.zeros(shape, dtype=bool)
    else:
        flat = list(itertools.chain.from_iterable(cells))
        null = np.array([v is None for v in flat], dtype=bool).reshape(shape)
        number = np.array([type(v) in NUMBER_TYPES for v in flat], dtype=bool).reshape(shape)
        wrong = ~number & ~null
        values = np.array([v if type(v) in NUMBER_TYPES else np.nan for v in flat])
        values = values.astype(np.float64).reshape(shape)
    nullable = [name in contract.nullable for name in names]
    return values, number_codes(values, null, wrong, nullable, contract.max_abs)


def _category(value: Any) -> Any:
    """A JSON category as the model reads it: text (integers as their text), else None."""
    if type(value) is str:
        return value
    if type(value) is int and INT64[0] <= value <= INT64[1]:
        return str(value)
    return None


def _json_categories(rows: list[dict[str, Any]], contract: Contract) -> tuple:
    """(object values: text or None, verdicts) of the categorical features."""
    names = contract.categorical
    shape = (len(rows), len(names))
    flat = list(itertools.chain.from_iterable(_cells(rows, names)))
    text = list(map(_category, flat))
    null = np.array([v is None for v in flat], dtype=bool).reshape(shape)
    wrong = np.array([t is None for t in text], dtype=bool).reshape(shape) & ~null
    lengths = np.array([len(t) if t else 0 for t in text], dtype=np.int64).reshape(shape)
    values = np.empty(len(text), dtype=object)
    values[:] = text
    nullable = [name in contract.nullable for name in names]
    return values.reshape(shape), category_codes(lengths, null, wrong, nullable)


def _scalar_codes(column: list[Any], max_abs: float) -> np.ndarray:
    """An ID column's verdicts: a scalar, text no longer than a category, an integer of
    64 bits, a number within `max_abs` (as a feature's)."""
    return np.array(
        [
            NOT_SCALAR
            if type(v) not in SCALAR_TYPES
            or (type(v) is str and len(v) > MAX_CATEGORY_LENGTH)
            or (type(v) is int and not INT64[0] <= v <= INT64[1])
            or (type(v) is float and not -max_abs <= v <= max_abs)
            else OK
            for v in column
        ],
        dtype=np.uint8,
    )


def from_rows(rows: list[dict[str, Any]], contract: Contract, key: str = "rows") -> Batch:
    """JSON rows (every feature present, no unknown key) -> a Batch, or Problems naming
    row and column."""
    numbers, number_verdicts = _json_numbers(rows, contract)
    categories, category_verdicts = _json_categories(rows, contract)
    ignored = {name: [row.get(name) for row in rows] for name in contract.ignored}
    codes = {name: number_verdicts[:, j] for j, name in enumerate(contract.numeric)}
    codes |= {name: category_verdicts[:, j] for j, name in enumerate(contract.categorical)}
    codes |= {name: _scalar_codes(values, contract.max_abs) for name, values in ignored.items()}
    if number_verdicts.any() or category_verdicts.any() or contract.ignored:
        bad = refused(verdict_matrix(codes, contract, len(rows)), contract, key)
        if bad is not None:
            raise bad
    return Batch(numbers, categories, ignored)


# --- Arrow tables (an IPC body, a Parquet or CSV file's record batches) -----------------


class ColumnProblems(ValueError):
    """Whole columns wrong (missing, unknown, of a type no value of which can be valid):
    every row would fail, so the table is refused as a whole."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{p['loc'][-1]}: {p['msg']}" for p in problems))
        self.problems = problems


def column_problems(names: list[str], contract: Contract, key: str = "rows") -> list[dict]:
    """Missing features and unknown columns of a table, by name."""
    known = set(columns_of(contract))
    missing = [f for f in contract.features if f not in names]
    unknown = [c for c in names if c not in known]
    return [problem([key, f], "Field required", "missing") for f in missing] + [
        problem([key, c], "Extra inputs are not permitted", "extra_forbidden") for c in unknown
    ]


def _arrow_numbers(column: pa.ChunkedArray, text: bool) -> tuple:
    """(float64 values, null, wrong) of an Arrow column for a numeric feature; `text`:
    strings are numbers written as text (CSV), else strings are not numbers."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    null = column.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_dictionary(kind):
        return _arrow_numbers(pc.cast(column, kind.value_type), text)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        values = pc.cast(column, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        return values, null, np.zeros(len(column), dtype=bool)
    if text and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        readable = pc.fill_null(pc.match_substring_regex(column, NUMBER_TEXT), False)
        numbers = pc.cast(pc.if_else(readable, column, None), pa.float64())
        values = numbers.fill_null(np.nan).to_numpy(zero_copy_only=False)
        return values, null, ~readable.to_numpy(zero_copy_only=False) & ~null
    return np.full(len(column), np.nan), null, ~null  # booleans, nested, dates: not numbers


def _arrow_categories(column: pa.ChunkedArray) -> tuple:
    """(object values: text or None, lengths, null, wrong) of an Arrow column for a
    categorical feature. Integers are their text; floats too when whole (a column of
    integer codes with gaps, as pandas writes one), as the featurizer's inputs read them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        return _arrow_categories(pc.cast(column, kind.value_type))
    null = column.is_null().to_numpy(zero_copy_only=False)
    wrong = np.zeros(len(column), dtype=bool)
    if pa.types.is_floating(kind):
        whole = pc.fill_null(pc.equal(column, pc.floor(column)), False)
        in_range = pc.fill_null(pc.less_equal(pc.abs(column), 2.0**63 - 1024), False)
        good = pc.and_(whole, in_range)
        wrong = ~good.to_numpy(zero_copy_only=False) & ~null
        column = pc.cast(pc.if_else(good, column, None), pa.int64())
        kind = column.type
    if pa.types.is_integer(kind):
        if kind == pa.uint64():  # beyond 64-bit signed: not a category a JSON tool keeps
            fits = pc.fill_null(pc.less_equal(column, INT64[1]), True)
            wrong |= ~fits.to_numpy(zero_copy_only=False)
            column = pc.if_else(fits, column, None)
        column = pc.cast(column, pa.string())
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return np.full(len(column), None, dtype=object), np.zeros(len(column)), null, ~null
    lengths = pc.fill_null(pc.utf8_length(column), 0).to_numpy(zero_copy_only=False)
    return column.to_numpy(zero_copy_only=False).astype(object), lengths, null, wrong


def _arrow_ids(column: pa.ChunkedArray, max_abs: float) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
        column = pc.cast(column, kind)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        lengths = pc.fill_null(pc.utf8_length(column), 0).to_numpy(zero_copy_only=False)
        return np.where(lengths > MAX_CATEGORY_LENGTH, NOT_SCALAR, OK).astype(np.uint8)
    scalar = (
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_null(kind)
    )
    null = column.is_null().to_numpy(zero_copy_only=False)
    codes = np.where(scalar | null, OK, NOT_SCALAR).astype(np.uint8)
    if pa.types.is_floating(kind):
        values = pc.fill_null(pc.cast(column, pa.float64()), 0.0).to_numpy(zero_copy_only=False)
        codes[~(np.abs(values) <= max_abs)] = NOT_SCALAR
    return codes


def from_table(
    table: pa.Table | pa.RecordBatch, contract: Contract, text_numbers: bool = False
) -> tuple[Batch, np.ndarray]:
    """An Arrow table (columns by name, in any order) -> (every row as a Batch, the verdict
    matrix: rows x `columns_of(contract)`, 0 where valid). Raises ColumnProblems for missing
    or unknown columns. `text_numbers`: text in a numeric column is read as a number (CSV,
    where every value is text), else it is not a number (as in JSON)."""
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if found := column_problems(table.column_names, contract):
        raise ColumnProblems(found)
    n = table.num_rows
    numbers = np.empty((n, len(contract.numeric)), dtype=np.float64)
    categories = np.empty((n, len(contract.categorical)), dtype=object)
    codes: dict[str, np.ndarray] = {}
    for j, name in enumerate(contract.numeric):
        values, null, wrong = _arrow_numbers(table.column(name), text_numbers)
        numbers[:, j] = values
        codes[name] = number_codes(values, null, wrong, name in contract.nullable, contract.max_abs)
    for j, name in enumerate(contract.categorical):
        values, lengths, null, wrong = _arrow_categories(table.column(name))
        categories[:, j] = values
        codes[name] = category_codes(lengths, null, wrong, name in contract.nullable)
    ignored = {}
    for name in contract.ignored:
        if name in table.column_names:
            codes[name] = _arrow_ids(table.column(name), contract.max_abs)
            ignored[name] = table.column(name)
        else:
            codes[name] = np.zeros(n, dtype=np.uint8)
    verdicts = verdict_matrix(codes, contract, n)
    return Batch(numbers, categories, ignored), verdicts


def valid(batch: Batch, verdicts: np.ndarray) -> tuple[Batch, np.ndarray]:
    """(the valid rows of `batch`, their positions in it)."""
    keep = np.flatnonzero(~verdicts.any(axis=1))
    ids = {
        name: [values[i] for i in keep] if isinstance(values, list) else values.take(keep)
        for name, values in batch.ignored.items()
    }
    return Batch(batch.numeric[keep], batch.categorical[keep], ids), keep


def read_arrow(body: bytes, contract: Contract, max_rows: int) -> Batch:
    """An Arrow IPC stream body -> a Batch of 1 to `max_rows` rows, or Problems (one per
    bad cell, by row and column, as for JSON rows)."""
    import pyarrow as pa

    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as err:
        msg = f"Invalid Arrow IPC stream: {str(err)[:150]}"
        raise Problems(1, [problem([], msg, "arrow_invalid")]) from None
    if not 1 <= table.num_rows <= max_rows:
        msg = f"expected 1 to at most {max_rows} rows, got {table.num_rows} rows"
        raise Problems(1, [problem(["rows"], msg, "rows")])
    try:
        batch, verdicts = from_table(table, contract)
    except ColumnProblems as bad:
        raise Problems(len(bad.problems), bad.problems[:MAX_PROBLEMS]) from None
    if (bad := refused(verdicts, contract)) is not None:
        raise bad
    return batch


def read_json(body: bytes, contract: Contract, max_rows: int) -> Batch:
    """`{"rows": [{column: value}]}` -> a Batch of 1 to `max_rows` rows, or Problems."""
    features = set(contract.features)
    rows = parse_items(body, "rows", features, features | set(contract.ignored), max_rows)
    return from_rows(rows, contract)
