"""Training benchmark: the project's Lightning training beside a hand-written PyTorch loop.

Both train the same network on the same features, seed and batches (the project's
`Batches`: tensors in memory, sliced), with AdamW, a validation pass per epoch and a
checkpoint per epoch; Lightning as the train stage runs it (`pipeline.training.fit`: early
stopping, two checkpoint callbacks, dvclive curves). They run interleaved in one process,
so contention from anything else on the machine hits both alike.

Per-epoch cost is marginal: (time of an N-epoch fit - time of an M-epoch fit) / (N - M),
so set-up (Trainer, sanity check, loading the best weights) is not counted against either.
On digits (the default config) that gives Lightning's overhead in ms per epoch; on
`data=synthetic` at 1M rows (benchmarks/scale.py's 50 columns and batch size) it gives
samples per second. CPU (`trainer=cpu`) for both, so the hand-written loop runs where
Lightning does.

    python -m benchmarks.training [--runs 3] [--rows 1000000] [--skip-large]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.scale import overrides as scale_overrides

ROOT = Path(__file__).resolve().parents[1]
Split = tuple[np.ndarray, np.ndarray]
SPLITS = ("train", "val")
OVERHEAD_MS = 10.0  # issue 14: Lightning's overhead on digits, ms per epoch, at most
THROUGHPUT = 0.95  # issue 14: Lightning's samples/s at 1M rows over the plain loop's, at least


@dataclass
class Problem:
    name: str
    train: Split
    val: Split
    params: Any  # shipyard.config.Params


def featurized(name: str, overrides: list[str], tmp: Path) -> Problem:
    """The train and val features the pipeline would make for `overrides`: the project's
    own source, split and featurizer (what ingest and featurize run), in memory."""
    from hydra.utils import instantiate

    from shipyard.config import load_params
    from shipyard.gitops import params
    from shipyard.pipeline import features
    from shipyard.pipeline.feature_files import arrays

    p = load_params(params.write(overrides, tmp / f"{name}.yaml", ROOT / "conf"))
    parts = features.split(instantiate(p.data.source), p.data, p.features, p.seed)
    inputs = features.inputs(parts["train"], p.data.features, p.data.categorical_features)
    featurizer = features.build_featurizer(p.data, p.features).fit(inputs)
    train, val = (arrays(features.transform(parts[s], featurizer, p.data)) for s in SPLITS)
    return Problem(name, train, val, p)


def seed_all(seed: int) -> None:
    """What Lightning's seed_everything seeds: Python's, numpy's and torch's generators."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def plain_fit(problem: Problem, epochs: int, out: Path) -> Any:
    """A hand-written loop over the same batches: train, validate, checkpoint per epoch
    (the best weights and the latest state, as a resumable run needs). The network with
    its best (lowest val loss) weights."""
    import torch

    from shipyard.pipeline.batches import Batches
    from shipyard.pipeline.mlp import MLP
    from shipyard.pipeline.task import task
    from shipyard.pipeline.training import architecture

    p = problem.params
    kind = task(p.data.task)
    torch.use_deterministic_algorithms(p.trainer.deterministic)  # as Lightning's flag does
    seed_all(p.seed)
    net = MLP(architecture(problem.train, kind, p.data.labels, p.model))
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=p.model.lr, weight_decay=p.model.weight_decay
    )
    shuffle = torch.Generator().manual_seed(p.seed)
    train = Batches(*map(torch.from_numpy, problem.train), p.model.batch_size, shuffle)
    val = Batches(*map(torch.from_numpy, problem.val), p.model.batch_size)
    best, kept = float("inf"), net.state_dict()
    out.mkdir(parents=True, exist_ok=True)
    for _ in range(epochs):
        net.train()
        for x, y in train:
            optimizer.zero_grad()
            loss = kind.loss(net(x), y, net.arch)
            loss.backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            total = sum(float(kind.loss(net(x), y, net.arch)) * len(y) for x, y in val)
        val_loss = total / len(problem.val[1])
        if val_loss < best:
            best, kept = val_loss, {k: v.clone() for k, v in net.state_dict().items()}
            torch.save(kept, out / "best.pt")
        torch.save({"net": net.state_dict(), "optimizer": optimizer.state_dict()}, out / "last.pt")
    net.load_state_dict(kept)  # the best epoch's weights, as fit() returns
    return net.eval()


