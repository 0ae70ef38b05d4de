"""package: models/bundle/, everything the service needs plus a model card. It ships the
MLP or the baseline: `package.model` names one, or `best` picks the better by the gate's
main metric (pipeline/bundle.py: choose)."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from shipyard.config import (
    PARAMS_FILE,
    DataConfig,
    FeaturesConfig,
    GateConfig,
    ModelConfig,
    PackageConfig,
    Params,
    TrainerConfig,
    load_dict,
    load_section,
    load_seed,
)
from shipyard.stages import entrypoint, hash_files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True, help="raw table, hashed into the card")
    parser.add_argument("--featurizer", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True, help="MLP directory")
    parser.add_argument("--baseline", type=Path, required=True, help="baseline (.skops)")
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    from shipyard.pipeline import bundle

    # The sections dvc.yaml declares for this stage, and no others: the card records them.
    params = Params(
        seed=load_seed(args.params),
        data=load_section("data", DataConfig, args.params),
        features=load_section("features", FeaturesConfig, args.params),
        model=load_section("model", ModelConfig, args.params),
        baseline=load_dict("baseline", args.params),
        trainer=load_section("trainer", TrainerConfig, args.params),
        package=load_section("package", PackageConfig, args.params),
    )
    # Of the gate's section, the main metric only (dvc.yaml declares no more).
    main_metric = load_section("gate", GateConfig, args.params).main_metric
    metrics = json.loads(args.metrics.read_text())
    data_md5 = hash_files(hashlib.md5(), args.raw)
    card = bundle.build(
        args.out,
        args.featurizer,
        args.model,
        args.baseline,
        params,
        metrics,
        main_metric,
        data_md5.hexdigest(),
    )
    print(f"package: {card['version']} -> {args.out}; {bundle.shipped(card)}")


if __name__ == "__main__":
    entrypoint(main)
