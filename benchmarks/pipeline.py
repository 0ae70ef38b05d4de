"""Pipeline benchmark, on the default config in a throwaway copy of this project.

Prints: the full `dvc repro` wall time; no-op `dvc repro` over `dvc status`, measured
side by side in this run (medians of interleaved runs); which stages a model.* change reruns.

    python -m benchmarks.pipeline [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.sandbox import copy_project

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="no-op repro/status pairs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        os.environ.setdefault("DVC_SITE_CACHE_DIR", str(Path(tmp) / "site-cache"))
        os.environ["DVC_NO_ANALYTICS"] = "1"
        repo = copy_project(ROOT, Path(tmp) / "repo")

        full, _ = timed(["dvc", "repro"], repo)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", "repro"], cwd=repo, check=True)

        noop, status = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            noop.append(timed(["dvc", "repro"], repo)[0])
            status.append(timed(["dvc", "status"], repo)[0])

        changed, out = timed(["dvc", "exp", "run", "-S", "model.lr=0.003"], repo)
        reran = re.findall(r"Running stage '(\w+)'", out)
        metrics = (repo / "reports/evaluate/metrics.json").read_text()

    noop_s, status_s = statistics.median(noop), statistics.median(status)
    print(f"full dvc repro (default config, cold):  {full:6.2f} s")
    print(f"no-op dvc repro (median of {args.runs}):        {noop_s:6.2f} s")
    print(f"dvc status (median of {args.runs}):             {status_s:6.2f} s")
    print(f"no-op repro / status:                   {noop_s / status_s:6.2f}x")
    print(f"after model.lr change, reran in {changed:5.2f} s: {', '.join(reran)}")
    print(f"metrics after the change: {' '.join(metrics.split())}")


if __name__ == "__main__":
    main()
