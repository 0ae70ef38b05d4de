"""The real service: `make bento`, `bentoml serve <tag>` on loopback, HTTP requests."""

from __future__ import annotations

import http.client
import json
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
import yaml

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
    logs = tmp_path_factory.mktemp("logs")
    env = {"SHIPYARD_PREDICTION_LOG": str(logs / "predictions.jsonl")}
    with bentoml_serve(bento, project, env, logs / "server.log") as url:
        yield url, logs / "predictions.jsonl"


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


def test_oversized_bodies_get_413_declared_or_streamed(server):
    url, _ = server
    big = b'{"rows": [' + b"1," * 600_000 + b"1]}"  # over the 1 MiB default
    response = httpx.post(
        f"{url}/predict", content=big, timeout=30, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "limit" in response.json()["error"]

    target = urlparse(url)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    chunks = (b"x" * 65536 for _ in range(40))  # 2.5 MiB, no Content-Length
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
    params["serve"]["shadow_bundle"] = str(candidate)
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
