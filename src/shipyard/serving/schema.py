"""Request and response models built from a bundle's schema.json.

Validation happens here, per request and before adaptive batching, so one bad request
is refused with a 400 naming the row and feature, and never spoils a batch.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, create_model


class Prediction(BaseModel):
    label: int | str
    probabilities: dict[str, float]
    model_version: str


def answer(labels: list[Any], proba: Any) -> dict[str, Any]:
    """One row's label and its class probabilities, keyed by label."""
    return {
        "label": labels[int(proba.argmax())],
        "probabilities": {str(label): float(p) for label, p in zip(labels, proba, strict=True)},
    }


def row_model(features: list[str], max_abs_value: float) -> type[BaseModel]:
    """One row by feature name: every feature required, no others, finite numbers only.

    Fields are positional (f0, f1, ...) with the feature names as aliases, because
    feature names need not be Python identifiers; the order is the bundle's.
    """
    value = Annotated[
        float, Strict(), Field(allow_inf_nan=False, ge=-max_abs_value, le=max_abs_value)
    ]
    fields: dict[str, Any] = {
        f"f{i}": (value, Field(alias=name)) for i, name in enumerate(features)
    }
    return create_model("Row", __config__=ConfigDict(extra="forbid"), **fields)


def rows_type(row: type[BaseModel], max_rows: int) -> Any:
    return Annotated[list[row], Field(min_length=1, max_length=max_rows)]  # type: ignore[valid-type]
