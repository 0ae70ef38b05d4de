"""Split the validated table and fit the feature transform on the train split only."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from shipyard.config import DataConfig, FeaturesConfig
from shipyard.pipeline.feature_files import LABEL, ROW_ID
from shipyard.pipeline.task import task


def split_rows(
    target: pd.Series, data: DataConfig, cfg: FeaturesConfig, seed: int
) -> dict[str, np.ndarray]:
    """Seeded train/val/test split of the table's rows (positions), stratified as the task
    says, from its target column alone: the rows, in the order, that splitting the whole
    table gives (scikit-learn's split depends on the row count and the strata only)."""
    from sklearn.model_selection import train_test_split

    target = target.reset_index(drop=True)
    strata = task(data.task).strata
    rest, test = train_test_split(
        np.arange(len(target)),
        test_size=cfg.split.test_size,
        stratify=strata(target),
        random_state=seed,
    )
    val_share = cfg.split.val_size / (1.0 - cfg.split.test_size)
    train, val = train_test_split(
        rest, test_size=val_share, stratify=strata(target.iloc[rest]), random_state=seed
    )
    return {"train": train, "val": val, "test": test}


def split(
    df: pd.DataFrame, data: DataConfig, cfg: FeaturesConfig, seed: int
) -> dict[str, pd.DataFrame]:
    """The split of a table held in memory: its parts, with raw row ids (split_rows)."""
    df = df.reset_index(drop=True).rename_axis(ROW_ID).reset_index()
    return {
        name: df.iloc[rows] for name, rows in split_rows(df[data.target], data, cfg, seed).items()
    }


def inputs(part: pd.DataFrame, features: list[str], categorical: list[str]) -> pd.DataFrame:
    """The model's raw inputs in bundle order; categories as text (missing stays missing),
    so a category written 3 in a CSV and "3" in a JSON request is the same category."""
    frame = part[features].copy()
    for column in categorical:
        values = frame[column]
        if values.dtype.kind == "f" and (values.dropna() % 1 == 0).all():
            values = values.astype("Int64")  # integer codes with gaps were read as floats
        text = values.astype(str).astype(object)
        frame[column] = text.where(values.notna().to_numpy(), np.nan)  # one missing marker
    return frame


def build_featurizer(data: DataConfig, cfg: FeaturesConfig) -> Any:
    """An unfitted scikit-learn ColumnTransformer from the `_target_` specs in the config:
    imputer + scaler on numeric columns, imputer + encoder on categorical ones."""
    from hydra.utils import instantiate
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    parts = [
        (
            "numeric",
            Pipeline(
                [
                    ("impute", instantiate(cfg.numeric.imputer)),
                    ("scale", instantiate(cfg.numeric.scaler)),
                ]
            ),
            list(data.numeric_features),
        )
    ]
    if data.categorical_features:
        parts.append(
            (
                "categorical",
                Pipeline(
                    [
                        ("impute", instantiate(cfg.categorical.imputer)),
                        ("encode", instantiate(cfg.categorical.encoder)),
                    ]
                ),
                list(data.categorical_features),
            )
        )
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=True)


def featurize(x: pd.DataFrame, featurizer: Any) -> np.ndarray:
    """The fitted transform as float32, quietly: categories unseen in training are encoded
    as the configured encoder says (all zeros for one-hot), not warned about per call."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*unknown categories.*")
        return np.asarray(featurizer.transform(x), dtype=np.float32)


def transform(part: pd.DataFrame, featurizer: Any, data: DataConfig) -> pd.DataFrame:
    """Model-ready frame: row id, label, float32 features named by the featurizer."""
    x = featurize(inputs(part, data.features, data.categorical_features), featurizer)
    out = pd.DataFrame(x, columns=list(featurizer.get_feature_names_out()), index=part.index)
    out.insert(0, LABEL, task(data.task).encode_target(part[data.target], data.labels))
    out.insert(0, ROW_ID, part[ROW_ID].to_numpy())
    return out.reset_index(drop=True)


def transform_batches(
    batches: Iterable[pd.DataFrame],
    rows: dict[str, np.ndarray],
    featurizer: Any,
    data: DataConfig,
) -> Iterator[tuple[str, pd.DataFrame]]:
    """(split name, model-ready frame) for the rows of each split in each raw batch (each
    batch's index: its rows' positions), in table order: the table is transformed a batch
    at a time, never whole."""
    n_rows = sum(len(r) for r in rows.values())
    which = np.empty(n_rows, dtype=np.int8)  # each row's split, 1 byte a row
    for number, name in enumerate(rows):
        which[rows[name]] = number
    for batch in batches:
        batch = batch.assign(**{ROW_ID: batch.index.to_numpy()})
        mine = which[batch.index.to_numpy()]
        for number, name in enumerate(rows):
            part = batch[mine == number]
            if len(part):
                yield name, transform(part, featurizer, data)
