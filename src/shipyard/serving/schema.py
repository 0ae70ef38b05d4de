"""The request contract, built from a bundle's schema (the response model is the task's).

Validation happens once per request, before adaptive batching (serving.middleware), so
one bad request is refused with a 400 naming the row and feature, and never spoils a
batch. Everything here is bounded: the values, the body that can hold `max_rows` rows, and
the error report.
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
)

from shipyard.pipeline.bundle import BundleSchema

MAX_CATEGORY_LENGTH = 200  # longer is not a category but a mistake (or an attack)
MAX_PROBLEMS = 10  # a 400 names this many problems, and counts the rest
MAX_LOC_LENGTH = 100  # characters of a client-chosen key quoted back in an error
# The longest JSON text of a number (-1.2345678901234567e-308 is 24), with room for
# a client's own formatting; text escaped as JSON encoders do by default (\uXXXX, twice
# for a character beyond the BMP): at most 12 bytes a character.
NUMBER_BYTES = 32
TEXT_BYTES = 2 + 12 * MAX_CATEGORY_LENGTH


def row_model(schema: BundleSchema, max_abs_value: float) -> type[BaseModel]:
    """One row by column name, from a bundle's schema: every feature required (null
    where the schema allows it), finite numbers for numeric features, text (or integer)
    categories, the dataset's ignored columns (IDs: a short text, number, boolean or
    null) allowed, nothing else.

    Fields are positional (f0, f1, ... features first, in bundle order) with the column
    names as aliases, because column names need not be Python identifiers.
    """
    number = Annotated[
        float, Strict(), Field(allow_inf_nan=False, ge=-max_abs_value, le=max_abs_value)
    ]
    text = Annotated[StrictStr, Field(max_length=MAX_CATEGORY_LENGTH)]
    integer = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]  # what JSON tools keep
    category = text | integer
    scalar = text | StrictBool | integer | number | None
    categorical, nullable = set(schema.categorical), set(schema.nullable)
    fields: dict[str, Any] = {}
    for i, name in enumerate(schema.features):
        kind: Any = category if name in categorical else number
        if name in nullable:
            kind = kind | None
        fields[f"f{i}"] = (kind, Field(alias=name))
    for i, name in enumerate(schema.ignored):
        fields[f"ignored{i}"] = (scalar, Field(default=None, alias=name))
    return create_model("Row", __config__=ConfigDict(extra="forbid"), **fields)


def rows_type(row: type[BaseModel], max_rows: int) -> Any:
    return Annotated[list[row], Field(min_length=1, max_length=max_rows)]  # type: ignore[valid-type]


def body_limit(schema: BundleSchema, max_rows: int) -> int:
    """Bytes enough for `max_rows` of the largest valid rows, however a client formats
    its JSON within reason (`, ` and `: ` separators, escaped text), or of feedback items:
    the default body limit, so that every request `max_rows` allows fits."""
    text = set(schema.categorical) | set(schema.ignored)
    row = 2 + sum(  # {"name": value, ...}
        len(json.dumps(name)) + 4 + (TEXT_BYTES if name in text else NUMBER_BYTES)
        for name in [*schema.features, *schema.ignored]
    )
    # /feedback takes as many items: a request id (64 characters), a row, a label or value
    item = 2 + (16 + 2 + 12 * 64) + (9 + NUMBER_BYTES) + (11 + TEXT_BYTES)
    return 64 + max_rows * (max(row, item) + 2)


class Problems(ValueError):
    """A bad request: how many problems, and the first MAX_PROBLEMS of them."""

    def __init__(self, count: int, first: list[dict[str, Any]]) -> None:
        super().__init__(f"{count} problem(s)")
        self.count = count
        self.first = first


def problem(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    loc = [p if isinstance(p, int) else str(p)[:MAX_LOC_LENGTH] for p in loc]
    return {"loc": loc, "msg": msg[:200], "type": kind}


def read_items(body: bytes, key: str, row: type[BaseModel], max_rows: int) -> list[BaseModel]:
    """`{key: [{field: value}]}` -> validated items (pydantic, for /feedback), or Problems.
    /predict's rows are checked a column at a time instead (serving.columns)."""
    fields = row.model_fields
    required = {f.alias or name for name, f in fields.items() if f.is_required()}
    known = {f.alias or name for name, f in fields.items()}
    items = parse_items(body, key, required, known, max_rows)
    try:  # one call for all rows (per-row calls cost a fifth of a 100-row request)
        return _rows_adapter(row).validate_python(items)
    except ValidationError as err:
        problems = [
            problem([key, *e["loc"]], e["msg"], e["type"])
            for e in err.errors(include_url=False, include_context=False, include_input=False)[
                :MAX_PROBLEMS
            ]
        ]
        raise Problems(err.error_count(), problems) from None