def lightning_fit(problem: Problem, epochs: int, out: Path) -> Any:
    """The train stage's training (pipeline/training.py), early stopping held off."""
    from shipyard.pipeline.task import task
    from shipyard.pipeline.training import fit

    p = problem.params
    trainer = replace(p.trainer, max_epochs=epochs, patience=10**6)
    kind = task(p.data.task)
    return fit(
        problem.train, problem.val, kind, p.data.labels, p.model, trainer, p.seed,
        out / "checkpoints", out / "live",
    ).net  # fmt: skip


def timed(fit: Any, problem: Problem, epochs: int, tmp: Path) -> tuple[float, Any]:
    with tempfile.TemporaryDirectory(dir=tmp) as out:
        start = time.perf_counter()
        net = fit(problem, epochs, Path(out))
        return time.perf_counter() - start, net


def per_epoch(problem: Problem, short: int, long: int, runs: int, tmp: Path) -> dict[str, Any]:
    """Median marginal seconds per epoch for each loop, interleaved run by run; and
    whether both ended with the same weights."""
    import torch

    loops = {"lightning": lightning_fit, "plain": plain_fit}
    marginal: dict[str, list[float]] = {name: [] for name in loops}
    nets: dict[str, Any] = {}
    for _ in range(runs):
        for name, fit in loops.items():
            first, _ = timed(fit, problem, short, tmp)
            second, nets[name] = timed(fit, problem, long, tmp)
            marginal[name].append((second - first) / (long - short))
    a, b = (nets[name].state_dict() for name in loops)
    same = all(torch.equal(a[key], b[key]) for key in a)
    return {**{name: statistics.median(v) for name, v in marginal.items()}, "same": same}


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs on digits")
    parser.add_argument("--rows", type=int, default=1_000_000, help="synthetic rows")
    parser.add_argument("--large-runs", type=int, default=1, help="interleaved runs at --rows")
    parser.add_argument("--skip-large", action="store_true", help="digits only")
    args = parser.parse_args()

    lines = []
    with tempfile.TemporaryDirectory(prefix="shipyard-training-") as name:
        tmp = Path(name)
        digits = featurized("digits", ["trainer=cpu"], tmp)
        small = per_epoch(digits, 5, 25, args.runs, tmp)
        overhead = (small["lightning"] - small["plain"]) * 1000
        lines += [
            f"digits ({len(digits.train[1])} train rows, batch {digits.params.model.batch_size}), "
            f"ms/epoch, median of {args.runs}:",
            f"  hand-written loop        {small['plain'] * 1000:8.1f}",
            f"  Lightning (the project)  {small['lightning'] * 1000:8.1f}",
            f"  overhead                 {overhead:8.1f}   target <= {OVERHEAD_MS:.0f}: "
            f"{verdict(overhead <= OVERHEAD_MS)}",
            f"  same weights after 25 epochs: {small['same']}",
        ]
        if not args.skip_large:
            large = featurized("synthetic", scale_overrides(args.rows), tmp)
            big = per_epoch(large, 1, 2, args.large_runs, tmp)
            rows = len(large.train[1])
            rate = {loop: rows / big[loop] for loop in ("plain", "lightning")}
            ratio = rate["lightning"] / rate["plain"]
            lines += [
                f"synthetic, {args.rows:,} rows ({rows:,} train, {large.train[0].shape[1]} "
                f"features, batch {large.params.model.batch_size}), samples/s:",
                f"  hand-written loop        {rate['plain']:10,.0f}",
                f"  Lightning (the project)  {rate['lightning']:10,.0f}",
                f"  Lightning / plain        {ratio:10.3f}   target >= {THROUGHPUT}: "
                f"{verdict(ratio >= THROUGHPUT)}",
                f"  same weights after 2 epochs: {big['same']}",
            ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
