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

    from shipyard.pipeline import raw_table, sources

    source = load_dict("data", args.params)["source"]
    check_target(source, "data.source")  # `dvc exp run` composes without our checks
    # Chunk by chunk into row groups: a table larger than memory never is in memory.
    chunks = sources.chunks(source, raw_table.BATCH_ROWS)
    if args.partitions is not None:
        target = load_dict("data", args.params)["target"]
        chunks = sources.with_partitions(chunks, args.partitions, target)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows, columns = raw_table.write(chunks, args.out)
    print(f"ingest: {rows} rows x {columns} columns -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
