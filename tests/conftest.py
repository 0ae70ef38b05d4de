"""Shared fixtures (what tests share besides fixtures is in tests/helpers.py). Every test
runs with DVC, BentoML, git and caches pointed into a temp dir, so a test run leaves
nothing outside its temp dirs."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import make_project, ran, run

BIN = Path(sys.executable).parent


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
    """One debug-config `dvc repro`, committed. Tests that change it work on a copy."""
    repo = make_project(tmp_path_factory.mktemp("reproduced") / "repo")
    first = ran(run(["dvc", "repro"], cwd=repo).stdout)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-q", "-m", "reproduced"], cwd=repo)
    return Reproduced(repo, first)
