"""A bundle loaded for inference: raw rows (by feature name) in, class probabilities or
values out, from whichever model the bundle ships (the MLP or the scikit-learn baseline),
scored exactly as evaluate scores it. The service uses it; the files it loads are
pipeline/bundle.py's format. Apart from that format, so that changing how a bundle is
served reruns no pipeline stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.pipeline import sklearn_io
from shipyard.pipeline.bundle import (
    ESTIMATOR,
    FEATURIZER,
    BundleSchema,
    read_card,
    read_schema,
    shipped_model,
)
from shipyard.pipeline.task import task

if TYPE_CHECKING:  # torch and pandas load only where a bundle is loaded
    import pandas as pd


def tune_for_serving(torch_threads: int) -> None:
    """Process-wide settings for answering small requests: one torch intra-op thread beats
    several fighting the event loop, and rows were validated as finite before they reach
    scikit-learn, so its per-call checks can go."""
    import sklearn
    import torch

    torch.set_num_threads(torch_threads)
    sklearn.set_config(assume_finite=True, skip_parameter_validation=True)


@dataclass
class Bundle:
    """A loaded bundle: raw rows (by feature name) in, class probabilities or values out."""

    featurizer: Any
    model: Any  # what the card's `model` names: an mlp.MLP, or a scikit-learn estimator
    schema: BundleSchema
    card: dict[str, Any]

    def __post_init__(self) -> None:
        self._task = task(self.schema.task)
        from shipyard.workarounds.fast_transform import compile_featurizer

        # The hot path skips scikit-learn's (and pandas') per-call overhead when it can.
        self._fast = compile_featurizer(self.featurizer)
        categorical = set(self.categorical)
        self._numeric_at = [i for i, f in enumerate(self.features) if f not in categorical]
        self._categorical_at = [i for i, f in enumerate(self.features) if f in categorical]

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        src = Path(path)
        card = read_card(src)
        if shipped_model(card) == "mlp":
            from shipyard.pipeline import mlp

            model = mlp.load(src)
        else:
            model = sklearn_io.load(src / ESTIMATOR)
        return cls(
            featurizer=sklearn_io.load(src / FEATURIZER),
            model=model,
            schema=read_schema(src),
            card=card,
        )

    @property
    def kind(self) -> str:
        """Which model the bundle ships: "mlp" or "baseline" (config.MODELS)."""
        return shipped_model(self.card)

    @property
    def version(self) -> str:
        return self.card["version"]

    @property
    def features(self) -> list[str]:
        return self.schema.features

    @property
    def categorical(self) -> list[str]:
        return self.schema.categorical

    @property
    def labels(self) -> list[Any] | None:
        return self.schema.labels

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Class probabilities (rows x labels) or predicted values, for raw rows."""
        from shipyard.pipeline.features import featurize, inputs

        x = inputs(rows, self.features, self.categorical)
        if self._fast is None:
            return self._scores(featurize(x, self.featurizer))
        numeric = x.iloc[:, self._numeric_at].to_numpy(dtype=np.float64)
        return self._predict_fast(numeric, x.iloc[:, self._categorical_at].to_numpy(object))

    def predict_values(self, rows: list[list[Any]]) -> np.ndarray:
        """`predict` for rows as lists of raw values in `self.features` order (None for
        missing), as the service has them: no DataFrame on the hot path."""
        if self._fast is None:
            import pandas as pd

            return self.predict(pd.DataFrame(rows, columns=self.features))
        numeric = np.array([[r[i] for i in self._numeric_at] for r in rows], dtype=np.float64)
        categorical = np.array([[r[i] for i in self._categorical_at] for r in rows], object)
        return self._predict_fast(numeric, categorical)

    def predict_columns(self, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        """`predict` for raw values as the service's validation leaves them
        (serving.columns.Batch): numeric features as float64 (NaN for missing) and
        categorical ones as text (None for missing), each part in `self.features` order."""
        if self._fast is None:
            import pandas as pd

            names = [self.features[i] for i in (*self._numeric_at, *self._categorical_at)]
            frame = pd.concat(
                [
                    pd.DataFrame(numeric, columns=names[: numeric.shape[1]]),
                    pd.DataFrame(categorical, columns=names[numeric.shape[1] :], dtype=object),
                ],
                axis=1,
            )
            return self.predict(frame)
        return self._predict_fast(numeric, categorical)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """`predict` for a bundle without categorical features: raw values as a float
        array in `self.features` order (NaN for missing)."""
        if self._fast is None or self.categorical:
            return self.predict_values(x.tolist())
        return self._predict_fast(x, np.empty((len(x), 0), dtype=object))

    def _predict_fast(self, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        return self._scores(self._fast(numeric, categorical).astype(np.float32))

    def _scores(self, x: np.ndarray) -> np.ndarray:
        """The shipped model's scores for float32 features, as evaluate computes them
        (pipeline/evaluation.py: score), so that they equal its saved predictions."""
        if self.kind == "mlp":
            from shipyard.pipeline.mlp import predict

            output = predict(self.model, x)
        else:
            output = self._task.baseline_scores(self.model, x, self.labels)
        return self._task.tidy(np.asarray(output, dtype=np.float64))
