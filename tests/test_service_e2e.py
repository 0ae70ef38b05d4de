"""The real service: `make bento`, `bentoml serve <tag>` on loopback, HTTP requests."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml

from shipyard.pipeline.bundle import read_schema
from shipyard.serving.schema import body_limit
from tests.helpers import MAKE, copy_repo, load_test_rows, predict, run
from tests.servers import bentoml_serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(reproduced, tmp_path_factory) -> Path:
    return copy_repo(reproduced.path, tmp_path_factory.mktemp("service") / "repo")


@pytest.fixture(scope="module")
def bento(project) -> str:
    out = run([*MAKE, "bento"], cwd=project).stdout
    return next(line for line in out.splitlines() if line.startswith("__tag__:")).split(":", 1)[1]


@pytest.fixture(scope="module")
def server(bento, project, tmp_path_factory):
    """The bento served as a deployment would: the log's relative path (params.yaml's
    serve.prediction_log.path) under SHIPYARD_STATE_DIR; a 1 s body timeout (the default
    is 5 s) to keep the slow-client test short."""
    logs = tmp_path_factory.mktemp("state")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["serve"]["body_timeout_s"] = 1
    (logs / "params.yaml").write_text(yaml.safe_dump(params))
    env = {"SHIPYARD_STATE_DIR": str(logs), "SHIPYARD_PARAMS": str(logs / "params.yaml")}
    with bentoml_serve(bento, project, env, logs / "server.log") as url:
        yield url, logs / params["serve"]["prediction_log"]["path"]


def test_served_bento_predicts_exactly_what_evaluate_saved(server, project):
    url, _ = server
    rows, expected = load_test_rows(project)
    got = []
    for start in range(0, len(rows), 100):  # several requests, so batching merges some
        response = predict(url, rows[start : start + 100])
        assert response.status_code == 200, response.text
        got += [p["label"] for p in response.json()]
    assert got == expected
    one = predict(url, rows[:1]).json()[0]
    card = json.loads((project / "models/bundle/card.json").read_text())
    assert one["model_version"] == card["version"]
    assert sum(one["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_bento_carries_model_labels_and_a_dockerfile(bento, project):
    # rich wraps a long path at the terminal's width: a path has no line breaks of its own
    out = run(["bentoml", "get", bento, "-o", "path"], cwd=project).stdout
    bentos = Path("".join(out.splitlines()).strip())
    dockerfile = (bentos / "env/docker/Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "env/python/install.sh" in dockerfile
    assert (bentos / "env/python/wheels/shipyard-0.1.0-py3-none-any.whl").exists()
    requirements = (bentos / "env/python/requirements.txt").read_text()
    assert "torch==2.13.0" in requirements and "bentoml==" in requirements
    info = yaml.safe_load((bentos / "bento.yaml").read_text())
    model_tag = info["models"][0]["tag"]
    model = json.loads(
        run(["bentoml", "models", "get", model_tag, "-o", "json"], cwd=project).stdout
    )
    card = json.loads((project / "models/bundle/card.json").read_text())
    assert model["labels"]["version"] == card["version"]
    assert model["labels"]["model"] == card["model"]  # the MLP or the baseline: it ships
    assert float(model["labels"]["mlp.accuracy"]) == pytest.approx(
        card["metrics"]["mlp"]["accuracy"], abs=1e-4
    )
    assert info["labels"]["model_version"] == card["version"]
    # the commit is stamped on the bento at release, never into the (hashed) bundle
    head = run(["git", "rev-parse", "--short", "HEAD"], cwd=project).stdout.strip()
    assert info["labels"]["git_commit"] == head
    assert "git_commit" not in model["labels"]
    # the image installs torch from the CPU wheels, not PyPI's CUDA build
    assert "download.pytorch.org/whl/cpu" in (bentos / "env/python/install.sh").read_text()


def test_each_prediction_is_logged_with_request_id(server, project):
    url, log = server
    rows, _ = load_test_rows(project)
    response = predict(url, rows[:2], headers={"x-request-id": "req-logged-42"})
    assert response.headers["x-request-id"] == "req-logged-42"
    mine = logged(log, "req-logged-42", expected=2)
    assert [line["row"] for line in mine] == [0, 1]
    assert mine[0]["input"] == rows[0]
    assert mine[0]["output"]["label"] == response.json()[0]["label"]
    assert mine[0]["model_version"] == response.json()[0]["model_version"]
    assert mine[0]["latency_ms"] > 0


def logged(log: Path, request_id: str, expected: int, timeout: float = 10.0) -> list[dict]:
    """The log lines of one request. They are written just after the response is sent
    (so logging and shadow runs never delay an answer): wait for them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        mine = [line for line in lines if line.get("request_id") == request_id]
        if len(mine) >= expected or time.monotonic() > deadline:
            return mine
        time.sleep(0.05)


