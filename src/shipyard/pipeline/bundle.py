"""models/bundle/: everything a service needs to turn raw rows into predictions.

featurizer.skops   fitted feature transform (skops: loads without running code)
the shipped model  the MLP: model.safetensors (weights) and model.json (architecture);
                   or the baseline: model.skops (a fitted scikit-learn estimator)
schema.json        input features in order (which are categorical, which nullable),
                   target, labels, task
card.json          model card: version, which model ships and why, params, data hash,
                   metrics (no git commit:
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

from shipyard.config import BEST, MODELS

if TYPE_CHECKING:
    from shipyard.config import DataConfig, Params

FEATURIZER = "featurizer.skops"
ESTIMATOR = "model.skops"  # the baseline, when it ships
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


# Of MODELS, the one a tie ships.
SIMPLEST = "baseline"


def choose(
    metrics: dict[str, dict[str, float]], main_metric: str, higher_is_better: bool, wanted: str
) -> tuple[str, float]:
    """(the model to ship, its margin): `wanted` itself, or for BEST the better of MODELS by
    `main_metric` in `metrics` (evaluate's metrics.json), a tie going to SIMPLEST. The
    margin is how much better the shipped model scored than the other, in the metric's
    units: positive is better whichever way the metric goes, negative is worse (a model
    named in `wanted` may be the worse one)."""
    if wanted != BEST and wanted not in MODELS:
        raise ValueError(f"package.model: '{wanted}' is not one of {[BEST, *MODELS]}")
    sign = 1.0 if higher_is_better else -1.0

    def lead(a: str, b: str) -> float:  # how much better `a` scored than `b`
        return sign * (metrics[a][main_metric] - metrics[b][main_metric]) + 0.0  # no -0.0

    if wanted == BEST:
        (rival,) = [m for m in MODELS if m != SIMPLEST]
        wanted = rival if lead(rival, SIMPLEST) > 0 else SIMPLEST  # NaN is no lead
    (other,) = [m for m in MODELS if m != wanted]
    return wanted, float(lead(wanted, other))


def selection(
    metrics: dict[str, dict[str, float]], main_metric: str, higher_is_better: bool, wanted: str
) -> tuple[str, dict[str, Any]]:
    """(the model to ship, what the card records about the choice): what was asked for,
    the main metric, each model's score on it and the margin (`choose`)."""
    model, margin = choose(metrics, main_metric, higher_is_better, wanted)
    return model, {
        "wanted": wanted,
        "main_metric": main_metric,
        "higher_is_better": higher_is_better,
        "scores": {name: metrics[name][main_metric] for name in MODELS},
        "margin": margin,
    }


def shipped_model(card: dict[str, Any]) -> str:
    """Which of MODELS the bundle holds (a card from before the choice: the MLP)."""
    return card.get("model", "mlp")


def shipped(card: dict[str, Any]) -> str:
    """One line on which model the bundle ships and by how much it won (or lost)."""
    model, chosen = shipped_model(card), card.get("selection")
    if chosen is None:  # a card from before the choice
        return f"Ships: **{model}**"
    metric, margin = chosen["main_metric"], chosen["margin"]
    (other,) = [m for m in chosen["scores"] if m != model]
    if margin == 0:
        verdict = "a tie" + (", so the simpler model" if chosen["wanted"] == BEST else "")
    else:
        verdict = f"{'better' if margin > 0 else 'worse'} by {abs(margin):.4f}"
    return (
        f"Ships: **{model}** (package.model: {chosen['wanted']}): test {metric} "
        f"{chosen['scores'][model]:.4f} vs {other} {chosen['scores'][other]:.4f}, {verdict}"
    )


def card_for(
    params: Params,
    schema: BundleSchema,
    version: str,
    data_md5: str,
    metrics: dict[str, Any],
    model: str,
    chosen: dict[str, Any],
) -> dict[str, Any]:
    """The model card: what the bundle is, which model it ships and why (`selection`),
    what both scored, and the params it came from."""
    return {
        "version": version,
        "model": model,
        "selection": chosen,
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
            "package": asdict(params.package) if params.package else None,
        },
    }


def read_card(bundle: str | Path) -> dict[str, Any]:
    """The model card, without loading the model (no torch import)."""
    return json.loads((Path(bundle) / CARD).read_text())


def read_schema(bundle: str | Path) -> BundleSchema:
    """Features in order, target, labels, task; without loading the model."""
    return BundleSchema.from_json((Path(bundle) / SCHEMA).read_text())


def model_version(dataset: str, model: str, weights: bytes, schema: BundleSchema) -> str:
    """`<dataset>-<model>-<hash>`, content-addressed: the same weights (the MLP's
    safetensors, or the baseline's skops file: `model_files`) and schema always get the
    same version."""
    text = json.dumps(asdict(schema), sort_keys=True)
    digest = hashlib.sha256(weights + text.encode()).hexdigest()
    return f"{dataset}-{model}-{digest[:12]}"


def model_files(model: str, source: Path) -> dict[str, Path]:
    """The shipped model's files in a bundle by name, each with where it comes from: the
    MLP's directory `source` (weights first, then architecture), or the baseline's skops
    file `source`. The first file's bytes are what `model_version` hashes."""
    if model == "mlp":
        from shipyard.pipeline.mlp_format import ARCH, WEIGHTS

        return {name: source / name for name in (WEIGHTS, ARCH)}
    if model == "baseline":
        return {ESTIMATOR: source}
    raise ValueError(f"no bundle format for model '{model}' (expected one of {MODELS})")


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
            f"- {shipped(card)}",
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
    out: Path,
    featurizer: Path,
    model: dict[str, Path],
    schema: BundleSchema,
    card: dict[str, Any],
) -> None:
    """The bundle in `out` (replaced): the featurizer, the shipped model's files
    (`model_files`), schema, card and its rendering."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(featurizer, out / FEATURIZER)
    for name, source in model.items():
        shutil.copy(source, out / name)
    (out / SCHEMA).write_text(schema.to_json())
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n")
    (out / README).write_text(render_card(card))


def build(
    out: Path,
    featurizer: Path,
    mlp_dir: Path,
    baseline: Path,
    params: Params,
    metrics: dict[str, dict[str, float]],
    main_metric: str,
    data_md5: str,
) -> dict[str, Any]:
    """The package stage's work: the model to ship (params.package.model, else BEST; by
    `main_metric` in `metrics`), its version, the bundle written to `out`. Returns the
    card."""
    from shipyard.pipeline.task import higher_is_better

    wanted = params.package.model if params.package else BEST
    model, chosen = selection(metrics, main_metric, higher_is_better(main_metric), wanted)
    files = model_files(model, mlp_dir if model == "mlp" else baseline)
    schema = schema_for(params.data)
    weights = next(iter(files.values())).read_bytes()
    name = params.model.name if model == "mlp" else model
    version = model_version(params.data.name, name, weights, schema)
    card = card_for(params, schema, version, data_md5, metrics, model, chosen)
    write(out, featurizer, files, schema, card)
    return card
