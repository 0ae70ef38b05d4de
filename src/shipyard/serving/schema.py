"""Request models built from a bundle's schema (the response model is the task's).

Validation happens here, per request and before adaptive batching, so one bad request
is refused with a 400 naming the row and feature, and never spoils a batch.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictInt, StrictStr, create_model

from shipyard.pipeline.bundle import BundleSchema

MAX_CATEGORY_LENGTH = 200  # longer is not a category but a mistake (or an attack)


def row_model(schema: BundleSchema, max_abs_value: float) -> type[BaseModel]:
    """One row by column name, from a bundle's schema: every feature required (null
    where the schema allows it), finite numbers for numeric features, text (or integer)
    categories, the dataset's ignored columns (IDs) allowed, nothing else.

    Fields are positional (f0, f1, ... features first, in bundle order) with the column
    names as aliases, because column names need not be Python identifiers.
    """
    number = Annotated[
        float, Strict(), Field(allow_inf_nan=False, ge=-max_abs_value, le=max_abs_value)
    ]
    category = Annotated[StrictStr, Field(max_length=MAX_CATEGORY_LENGTH)] | StrictInt
    categorical, nullable = set(schema.categorical), set(schema.nullable)
    fields: dict[str, Any] = {}
    for i, name in enumerate(schema.features):
        kind: Any = category if name in categorical else number
        if name in nullable:
            kind = kind | None
        fields[f"f{i}"] = (kind, Field(alias=name))
    for i, name in enumerate(schema.ignored):
        fields[f"ignored{i}"] = (Any, Field(default=None, alias=name))
    return create_model("Row", __config__=ConfigDict(extra="forbid"), **fields)


def rows_type(row: type[BaseModel], max_rows: int) -> Any:
    return Annotated[list[row], Field(min_length=1, max_length=max_rows)]  # type: ignore[valid-type]
