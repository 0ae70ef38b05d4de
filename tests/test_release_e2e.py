"""`make release-local` in a real repository refuses a workspace that differs from
dvc.lock, before building anything. That it otherwise builds, serves and smoke-tests the
bento is release.yaml's own step, run in tests/test_workflows_e2e.py (scenario 4)."""

from __future__ import annotations

import pytest

from tests.helpers import MAKE, copy_repo, run

pytestmark = pytest.mark.slow


def test_release_refuses_when_dvc_status_is_not_clean(reproduced, tmp_path):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    run(["shipyard", "params", "model.lr=0.02"], cwd=repo)  # changed, not reproduced
    result = run([*MAKE, "release-local"], cwd=repo, check=False)
    assert result.returncode != 0
    assert "dvc status` is not clean" in result.stderr and "train" in result.stderr
    # Nothing was built: no wheel for the bento, no model imported, no bento tag.
    assert not (repo / "dist").exists() and "__tag__" not in result.stdout
    assert "import-model" not in result.stdout
