"""Your own data, end to end: `dvc exp run -S data=csv` (text categories, missing values,
an ID column) and `-S data=diabetes` (regression), each served by a real `bentoml serve`."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.helpers import MAKE, STAGES, load_test_rows, make_project, predict, ran, run
from tests.servers import bentoml_serve

pytestmark = pytest.mark.slow


def exp_run(repo: Path, data: str) -> None:
    """From the committed default project, as a user switching datasets would."""
    result = run(["dvc", "exp", "run", "-S", f"data={data}"], cwd=repo)
    assert ran(result.stdout) == STAGES
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", f"data={data}"], cwd=repo)


@pytest.fixture(scope="module")
def churn(tmp_path_factory) -> Path:
    repo = make_project(tmp_path_factory.mktemp("churn") / "repo")
    exp_run(repo, "csv")
    return repo


@pytest.fixture(scope="module")
def churn_service(churn, tmp_path_factory):
    """The built bento (`make bento`), served."""
    out = run([*MAKE, "bento"], cwd=churn).stdout
    tag = next(line for line in out.splitlines() if line.startswith("__tag__:")).split(":", 1)[1]
    logs = tmp_path_factory.mktemp("churn-logs")
    env = {"SHIPYARD_PREDICTION_LOG": str(logs / "predictions.jsonl")}
    with bentoml_serve(tag, churn, env, logs / "server.log") as url:
        yield url


def test_csv_example_validates_and_reports_missing_values_allowed(churn):
    report = json.loads((churn / "reports/validation.json").read_text())
    assert report["ok"] and report["class_counts"] == {"no": 758, "yes": 442}
    schema = json.loads((churn / "models/bundle/schema.json").read_text())
    assert schema["categorical"] == ["plan", "contract", "region"]
    assert schema["nullable"] == ["monthly_spend", "region"]
    assert schema["ignored"] == ["customer_id"]


def test_service_takes_raw_rows_with_text_categories_and_gaps(churn, churn_service):
    rows, expected = load_test_rows(churn)
    assert any(r["region"] is None for r in rows) and any(r["monthly_spend"] is None for r in rows)
    assert all(isinstance(r["customer_id"], str) for r in rows)  # raw rows, ID included
    response = predict(churn_service, rows)
    assert response.status_code == 200, response.text
    assert [p["label"] for p in response.json()] == expected


def test_unseen_category_and_allowed_nulls_are_answered(churn_service, churn):
    rows, _ = load_test_rows(churn)
    row = {**rows[0], "region": "atlantis", "plan": "platinum", "monthly_spend": None}
    response = predict(churn_service, [row, {**row, "region": None}])
    assert response.status_code == 200, response.text
    for answer in response.json():
        assert answer["label"] in ("no", "yes")
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    documented = json.loads((churn / "docs/examples/predict-churn.json").read_text())
    response = httpx.post(f"{churn_service}/predict", json=documented, timeout=30)
    assert response.status_code == 200 and len(response.json()) == 2, response.text


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"tenure_months": None}, "tenure_months"),  # not nullable
        ({"plan": 3.5}, "plan"),  # a number is not a category
        ({"contract": ["monthly"]}, "contract"),
        ({"support_calls": "three"}, "support_calls"),
    ],
)
def test_bad_raw_rows_get_a_400_naming_the_column(churn_service, churn, change, named):
    rows, _ = load_test_rows(churn)
    response = predict(churn_service, [{**rows[0], **change}])
    assert response.status_code == 400, response.text
    assert named in response.text
    assert httpx.get(f"{churn_service}/readyz").status_code == 200


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory) -> Path:
    repo = make_project(tmp_path_factory.mktemp("diabetes") / "repo")
    exp_run(repo, "diabetes")
    return repo


def test_regression_metrics_and_plots(diabetes):
    metrics = json.loads((diabetes / "reports/evaluate/metrics.json").read_text())
    assert set(metrics["mlp"]) == set(metrics["baseline"]) == {"rmse", "mae", "r2"}
    assert metrics["baseline"]["r2"] > 0.3  # ridge on diabetes: ~0.45
    shown = json.loads(run(["dvc", "plots", "show", "--json"], cwd=diabetes).stdout)
    for title in ("Predicted vs actual (test)", "Residuals (test)", "Validation MAE"):
        assert shown["data"][title][0]["content"]["data"]["values"], title


def test_regression_gate_fails_a_worse_model_and_passes_a_better_one(diabetes, tmp_path):
    base = run(["git", "rev-parse", "HEAD"], cwd=diabetes).stdout.strip()
    try:
        # `dvc exp run` composes conf/ afresh each time: the dataset is named again.
        worse = run(
            ["dvc", "exp", "run", "-S", "data=diabetes", "-S", "model.lr=0.00001"], cwd=diabetes
        )
        assert ran(worse.stdout) == ["train", "evaluate", "package"]
        gate = run(["shipyard", "gate", "--base", base], cwd=diabetes, check=False)
        assert gate.returncode != 0, gate.stdout
        assert "rmse vs base" in gate.stdout and "a rise beyond noise" in gate.stdout

        better = ["-S", "data=diabetes", "-S", "model.lr=0.01", "-S", "trainer.max_epochs=30"]
        run(["dvc", "exp", "run", *better], cwd=diabetes)
        gate = run(["shipyard", "gate", "--base", base], cwd=diabetes, check=False)
        assert gate.returncode == 0, gate.stdout
    finally:  # the service test below serves the committed model
        run(["git", "checkout", "--", "."], cwd=diabetes)
        run(["dvc", "checkout"], cwd=diabetes)


def test_regression_service_answers_numbers(diabetes, tmp_path):
    rows, expected = load_test_rows(diabetes)
    env = {
        "SHIPYARD_BUNDLE": str(diabetes / "models/bundle"),
        "SHIPYARD_PREDICTION_LOG": str(tmp_path / "predictions.jsonl"),
    }
    with bentoml_serve(
        "shipyard.serving.service:Predictor", diabetes, env, tmp_path / "server.log"
    ) as url:
        response = predict(url, rows)
        assert response.status_code == 200, response.text
        values = [p["value"] for p in response.json()]
        np.testing.assert_allclose(values, expected, rtol=1e-4, atol=1e-3)
        assert "label" not in response.json()[0]
        bad = predict(url, [{**rows[0], "bmi": "high"}])
        assert bad.status_code == 400 and "bmi" in bad.text
