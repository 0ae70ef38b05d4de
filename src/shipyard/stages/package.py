"""package: models/bundle/, everything the service needs plus a model card."""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from shipyard.config import PARAMS_FILE, load_params
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="raw table, hashed into the card")
    parser.add_argument("--featurizer", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    from shipyard.pipeline import bundle
    from shipyard.pipeline.mlp import WEIGHTS

    params = load_params(args.params)
    data = params.data
    schema = {
        "task": data.task,
        "features": data.features,  # the order rows are fed to the featurizer
        "categorical": list(data.categorical_features),
        "nullable": [c for c in data.features if c in data.nullable],
        "ignored": list(data.drop),  # accepted in a request (a raw row has them), unused
        "target": data.target,
        "labels": list(data.labels) if data.labels else None,
    }
    version = bundle.model_version(
        f"{params.data.name}-{params.model.name}", (args.model / WEIGHTS).read_bytes(), schema
    )
    card = {
        "version": version,
        "task": schema["task"],
        "dataset": params.data.name,
        "n_features": len(schema["features"]),
        "labels": schema["labels"],
        "data_md5": hashlib.md5(args.raw.read_bytes()).hexdigest(),
        "metrics": json.loads(args.metrics.read_text()),
        "params": {
            "seed": params.seed,
            "features": asdict(params.features),
            "model": asdict(params.model),
            "baseline": params.baseline,
            "trainer": asdict(params.trainer) if params.trainer else None,
        },
    }
    bundle.write(args.out, args.featurizer, args.model, schema, card)
    print(f"package: {version} -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
