"""Scale benchmark: the whole pipeline on `data=synthetic` at growing row counts.

Each size runs in its own throwaway copy of this project, on 50 features (45 numeric, 5
text categorical), one stage at a time (`dvc repro --single-item <stage>`), so each stage
gets its own wall time and peak memory (the largest resident set of the stage's process
tree: dvc and the stage's python, from wait4). Training is held to the same small budget
at every size (`trainer=cpu`, 2 epochs, batch 1024), so the rows are the only variable.

    python -m benchmarks.scale [--rows 10000 100000 1000000 10000000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import tempfile
import time
from pathlib import Path

from tests.sandbox import copy_project

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["ingest", "validate", "featurize", "train", "baseline", "evaluate", "package"]
NUMERIC = [f"x{i:02d}" for i in range(45)]
CATEGORICAL = [f"c{i:02d}" for i in range(5)]
BUDGET = 4 * 1024  # MiB: the bound on peak memory, at ten million rows too


def overrides(rows: int) -> list[str]:
    return [
        "data=synthetic",
        f"data.source.n_rows={rows}",
        f"data.numeric_features=[{','.join(NUMERIC)}]",
        f"data.categorical_features=[{','.join(CATEGORICAL)}]",
        "data.source.n_informative=20",
        "trainer=cpu",
        "trainer.max_epochs=2",
        "model.batch_size=1024",
    ]


def measured(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB of the process and its descendants)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.decode()[-3000:]}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def run_size(rows: int, tmp: Path) -> dict[str, tuple[float, float]]:
    repo = copy_project(ROOT, tmp / f"rows-{rows}", overrides(rows))
    return {stage: measured(["dvc", "repro", "--single-item", stage], repo) for stage in STAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 10_000_000]
    )
    args = parser.parse_args()

    results: dict[int, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-scale-") as tmp:
        os.environ.setdefault("DVC_SITE_CACHE_DIR", str(Path(tmp) / "site-cache"))
        os.environ["DVC_NO_ANALYTICS"] = "1"
        for rows in args.rows:
            results[rows] = run_size(rows, Path(tmp))
            total = sum(wall for wall, _ in results[rows].values())
            print(f"... {rows:>9,} rows: {total:7.1f} s", flush=True)

    sizes = sorted(results)
    head = f"{'stage':<10}" + "".join(f"{f'{n:,} rows':>22}" for n in sizes)
    print(f"\n{head}\n{'':<10}" + "".join(f"{'wall s':>12}{'peak MiB':>10}" for _ in sizes))
    for stage in [*STAGES, "total"]:
        cells = []
        for n in sizes:
            if stage == "total":
                wall = sum(w for w, _ in results[n].values())
                peak = max(p for _, p in results[n].values())
            else:
                wall, peak = results[n][stage]
            cells.append(f"{wall:12.1f}{peak:10.0f}")
        print(f"{stage:<10}" + "".join(cells))

    print("\ngrowth of wall time per 10x rows (10.0 = linear):")
    for small, large in itertools.pairwise(sizes):
        factor = large / small
        parts = []
        for stage in STAGES:
            ratio = results[large][stage][0] / results[small][stage][0]
            parts.append(f"{stage} {ratio * 10 / factor:.1f}")
        total = sum(w for w, _ in results[large].values()) / sum(
            w for w, _ in results[small].values()
        )
        print(f"  {small:,} -> {large:,}: total {total * 10 / factor:.1f}; " + ", ".join(parts))
    print()
    for n in sizes:
        stage, (_, peak) = max(results[n].items(), key=lambda item: item[1][1])
        verdict = "within" if peak <= BUDGET else "OVER"
        print(f"peak memory at {n:,} rows: {peak:.0f} MiB ({stage}; {verdict} {BUDGET} MiB)")


if __name__ == "__main__":
    main()
