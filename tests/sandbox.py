"""A throwaway copy of a project in its own git repository, for tests and benchmarks.

It copies what git would (tracked and untracked-but-not-ignored files), minus pipeline
results, so the copy reproduces from scratch exactly as a fresh clone would.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SKIP = ("dvc.lock", "reports/", "dvclive/", ".github/", "tests/", "benchmarks/")


def git(args: Sequence[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def copy_project(
    source: Path, dest: Path, overrides: Sequence[str] = (), debug: bool = False
) -> Path:
    """Copy, compose params.yaml with `overrides`, `git init` and commit once.

    With `debug`, `debug=tiny` becomes the default in conf/config.yaml, so
    `dvc exp run -S ...` composes on top of the tiny config too.
    """
    from shipyard.gitops import params

    for rel in git(["ls-files", "-co", "--exclude-standard"], source).split():
        if rel.startswith(SKIP) or not (source / rel).is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, dest / rel)
    if debug:
        config = dest / "conf" / "config.yaml"
        config.write_text(config.read_text().replace("- debug: null", "- debug: tiny"))
    params.write(overrides, dest / "params.yaml", dest / "conf")
    git(["init", "-q", "-b", "main"], dest)
    git(["add", "-A"], dest)
    git(["commit", "-q", "-m", "project"], dest)
    return dest
