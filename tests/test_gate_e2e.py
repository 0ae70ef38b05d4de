"""`shipyard gate --base main` in a real repository, after a real `dvc repro` on a branch."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import ran, run

pytestmark = pytest.mark.slow

# The debug model trains for three epochs: relax the limits so that the comparison
# with the base (the main metric's paired bootstrap) is what decides.
GATE = [
    "gate.rules.accuracy.limit=0.3",
    "gate.rules.f1_macro.limit=0.3",
    "gate.rules.roc_auc.limit=0.5",
    "gate.rules.log_loss.limit=3.0",
    "gate.rules.f1_macro.tolerance=0.2",
    "gate.rules.roc_auc.tolerance=0.2",
    "gate.rules.log_loss.tolerance=2.0",
]


def branch_with(reproduced, tmp_path, change: str):
    repo = tmp_path / "repo"
    shutil.copytree(reproduced.path, repo, symlinks=True)
    run(["git", "checkout", "-q", "-b", "change"], cwd=repo)
    run(["shipyard", "params", change, *GATE], cwd=repo)
    assert ran(run(["dvc", "repro"], cwd=repo).stdout) == ["train", "evaluate", "package"]
    return repo


def test_gate_fails_a_worse_model_with_the_reason(reproduced, tmp_path):
    repo = branch_with(reproduced, tmp_path, "model.lr=0.00001")  # learns next to nothing
    result = run(
        ["shipyard", "gate", "--base", "main", "--output", "gate.json"], cwd=repo, check=False
    )
    assert result.returncode == 1, result.stdout
    assert "gate FAILED" in result.stdout
    assert "accuracy vs base" in result.stdout and "a drop beyond noise" in result.stdout

    report = run(["shipyard", "report", "--base", "main", "--output", "pr/report.md"], cwd=repo)
    assert "gate FAILED" in report.stdout
    text = (repo / "pr/report.md").read_text()
    assert "**Quality gate: FAILED**" in text and "a drop beyond noise" in text
    assert "| model.lr | 0.0010 | 0.0000 |" in text  # the param change, old and new
    accuracy = next(line for line in text.splitlines() if line.startswith("| mlp.accuracy |"))
    assert accuracy.endswith("| worse |")
    assert "- modified: `models/mlp/`" in text or "models/mlp" in text
    pngs = sorted(p.name for p in (repo / "pr").glob("*.png"))
    assert len(pngs) == 6 and all(f"]({png})" in text for png in pngs)


def test_gate_passes_a_comparable_model(reproduced, tmp_path):
    repo = branch_with(reproduced, tmp_path, "model.dropout=0.05")
    result = run(["shipyard", "gate", "--base", "main"], cwd=repo, check=False)
    assert result.returncode == 0, result.stdout
    assert "gate PASSED" in result.stdout and "paired bootstrap" in result.stdout
