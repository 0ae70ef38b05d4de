"""Pipeline benchmark, on the default config in a throwaway copy of this project.

Prints, measured side by side in this one run: the full `dvc repro` wall time; each
stage's start-up (its imports, from `python -X importtime`) beside the rest of its run,
and whether it imports torch or Lightning; no-op `dvc repro` over `dvc status` (medians of
interleaved runs); what a `model.lr` change reruns and how long it takes to new metrics.
Then the targets of issue 14, each met or not.

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

import yaml

from tests.sandbox import copy_project

ROOT = Path(__file__).resolve().parents[1]
FULL_S = 20.0  # issue 14: the default pipeline from scratch, seconds, at most
MODEL_CHANGE_S = 10.0  # a model.* change to new metrics (train, evaluate, package), at most
NOOP_RATIO = 1.2  # no-op `dvc repro` over `dvc status`, at most
HEAVY = ("torch", "lightning")
# `python -X importtime` lines: self us | cumulative us | indented module name
IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)")


def timed(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, proc.stdout


def imports(stderr: str) -> tuple[float, set[str]]:
    """(seconds spent importing top-level modules, the top-level packages imported)."""
    seconds, packages = 0.0, set()
    for cumulative, indent, module in IMPORT_LINE.findall(stderr):
        packages.add(module.split(".")[0])
        if len(indent) == 1:  # imported by the stage itself, not by another import
            seconds += int(cumulative) / 1e6
    return seconds, packages


def stage_startup(repo: Path) -> dict[str, tuple[float, float, set[str]]]:
    """Each stage's command run again (its inputs in place) with -X importtime:
    {stage: (wall seconds, import seconds, heavy packages imported)}."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    found = {}
    for name, spec in stages.items():
        # The command as dvc runs it (a shell line: `PYTHONPATH=src python -m ...`).
        cmd = spec["cmd"].replace(" python ", " python -X importtime ", 1)
        start = time.perf_counter()
        proc = subprocess.run(cmd, shell=True, cwd=repo, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
        seconds, packages = imports(proc.stderr)
        found[name] = (wall, seconds, packages & set(HEAVY))
    return found


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    from shipyard.gitops import params

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

        startup = stage_startup(repo)

        params.write(["model.lr=0.003"], repo / "params.yaml", repo / "conf")
        changed, out = timed(["dvc", "repro"], repo)
        reran = re.findall(r"Running stage '(\w+)'", out)
        metrics = (repo / "reports/evaluate/metrics.json").read_text()

    noop_s, status_s = statistics.median(noop), statistics.median(status)
    print(f"{'stage':<10}{'run s':>8}{'imports s':>11}{'rest s':>8}  heavy imports")
    for name, (wall, seconds, heavy) in startup.items():
        loaded = ", ".join(sorted(heavy)) or "-"
        print(f"{name:<10}{wall:8.2f}{seconds:11.2f}{wall - seconds:8.2f}  {loaded}")
    print(f"\nfull dvc repro (default config, cold):  {full:6.2f} s")
    print(f"no-op dvc repro (median of {args.runs}):        {noop_s:6.2f} s")
    print(f"dvc status (median of {args.runs}):             {status_s:6.2f} s")
    print(f"after model.lr change, dvc repro in {changed:5.2f} s reran: {', '.join(reran)}")
    print(f"metrics after the change: {' '.join(metrics.split())}")
    ratio = noop_s / status_s
    rows = [
        (f"full repro <= {FULL_S:.0f} s", f"{full:.2f} s", full <= FULL_S),
        (f"model.lr change to metrics <= {MODEL_CHANGE_S:.0f} s", f"{changed:.2f} s",
         changed <= MODEL_CHANGE_S),
        (f"no-op repro / status <= {NOOP_RATIO}x", f"{ratio:.2f}x", ratio <= NOOP_RATIO),
    ]  # fmt: skip
    print(f"\n{'target':<36}{'figure':>10}  verdict")
    for target, figure, ok in rows:
        print(f"{target:<36}{figure:>10}  {verdict(ok)}")


if __name__ == "__main__":
    main()