def malformed(features: list[str], row: dict, max_rows: int) -> dict[str, tuple[object, str]]:
    """name -> (request body: a JSON-able object, or raw bytes; what the 400 must name)."""
    first = features[0]
    without = {k: v for k, v in row.items() if k != first}
    # max_rows + 1 rows within the body limit: whole numbers, compact JSON
    small = {k: int(v) for k, v in row.items()}
    many = json.dumps({"rows": [small] * (max_rows + 1)}, separators=(",", ":")).encode()
    return {
        "missing feature": ({"rows": [without]}, first),
        "extra feature": ({"rows": [{**row, "colour": 1.0}]}, "colour"),
        "misspelled feature": ({"rows": [{**without, first.upper(): 1.0}]}, first.upper()),
        "text value": ({"rows": [{**row, first: "abc"}]}, first),
        "numeric string": ({"rows": [{**row, first: "1.5"}]}, first),
        "boolean value": ({"rows": [{**row, first: True}]}, first),
        "null value": ({"rows": [{**row, first: None}]}, first),
        "nested value": ({"rows": [{**row, first: {"v": 1}}]}, first),
        "NaN": (json.dumps({"rows": [{**row, first: float("nan")}]}).encode(), "JSON"),
        "Infinity": (json.dumps({"rows": [{**row, first: float("inf")}]}).encode(), "JSON"),
        "beyond 64 bits": (
            json.dumps({"rows": [{**row, first: 0.5}]}).replace("0.5", "9" * 30).encode(),
            first,
        ),
        "value out of range": ({"rows": [{**row, first: 1e300}]}, first),
        "empty rows": ({"rows": []}, "rows"),
        "too many rows": (many, f"at most {max_rows}"),
        "rows not a list": ({"rows": row}, "rows"),
        "row not an object": ({"rows": [list(row.values())]}, "rows"),
        "no rows key": ({"instances": [row]}, "rows"),
        "top-level array": ([row], "rows"),
        "invalid JSON": (b'{"rows": [', "JSON"),
        "empty body": (b"", "JSON"),
        "not UTF-8": (b'{"rows": "\xff\xfe"}', "JSON"),
    }


