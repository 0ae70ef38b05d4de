"""featurize: seeded split, transform fit on the train split only, features as Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from shipyard.config import (
    PARAMS_FILE,
    DataConfig,
    FeaturesConfig,
    check_features,
    load_section,
    load_seed,
)
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--out-dir", type=Path, required=True, help="{train,val,test}.parquet")
    parser.add_argument("--featurizer", type=Path, required=True, help="fitted transform (.skops)")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    import pandas as pd

    from shipyard.pipeline import features, sklearn_io

    data = load_section("data", DataConfig, args.params)
    cfg = load_section("features", FeaturesConfig, args.params)
    check_features(cfg)  # `dvc exp run` composes without our checks
    parts = features.split(pd.read_parquet(args.raw), data, cfg, load_seed(args.params))
    train = features.inputs(parts["train"], data.features, data.categorical_features)
    featurizer = features.build_featurizer(data, cfg).fit(train)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        features.transform(part, featurizer, data).to_parquet(
            args.out_dir / f"{name}.parquet", index=False
        )
    sklearn_io.dump(featurizer, args.featurizer)
    sizes = ", ".join(f"{name} {len(part)}" for name, part in parts.items())
    print(f"featurize: {sizes} rows -> {args.out_dir}")


if __name__ == "__main__":
    entrypoint(main)
