"""The real pipeline: `dvc repro`, plots and metrics, push and pull, in temporary git
repositories. Switching datasets and a model change (`dvc exp run -S ...`) run in
tests/test_byod_e2e.py (the `churn` fixture, the diabetes gate test)."""

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


def test_every_declared_plot_renders(reproduced):
    shown = json.loads(run(["dvc", "plots", "show", "--json"], cwd=reproduced.path).stdout)
    drawn = {name for name, plots in shown["data"].items() if plots}
    assert drawn == {
        "Training curves",
        "Validation accuracy",
        "Confusion matrix (MLP, test)",
        "Confusion matrix (baseline, test)",
        "ROC, one-vs-rest micro-average (test)",
        "Precision-recall, micro-average (test)",
    }
    for name in drawn:
        assert shown["data"][name][0]["content"]["data"]["values"], name
    # Only the regression plots are missing, and only because their files are.
    missing = {e["name"] for e in shown.get("errors", [])}
    assert missing == {"Validation MAE", "Predicted vs actual (test)", "Residuals (test)"}
    assert {e["type"] for e in shown["errors"]} == {"FileNotFoundError"}


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
