"""Data sources: each returns the raw table as a DataFrame. Selected by `data.source._target_`.

Sources do not judge the data (that is the validate stage's job): they read what is there,
even an empty or malformed file, so a bad table stops the pipeline at validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


def sklearn_bundled(name: str) -> pd.DataFrame:
    """A dataset that ships inside scikit-learn (digits, wine, breast_cancer, ...)."""
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}", None)
    if loader is None:
        raise ValueError(f"scikit-learn bundles no dataset named '{name}'")
    return loader(as_frame=True).frame


def synthetic_classification(
    n_rows: int,
    features: list[str],
    labels: list[Any],
    n_informative: int,
    class_sep: float,
    seed: int,
) -> pd.DataFrame:
    """A seeded classification table: same arguments, same rows."""
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=n_rows,
        n_features=len(features),
        n_informative=min(n_informative, len(features)),
        n_redundant=0,
        n_classes=len(labels),
        class_sep=class_sep,
        random_state=seed,
    )
    frame = pd.DataFrame(x, columns=features)
    frame["target"] = pd.Series(labels, dtype=object).iloc[y].to_numpy()
    frame["target"] = frame["target"].infer_objects()
    return frame


def read_table(path: str) -> pd.DataFrame:
    """A local CSV or Parquet file, read without judging it."""
    file = Path(path)
    if file.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(file)
    try:
        return pd.read_csv(file)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
