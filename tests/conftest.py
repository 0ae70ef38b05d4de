"""Shared fixtures (what tests share besides fixtures is in tests/helpers.py). Every test
runs with DVC, BentoML, git and caches pointed into a temp dir, so a test run leaves
nothing outside its temp dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import RELAXED, copy_repo, make_project, ran, run

BIN = Path(sys.executable).parent
# Under pytest-xdist (addopts: `-n`), each group of tests runs whole on one worker: a
# module, or modules that share a session fixture built on `reproduced` (which each worker
# builds once), so that it is built once too. The longest groups start first, so that each
# worker begins with one and the shorter ones fill in around them.
GROUPS = {
    "test_broken_data_e2e.py": "churn",
    "test_byod_e2e.py": "churn",
    "test_gate_degrades.py": "pr_branch",
    "test_lock_and_record.py": "pr_branch",
}
LONGEST_FIRST = ("test_workflows_e2e.py", "pr_branch", "churn")


def group(nodeid: str) -> str:
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return GROUPS.get(module, module)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = group(item.nodeid)
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: within a rank, tests keep their order


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's `--dist loadfile`, by group instead of by file, in collection order (addopts:
    --no-loadscope-reorder)."""
    from xdist.scheduler import LoadScopeScheduling

    class LoadGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group(nodeid)

    return LoadGroups(config, log)


@pytest.fixture(scope="session", autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text("[user]\n\tname = shipyard tests\n\temail = tests@shipyard.local\n")
    env = {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_NO_ANALYTICS": "1",
        "BENTOML_HOME": str(home / "bentoml"),
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_CONFIG_NOSYSTEM": "1",
        # Stages run as `python -m ...`: the interpreter running the tests must come first.
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def s3_remote(tmp_path_factory):
    """A real loopback S3 server; call it with a repo to make it that repo's remote."""
    from tests import servers
    from tests.servers import S3Server

    key, secret = "shipyard-key", "shipyard-secret"
    proc, endpoint = servers.serve_s3(tmp_path_factory.mktemp("s3"), key, secret)
    yield S3Server(endpoint, key, secret)
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class Reproduced:
    path: Path
    first_run: list[str]


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory) -> Reproduced:
    """One debug-config `dvc repro`, committed. Tests that change it work on a copy
    (tests.helpers.copy_repo)."""
    repo = make_project(tmp_path_factory.mktemp("reproduced") / "repo")
    first = ran(run(["dvc", "repro"], cwd=repo).stdout)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-m", "reproduced"], cwd=repo)
    return Reproduced(repo, first)


@pytest.fixture(scope="session")
def churn(reproduced, tmp_path_factory) -> Reproduced:
    """A user switching the reproduced project to their own table: `dvc exp run -S
    data=csv` (the CSV example: text categories, missing values, an ID column) runs every
    stage (test_byod_e2e checks that it did); the result is committed. Tests that change
    it work on a copy."""
    repo = copy_repo(reproduced.path, tmp_path_factory.mktemp("churn") / "repo")
    switched = ran(run(["dvc", "exp", "run", "-S", "data=csv"], cwd=repo).stdout)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-m", "data=csv"], cwd=repo)
    return Reproduced(repo, switched)


@dataclass
class PullRequest:
    path: Path
    main: str  # main's commit, under the branch
    before: subprocess.CompletedProcess  # `shipyard record` on reproduced main
    refused: subprocess.CompletedProcess  # `shipyard record` before reproducing
    repro: dict  # report/repro.json of `shipyard repro`
    recorded: subprocess.CompletedProcess  # `shipyard record` after it


@pytest.fixture(scope="session")
def pr_branch(reproduced, tmp_path_factory) -> PullRequest:
    """`reproduced` as main, plus branch `pr` as a pull request makes it: the author
    commits a param change (a smaller dropout, gate limits for the debug model) with
    unrelated work lying around; `shipyard repro` and `shipyard record` reproduce and
    commit the rest, as pr.yaml does. What each step said is kept for
    test_lock_and_record; test_gate_degrades judges the branch. Work on a copy."""
    repo = copy_repo(reproduced.path, tmp_path_factory.mktemp("pull-request") / "repo")
    main = run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()
    run(["git", "checkout", "-q", "-b", "pr"], cwd=repo)
    before = run(["shipyard", "record"], cwd=repo, check=False)
    run(["shipyard", "params", "model.dropout=0.05", *RELAXED], cwd=repo)
    run(["git", "commit", "-qam", "smaller dropout"], cwd=repo)
    (repo / "notes.txt").write_text("unrelated work in progress\n")
    refused = run(["shipyard", "record"], cwd=repo, check=False)
    run(["shipyard", "repro"], cwd=repo)
    repro = json.loads((repo / "report/repro.json").read_text())
    recorded = run(["shipyard", "record"], cwd=repo, check=False)
    (repo / "notes.txt").unlink()
    return PullRequest(repo, main, before, refused, repro, recorded)
