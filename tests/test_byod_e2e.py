"""Your own data, end to end: `dvc exp run -S data=csv` (text categories, missing values,
an ID column) and `-S data=diabetes` (regression) from a reproduced project, each served
by a real `bentoml serve`. The CSV project is the session's `churn` (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from shipyard.config import load_params
from shipyard.pipeline.bundle import read_card
from shipyard.pipeline.inference import Bundle
from shipyard.pipeline.task import higher_is_better, task
from tests.helpers import MAKE, STAGES, copy_repo, load_test_rows, predict, ran, run
from tests.servers import bentoml_serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def churn_service(churn, tmp_path_factory):
    """The built bento (`make bento`), served."""
    out = run([*MAKE, "bento"], cwd=churn.path).stdout
    tag = next(line for line in out.splitlines() if line.startswith("__tag__:")).split(":", 1)[1]
    logs = tmp_path_factory.mktemp("churn-logs")
    env = {"SHIPYARD_PREDICTION_LOG": str(logs / "predictions.jsonl")}
    with bentoml_serve(tag, churn.path, env, logs / "server.log") as url:
        yield url


def test_switching_to_your_own_table_reruns_every_stage_on_it(churn):
    assert churn.first_run == STAGES
    data = load_params(churn.path / "params.yaml").data
    table = pd.read_csv(churn.path / data.source["path"])
    pd.testing.assert_frame_equal(pd.read_parquet(churn.path / "data/raw/dataset.parquet"), table)


def test_csv_example_validates_and_reports_missing_values_allowed(churn):
    data = load_params(churn.path / "params.yaml").data
    table = pd.read_csv(churn.path / data.source["path"])
    report = json.loads((churn.path / "reports/validation.json").read_text())
    counts = table[data.target].value_counts()
    assert report["ok"] and report["class_counts"] == {str(k): int(counts[k]) for k in data.labels}
    # The bundle's schema: the config's columns, in its order; the table has gaps exactly
    # where the config allows them.
    schema = json.loads((churn.path / "models/bundle/schema.json").read_text())
    assert schema["categorical"] == data.categorical_features
    assert schema["nullable"] == data.nullable
    assert schema["ignored"] == data.drop
    assert sorted(table.columns[table.isna().any()]) == sorted(data.nullable)


def test_service_takes_raw_rows_with_text_categories_and_gaps(churn, churn_service):
    rows, expected = load_test_rows(churn.path)
    assert any(r["region"] is None for r in rows) and any(r["monthly_spend"] is None for r in rows)
    assert all(isinstance(r["customer_id"], str) for r in rows)  # raw rows, ID included
    response = predict(churn_service, rows)
    assert response.status_code == 200, response.text
    assert [p["label"] for p in response.json()] == expected


def test_unseen_category_and_allowed_nulls_are_answered(churn_service, churn):
    rows, _ = load_test_rows(churn.path)
    row = {**rows[0], "region": "atlantis", "plan": "platinum", "monthly_spend": None}
    response = predict(churn_service, [row, {**row, "region": None}])
    assert response.status_code == 200, response.text
    for answer in response.json():
        assert answer["label"] in ("no", "yes")
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    documented = json.loads((churn.path / "docs/examples/predict-churn.json").read_text())
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
    rows, _ = load_test_rows(churn.path)
    response = predict(churn_service, [{**rows[0], **change}])
    assert response.status_code == 400, response.text
    assert named in response.text
    assert httpx.get(f"{churn_service}/readyz").status_code == 200


# The regression model the project starts from: trained long enough to pass the gate's
# absolute limits (conf/gate/regression.yaml), so the comparison is what decides.
DIABETES = ["-S", "data=diabetes", "-S", "model.lr=0.01", "-S", "trainer.max_epochs=30"]


@pytest.fixture(scope="module")
def diabetes(reproduced, tmp_path_factory) -> Path:
    repo = copy_repo(reproduced.path, tmp_path_factory.mktemp("diabetes") / "repo")
    assert ran(run(["dvc", "exp", "run", *DIABETES], cwd=repo).stdout) == STAGES
    run(["git", "add", "-A"], cwd=repo)
    run(["git", "commit", "-qm", "data=diabetes"], cwd=repo)
    return repo


def test_regression_metrics(diabetes):
    metrics = json.loads((diabetes / "reports/evaluate/metrics.json").read_text())
    assert set(metrics["mlp"]) == set(metrics["baseline"]) == {"rmse", "mae", "r2"}
    assert metrics["baseline"]["r2"] > 0.3  # ridge on diabetes: ~0.45


# What `dvc plots show` draws: the plots every task has, and the task's own.
PLOTS = {
    "classification": {
        "Training curves",
        "Validation accuracy",
        "Confusion matrix (MLP, test)",
        "Confusion matrix (baseline, test)",
        "ROC, one-vs-rest micro-average (test)",
        "Precision-recall, micro-average (test)",
    },
    "regression": {
        "Training curves",
        "Validation MAE",
        "Predicted vs actual (test)",
        "Residuals (test)",
    },
}


def test_each_task_shows_exactly_its_own_plots(reproduced, diabetes):
    """Classification (the reproduced project) and regression (the same project switched
    to data=diabetes) each draw their own plots, and no other's fails to load; the switch
    leaves nothing of classification's behind."""
    for repo, kind in ((reproduced.path, "classification"), (diabetes, "regression")):
        proc = run(["dvc", "plots", "show", "--json"], cwd=repo)
        shown = json.loads(proc.stdout)
        assert "errors" not in shown, (kind, shown["errors"])
        assert "failed to load" not in proc.stderr, proc.stderr
        assert set(shown["data"]) == PLOTS[kind]
        for title, renders in shown["data"].items():
            assert renders[0]["content"]["data"]["values"], title
    assert "up to date" in run(["dvc", "status"], cwd=diabetes).stdout
    assert not (diabetes / "dvclive/train/plots/metrics/val/acc.tsv").exists()
    assert not (diabetes / "reports/evaluate/plots/sklearn").exists()


