"""`make release-local` in a real repository: refuses a workspace that differs from
dvc.lock, and otherwise builds, serves and smoke-tests the bento."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import MAKE, run

pytestmark = pytest.mark.slow


@pytest.fixture
def repo(reproduced, tmp_path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(reproduced.path, dest, symlinks=True)
    return dest


def test_release_refuses_when_dvc_status_is_not_clean(repo):
    run(["shipyard", "params", "model.lr=0.02"], cwd=repo)  # changed, not reproduced
    result = run([*MAKE, "release-local"], cwd=repo, check=False)
    assert result.returncode != 0
    assert "dvc status` is not clean" in result.stderr and "train" in result.stderr
    assert "bentoml build" not in result.stdout  # nothing was built


def test_release_local_builds_serves_and_smoke_tests(repo):
    result = run([*MAKE, "release-local"], cwd=repo)
    assert "release: dvc status is clean" in result.stdout
    assert "__tag__:shipyard:" in result.stdout
    assert "smoke: shipyard:latest answered" in result.stdout
