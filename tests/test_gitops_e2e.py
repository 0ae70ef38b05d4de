"""The GitOps loop in a real repository with the loopback S3 server as DVC remote:
main trained and pushed; a branch changes a param; the report and the gate judge it; the
good branch is pushed and merged; a fresh clone of main pulls and releases it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import GATE, MAKE, ran, run

pytestmark = pytest.mark.slow


def on_branch(repo: Path, branch: str, change: str) -> None:
    run(["git", "checkout", "-q", "-B", branch, "main"], cwd=repo)
    run(["dvc", "checkout", "-q"], cwd=repo)
    run(["shipyard", "params", change, *GATE], cwd=repo)
    assert ran(run(["dvc", "repro"], cwd=repo).stdout) == ["train", "evaluate", "package"]


def test_pull_request_to_release(reproduced, s3_remote, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(reproduced.path, repo, symlinks=True)
    s3_remote(repo)
    run([*MAKE, "push"], cwd=repo)  # main, trained, on the remote

    # A deliberately worse model: the gate fails, with the reason.
    on_branch(repo, "worse", "model.lr=0.00001")
    gate = run([*MAKE, "gate", "BASE=main"], cwd=repo, check=False)
    assert gate.returncode != 0
    assert "a drop beyond noise" in gate.stdout

    # A good one: the report shows what changed, the gate passes.
    run(["git", "checkout", "-q", "--", "."], cwd=repo)
    on_branch(repo, "better", "model.dropout=0.05")
    run([*MAKE, "pr-report", "BASE=main"], cwd=repo)
    text = (repo / "report/report.md").read_text()
    assert "**Quality gate: PASSED**" in text
    assert "| model.dropout | 0.1000 | 0.0500 |" in text
    accuracy = next(line for line in text.splitlines() if line.startswith("| mlp.accuracy |"))
    assert accuracy.count("|") == 6 and "-" not in accuracy.split("|")[2]  # base value shown
    assert len(list((repo / "report").glob("*.png"))) == 6
    assert "## Data validation\n\n`digits`: 1797 rows, 65 columns: valid" in text
    assert "not rendered" not in text  # the regression plots are skipped, not listed
    assert run([*MAKE, "gate", "BASE=main"], cwd=repo, check=False).returncode == 0

    # Push and merge; release from a fresh clone, as the release workflow does.
    run([*MAKE, "push"], cwd=repo)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-m", "smaller dropout"], cwd=repo)
    run(["git", "checkout", "-q", "main"], cwd=repo)
    run(["git", "merge", "-q", "--ff-only", "better"], cwd=repo)
    release = tmp_path / "release"
    run(["git", "clone", "-q", str(repo), str(release)], cwd=tmp_path)
    s3_remote(release)
    run([*MAKE, "pull"], cwd=release)
    shipped = run([*MAKE, "release-local"], cwd=release).stdout
    version = json.loads((repo / "models/bundle/card.json").read_text())["version"]
    assert f"from {version}" in shipped and "release: dvc status is clean" in shipped

    # The git-tag model registry: a version, assigned to prod, pushed to origin.
    run([*MAKE, "register", "promote"], cwd=release)
    tags = run(["git", "tag"], cwd=repo).stdout.split()
    assert "shipyard@v0.0.1" in tags and "shipyard#prod#1" in tags


def test_report_in_a_shallow_clone_against_a_base_without_metrics(reproduced, tmp_path):
    """A first pull request, in a CI-style shallow clone: the base is fetched, and having
    no metrics there means limits only."""
    repo = tmp_path / "repo"
    shutil.copytree(reproduced.path, repo, symlinks=True)
    run(["git", "branch", "before-metrics", "HEAD~1"], cwd=repo)  # the commit before repro
    run(["dvc", "push"], cwd=repo)  # to the default remote, beside the repo
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)], cwd=tmp_path)
    run(["dvc", "pull"], cwd=clone)
    result = run(
        ["shipyard", "report", "--base", "before-metrics", "--output", "r/report.md"], cwd=clone
    )
    assert "gate passed" in result.stdout or "gate FAILED" in result.stdout
    text = (clone / "r/report.md").read_text()
    assert "has no metrics yet (first run): limits only" in text
    row = next(line for line in text.splitlines() if line.startswith("| mlp.accuracy |"))
    assert row.split("|")[2].strip() == "-"  # no base value
