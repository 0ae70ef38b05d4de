"""package: models/bundle/, everything the service needs plus a model card."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from shipyard.config import (
    PARAMS_FILE,
    DataConfig,
    FeaturesConfig,
    ModelConfig,
    Params,
    TrainerConfig,
    load_dict,
    load_section,
    load_seed,
)
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

    # The sections dvc.yaml declares for this stage, and no others: the card records them.
    params = Params(
        seed=load_seed(args.params),
        data=load_section("data", DataConfig, args.params),
        features=load_section("features", FeaturesConfig, args.params),
        model=load_section("model", ModelConfig, args.params),
        baseline=load_dict("baseline", args.params),
        trainer=load_section("trainer", TrainerConfig, args.params),
    )
    schema = bundle.schema_for(params.data)
    weights = (args.model / WEIGHTS).read_bytes()
    version = bundle.model_version(params.data.name, params.model.name, weights, schema)
    data_md5 = hashlib.md5(args.raw.read_bytes()).hexdigest()
    metrics = json.loads(args.metrics.read_text())
    card = bundle.card_for(params, schema, version, data_md5, metrics)
    bundle.write(args.out, args.featurizer, args.model, schema, card)
    print(f"package: {version} -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
