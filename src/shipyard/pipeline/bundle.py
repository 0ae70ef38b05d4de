"""models/bundle/: everything a service needs to turn raw rows into predictions.

featurizer.skops   fitted feature transform (skops: loads without running code)
model.safetensors  network weights, model.json its architecture
schema.json        input features in order (which are categorical, which nullable),
                   target, labels, task
card.json          model card: version, params, data hash, metrics (no git commit:
                   `make bento` labels the bento with it, so the bundle's bytes depend
                   only on what it was built from)
README.md          the card, rendered
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.pipeline import sklearn_io

if TYPE_CHECKING:  # torch and pandas load only where a bundle is loaded or written
    import pandas as pd

    from shipyard.config import DataConfig, Params
    from shipyard.pipeline import mlp

FEATURIZER = "featurizer.skops"
SCHEMA = "schema.json"
CARD = "card.json"
README = "README.md"


@dataclass(frozen=True)
class BundleSchema:
    """schema.json: the contract between the pipeline and the service. Field order is
    the file's key order (the version hashes it)."""

    task: str  # a name in shipyard.pipeline.task.TASKS
    features: list[str]  # the order rows are fed to the featurizer
    categorical: list[str]  # features read as text categories
    nullable: list[str]  # features that may be missing (null in a request)
    ignored: list[str]  # accepted in a request (a raw row has them, e.g. IDs), unused
    target: str
    labels: list[Any] | None  # the task's labels, if it has any

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BundleSchema:
        """Raises ValueError naming unknown or missing keys: a schema from another
        version of this code is refused, not read half-right."""
        raw = json.loads(text)
        expected = [f.name for f in fields(cls)]
        unknown, missing = sorted(set(raw) - set(expected)), sorted(set(expected) - set(raw))
        if unknown or missing:
            raise ValueError(f"{SCHEMA}: unknown keys {unknown}, missing keys {missing}")
        return cls(**raw)


def schema_for(data: DataConfig) -> BundleSchema:
    """The schema of a bundle trained on `data`."""
    return BundleSchema(
        task=data.task,
        features=data.features,
        categorical=list(data.categorical_features),
        nullable=[c for c in data.features if c in data.nullable],
        ignored=list(data.drop),
        target=data.target,
        labels=data.labels,
    )


def card_for(
    params: Params, schema: BundleSchema, version: str, data_md5: str, metrics: dict[str, Any]
) -> dict[str, Any]:
    """The model card: what the bundle is, what it scored, and the params it came from."""
    return {
        "version": version,
        "task": schema.task,
        "dataset": params.data.name,
        "n_features": len(schema.features),
        "labels": schema.labels,
        "data_md5": data_md5,
        "metrics": metrics,
        "params": {
            "seed": params.seed,
            "features": asdict(params.features),
            "model": asdict(params.model),
            "baseline": params.baseline,
            "trainer": asdict(params.trainer) if params.trainer else None,
        },
    }


def read_card(bundle: str | Path) -> dict[str, Any]:
    """The model card, without loading the model (no torch import)."""
    return json.loads((Path(bundle) / CARD).read_text())


def read_schema(bundle: str | Path) -> BundleSchema:
    """Features in order, target, labels, task; without loading the model."""
    return BundleSchema.from_json((Path(bundle) / SCHEMA).read_text())


def tune_for_serving(torch_threads: int) -> None:
    """Process-wide settings for answering small requests: one torch intra-op thread beats
    several fighting the event loop, and rows were validated as finite before they reach
    scikit-learn, so its per-call checks can go."""
    import sklearn
    import torch

    torch.set_num_threads(torch_threads)
    sklearn.set_config(assume_finite=True, skip_parameter_validation=True)


def model_version(name: str, weights: bytes, schema: BundleSchema) -> str:
    """Content-addressed: the same weights and schema always get the same version."""
    text = json.dumps(asdict(schema), sort_keys=True)
    digest = hashlib.sha256(weights + text.encode()).hexdigest()
    return f"{name}-{digest[:12]}"


def render_card(card: dict[str, Any]) -> str:
    rows = [
        f"| {model} | {metric} | {value:.4f} |"
        for model, values in card["metrics"].items()
        for metric, value in values.items()
    ]
    return "\n".join(
        [
            f"# Model card: {card['version']}",
            "",
            f"- task: {card['task']} on `{card['dataset']}` ({card['n_features']} features"
            + (f", labels {card['labels']})" if card["labels"] else ")"),
            f"- raw data md5: `{card['data_md5']}`",
            "",
            "## Test metrics",
            "",
            "| model | metric | value |",
            "|---|---|---|",
            *rows,
            "",
            "## Params",
            "",
            "```json",
            json.dumps(card["params"], indent=2),
            "```",
            "",
        ]
    )


def write(
    out: Path, featurizer: Path, model_dir: Path, schema: BundleSchema, card: dict[str, Any]
) -> None:
    from shipyard.pipeline import mlp

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(featurizer, out / FEATURIZER)
    for name in (mlp.WEIGHTS, mlp.ARCH):
        shutil.copy(model_dir / name, out / name)
    (out / SCHEMA).write_text(schema.to_json())
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n")
    (out / README).write_text(render_card(card))


@dataclass
class Bundle:
    """A loaded bundle: raw rows (by feature name) in, class probabilities or values out."""

    featurizer: Any
    net: mlp.MLP
    schema: BundleSchema
    card: dict[str, Any]

    def __post_init__(self) -> None:
        from shipyard.workarounds.fast_transform import compile_featurizer

        # The hot path skips scikit-learn's (and pandas') per-call overhead when it can.
        self._fast = compile_featurizer(self.featurizer)
        categorical = set(self.categorical)
        self._numeric_at = [i for i, f in enumerate(self.features) if f not in categorical]
        self._categorical_at = [i for i, f in enumerate(self.features) if f in categorical]

    @classmethod
    def load(cls, path: str | Path) -> Bundle:
        from shipyard.pipeline import mlp

        src = Path(path)
        return cls(
            featurizer=sklearn_io.load(src / FEATURIZER),
            net=mlp.load(src),
            schema=read_schema(src),
            card=read_card(src),
        )

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
        from shipyard.pipeline.mlp import predict

        x = inputs(rows, self.features, self.categorical)
        if self._fast is None:
            return predict(self.net, featurize(x, self.featurizer))
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

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """`predict` for a bundle without categorical features: raw values as a float
        array in `self.features` order (NaN for missing)."""
        if self._fast is None or self.categorical:
            return self.predict_values(x.tolist())
        return self._predict_fast(x, np.empty((len(x), 0), dtype=object))

    def _predict_fast(self, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        from shipyard.pipeline.mlp import predict

        return predict(self.net, self._fast(numeric, categorical).astype(np.float32))
