"""Shared fixtures. Every test runs with DVC, BentoML, git and caches pointed into a temp dir,
so a test run leaves nothing outside its temp dirs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["ingest", "validate", "featurize", "train", "baseline", "evaluate", "package"]
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


def standard_features(val_size: float = 0.2, test_size: float = 0.2):
    """conf/features/standard.yaml itself, with a split for small test tables."""
    from omegaconf import OmegaConf

    from shipyard.config import FeaturesConfig, validated

    node = OmegaConf.load(ROOT / "conf/features/standard.yaml")
    node.split = {"val_size": val_size, "test_size": test_size}
    return validated(FeaturesConfig, node, "standard.yaml")


def data_config(**fields: Any):
    """A DataConfig for small in-memory tables: a classification toy unless told otherwise."""
    from shipyard.config import DataChecks, DataConfig

    defaults: dict[str, Any] = dict(
        name="toy",
        task="classification",
        source={},
        target="target",
        labels=["no", "yes"],
        numeric_features=["a", "b"],
        checks=DataChecks(min_rows=1, min_rows_per_class=1),
    )
    return DataConfig(**{**defaults, **fields})


def run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """A command as a user would type it; output kept for assertions and failure messages."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def make_project(dest: Path, overrides: tuple[str, ...] = ()) -> Path:
    """The project as a fresh one-commit git repository, on the debug config."""
    from shipyard.sandbox import copy_project

    return copy_project(ROOT, dest, overrides, debug=True)


@dataclass
class S3Server:
    """A real S3 server on loopback."""

    endpoint: str
    key: str
    secret: str

    def __call__(self, repo: Path) -> None:
        """Make it the repo's default DVC remote (`s3`), credentials in .dvc/config.local,
        as a user would keep them out of git."""
        from tests.servers import BUCKET

        url = f"s3://{BUCKET}/dvcstore"
        run(["dvc", "remote", "add", "--local", "-f", "-d", "s3", url], cwd=repo)
        for option, value in (
            ("endpointurl", self.endpoint),
            ("access_key_id", self.key),
            ("secret_access_key", self.secret),
        ):
            run(["dvc", "remote", "modify", "--local", "s3", option, value], cwd=repo)


@pytest.fixture(scope="session")
def s3_remote(tmp_path_factory):
    """A real loopback S3 server; call it with a repo to make it that repo's remote."""
    from tests import servers

    key, secret = "shipyard-key", "shipyard-secret"
    proc, endpoint = servers.serve_s3(tmp_path_factory.mktemp("s3"), key, secret)
    yield S3Server(endpoint, key, secret)
    proc.terminate()
    proc.wait(timeout=10)


def ran(output: str) -> list[str]:
    """The stages a dvc command ran, in order."""
    return re.findall(r"Running stage '(\w+)'", output)


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
