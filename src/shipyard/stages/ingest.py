"""ingest: the configured source (`data.source`), plus the labelled production rows in
`--partitions` (data/feedback), to data/raw/ as Parquet."""

from __future__ import annotations

import argparse
from pathlib import Path

from shipyard.config import PARAMS_FILE, check_target, load_dict
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="raw table (.parquet)")
    parser.add_argument("--partitions", type=Path, help="a folder of labelled rows to append")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    from hydra.utils import instantiate

    source = load_dict("data", args.params)["source"]
    check_target(source, "data.source")  # `dvc exp run` composes without our checks
    frame = instantiate(source)
    if args.partitions is not None:
        from shipyard.pipeline.sources import with_partitions

        target = load_dict("data", args.params)["target"]
        frame = with_partitions(frame, args.partitions, target)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.out, index=False)
    print(f"ingest: {len(frame)} rows x {len(frame.columns)} columns -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
