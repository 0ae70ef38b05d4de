"""Deploy strategies: every overlay, and every step make applies, renders (the real
`kubectl kustomize`) to resources valid for three Kubernetes versions and every rule; each
broken fixture (tests/fixtures/deploy/<rule>) is rejected naming its rule; the probes
point at routes BentoML serves; `make rollback` against a bare origin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from shipyard.gitops import deploy
from shipyard.gitops.registry import good_chain
from tests.helpers import MAKE, ROOT, toy_bundle

OVERLAYS = ROOT / "deploy" / "overlays"
FIXTURES = ROOT / "tests" / "fixtures" / "deploy"


def validate(*targets: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "shipyard.cli", "validate-deploy", *map(str, targets)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)


def test_every_overlay_passes():
    assert sorted(p.name for p in OVERLAYS.iterdir()) == sorted(deploy.STRATEGIES)
    done = validate()
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("valid for Kubernetes 1.33, 1.34, 1.35") == len(deploy.STRATEGIES)


@pytest.mark.parametrize("rule", sorted(p.name for p in FIXTURES.iterdir()))
def test_a_broken_fixture_fails_naming_its_rule(rule):
    done = validate(FIXTURES / rule)
    assert done.returncode != 0
    named = {
        line.split("[", 1)[1].split("]")[0] for line in done.stderr.splitlines() if "[" in line
    }
    assert named == {rule}, done.stderr


def test_probes_are_routes_bentoml_serves():
    from bentoml._internal.server.base_app import BaseAppFactory

    app = SimpleNamespace(livez=None, readyz=None, metrics=None)
    paths = {route.path for route in BaseAppFactory.get_system_routes(app)}
    assert {deploy.LIVENESS, deploy.READINESS} <= paths


def planned(
    strategy: str, phase: str, at: Path, live: str = "blue", image: str = "img"
) -> tuple[deploy.Step, list[dict]]:
    """The step as make plans it, from `at`/build/deploy, and its render."""
    out = at / "build" / "deploy"
    out.mkdir(parents=True)
    overlays = os.path.relpath(OVERLAYS, out)  # kustomize takes no absolute resource
    step = deploy.plan(strategy, phase, image, "new", "old", overlays, live)
    (out / "kustomization.yaml").write_text(yaml.safe_dump(step.kustomization))
    return step, deploy.render(out)


def images(resources: list[dict]) -> dict[str, list[str]]:
    return {
        r["metadata"]["name"]: [
            c["image"]
            for key in ("initContainers", "containers")
            for c in r["spec"]["template"]["spec"].get(key, [])
        ]
        for r in resources
        if r["kind"] == "Deployment"
    }


def selectors(resources: list[dict]) -> dict[str, dict]:
    return {
        r["metadata"]["name"]: r["spec"]["selector"] for r in resources if r["kind"] == "Service"
    }


@pytest.mark.parametrize("strategy", deploy.STRATEGIES)
@pytest.mark.parametrize("phase", deploy.PHASES)
def test_every_step_renders_valid(strategy, phase, tmp_path):
    step, resources = planned(strategy, phase, tmp_path, "green", "ghcr.io/acme/x")
    assert deploy.check(resources) == []
    every = {image for found in images(resources).values() for image in found}
    assert every <= {"ghcr.io/acme/x:new", "ghcr.io/acme/x:old"}  # no placeholder left
    waited = {f"deployment/{name}" for name in images(resources)}
    # a rolling release was checked when it rolled out: promoting it waits for nothing
    assert set(step.rollouts) == (set() if (strategy, phase) == ("rolling", "promote") else waited)


def test_steps_put_the_right_version_where_it_answers(tmp_path):
    def step(strategy, phase, live="blue"):
        return planned(strategy, phase, tmp_path / f"{strategy}-{phase}-{live}", live)

    s, r = step("canary", "deploy")
    assert images(r) == {"shipyard": ["img:old"], "shipyard-canary": ["img:new"]}
    assert (s.smoke_via, s.smoke_version) == ("shipyard-canary", "new")
    s, r = step("canary", "promote")
    assert images(r) == {"shipyard": ["img:new"]} and "deployment/shipyard-canary" in s.prune
    s, r = step("canary", "abort")
    assert images(r) == {"shipyard": ["img:old"]} and s.smoke_version == "old"
    s, r = step("shadow", "deploy")
    assert images(r) == {"shipyard": ["img:new", "img:old"]}  # the candidate, then stable
    assert s.smoke_version == "old"  # stable answers; the candidate only logs
    s, r = step("blue-green", "deploy", live="blue")
    assert images(r) == {"shipyard-blue": ["img:old"], "shipyard-green": ["img:new"]}
    assert selectors(r)["shipyard"]["slot"] == "blue"
    assert selectors(r)["shipyard-preview"]["slot"] == "green"
    assert s.smoke_via == "shipyard-preview"
    s, r = step("blue-green", "promote", live="blue")
    assert selectors(r)["shipyard"]["slot"] == "green"  # switched to the new slot
    assert images(r)["shipyard-blue"] == ["img:old"]  # kept, to switch back at once
    s, r = step("blue-green", "abort", live="blue")
    assert selectors(r)["shipyard"]["slot"] == "blue"
    assert images(r) == {"shipyard-blue": ["img:old"], "shipyard-green": ["img:old"]}
    # a first release: nothing in prod, the candidate is stable too
    s = deploy.plan("canary", "deploy", "img", "new", None)
    assert {i["newTag"] for i in s.kustomization["images"]} == {"new"}


def test_plan_refuses_unknown_names():
    for strategy, phase, slot, wrong in (
        ("blue", "deploy", "blue", "strategy 'blue'"),
        ("canary", "ship", "blue", "phase 'ship'"),
        ("canary", "deploy", "red", "live slot 'red'"),
    ):
        with pytest.raises(ValueError, match=wrong):
            deploy.plan(strategy, phase, "img", "a", "b", live_slot=slot)


def test_the_good_chain_drops_versions_rolled_back_from():
    assert good_chain(["v1", "v2", "v3"]) == ["v1", "v2", "v3"]
    assert good_chain(["v1", "v2", "v3", "v2"]) == ["v1", "v2"]  # v3 was rolled back
    assert good_chain(["v1", "v2", "v3", "v2", "v1", "v4"]) == ["v1", "v4"]
    assert good_chain(["v1", "v1"]) == ["v1"]


# --- make rollback against a bare origin ---------------------------------------------

KUBECTL_STUB = """#!/usr/bin/env python3
import json, os, shutil, sys
from pathlib import Path
log = Path(os.environ["STUB_DIR"])
with (log / "calls.jsonl").open("a") as out:
    out.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["apply", "-k"]:
    shutil.copy(Path(sys.argv[3]) / "kustomization.yaml", log / "applied.yaml")
