"""The fitted featurizer as plain numpy arithmetic and dict lookups, for the serving hot path.

scikit-learn spends a fixed cost per transform() call on input validation and dispatch,
and a ColumnTransformer over a DataFrame more again, far more than the work for one row;
the service calls it once per request. For the steps we know, fitted, the same
transform is a few numpy ops (SimpleImputer, StandardScaler on numeric columns) or one dict
lookup per value (SimpleImputer + OneHotEncoder on categorical columns, read from their
public fitted attributes). Anything else compiles to None: callers then use scikit-learn.
tests/test_fast_transform.py checks both paths give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Transform = Callable[[np.ndarray], np.ndarray]
# (numeric values [rows x numeric], categories [rows x categorical]) -> model inputs
Featurize = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _kind(step: Any) -> str:
    return f"{type(step).__module__}.{type(step).__qualname__}"


def _imputer(step: Any) -> Transform | None:
    if step.add_indicator or not (
        isinstance(step.missing_values, float) and np.isnan(step.missing_values)
    ):
        return None
    fill = np.asarray(step.statistics_, dtype=np.float64)
    if np.isnan(fill).any():  # all-missing training columns are dropped by scikit-learn
        return None
    return lambda x: np.where(np.isnan(x), fill, x)


def _scaler(step: Any) -> Transform | None:
    mean = step.mean_ if step.with_mean else 0.0
    scale = step.scale_ if step.with_std else 1.0
    return lambda x: (x - mean) / scale


COMPILERS: dict[str, Callable[[Any], Transform | None]] = {
    "sklearn.impute._base.SimpleImputer": _imputer,
    "sklearn.preprocessing._data.StandardScaler": _scaler,
}


def _pipeline(branch: Any) -> Transform | None:
    """Numeric steps chained, or None if a step is unknown."""
    compiled = []
    for _, step in getattr(branch, "steps", [(None, branch)]):
        make = COMPILERS.get(_kind(step))
        function = make(step) if make else None
        if function is None:
            return None
        compiled.append(function)

    def transform(x: np.ndarray) -> np.ndarray:
        for function in compiled:
            x = function(x)
        return x

    return transform


def _one_hot_tables(imputer: Any, encoder: Any) -> list[tuple[dict, int, int | None]] | None:
    """Per column: (category -> output position, width, position of an unknown category
    or None for all zeros), from the fitted imputer's fill and the encoder's categories."""
    if _kind(imputer) != "sklearn.impute._base.SimpleImputer" or imputer.add_indicator:
        return None
    if _kind(encoder) != "sklearn.preprocessing._encoders.OneHotEncoder":
        return None
    if encoder.drop_idx_ is not None or encoder.handle_unknown not in (
        "ignore",
        "infrequent_if_exist",
    ):
        return None
    try:
        infrequent = encoder.infrequent_categories_
    except AttributeError:  # neither min_frequency nor max_categories: nothing is rare
        infrequent = [None] * len(encoder.categories_)
    tables = []
    for j, categories in enumerate(encoder.categories_):
        rare = infrequent[j]
        rare = set() if rare is None else set(rare)
        frequent = [c for c in categories if c not in rare]
        index: dict[Any, int] = {c: i for i, c in enumerate(frequent)}
        shared = len(frequent) if rare else None  # scikit-learn puts "infrequent" last
        index |= dict.fromkeys(rare, shared)
        unknown = shared if encoder.handle_unknown == "infrequent_if_exist" else None
        fill = imputer.statistics_[j]
        index[None] = index.get(fill, unknown)  # a missing value is the imputer's fill
        tables.append((index, len(frequent) + (1 if rare else 0), unknown))
    return tables


def _categorical(branch: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    steps = [step for _, step in getattr(branch, "steps", [])]
    tables = _one_hot_tables(*steps) if len(steps) == 2 else None
    if tables is None:
        return None
    width = sum(w for _, w, _ in tables)
    offsets = np.cumsum([0] + [w for _, w, _ in tables])[:-1]

    def transform(x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), width))
        for j, (index, _, unknown) in enumerate(tables):
            for i, value in enumerate(x[:, j]):
                if value is None or value != value:  # None or NaN: missing
                    position = index[None]
                else:
                    position = index.get(str(value), unknown)
                if position is not None:
                    out[i, offsets[j] + position] = 1.0
        return out

    return transform


def compile_featurizer(featurizer: Any) -> Featurize | None:
    """A function equal to `featurizer.transform` on (numeric, categorical) arrays, for a
    fitted ColumnTransformer of a numeric branch and optionally a categorical branch
    taking the columns in that order (as `features.build_featurizer` makes it); else None."""
    active = [
        (transformer, list(columns))
        for _, transformer, columns in getattr(featurizer, "transformers_", [])
        if not (isinstance(transformer, str) and transformer == "drop") and len(columns)
    ]
    if not active or len(active) > 2 or any(isinstance(t, str) for t, _ in active):
        return None
    names = list(getattr(featurizer, "feature_names_in_", []))
    if [c for _, columns in active for c in columns] != names:
        return None  # branches must take the columns in bundle order
    numeric = _pipeline(active[0][0])
    categorical = _categorical(active[1][0]) if len(active) == 2 else None
    if numeric is None or (len(active) == 2 and categorical is None):
        return None

    def transform(x_numeric: np.ndarray, x_categorical: np.ndarray) -> np.ndarray:
        parts = [numeric(x_numeric)]
        if categorical is not None:
            parts.append(categorical(x_categorical))
        return np.hstack(parts) if len(parts) > 1 else parts[0]

    return transform
