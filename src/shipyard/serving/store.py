"""Put a bundle into BentoML's model store, so `bentoml build` packs it into the bento."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any


def labels_for(card: dict[str, Any]) -> dict[str, str]:
    """The model card as BentoML labels (strings only): version, the model it ships,
    params, metrics."""
    from shipyard.pipeline.bundle import shipped_model

    params = json.dumps(card["params"], sort_keys=True).encode()
    labels = {
        "version": card["version"],
        "model": shipped_model(card),
        "params_hash": hashlib.sha256(params).hexdigest()[:12],
        "data_md5": card["data_md5"],
    }
    for model, metrics in card["metrics"].items():
        labels.update({f"{model}.{name}": f"{value:.4f}" for name, value in metrics.items()})
    return labels


def import_bundle(bundle: Path, name: str) -> str:
    """The store's tag for this bundle, imported unless it is already the latest there."""
    import bentoml
    from bentoml.exceptions import NotFound

    from shipyard.pipeline.bundle import read_card

    card = read_card(bundle)
    try:
        latest = bentoml.models.get(f"{name}:latest")
    except NotFound:  # a new store
        latest = None
    # The bento packs `name:latest`: re-import unless this very version is the latest,
    # or going back to an older bundle would ship whatever was imported last.
    if latest is not None and latest.info.labels.get("version") == card["version"]:
        return str(latest.tag)
    # The card travels in the model's files (card.json); BentoML's metadata takes only
    # basic types, and a regression's card has `labels: null`.
    with bentoml.models.create(name, labels=labels_for(card)) as model:
        shutil.copytree(bundle, model.path, dirs_exist_ok=True)
    return str(model.tag)
