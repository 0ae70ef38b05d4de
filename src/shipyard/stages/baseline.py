"""baseline: fit the scikit-learn yardstick (`baseline._target_`) on the same features (at
most features.fit_rows train rows, a seeded sample)."""

from __future__ import annotations

import argparse
from pathlib import Path

from shipyard.config import (
    PARAMS_FILE,
    FeaturesConfig,
    check_target,
    load_dict,
    load_section,
    load_seed,
)
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="fitted model (.skops)")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    import numpy as np
    from hydra.utils import instantiate

    from shipyard.pipeline import sklearn_io
    from shipyard.pipeline.feature_files import fit_sample, n_rows, read

    spec = load_dict("baseline", args.params)
    check_target(spec, "baseline")
    estimator = instantiate(spec)
    seed = load_seed(args.params)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    # At most features.fit_rows train rows: scikit-learn copies them to float64.
    limit = load_section("features", FeaturesConfig, args.params).fit_rows
    train = args.features / "train.parquet"
    x, y, _ = read(train, fit_sample(np.arange(n_rows(train)), limit, seed))
    sklearn_io.dump(estimator.fit(x, y), args.out)
    print(f"baseline: {spec['_target_']} -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