def test_model_change_reruns_three_stages_and_the_gate_judges_it_by_rmse(diabetes):
    """A worse model (a learning rate far too small) fails against main; main passes
    against it: for rmse, lower is better."""
    try:
        # `dvc exp run` composes conf/ afresh each time: the dataset is named again.
        worse = run(["dvc", "exp", "run", *DIABETES, "-S", "model.lr=0.00001"], cwd=diabetes)
        assert ran(worse.stdout) == ["train", "evaluate", "package"]
        assert load_params(diabetes / "params.yaml").model.lr == 0.00001
        # The MLP this learning rate leaves behind loses to the baseline, which ships.
        assert ships_the_better_model(diabetes) == "baseline"
        gate = run(["shipyard", "gate", "--base", "main"], cwd=diabetes, check=False)
        assert gate.returncode == 1, gate.stdout + gate.stderr
        assert "rmse vs base +" in gate.stdout and "a rise beyond noise" in gate.stdout

        run(["git", "checkout", "-q", "-b", "worse"], cwd=diabetes)
        run(["git", "add", "-A"], cwd=diabetes)
        run(["git", "commit", "-qm", "lr=0.00001"], cwd=diabetes)
        run(["git", "checkout", "-q", "main"], cwd=diabetes)
        run(["dvc", "checkout", "-q"], cwd=diabetes)
        gate = run(["shipyard", "gate", "--base", "worse"], cwd=diabetes, check=False)
        assert gate.returncode == 0, gate.stdout + gate.stderr
        assert "rmse vs base -" in gate.stdout and "no worsening beyond noise" in gate.stdout
    finally:  # the service test below serves main's model
        run(["git", "checkout", "-qf", "main"], cwd=diabetes)
        run(["dvc", "checkout", "-q", "-f"], cwd=diabetes)


def ships_the_better_model(repo: Path) -> str:
    """Checks that `repo`'s bundle ships the better model by the gate's main metric (a
    tie: the baseline) and, loaded, answers the raw test rows with exactly the scores
    evaluate saved for that model. Returns the model it ships."""
    params = load_params(repo / "params.yaml")
    metrics = json.loads((repo / "reports/evaluate/metrics.json").read_text())
    card = read_card(repo / "models/bundle")
    main = params.gate.main_metric  # type: ignore[union-attr]
    mlp, baseline = metrics["mlp"][main], metrics["baseline"][main]
    mlp_better = mlp > baseline if higher_is_better(main) else mlp < baseline
    assert card["model"] == ("mlp" if mlp_better else "baseline"), card["selection"]
    assert card["selection"]["margin"] == pytest.approx(abs(mlp - baseline))
    assert card["selection"]["scores"] == {"mlp": mlp, "baseline": baseline}
    saved = pd.read_parquet(repo / f"data/predictions/{card['model']}.parquet")
    raw = pd.read_parquet(repo / "data/raw/dataset.parquet").loc[saved["row_id"]]
    loaded = Bundle.load(repo / "models/bundle")
    expected = task(params.data.task).scores(saved)
    np.testing.assert_array_equal(loaded.predict(raw), expected)
    values = raw[loaded.features].astype(object).where(raw[loaded.features].notna(), None)
    np.testing.assert_array_equal(loaded.predict_values(values.values.tolist()), expected)
    return card["model"]


def test_each_example_ships_its_better_model_answering_as_evaluate_saved(
    reproduced, churn, diabetes
):
    shipped = {
        name: ships_the_better_model(repo)
        for name, repo in (
            ("digits", reproduced.path),
            ("churn", churn.path),
            ("diabetes", diabetes),
        )
    }
    # On the debug config the tests run, the baseline wins on digits and churn, the MLP on
    # diabetes: the served tests (which follow the shipped model) serve both kinds.
    assert shipped == {"digits": "baseline", "churn": "baseline", "diabetes": "mlp"}


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
        assert values == expected  # exactly what evaluate saved, whichever model ships
        assert "label" not in response.json()[0]
        bad = predict(url, [{**rows[0], "bmi": "high"}])
        assert bad.status_code == 400 and "bmi" in bad.text


@pytest.mark.parametrize("project", ["churn", "diabetes"])
def test_each_kind_of_table_meets_its_openapi_contract(project, request):
    # text categories, nulls and an ID column (churn); numbers answered (diabetes):
    # `make contract-test` (schemathesis, every check) against models/bundle served
    repo = request.getfixturevalue(project)
    repo = getattr(repo, "path", repo)
    run([*MAKE, "contract-test", "EXAMPLES=40"], cwd=repo)
