"""The fitted featurizer as plain numpy arithmetic, for the serving hot path.

scikit-learn spends ~0.5 ms per transform() call on input validation and dispatch, far more
than the arithmetic for one row; the service calls it once per request. For the steps we
know (SimpleImputer, StandardScaler, both fitted, on numeric-only data), the same
transform is a few numpy ops on the fitted arrays. Any other step returns None: callers
then use scikit-learn itself.
tests/test_fast_transform.py checks both paths give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Transform = Callable[[np.ndarray], np.ndarray]


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


def _only_branch(featurizer: Any) -> Any:
    """A fitted ColumnTransformer whose one active branch takes every column, in order,
    is that branch (numeric-only data); any other is None."""
    if not hasattr(featurizer, "transformers_"):
        return featurizer
    active = [
        (transformer, list(columns))
        for _, transformer, columns in featurizer.transformers_
        if not (isinstance(transformer, str) and transformer == "drop") and len(columns)
    ]
    names = list(getattr(featurizer, "feature_names_in_", []))
    if len(active) != 1 or active[0][1] != names or isinstance(active[0][0], str):
        return None
    return active[0][0]


def compile_featurizer(featurizer: Any) -> Transform | None:
    """A numpy function equal to `featurizer.transform`, or None if a step is unknown."""
    featurizer = _only_branch(featurizer)
    if featurizer is None:
        return None
    steps = [step for _, step in getattr(featurizer, "steps", [(None, featurizer)])]
    compiled = []
    for step in steps:
        kind = f"{type(step).__module__}.{type(step).__qualname__}"
        make = COMPILERS.get(kind)
        function = make(step) if make else None
        if function is None:
            return None
        compiled.append(function)

    def transform(x: np.ndarray) -> np.ndarray:
        for function in compiled:
            x = function(x)
        return x

    return transform
