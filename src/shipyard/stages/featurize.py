"""featurize: seeded split, transform fit on the train split only (at most features.fit_rows
of it), features as Parquet, the raw table transformed a batch at a time."""

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

    from shipyard.pipeline import feature_files, features, raw_table, sklearn_io

    data = load_section("data", DataConfig, args.params)
    cfg = load_section("features", FeaturesConfig, args.params)
    check_features(cfg)  # `dvc exp run` composes without our checks
    seed = load_seed(args.params)
    rows = features.split_rows(raw_table.column(args.raw, data.target), data, cfg, seed)
    fit = raw_table.rows(
        args.raw, feature_files.fit_sample(rows["train"], cfg.fit_rows, seed), data.features
    )
    featurizer = features.build_featurizer(data, cfg).fit(
        features.inputs(fit, data.features, data.categorical_features)
    )
    del fit  # the sample's memory back before the table streams through

    args.out_dir.mkdir(parents=True, exist_ok=True)
    batches = raw_table.batches(args.raw, [*data.features, data.target])
    parts = features.transform_batches(batches, rows, featurizer, data)
    sizes = feature_files.write(parts, args.out_dir)
    sklearn_io.dump(featurizer, args.featurizer)
    shown = ", ".join(f"{name} {sizes[name]}" for name in rows)
    print(f"featurize: {shown} rows -> {args.out_dir}")


if __name__ == "__main__":
    entrypoint(main)