def test_malformed_requests_get_a_400_naming_what_is_wrong(server, project):
    url, _ = server
    rows, _ = load_test_rows(project)
    schema = json.loads((project / "models/bundle/schema.json").read_text())
    max_rows = yaml.safe_load((project / "params.yaml").read_text())["serve"]["max_rows"]
    for name, (body, named) in malformed(schema["features"], rows[0], max_rows).items():
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = httpx.post(
            f"{url}/predict",
            content=content,
            timeout=30,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400, f"{name}: {response.status_code} {response.text[:300]}"
        assert named in response.json()["error"] + json.dumps(response.json().get("detail")), (
            f"{name}: {response.text[:500]}"
        )
    for method in ("GET", "PUT", "OPTIONS"):  # not a prediction: an immediate 4xx
        response = httpx.request(method, f"{url}/predict", timeout=5)
        assert 400 <= response.status_code < 500, method
    assert httpx.get(f"{url}/readyz").status_code == 200


def test_oversized_bodies_get_413_declared_or_streamed(server, project):
    url, _ = server
    # the default limit: sized from serve.max_rows and the model's columns
    max_rows = yaml.safe_load((project / "params.yaml").read_text())["serve"]["max_rows"]
    limit = body_limit(read_schema(project / "models/bundle"), max_rows)
    big = b'{"rows": [' + b"1," * (limit // 2) + b"1]}"
    response = httpx.post(
        f"{url}/predict", content=big, timeout=30, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and str(limit) in response.json()["error"]

    target = urlparse(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    chunks = (b"x" * 65536 for _ in range(limit // 65536 + 2))  # no Content-Length
    conn.request(
        "POST",
        "/predict",
        body=chunks,
        encode_chunked=True,
        headers={"content-type": "application/json"},
    )
    assert conn.getresponse().status == 413
    conn.close()
    assert httpx.get(f"{url}/readyz").status_code == 200


def shadow_params(project: Path, candidate: Path, dest: Path) -> Path:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["serve"]["shadow"]["bundle"] = str(candidate)
    dest.write_text(yaml.safe_dump(params))
    return dest


@pytest.mark.parametrize("candidate_kind", ["working", "broken"])
def test_shadow_candidate_is_logged_beside_primary_and_never_answers(
    project, tmp_path, candidate_kind
):
    candidate = tmp_path / "candidate"
    shutil.copytree(project / "models/bundle", candidate)
    card = json.loads((candidate / "card.json").read_text())
    card["version"] = "candidate-1"
    (candidate / "card.json").write_text(json.dumps(card))
    if candidate_kind == "broken":  # expects a feature the requests do not have
        schema = json.loads((candidate / "schema.json").read_text())
        schema["features"][0] = "no_such_feature"
        (candidate / "schema.json").write_text(json.dumps(schema))
    env = {
        "SHIPYARD_BUNDLE": str(project / "models/bundle"),
        "SHIPYARD_PARAMS": str(shadow_params(project, candidate, tmp_path / "params.yaml")),
        "SHIPYARD_PREDICTION_LOG": str(tmp_path / "predictions.jsonl"),
    }
    rows, expected = load_test_rows(project)
    with bentoml_serve(
        "shipyard.serving.service:Predictor", project, env, tmp_path / "server.log"
    ) as url:
        response = predict(url, rows[:20])
        assert response.status_code == 200, response.text
        assert [p["label"] for p in response.json()] == expected[:20]
        assert {p["model_version"] for p in response.json()} != {"candidate-1"}
        assert httpx.get(f"{url}/readyz").status_code == 200
    lines = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 20
    for line in lines:
        if candidate_kind == "working":
            assert line["shadow"]["model_version"] == "candidate-1"
            assert line["shadow"]["label"] == line["output"]["label"]
        else:
            assert "no_such_feature" in line["shadow"]["error"]


# --- Hostile and unlucky clients (issue: harden what users touch) ---------------------


def server_log(log: Path) -> str:
    return (log.parents[1] / "server.log").read_text()  # the state dir's, from the fixture


def test_bodies_other_than_json_get_415_and_are_never_logged(server, project):
    url, log = server
    rows, _ = load_test_rows(project)
    crafted = json.dumps({"rows": rows[:1]})  # JSON rows inside a form field
    cases = {
        "multipart-no-boundary": ("multipart/form-data", b"--x\r\n\r\n"),
        "multipart": ("multipart/form-data; boundary=x", b"--x--\r\n"),
        "form": ("application/x-www-form-urlencoded", f"rows={crafted}".encode()),
        "form-empty-rows": ("application/x-www-form-urlencoded", b'{"rows": []}'),
        "text": ("text/plain", crafted.encode()),
    }
    for name, (kind, body) in cases.items():
        response = httpx.post(
            f"{url}/predict",
            content=body,
            headers={"content-type": kind, "x-request-id": f"req-415-{name}"},
            timeout=10,
        )
        assert response.status_code == 415, f"{name}: {response.status_code} {response.text}"
        assert "application/json" in response.json()["error"]
    predict(url, rows[:1], headers={"x-request-id": "req-after-415"})
    logged(log, "req-after-415", expected=1)  # the log is written, so the check below means it
    assert "req-415-" not in log.read_text()
    assert "Traceback" not in server_log(log)


def test_the_log_records_each_row_as_the_model_received_it(server, project):
    url, log = server
    rows, _ = load_test_rows(project)
    as_ints = {k: int(v) if isinstance(v, float) else v for k, v in rows[0].items()}
    response = predict(url, [as_ints], headers={"x-request-id": "req-validated"})
    assert response.status_code == 200
    (line,) = logged(log, "req-validated", expected=1)
    schema = json.loads((project / "models/bundle/schema.json").read_text())
    numbers = [f for f in schema["features"] if f not in schema["categorical"]]
    # integers arrive, the model gets floats: the log shows what the model got
    assert all(isinstance(line["input"][f], float) for f in numbers)
    assert line["input"] == {**as_ints, **{f: float(as_ints[f]) for f in numbers}}


def test_unknown_paths_share_one_metric_label(project, tmp_path):
    # A server of its own: BentoML empties $BENTOML_HOME/prometheus_multiproc_dir whenever
    # a server starts, so the module's server loses its metrics once another has started.
    env = {"SHIPYARD_BUNDLE": str(project / "models/bundle"), "SHIPYARD_STATE_DIR": str(tmp_path)}
    with (
        bentoml_serve("shipyard.serving.service:Predictor", project, env, tmp_path / "log") as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        client.get("/nope-warmup")
        before = len(client.get("/metrics").content)
        for i in range(2000):
            assert client.get(f"/nope-{i}").status_code == 404
        metrics = client.get("/metrics").text
    assert "nope" not in metrics
    assert 'endpoint="/<unknown>"' in metrics
    assert len(metrics) <= before + 1024  # the same series, only their counts grew


def test_error_bodies_are_bounded_and_4xx_log_one_line(server, project):
    url, log = server
    rows, _ = load_test_rows(project)
    flood = {**rows[0], **{f"unknown_{i}": 1 for i in range(90_000)}}
    # and rows with no feature at all: each is "missing" every feature
    strangers = [{f"k{i}": 1 for i in range(1000)} for _ in range(100)]
    response = httpx.post(f"{url}/predict", json={"rows": strangers}, timeout=60)
    assert response.status_code == 400 and len(response.content) <= 16 * 1024
    response = httpx.post(
        f"{url}/predict",
        json={"rows": [flood]},
        headers={"x-request-id": "req-flood"},
        timeout=60,
    )
    assert response.status_code == 400
    assert len(response.content) <= 16 * 1024
    answer = response.json()
    assert answer["problems"] == 90_000 and len(answer["detail"]) == 10
    assert answer["detail"][0]["loc"] == ["rows", 0, "unknown_0"]
    text = server_log(log)
    assert "Traceback" not in text
    (line,) = [line for line in text.splitlines() if "req-flood" in line]
    assert "[WARNING]" in line and "90000 problem(s)" in line and len(line) < 1000
    assert httpx.get(f"{url}/readyz").status_code == 200


def test_a_body_that_arrives_too_slowly_is_a_408(server):
    url, _ = server
    target = urlparse(url)
    body = b'{"rows": []}'
    with socket.create_connection((target.hostname, target.port), timeout=30) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.sendall(body[:1])  # and no more: the 1 s body timeout passes
        answer = b""
        while chunk := sock.recv(4096):  # until the server hangs up: no trickling on
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in answer and b"not received within 1 s" in answer


def test_served_bento_meets_its_openapi_contract(bento, project):
    # schemathesis, every check, against the bento (what ships), with bounded examples
    run(["shipyard", "contract-test", "--bento", bento, "--max-examples", "40"], cwd=project)


def test_the_log_stays_out_of_the_bento(server, bento, project):
    _, log = server
    assert log.exists() and log.stat().st_size > 0  # under SHIPYARD_STATE_DIR
    out = run(["bentoml", "get", bento, "-o", "path"], cwd=project).stdout
    bento_dir = Path("".join(out.splitlines()).strip())
    assert not list(bento_dir.rglob("*.jsonl"))


def test_an_unwritable_log_stops_startup_with_one_line(bento, project, tmp_path):
    proc = subprocess.run(
        ["bentoml", "serve", bento, "--port", "1"],  # never reaches the port
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SHIPYARD_PREDICTION_LOG": "/proc/no-such-dir/predictions.jsonl"},
    )
    assert proc.returncode != 0
    said = (proc.stdout + proc.stderr).strip()
    assert said.splitlines()[-1].startswith("prediction log /proc/no-such-dir/predictions.jsonl")
    assert "Traceback" not in said and "not found" not in said.lower()


def test_a_full_disk_drops_rows_counted_and_reported_once(project, tmp_path):
    env = {
        "SHIPYARD_BUNDLE": str(project / "models/bundle"),
        "SHIPYARD_PREDICTION_LOG": "/dev/full",  # every write fails: ENOSPC
        "SHIPYARD_FEEDBACK_LOG": "/dev/full",
    }
    rows, _ = load_test_rows(project)
    with bentoml_serve(
        "shipyard.serving.service:Predictor", project, env, tmp_path / "server.log"
    ) as url:
        for _ in range(5):
            assert predict(url, rows[:3]).status_code == 200
        # ground truth is not resent: a 503 tells the client to retry it
        truth = {"feedback": [{"request_id": "r", "label": load_test_rows(project)[1][0]}]}
        assert httpx.post(f"{url}/feedback", json=truth, timeout=10).status_code == 503
        metrics = httpx.get(f"{url}/metrics").text
    assert "shipyard_prediction_log_failed_rows_total 15.0" in metrics
    assert "shipyard_feedback_log_failed_rows_total 1.0" in metrics
    text = (tmp_path / "server.log").read_text()
    assert "Traceback" not in text
    assert text.count("No space left on device") == 2  # once for each log
    assert "feedback log /dev/full" in text  # each log says which it is, and its counter
    assert "shipyard_feedback_log_failed_rows_total until" in text


def test_the_served_log_stays_within_its_size_bound(project, tmp_path):
    """serve.prediction_log's max_bytes and backups, as the running service applies them:
    the live file and at most `backups` rotated ones, each about max_bytes, the oldest
    rows dropped."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["serve"]["prediction_log"].update(max_bytes=20_000, backups=2)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = {
        "SHIPYARD_BUNDLE": str(project / "models/bundle"),
        "SHIPYARD_STATE_DIR": str(tmp_path),
        "SHIPYARD_PARAMS": str(tmp_path / "params.yaml"),
    }
    rows, _ = load_test_rows(project)
    with bentoml_serve(
        "shipyard.serving.service:Predictor", project, env, tmp_path / "server.log"
    ) as url:
        for _ in range(10):  # ~2 KB a digits row: about 10 times the bound in all
            assert predict(url, rows[:10]).status_code == 200
    log = tmp_path / params["serve"]["prediction_log"]["path"]
    files = sorted(log.parent.glob(f"{log.name}*"))
    assert [f.name for f in files] == [log.name, f"{log.name}.1", f"{log.name}.2"]
    # a request's rows are one record, so a file may pass the bound by one request
    assert all(f.stat().st_size <= 20_000 + 10 * 3_000 for f in files)
    kept = sum(len(f.read_text().splitlines()) for f in files)
    assert 0 < kept < 100  # the oldest rows rotated out


def test_feedback_is_validated_and_logged_beside_the_predictions(server, project):
    url, log = server
    rows, _ = load_test_rows(project)
    answer = predict(url, rows[:2], headers={"x-request-id": "req-feedback"}).json()
    label = answer[1]["label"]
    good = {"feedback": [{"request_id": "req-feedback", "row": 1, "label": label}]}
    response = httpx.post(f"{url}/feedback", json=good, timeout=10)
    assert response.status_code == 200 and response.json() == {"accepted": 1}
    feedback = log.with_name("feedback.jsonl")
    (told,) = [json.loads(x) for x in feedback.read_text().splitlines() if "req-feedback" in x]
    assert told["label"] == label and told["row"] == 1 and told["timestamp"]
    (asked,) = [x for x in logged(log, "req-feedback", expected=2) if x["row"] == 1]
    assert asked["timestamp"] <= told["timestamp"]  # the label delay is measurable
    for bad, named in [
        ({"feedback": [{"request_id": "x", "label": "no such label"}]}, "label"),
        ({"feedback": [{"request_id": "x", "label": True}]}, "label"),
        ({"feedback": [{"label": label}]}, "request_id"),
        ({"feedback": []}, "feedback"),
    ]:
        response = httpx.post(f"{url}/feedback", json=bad, timeout=10)
        assert response.status_code == 400 and named in response.text, (bad, response.text)
