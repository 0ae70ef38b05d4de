"""Byte-stable artifacts: `dvc repro -f` with the same code, params and data rewrites every
output with the same bytes, so a forced or repeated run changes nothing downstream (no
new bundle version, no cache churn, no spurious diff in a PR)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import STAGES, copy_repo, run

pytestmark = pytest.mark.slow


def outs(repo: Path) -> dict[str, list[dict[str, Any]]]:
    """Each stage's `outs` in dvc.lock: path, md5 (a .dir md5 for directories), size."""
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {stage: entry["outs"] for stage, entry in lock["stages"].items()}


def changed_files(before: Path, after: Path, out: str) -> list[str]:
    """The files of one out (a file or a directory) whose bytes differ between two repos."""

    def contents(repo: Path) -> dict[str, bytes]:
        top = repo / out
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        return {str(f.relative_to(repo)): f.read_bytes() for f in files}

    old, new = contents(before), contents(after)
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def test_forced_repro_rewrites_every_output_byte_for_byte(reproduced, tmp_path):
    before = outs(reproduced.path)
    assert sorted(before) == sorted(STAGES)
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    # Another commit, same tree: nothing an artifact holds may depend on which commit it
    # was built at (the bundle's card used to carry it).
    run(["git", "commit", "-q", "--allow-empty", "-m", "same tree"], cwd=repo)
    run(["dvc", "repro", "-f"], cwd=repo)

    after = outs(repo)
    differ = {
        out["path"]: changed_files(reproduced.path, repo, out["path"])
        for stage in STAGES
        for out, again in zip(before[stage], after[stage], strict=True)
        if out != again
    }
    assert not differ, f"outputs that changed (and the files that differ in them): {differ}"
    assert after == before
