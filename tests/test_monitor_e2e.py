"""The loop that closes on production, end to end with the real parts: the service on
loopback logs what it is asked and the labels sent back; `make monitor` judges the newest
window; `make drift-issue` and `make retrain-pr` act on its decision against a bare git
origin, the project's DVC remote and a loopback GitHub API.

1. in-distribution rows (drawn from the training table), labelled truly: no drift, nothing opened;
2. shifted rows, a third of their labels flipped: drift found, one retraining branch with
   the new labelled rows as a DVC-tracked partition, one pull request; the branch
   reproduces and the gate runs on it;
3. again with nothing new: no new commit, no second pull request.
"""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from shipyard.monitor.shift import flip_labels, mean_shift
from tests.helpers import copy_repo, run
from tests.servers import bentoml_serve
from tests.workflow_runner import venv_make_flags

pytestmark = pytest.mark.slow
REPOSITORY = "octo/shipyard"
BRANCH = "shipyard/retrain"


class GitHubAPI(BaseHTTPRequestHandler):
    """Issues and pulls of one repository, in memory; every call recorded."""

    calls: list[tuple[str, str, dict]] = []
    open_items: dict[str, list[dict]] = {"issues": [], "pulls": []}

    def _answer(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _kind(self) -> str:
        return self.path.split("?")[0].split("/")[4]  # /repos/{owner}/{repo}/{kind}

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, {}))
        self._answer(200, self.open_items[self._kind()])

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("POST", self.path, body))
        made = {"number": len(self.calls)}
        self.open_items[self._kind()].append(made)
        self._answer(201, made)

    def do_PATCH(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(("PATCH", self.path, body))
        self._answer(200, {})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def github():
    GitHubAPI.calls, GitHubAPI.open_items = [], {"issues": [], "pulls": []}
    server = ThreadingHTTPServer(("127.0.0.1", 0), GitHubAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def make(repo: Path, env: dict[str, str], *targets: str) -> str:
    flags = {"MAKEFLAGS": venv_make_flags()}
    return run(["make", "--no-print-directory", *targets], cwd=repo, env={**env, **flags}).stdout


def replay(url: str, rows: list[dict], labels: list) -> int:
    """POST the rows in requests of 50, then each row's label to /feedback, as a client
    would, by the x-request-id /predict answered. Returns the rows joined."""
    sent = 0
    for start in range(0, len(rows), 50):
        chunk = rows[start : start + 50]
        answer = httpx.post(f"{url}/predict", json={"rows": chunk}, timeout=30)
        assert answer.status_code == 200, answer.text
        request_id = answer.headers["x-request-id"]
        items = [
            {"request_id": request_id, "row": i, "label": label}
            for i, label in enumerate(labels[start : start + 50])
        ]
        told = httpx.post(f"{url}/feedback", json={"feedback": items}, timeout=30)
        assert told.status_code == 200, told.text
        sent += len(items)
    return sent


def test_served_traffic_to_one_retraining_pull_request(reproduced, tmp_path, github):
    repo = copy_repo(reproduced.path, tmp_path / "repo")
    origin = tmp_path / "origin.git"
    run(["git", "clone", "-q", "--bare", str(repo), str(origin)], cwd=tmp_path)
    run(["git", "remote", "add", "origin", str(origin)], cwd=repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    # in distribution by construction: rows drawn from the table the model was built from
    # (the test split alone is one fixed sample, which may by chance differ in a column)
    n = 300
    raw = pd.read_parquet(repo / "data/raw/dataset.parquet").sample(n, random_state=0)
    target = params["data"]["target"]
    labels = raw.pop(target).tolist()
    rows = raw.astype(object).where(raw.notna(), None).to_dict("records")
    # the monitor's window: the newest half of a replay; its section is no stage's param
    params["monitor"].update(window_rows=n, min_rows=n // 2, min_labels=n // 2)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "commit", "-qam", "monitoring window for the drill"], cwd=repo)
    run(["git", "push", "-q", "origin", "HEAD:main"], cwd=repo)
    state = tmp_path / "state"
    env = {
        "SHIPYARD_BUNDLE": str(repo / "models/bundle"),
        "SHIPYARD_STATE_DIR": str(state),
        "SHIPYARD_PARAMS": str(repo / "params.yaml"),
    }
    logs = {
        "LOG": str(state / params["serve"]["prediction_log"]["path"]),
        "FEEDBACK": str(state / params["serve"]["feedback_log"]["path"]),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": github,
        "GITHUB_TOKEN": "ghs-test",
    }
    in_distribution = rows, labels
    frame = pd.DataFrame(rows)
    shifted = frame
    for column in [c for c in frame.columns if frame[c].std() > 0][:8]:
        shifted = mean_shift(shifted, column, k=1.0)
    shifted_rows = shifted.astype(object).where(shifted.notna(), None).to_dict("records")
    flipped = flip_labels(labels, 1 / 3, params["data"]["labels"], np.random.default_rng(0))

    with bentoml_serve(
        "shipyard.serving.service:Predictor", repo, env, tmp_path / "server.log"
    ) as url:
        assert replay(url, *in_distribution) == n
        said = make(repo, {**os.environ, **logs}, "monitor", "drift-issue", "retrain-pr")
        report = json.loads((repo / "reports/monitoring/report.json").read_text())
        assert report["drift"]["verdict"] == "no drift", report["drift"].get("drifted")
        assert report["feedback"]["join_rate"] >= 0.99
        assert report["decision"]["action"] == "none", said
        assert "nothing to do" in said and GitHubAPI.calls == []

        replay(url, shifted_rows, [x.item() if hasattr(x, "item") else x for x in flipped])
    said = make(repo, {**os.environ, **logs}, "monitor", "drift-issue", "retrain-pr")
    report = json.loads((repo / "reports/monitoring/report.json").read_text())
    assert report["drift"]["verdict"] == "drift"
    assert report["feedback"]["labelled_rows"] == n and report["feedback"]["join_rate"] >= 0.99
    assert report["decision"]["action"] == "retrain", report["decision"]
    assert list((repo / "reports/monitoring").glob("*.png"))
    pulls = [c for c in GitHubAPI.calls if c[0] == "POST"]
    assert [(p[1], p[2]["head"], p[2]["base"]) for p in pulls] == [
        (f"/repos/{REPOSITORY}/pulls", BRANCH, "main")
    ]
    assert "Monitoring: drift" in pulls[0][2]["body"]
    tip = run(["git", "rev-parse", BRANCH], cwd=origin).stdout.strip()
    # the workspace is back on main, without the branch's data
    assert run(["git", "status", "--porcelain"], cwd=repo).stdout.strip() == ""
    assert not list((repo / "data/feedback").glob("*.parquet"))

    # 3. nothing new: the same decision, but no commit and no second pull request
    said = make(repo, {**os.environ, **logs}, "monitor", "retrain-pr")
    assert "nothing new" in said
    assert run(["git", "rev-parse", BRANCH], cwd=origin).stdout.strip() == tip
    assert len([c for c in GitHubAPI.calls if c[0] == "POST"]) == 1

    # the branch as the pull-request workflow gets it: its partition, reproduced, gated
    run(["git", "checkout", "-q", BRANCH], cwd=repo)
    (partition,) = (repo / "data/feedback").glob("*.parquet.dvc")
    run(["dvc", "checkout", "--quiet", str(partition)], cwd=repo)
    make(repo, dict(os.environ), "repro")
    raw = pd.read_parquet(repo / "data/raw/dataset.parquet")
    assert len(raw) == len(pd.read_parquet(reproduced.path / "data/raw/dataset.parquet")) + n
    gate = run(
        ["make", "--no-print-directory", "gate"],
        cwd=repo,
        check=False,
        env={**os.environ, "MAKEFLAGS": venv_make_flags()},
    )
    verdict = json.loads((repo / "report/gate.json").read_text())
    assert gate.returncode == (0 if verdict["passed"] else 2), gate.stdout + gate.stderr
