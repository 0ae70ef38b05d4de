"""The GitOps loop driven by the workflows themselves: pr.yaml's and release.yaml's steps
run in order, with the env they set (tests/workflow_runner.py), against a bare git origin,
the loopback S3 server as DVC remote and a loopback stand-in for GitHub's status API.

One story, in order: a same-repo pull request changes a param (the bot records the
reproduction on the branch); the workflow runs again on the bot's commit (nothing
executes); a fork's pull request (no secrets); the merge is released (the version served is
the one the pull request reported); a README-only push releases nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from shipyard.serving.run import free_port
from tests.helpers import GATE, ROOT, copy_repo, run
from tests.servers import BUCKET
from tests.workflow_runner import Job, Runner, venv_make_flags

pytestmark = pytest.mark.slow

WORKFLOWS = ROOT / ".github" / "workflows"
REPOSITORY = "acme/shipyard"
BOT = "github-actions[bot]"


class StatusAPI(BaseHTTPRequestHandler):
    """GitHub's `POST /repos/{repo}/statuses/{sha}`, recorded."""

    posted: list[tuple[str, dict, str]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        StatusAPI.posted.append((self.path, body, self.headers.get("Authorization", "")))
        self.send_response(201)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Loop:
    runner: Runner
    origin: Path
    dev: Path  # the developer's clone
    shim: Path
    api: str
    variables: dict[str, str]
    secrets: dict[str, str]

    def github_pr(self, number: int, branch: str, sha: str, head_repo: str) -> dict:
        return {
            **self.github_common(),
            "event_name": "pull_request",
            "base_ref": "main",
            "head_ref": branch,
            "ref": f"refs/pull/{number}/merge",
            "event": {
                "pull_request": {
                    "number": number,
                    "head": {"sha": sha, "repo": {"full_name": head_repo}},
                }
            },
        }

    def github_common(self) -> dict:
        return {
            "repository": REPOSITORY,
            "server_url": "https://github.com",
            "api_url": self.api,
            "run_id": 7,
            "token": "ghs-test-token",
            "actor": "maintainer",
        }

    def pr(self, number: int, branch: str, fork: bool = False) -> Job:
        sha = run(["git", "rev-parse", "HEAD"], cwd=self.dev).stdout.strip()
        head_repo = "someone/shipyard" if fork else REPOSITORY
        return self.runner.run_job(
            WORKFLOWS / "pr.yaml",
            "report",
            self.github_pr(number, branch, sha, head_repo),
            {} if fork else self.variables,  # a fork's pull request: no variables,
            {} if fork else self.secrets,  # no secrets
        )

    def on_push_to_main(self, workflow: str, job: str) -> Job:
        sha = git(self.origin, "rev-parse", "main")
        github = {**self.github_common(), "event_name": "push", "ref": "refs/heads/main"}
        return self.runner.run_job(
            WORKFLOWS / workflow, job, {**github, "sha": sha}, self.variables, self.secrets
        )

    def release(self) -> Job:
        return self.on_push_to_main("release.yaml", "release")

    def main_cache(self) -> Job:
        """ci.yaml's job that saves main's DVC cache for pull requests to restore."""
        return self.on_push_to_main("ci.yaml", "dvc-cache")

    def calls(self, tool: str) -> list[list[str]]:
        lines = (self.shim / "calls.jsonl").read_text().splitlines()
        return [call for call in map(json.loads, lines) if call[0] == tool]


def git(repo: Path, *args: str) -> str:
    return run(["git", *args], cwd=repo).stdout.strip()


def commit(repo: Path, message: str, *paths: str) -> None:
    run(["git", "add", *paths], cwd=repo)
    run(
        [
            "git",
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "commit",
            "-q",
            "-m",
            message,
        ],
        cwd=repo,
    )


def no_traceback(job: Job) -> None:
    for step in job.steps:
        assert "Traceback" not in step.output, f"{step.name}:\n{step.output[-3000:]}"


@pytest.fixture(scope="module")
def loop(reproduced, s3_remote, tmp_path_factory) -> Iterator[Loop]:
    root = tmp_path_factory.mktemp("loop")
    # main, reproduced and pushed to the remote by the pull request that made it
    seed = copy_repo(reproduced.path, root / "seed")
    s3_remote(seed)
    run(["dvc", "push", "--run-cache", "-q"], cwd=seed)
    origin = root / "origin.git"
    run(["git", "clone", "-q", "--bare", str(seed), str(origin)], cwd=root)
    dev = root / "dev"
    run(["git", "clone", "-q", str(origin), str(dev)], cwd=root)

    shim = root / "shim"
    shim.mkdir()
    (shim / "calls.jsonl").write_text("")
    no_identity = root / "empty.gitconfig"  # a runner has no git identity
    no_identity.write_text("")
    deploy_port = free_port()
    env = {
        **os.environ,
        "PATH": f"{ROOT / 'tests' / 'shims'}{os.pathsep}{os.environ['PATH']}",
        "MAKEFLAGS": venv_make_flags(),
        "GIT_CONFIG_GLOBAL": str(no_identity),
        "SHIM_DIR": str(shim),
        "SHIM_DEPLOY_PORT": str(deploy_port),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    loop = Loop(
        runner=Runner(origin=origin, home=root / "runner", env=env),
        origin=origin,
        dev=dev,
        shim=shim,
        api=f"http://127.0.0.1:{server.server_port}",
        variables={
            "DVC_S3_URL": f"s3://{BUCKET}/dvcstore",
            "DVC_S3_ENDPOINT": s3_remote.endpoint,
            "DEPLOY_URL": f"http://127.0.0.1:{deploy_port}",
        },
        secrets={
            "AWS_ACCESS_KEY_ID": s3_remote.key,
            "AWS_SECRET_ACCESS_KEY": s3_remote.secret,
            "KUBECONFIG": "apiVersion: v1\nkind: Config\n",
        },
    )
    loop.runner.home.mkdir()
    cached = loop.main_cache()
    assert cached.ran and cached.failed == [], cached.output_of("")[-3000:]
    yield loop
    server.shutdown()
    pid = shim / "served.pid"
    if pid.exists():
        os.killpg(int(pid.read_text()), signal.SIGTERM)


@pytest.fixture(scope="module")
def pull_request(loop) -> tuple[Job, str]:
    """Scenario 1: a same-repo pull request changes a param and commits only params.yaml."""
    run(["git", "checkout", "-q", "-b", "smaller-dropout"], cwd=loop.dev)
    run(["shipyard", "params", "model.dropout=0.05", *GATE], cwd=loop.dev)
    commit(loop.dev, "Smaller dropout", "params.yaml")
    run(["git", "push", "-q", "origin", "smaller-dropout"], cwd=loop.dev)
    authored = git(loop.dev, "rev-parse", "HEAD")
    return loop.pr(1, "smaller-dropout"), authored


def test_pull_request_records_its_reproduction(loop, pull_request, tmp_path):
    job, authored = pull_request
    assert job.failed == [], job.output_of("")[-4000:]
    no_traceback(job)
    repro = json.loads((loop.runner.home / "workspace/report/repro.json").read_text())
    assert [s["name"] for s in repro["stages"] if s["status"] == "ran"] == [
        "train",
        "evaluate",
        "package",
    ]

    # The branch now ends with the bot's commit of the lock, metrics and plots.
    head = git(loop.origin, "rev-parse", "smaller-dropout")
    assert git(loop.origin, "rev-parse", f"{head}^") == authored
    assert git(loop.origin, "log", "-1", "--format=%an", head) == BOT
    changed = git(loop.origin, "diff", "--name-only", authored, head).split()
    assert "dvc.lock" in changed and "reports/evaluate/metrics.json" in changed
    assert all(p == "dvc.lock" or p.startswith(("reports/", "dvclive/")) for p in changed)

    # What the branch's lock names is on the remote: a fresh clone pulls it and is clean.
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "-b", "smaller-dropout", str(loop.origin), str(clone)], cwd=tmp_path)
    assert "check-lock: dvc.lock describes" in run(["shipyard", "check-lock"], cwd=clone).stdout
    run(["dvc", "remote", "add", "--local", "-d", "s3", loop.variables["DVC_S3_URL"]], cwd=clone)
    run(
        [
            "dvc",
            "remote",
            "modify",
            "--local",
            "s3",
            "endpointurl",
            loop.variables["DVC_S3_ENDPOINT"],
        ],
        cwd=clone,
    )
    creds = {
        "AWS_ACCESS_KEY_ID": loop.secrets["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": loop.secrets["AWS_SECRET_ACCESS_KEY"],
    }
    pulled = subprocess.run(
        ["dvc", "pull", "-q"],
        cwd=clone,
        env={**os.environ, **creds},
        capture_output=True,
        text=True,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert json.loads(run(["dvc", "status", "--json"], cwd=clone).stdout or "{}") == {}

    # One comment, as CML would post it, with images on the plots branch (no public host).
    comment = (loop.shim / "comments" / "pr-1.md").read_text()
    assert "**Quality gate: PASSED**" in comment
    assert "| model.dropout | 0.1000 | 0.0500 |" in comment
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", comment)
    sha = authored  # the plots folder: the pull request's head as the event named it
    prefix = f"https://github.com/{REPOSITORY}/raw/shipyard-plots/{sha}/"
    assert images and all(url.startswith(prefix) for url in images)
    published = git(loop.origin, "ls-tree", "-r", "--name-only", "shipyard-plots").split()
    assert sorted(f"{sha}/{url.rsplit('/', 1)[1]}" for url in images) == sorted(published)
    assert comment in job.summary  # the job summary shows the same report

    # The bot's commit carries the verdict (a GITHUB_TOKEN push starts no workflow).
    path, body, auth = StatusAPI.posted[-1]
    assert path == f"/repos/{REPOSITORY}/statuses/{head}"
    assert body["state"] == "success" and body["context"] == "shipyard/pr"
    assert auth == "Bearer ghs-test-token"


def test_rerun_on_the_recorded_branch_executes_nothing(loop, pull_request):
    """Scenario 2: the workflow on the bot's commit (a PAT-triggered run, or an author who
    reproduced and pushed locally) only verifies: no stage executes, nothing is committed."""
    head = git(loop.origin, "rev-parse", "smaller-dropout")
    run(["git", "fetch", "-q", "origin"], cwd=loop.dev)
    run(["git", "checkout", "-q", "-B", "smaller-dropout", "origin/smaller-dropout"], cwd=loop.dev)
    posted = len(StatusAPI.posted)
    job = loop.pr(1, "smaller-dropout")
    assert job.failed == [], job.output_of("")[-4000:]
    repro = json.loads((loop.runner.home / "workspace/report/repro.json").read_text())
    assert repro["stages"] and all(s["status"] != "ran" for s in repro["stages"])
    assert "No stage executed" in (loop.shim / "comments" / "pr-1.md").read_text()
    assert "already committed" in job.output_of("Commit dvc.lock")
    assert git(loop.origin, "rev-parse", "smaller-dropout") == head  # no new commit
    path, body, _ = StatusAPI.posted[-1]  # the verdict, on the head as it is
    assert len(StatusAPI.posted) == posted + 1
    assert path.endswith(f"/statuses/{head}") and body["state"] == "success"


def test_fork_pull_request_reports_without_secrets(loop, pull_request):
    """Scenario 3: no secrets, a read-only token: reproduce, report in the job summary,
    say what is missing; never a traceback."""
    run(["git", "checkout", "-q", "-B", "fork-change", "origin/main"], cwd=loop.dev)
    run(["shipyard", "params", "model.dropout=0.08", *GATE], cwd=loop.dev)
    commit(loop.dev, "A fork's change", "params.yaml")
    run(["git", "push", "-q", "origin", "HEAD:refs/pull/2/head"], cwd=loop.dev)
    branches = git(loop.origin, "for-each-ref", "refs/heads")
    comments = sorted(p.name for p in (loop.shim / "comments").iterdir())

    job = loop.pr(2, "fork-change", fork=True)
    no_traceback(job)
    assert job.failed == [], job.output_of("")[-4000:]
    assert "## Metrics" in job.summary and "From a fork, so not recorded" in job.summary
    assert "](" not in job.summary.split("## Plots", 1)[-1]  # no broken image links
    assert "PNG in the `report` artifact" in job.summary
    assert any((loop.runner.home / "artifacts/report").glob("*.png"))
    assert git(loop.origin, "for-each-ref", "refs/heads") == branches  # pushed nothing
    # main's cache (ci.yaml) gave it main's run cache: only what the change touches ran
    repro = json.loads((loop.runner.home / "workspace/report/repro.json").read_text())
    assert [s["name"] for s in repro["stages"] if s["status"] == "ran"] == [
        "train",
        "evaluate",
        "package",
    ]
    assert "paired bootstrap):" in job.summary  # and the base's predictions for the gate
    assert "paired bootstrap skipped" not in job.summary
    assert sorted(p.name for p in (loop.shim / "comments").iterdir()) == comments


def test_merge_releases_the_reviewed_model_and_a_readme_push_releases_nothing(loop, pull_request):
    """Scenarios 4 and 5."""
    run(["git", "fetch", "-q", "origin"], cwd=loop.dev)
    run(["git", "checkout", "-q", "-B", "main", "origin/main"], cwd=loop.dev)
    run(
        [
            "git",
            "-c",
            "user.name=Maintainer",
            "-c",
            "user.email=m@example.com",
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge #1",
            "origin/smaller-dropout",
        ],
        cwd=loop.dev,
    )
    run(["git", "push", "-q", "origin", "main"], cwd=loop.dev)

    job = loop.release()
    no_traceback(job)
    assert job.failed == [], job.output_of("")[-4000:]
    reported = re.search(
        r"Model version: `([^`]+)`", (loop.shim / "comments" / "pr-1.md").read_text()
    ).group(1)
    assert f"model version {reported} is new" in job.output_of("Is the model version new")
    # Served here (release-local) and "in the cluster" (the deploy's smoke test): that version.
    assert f"from {reported}" in job.output_of("Bento, served")
    assert f"from {reported}" in job.output_of("Deploy")

    image = f"ghcr.io/{REPOSITORY}"
    build = next(c for c in loop.calls("docker") if c[1] in ("build", "buildx"))
    assert f"{image}:{reported}" in build
    assert ["docker", "push", "--all-tags", image] in loop.calls("docker")
    install = (loop.shim / "image-python" / "install.sh").read_text()
    assert "download.pytorch.org/whl/cpu" in install  # the image gets the CPU torch wheel
    applied = yaml.safe_load((loop.shim / "applied-kustomization.yaml").read_text())
    assert applied["resources"] == ["../../deploy/overlays/rolling"]  # the default strategy
    assert applied["images"] == [{"name": "shipyard", "newName": image, "newTag": reported}]
    kubeconfig = loop.runner.home / "workspace/build/kubeconfig"
    assert kubeconfig.read_text() == loop.secrets["KUBECONFIG"]
    assert kubeconfig.stat().st_mode & 0o077 == 0

    tags = git(
        loop.origin,
        "for-each-ref",
        "refs/tags",
        "--format=%(refname:strip=2) %(taggername) %(contents:subject)",
    ).splitlines()
    assert f"shipyard@v0.0.1 {BOT} {reported}" in tags
    # staging on build, then prod (GTO numbers a model's assignments across stages)
    assert [t.split()[0] for t in tags if "#" in t] == ["shipyard#prod#2", "shipyard#staging#1"]

    # Scenario 5: a README edit on main: the model version is already registered.
    docker_calls = len(loop.calls("docker"))
    (loop.dev / "README.md").write_text((loop.dev / "README.md").read_text() + "\nTypo.\n")
    commit(loop.dev, "README typo", "README.md")
    run(["git", "push", "-q", "origin", "main"], cwd=loop.dev)
    job = loop.release()
    assert job.failed == [], job.output_of("")[-4000:]
    assert "nothing to release" in job.output_of("Is the model version new")
    assert {s.name: s.outcome for s in job.steps}["make register"] == "skipped"
    assert len(loop.calls("docker")) == docker_calls
    assert git(
        loop.origin, "for-each-ref", "refs/tags", "--format=%(refname:strip=2)"
    ).split() == sorted(t.split()[0] for t in tags)


def test_release_runs_only_after_ci_passed_on_main():
    ci = yaml.safe_load((WORKFLOWS / "ci.yaml").read_text())
    release = ci["jobs"]["release"]
    assert release["needs"] == "test"
    assert release["uses"].endswith(".github/workflows/release.yaml")
    assert "refs/heads/main" in release["if"] and "push" in release["if"]
    # release.yaml is only ever called (after the tests), never triggered on its own
    assert list(yaml.safe_load((WORKFLOWS / "release.yaml").read_text())[True]) == ["workflow_call"]
