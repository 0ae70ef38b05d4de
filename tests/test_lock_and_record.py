"""The lock check, the repro record and the release plan: pure parts on hand-made inputs,
then `shipyard check-lock` / `shipyard record` / `shipyard release-plan` in real repos."""

from __future__ import annotations

import json

import pytest

from shipyard.gitops.lock import Out, problems
from shipyard.gitops.repro import stages_from
from tests.helpers import copy_repo, run

OUTS = [
    Out("data/raw/dataset.parquet", cached=True),
    Out("data/features", cached=True),
    Out("reports/evaluate/metrics.json", cached=False),
]


def test_missing_data_is_no_finding_but_code_params_and_commands_are():
    status = {
        "featurize": [
            {"changed deps": {"data/raw/dataset.parquet": "deleted"}},  # not pulled
            {"changed outs": {"data/features": "not in cache"}},
        ],
        "train": [
            {
                "changed deps": {
                    "src/shipyard/training.py": "modified",
                    "data/features/train.parquet": "deleted",  # inside an output
                    "params.yaml": {"model.lr": "modified", "model.depth": "new"},
                }
            },
            "changed command",
        ],
        "evaluate": [{"changed outs": {"reports/evaluate/metrics.json": "modified"}}],
    }
    assert problems(status, OUTS) == {
        "train": [
            "src/shipyard/training.py modified",
            "param model.lr modified",
            "param model.depth new",
            "command changed",
        ],
        "evaluate": ["output reports/evaluate/metrics.json modified (git-tracked)"],
    }


def test_a_deleted_code_dependency_is_a_finding():
    status = {"ingest": [{"changed deps": {"src/shipyard/data/old.py": "deleted"}}]}
    assert problems(status, OUTS) == {"ingest": ["src/shipyard/data/old.py deleted"]}


def test_stage_record_from_dvc_output():
    lines = [
        (0.0, "Stage 'ingest' didn't change, skipping"),
        (0.5, "Stage 'featurize' is cached - skipping run, checking out outputs"),
        (1.5, "Running stage 'train':"),
        (2.0, "> python -m shipyard.stages.train"),
        (9.0, "Running stage 'evaluate':"),
    ]
    assert stages_from(lines, end=12.0) == [
        {"name": "ingest", "status": "unchanged", "seconds": None},
        {"name": "featurize", "status": "cached", "seconds": 1.0},
        {"name": "train", "status": "ran", "seconds": 7.5},
        {"name": "evaluate", "status": "ran", "seconds": 3.0},
    ]


@pytest.fixture
def repo(reproduced, tmp_path):
    return copy_repo(reproduced.path, tmp_path / "repo")


@pytest.mark.slow
def test_check_lock_on_a_fresh_clone_and_on_an_unreproduced_code_change(repo, tmp_path):
    clone = tmp_path / "clone"  # nothing pulled: every cached output is missing
    run(["git", "clone", "-q", str(repo), str(clone)], cwd=tmp_path)
    assert run(["shipyard", "check-lock"], cwd=clone).returncode == 0

    training = clone / "src/shipyard/pipeline/training.py"
    training.write_text(training.read_text() + "\n# a change nobody reproduced\n")
    run(["git", "commit", "-qam", "edit training without reproducing"], cwd=clone)
    failed = run(["shipyard", "check-lock"], cwd=clone, check=False)
    assert failed.returncode == 1
    assert "  train: src/shipyard/pipeline/training.py modified" in failed.stderr
    assert "evaluate" not in failed.stderr  # training.py is train's code only
    assert "Traceback" not in failed.stderr


@pytest.mark.slow
def test_check_lock_catches_params_and_metrics_that_disagree_with_the_lock(repo):
    run(["shipyard", "params", "model.lr=0.02"], cwd=repo)
    failed = run(["shipyard", "check-lock"], cwd=repo, check=False)
    assert failed.returncode == 1 and "train: param model modified" in failed.stderr

    run(["git", "checkout", "-q", "--", "params.yaml"], cwd=repo)
    metrics = repo / "reports/evaluate/metrics.json"
    metrics.write_text(metrics.read_text().replace("0.", "0.1", 1))  # edited by hand
    failed = run(["shipyard", "check-lock"], cwd=repo, check=False)
    assert "evaluate: output reports/evaluate/metrics.json modified (git-tracked)" in failed.stderr


@pytest.mark.slow
def test_record_commits_only_what_the_reproduction_changed(pr_branch):
    """The `pr_branch` fixture (tests/conftest.py) did what a pull request does: an author's
    param commit with unrelated work lying around, then `shipyard repro` and `record`."""
    repo = pr_branch.path
    assert pr_branch.before.returncode == 0 and "already committed" in pr_branch.before.stdout
    refused = pr_branch.refused  # not reproduced yet
    assert refused.returncode == 1 and "not a complete reproduction" in refused.stderr
    ran = [s["name"] for s in pr_branch.repro["stages"] if s["status"] == "ran"]
    assert ran == ["train", "evaluate", "package"]
    assert pr_branch.recorded.returncode == 0, pr_branch.recorded.stderr
    assert "committed the reproduction" in pr_branch.recorded.stdout
    files = run(["git", "show", "--name-only", "--format=", "HEAD"], cwd=repo).stdout.split()
    assert "dvc.lock" in files and "reports/evaluate/metrics.json" in files
    assert "notes.txt" not in files and "params.yaml" not in files
    assert run(["git", "rev-parse", "HEAD~2"], cwd=repo).stdout.strip() == pr_branch.main
    assert run(["shipyard", "check-lock"], cwd=repo).returncode == 0


@pytest.mark.slow
def test_release_plan_ships_a_model_version_until_it_is_in_prod(repo):
    version = json.loads((repo / "models/bundle/card.json").read_text())["version"]
    first = run(["shipyard", "release-plan"], cwd=repo).stdout
    assert f"release: model version {version} is new; prod is empty" in first
    # Registered, but the deploy failed before promotion: the next run tries again.
    run(["gto", "register", "shipyard", "--message", version], cwd=repo)
    assert "release-plan: release:" in run(["shipyard", "release-plan"], cwd=repo).stdout
    run(["gto", "assign", "shipyard", "--stage", "prod", "--message", version], cwd=repo)
    again = run(["shipyard", "release-plan"], cwd=repo).stdout
    assert f"nothing to release: model version {version} is already in prod" in again
    assert "shipyard#prod#1" in again
    (repo / "models/bundle/card.json").unlink()  # an incomplete pull: one line, no traceback
    failed = run(["shipyard", "release-plan"], cwd=repo, check=False)
    assert failed.returncode == 1 and "no model card in models/bundle" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_folder_of_dvc_added_tables_is_data_not_code():
    outs = [*OUTS, Out("data/sources/big.csv", cached=True)]  # `dvc add`-ed, not pulled
    status = {"ingest": [{"changed deps": {"data/sources": "modified"}}]}
    assert problems(status, outs) == {}
