"""models/bundle/: everything a service needs to turn raw rows into predictions.

featurizer.skops   fitted feature transform (skops: loads without running code)
model.safetensors  network weights, model.json its architecture
schema.json        input features in order (which are categorical, which nullable),
                   target, labels, task
card.json          model card: version, params, data hash, metrics (no git commit:
                   `make bento` labels the bento with it, so the bundle's bytes depend
                   only on what it was built from)
README.md          the card, rendered

Written by the package stage; loaded for inference by pipeline/inference.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.config import DataConfig, Params

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


def model_version(dataset: str, model: str, weights: bytes, schema: BundleSchema) -> str:
    """`<dataset>-<model>-<hash>`, content-addressed: the same weights and schema always
    get the same version."""
    text = json.dumps(asdict(schema), sort_keys=True)
    digest = hashlib.sha256(weights + text.encode()).hexdigest()
    return f"{dataset}-{model}-{digest[:12]}"


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
