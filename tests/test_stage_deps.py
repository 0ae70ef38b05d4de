"""Each stage reruns for what it reads, and nothing else: a code change in one module
leaves the lock stale for exactly the stages that import it (asked of `dvc status`
through the lock check, no reproduction needed)."""

from __future__ import annotations

import pytest

from shipyard.gitops.lock import check
from tests.helpers import copy_repo

pytestmark = pytest.mark.slow

READERS = {
    # the featurizer: only featurize; what reads features reruns only if they change
    "pipeline/features.py": {"featurize"},
    # the features files' format: the writer and every reader
    "pipeline/feature_files.py": {"featurize", "train", "baseline", "evaluate"},
    "pipeline/task.py": {"featurize", "train", "evaluate"},
    "pipeline/modules.py": {"train"},  # the model: train, then what reads models/mlp
    "pipeline/evaluation.py": {"evaluate"},
    "pipeline/bundle.py": {"package"},
    "gitops/report.py": set(),  # GitOps tooling is no stage's code
    "serving/service.py": set(),
}


def test_a_module_edit_makes_exactly_its_readers_stale(reproduced, tmp_path, monkeypatch):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    monkeypatch.chdir(repo)
    assert check() == {}
    for module, stages in READERS.items():
        path = repo / "src" / "shipyard" / module
        original = path.read_text()
        path.write_text(original + "\n# edited\n")
        try:
            assert set(check()) == stages, module
        finally:
            path.write_text(original)
