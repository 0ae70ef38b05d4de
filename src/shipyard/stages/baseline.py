"""baseline: fit the scikit-learn yardstick (`baseline._target_`) on the same features."""

from __future__ import annotations

import argparse
from pathlib import Path

from shipyard.config import PARAMS_FILE, check_target, load_dict, load_seed
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="fitted model (.skops)")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    import pandas as pd
    from hydra.utils import instantiate

    from shipyard.pipeline import sklearn_io
    from shipyard.pipeline.feature_files import arrays

    spec = load_dict("baseline", args.params)
    check_target(spec, "baseline")
    estimator = instantiate(spec)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=load_seed(args.params))
    x, y = arrays(pd.read_parquet(args.features / "train.parquet"))
    sklearn_io.dump(estimator.fit(x, y), args.out)
    print(f"baseline: {spec['_target_']} -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
