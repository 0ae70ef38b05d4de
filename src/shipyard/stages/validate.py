"""validate: check the raw table against the data config; fail loudly so nothing downstream runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shipyard.config import PARAMS_FILE, DataConfig, load_section
from shipyard.stages import entrypoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True, help="validation report (.json)")
    parser.add_argument("--summary", type=Path, required=True, help="its Markdown summary (.md)")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    from shipyard.pipeline.validation import validate_file

    report = validate_file(args.raw, load_section("data", DataConfig, args.params))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n")
    args.summary.write_text(report.markdown())
    for warning in report.warnings:
        print(f"validate: warning: {warning}", file=sys.stderr)
    if not report.ok:
        print(f"validate: {args.raw} is invalid\n{report.summary()}", file=sys.stderr)
        sys.exit(1)
    print(f"validate: {report.summary()}")


if __name__ == "__main__":
    entrypoint(main)