def parse_items(
    body: bytes, key: str, required: set[str], known: set[str], max_rows: int
) -> list[dict[str, Any]]:
    """`{key: [{field: value}]}` -> the items, each with every `required` key and no key
    beyond `known`, or Problems.

    One parse (orjson: strict JSON, so NaN, Infinity and numbers beyond a double or 64-bit
    integer are invalid JSON), then the cheap checks on every item's keys with set
    operations; the values are the caller's to check. Validating the JSON with pydantic in
    one go is shorter, but on rows of unknown keys it copies each row into every "missing"
    error it makes: a 1 MB request of such rows took a GB and seconds of the event loop.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise Problems(1, [problem([], f"Invalid JSON: {err}", "json_invalid")]) from None
    rows = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(rows, list) or not 1 <= len(rows) <= max_rows:
        got = f"{len(rows)} items" if isinstance(rows, list) else f"no list at '{key}'"
        msg = f"expected 1 to at most {max_rows} {key}, got {got}"
        raise Problems(1, [problem([key], msg, key)])
    if all(type(r) is dict and (r.keys() == required or r.keys() == known) for r in rows):
        return rows  # the usual request: every item has the same, expected keys
    first: list[dict[str, Any]] = []
    count = 0

    def found(n: int, problems: Any) -> None:
        nonlocal count
        count += n
        for each in problems:
            if len(first) == MAX_PROBLEMS:
                break
            first.append(each)

    for i, values in enumerate(rows):
        if not isinstance(values, dict):
            found(1, [problem([key, i], "Input should be an object", "model_type")])
            continue
        keys = values.keys()
        unknown, missing = keys - known, required - keys
        if unknown or missing:  # sorted only while they are few enough to list
            few = MAX_PROBLEMS - len(first)
            found(
                len(missing),
                (
                    problem([key, i, k], "Field required", "missing")
                    for k in (sorted(missing)[:few] if few > 0 else ())
                ),
            )
            few = MAX_PROBLEMS - len(first)
            found(
                len(unknown),
                (
                    problem([key, i, k], "Extra inputs are not permitted", "extra_forbidden")
                    for k in (sorted(unknown)[:few] if few > 0 else ())
                ),
            )
    if count:
        raise Problems(count, first)
    return rows


@functools.cache
def _rows_adapter(row: type[BaseModel]) -> TypeAdapter:
    return TypeAdapter(list[row])  # type: ignore[valid-type]


def feedback_model(schema: BundleSchema, max_abs_value: float, max_row: int) -> type[BaseModel]:
    """One ground-truth item for a logged prediction: its request id and row, and the
    true label (one of the model's labels) or value."""
    fields: dict[str, Any] = {
        "request_id": (Annotated[StrictStr, Field(min_length=1, max_length=64)], ...),
        "row": (Annotated[StrictInt, Field(ge=0, le=max_row - 1)], 0),  # (OpenAPI 3.0: no lt)
    }
    if schema.labels:
        labels = list(schema.labels)
        numbers = all(isinstance(x, int) and not isinstance(x, bool) for x in labels)

        def known(label: Any) -> Any:
            if label not in labels:
                raise ValueError(f"not one of the model's labels {labels[:20]}")
            return label

        # not Literal: pydantic takes false for 0 and 1.0 for 1 there, even in strict mode
        enum = {"type": "integer" if numbers else "string", "enum": labels}
        kind = StrictInt if numbers else StrictStr
        fields["label"] = (Annotated[kind, AfterValidator(known), WithJsonSchema(enum)], ...)
    else:
        number = Annotated[
            float, Strict(), Field(allow_inf_nan=False, ge=-max_abs_value, le=max_abs_value)
        ]
        fields["value"] = (number, ...)
    return create_model("Feedback", __config__=ConfigDict(extra="forbid"), **fields)
