"""Split the validated table and fit the feature transform on the train split only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import DataConfig, FeaturesConfig

ROW_ID = "row_id"  # position in the raw table: joins predictions of two runs row by row
LABEL = "label"  # class index into data.labels
SPLITS = ("train", "val", "test")


def split(df: pd.DataFrame, target: str, cfg: FeaturesConfig, seed: int) -> dict[str, pd.DataFrame]:
    """Seeded, stratified train/val/test split; each part keeps its raw row ids."""
    from sklearn.model_selection import train_test_split

    df = df.reset_index(drop=True).rename_axis(ROW_ID).reset_index()
    rest, test = train_test_split(
        df, test_size=cfg.split.test_size, stratify=df[target], random_state=seed
    )
    val_share = cfg.split.val_size / (1.0 - cfg.split.test_size)
    train, val = train_test_split(
        rest, test_size=val_share, stratify=rest[target], random_state=seed
    )
    return {"train": train, "val": val, "test": test}


def build_featurizer(cfg: FeaturesConfig) -> Any:
    """An unfitted scikit-learn pipeline from the `_target_` specs in the config."""
    from hydra.utils import instantiate
    from sklearn.pipeline import Pipeline

    return Pipeline([("impute", instantiate(cfg.imputer)), ("scale", instantiate(cfg.scaler))])


def encode_labels(values: pd.Series, labels: list[Any]) -> np.ndarray:
    """Labels as indices into `labels` (validation guarantees every value is in it)."""
    index = {label: i for i, label in enumerate(labels)}
    return values.map(index).to_numpy(dtype=np.int64)


def transform(part: pd.DataFrame, featurizer: Any, data: DataConfig) -> pd.DataFrame:
    """Model-ready frame: row id, label index, float32 features named by the featurizer."""
    x = featurizer.transform(part[data.numeric_features]).astype(np.float32)
    out = pd.DataFrame(x, columns=list(featurizer.get_feature_names_out()), index=part.index)
    out.insert(0, LABEL, encode_labels(part[data.target], data.labels))
    out.insert(0, ROW_ID, part[ROW_ID].to_numpy())
    return out.reset_index(drop=True)


def arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of a featurized frame."""
    # Copies: Parquet hands out read-only buffers, which torch cannot wrap.
    x = frame.drop(columns=[ROW_ID, LABEL]).to_numpy(dtype=np.float32, copy=True)
    return x, frame[LABEL].to_numpy(dtype=np.int64, copy=True)
