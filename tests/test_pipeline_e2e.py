"""The real pipeline: `dvc repro`, metrics, push and pull, a queued experiment, in
temporary git repositories. Switching datasets and a model change (`dvc exp run -S ...`),
and each task's plots, run in tests/test_byod_e2e.py (the `churn` fixture, the diabetes
project)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import STAGES, copy_repo, ran, run

pytestmark = pytest.mark.slow

OUTPUTS = [
    "data/raw/dataset.parquet",
    "data/features/train.parquet",
    "models/featurizer.skops",
    "models/mlp/model.safetensors",
    "models/baseline.skops",
    "data/predictions/mlp.parquet",
    "reports/evaluate/metrics.json",
    "models/bundle/card.json",
]


def is_clean(repo: Path) -> bool:
    status = run(["dvc", "status"], cwd=repo).stdout
    return "up to date" in status


def test_repro_produces_every_output_and_a_model_card(reproduced):
    assert reproduced.first_run == STAGES
    for rel in OUTPUTS:
        assert (reproduced.path / rel).exists(), rel
    metrics = json.loads((reproduced.path / "reports/evaluate/metrics.json").read_text())
    assert set(metrics) == {"mlp", "baseline"}
    assert set(metrics["mlp"]) == {"accuracy", "f1_macro", "roc_auc", "log_loss"}
    assert metrics["mlp"]["accuracy"] > 0.5  # 3 tiny epochs, still far above chance (0.1)
    card = json.loads((reproduced.path / "models/bundle/card.json").read_text())
    assert card["metrics"] == metrics
    # The commit is a label `make bento` puts on the bento: in the card, every commit
    # would change the bundle's bytes.
    assert "git_commit" not in card
    shown = run(["dvc", "metrics", "show", "--json"], cwd=reproduced.path).stdout
    assert "mlp" in shown and "accuracy" in shown


def test_second_repro_runs_nothing_and_status_is_clean(reproduced):
    assert ran(run(["dvc", "repro"], cwd=reproduced.path).stdout) == []
    assert is_clean(reproduced.path)


@pytest.mark.parametrize("remote", ["default", "s3"])
def test_push_then_pull_in_a_fresh_clone_restores_everything(reproduced, tmp_path, remote, request):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    if remote == "s3":
        request.getfixturevalue("s3_remote")(repo)
    run(["dvc", "push"], cwd=repo)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(repo), str(clone)], cwd=tmp_path)
    if remote == "s3":
        request.getfixturevalue("s3_remote")(clone)
    run(["dvc", "pull"], cwd=clone)
    for rel in OUTPUTS:
        assert (clone / rel).read_bytes() == (repo / rel).read_bytes(), rel
    assert is_clean(clone)


# A code change, and only that: validate adds a line to its summary (a git-tracked output).
MARK = "the queued code ran"
MARKED = f"""

if __name__ == "__main__":
    with open("reports/validation.md", "a") as summary:
        summary.write("{MARK}\\n")
"""


def test_a_queued_experiment_runs_the_code_it_records(reproduced, tmp_path):
    """`dvc exp run --queue` runs the experiment in a copy of the project (.dvc/tmp/exps):
    its stages must import that copy's src/, not the src/ the venv's editable install
    points at (the workspace's; here, that of the checkout the tests run from)."""
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    module = repo / "src/shipyard/stages/validate.py"
    code = module.read_text()
    module.write_text(code + MARKED)
    run(["dvc", "exp", "run", "--queue", "-n", "marked"], cwd=repo)
    module.write_text(code)  # the workspace no longer has the change; the queue does
    run(["dvc", "exp", "run", "--run-all"], cwd=repo)

    refs = run(["git", "for-each-ref", "--format=%(refname)", "refs/exps"], cwd=repo).stdout
    marked = [ref for ref in refs.split() if ref.endswith("/marked")]
    assert len(marked) == 1, run(["dvc", "queue", "logs", "marked"], cwd=repo, check=False)
    recorded = run(["git", "show", f"{marked[0]}:src/shipyard/stages/validate.py"], cwd=repo)
    assert recorded.stdout == code + MARKED  # what it records ...
    summary = run(["git", "show", f"{marked[0]}:reports/validation.md"], cwd=repo).stdout
    assert summary.endswith(f"{MARK}\n"), summary  # ... is what it ran
    assert MARK not in (repo / "reports/validation.md").read_text()  # the workspace: as it was
