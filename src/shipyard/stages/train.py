"""train: fit the MLP with Lightning; weights to safetensors, curves to dvclive."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from shipyard.config import (
    PARAMS_FILE,
    DataConfig,
    ModelConfig,
    TrainerConfig,
    load_section,
    load_seed,
)
from shipyard.stages import entrypoint, hash_files


def run_key(config: dict, files: list[Path]) -> str:
    """Identifies one training run, so an interrupted run resumes only the same run."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    return hash_files(digest, *files).hexdigest()[:16]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="model directory")
    parser.add_argument("--live", type=Path, required=True, help="dvclive directory")
    parser.add_argument("--checkpoints", type=Path, required=True, help="scratch, not an out")
    parser.add_argument("--params", default=PARAMS_FILE)
    args = parser.parse_args(argv)

    from shipyard.pipeline import mlp
    from shipyard.pipeline.feature_files import read
    from shipyard.pipeline.task import task
    from shipyard.pipeline.training import fit

    model = load_section("model", ModelConfig, args.params)
    trainer = load_section("trainer", TrainerConfig, args.params)
    data = load_section("data", DataConfig, args.params)
    seed = load_seed(args.params)

    splits = [args.features / f"{name}.parquet" for name in ("train", "val")]
    key = run_key({"model": asdict(model), "trainer": asdict(trainer), "seed": seed}, splits)
    checkpoints = args.checkpoints / key
    train, val = (read(path)[:2] for path in splits)

    fitted = fit(
        train, val, task(data.task), data.labels, model, trainer, seed, checkpoints, args.live
    )
    if not fitted.is_global_zero:
        return
    mlp.save(fitted.net, args.out)
    shutil.rmtree(checkpoints, ignore_errors=True)  # finished: nothing left to resume
    resumed = " (resumed from a checkpoint)" if fitted.resumed else ""
    print(f"train: {fitted.epochs} epochs{resumed} -> {args.out}")


if __name__ == "__main__":
    entrypoint(main)