"""


class Cluster(BaseHTTPRequestHandler):
    """The Service, as the smoke test sees it: answers from whatever version `serving` is."""

    serving = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps([{"label": "no", "model_version": Cluster.serving}]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_make_rollback_moves_prod_to_the_previous_good_version(tmp_path):
    identity = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "kubectl").write_text(KUBECTL_STUB)
    (stub / "kubectl").chmod(0o755)
    env = {
        **os.environ,
        **identity,
        "STUB_DIR": str(stub),
        "PATH": f"{stub}{os.pathsep}{os.environ['PATH']}",
    }
    origin, repo = tmp_path / "origin.git", tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    subprocess.run(["git", "clone", "-q", str(origin), str(repo)], check=True, env=env)
    for name in ("Makefile", "deploy", "requirements"):
        (repo / name).symlink_to(ROOT / name)
    toy_bundle(repo / "models")

    def sh(*cmd: str) -> str:
        done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
        return done.stdout

    for version in ("m1", "m2", "m3"):  # three releases, each registered and promoted
        (repo / "version.txt").write_text(version)
        sh("git", "add", "version.txt")
        sh("git", "commit", "-q", "-m", version)
        sh("git", "push", "-q", "origin", "HEAD")
        sh("gto", "register", "shipyard", "--push", "--message", version)
        sh("gto", "assign", "shipyard", "--stage", "prod", "--push", "--message", version)
    m2 = sh("git", "rev-parse", "HEAD~1").strip()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Cluster)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Cluster.serving = "m2"  # what the cluster answers from once rolled back
    try:
        out = sh(
            *MAKE,
            "rollback",
            "IMAGE=ghcr.io/acme/shipyard",
            f"DEPLOY_URL=http://127.0.0.1:{server.server_port}",
        )
    finally:
        server.shutdown()
    assert "rollback: prod is m2, image ghcr.io/acme/shipyard:m2" in out
    tags = sh("git", "ls-remote", "--tags", str(origin))
    prod = [line.split()[0] for line in tags.splitlines() if "shipyard#prod#4^{}" in line]
    assert prod == [m2]  # the 4th prod assignment, on the commit that registered m2
    subject = sh("git", "for-each-ref", "refs/tags/shipyard#prod#4", "--format=%(contents:subject)")
    assert subject.strip() == "m2"
    applied = yaml.safe_load((stub / "applied.yaml").read_text())
    assert applied["images"] == [
        {"name": "shipyard", "newName": "ghcr.io/acme/shipyard", "newTag": "m2"}
    ]
    # once more: m3 was rolled back from, so the one before m2 is m1
    assert sh("shipyard", "rollback-target").split() == [
        sh("git", "rev-parse", "HEAD~2").strip(),
        "m1",
    ]
