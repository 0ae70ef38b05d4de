import json

import pytest

from shipyard.gitops.gate import Check, Verdict
from shipyard.gitops.report import NO_STAGE_RAN, Changes, direction_word, read_repro_log, render


def test_direction_follows_the_metric():
    assert direction_word("mlp.accuracy", 0.01) == "better"
    assert direction_word("mlp.log_loss", 0.01) == "worse"
    assert direction_word("mlp.log_loss", -0.01) == "better"
    assert direction_word("mlp.accuracy", 0.0) == ""
    assert direction_word("baseline.r2", -0.1) == "worse"
    assert direction_word("reports/evaluate/metrics.json: mlp.mae", -1.0) == "better"
    assert direction_word("train.loss", 0.1) == ""  # no task has it: no way to tell


def test_render_shows_gate_params_metrics_data_and_plots():
    changes = Changes(
        metrics={
            "mlp.accuracy": {"old": 0.95, "new": 0.90, "diff": -0.05},
            "mlp.log_loss": {"old": None, "new": 0.3, "diff": None},
        },
        params={"model.lr": {"old": 0.001, "new": 0.01}},
        data={"modified": ["models/mlp/"]},
        plots=[("Confusion matrix", "confusion.png")],
    )
    verdict = Verdict([Check("accuracy", False, "accuracy vs base -0.05: a drop beyond noise")])
    text = render("abc123", "main", changes, verdict)
    assert "**Quality gate: FAILED** - accuracy vs base -0.05: a drop beyond noise" in text
    assert "| mlp.accuracy | 0.9500 | 0.9000 | -0.0500 | worse |" in text
    assert "| mlp.log_loss | - | 0.3000 | - |  |" in text  # new metric: no base value
    assert "| model.lr | 0.0010 | 0.0100 |" in text
    assert "- modified: `models/mlp/`" in text
    assert "![Confusion matrix](confusion.png)" in text


def test_first_run_says_limits_only():
    note = "base 'main' (1234567) has no metrics yet (first run): limits only"
    text = render("abc", "main", Changes({}, {}, {}), Verdict(notes=[note]))
    assert f"**Quality gate: PASSED**\n\n- {note}\n\n<details>" in text
    assert "## Params changed\n\nNone." in text


def test_plots_that_could_not_be_rendered_are_listed():
    changes = Changes({}, {}, {}, [("ROC", "roc.png")], ["Training curves (main): no field"])
    text = render("abc", "main", changes, Verdict())
    assert "![ROC](roc.png)" in text
    assert "- not rendered: Training curves (main): no field" in text


def test_report_quotes_the_validation_summary_and_knows_regression_directions():
    changes = Changes(
        {"mlp.rmse": {"old": 55.0, "new": 50.0, "diff": -5.0}},
        {},
        {},
        validation="`churn`: 1200 rows, 8 columns: valid\n\n- warning: class imbalance\n",
    )
    text = render("abc", "main", changes, Verdict())
    assert "## Data validation\n\n`churn`: 1200 rows, 8 columns: valid" in text
    assert "- warning: class imbalance" in text
    assert "| mlp.rmse | 55.0000 | 50.0000 | -5.0000 | better |" in text


def test_what_could_not_be_compared_is_one_line_each_under_the_verdict():
    verdict = Verdict(
        [Check("accuracy", False, "accuracy 0.5000 (limit >= 0.9)")],
        notes=["paired bootstrap skipped: base predictions p.parquet at 1234567 unavailable (x)"],
    )
    changes = Changes({}, None, None, missing=["data and models not compared: `dvc diff` (y)"])
    text = render("abc", "main", changes, verdict)
    assert (
        "**Quality gate: FAILED** - accuracy 0.5000 (limit >= 0.9)\n\n"
        "- paired bootstrap skipped: base predictions p.parquet at 1234567 unavailable (x)\n"
        "- data and models not compared: `dvc diff` (y)\n\n<details>"
    ) in text
    # Not compared is not "nothing changed".
    assert "## Params changed\n\nNot compared (see the notes above)." in text
    assert "## Data and models changed (`dvc diff`)\n\nNot compared (see the notes above)." in text
    assert "None." not in text


def test_model_version_is_near_the_top():
    text = render("abc", "main", Changes({}, {}, {}), Verdict(), model_version="digits-mlp-0123")
    assert text.startswith("# Model report: `abc` vs `main`\n\nModel version: `digits-mlp-0123`\n")
    unpackaged = render("abc", "main", Changes({}, {}, {}), Verdict())
    assert unpackaged.splitlines()[2] == "Model: not packaged"


def test_report_says_which_model_ships_and_shows_both_models_metrics():
    ships = "Ships: **baseline** (package.model: best): test accuracy 0.9000 vs mlp 0.8000"
    metrics = {
        f"{model}.accuracy": {"old": 0.8, "new": new, "diff": new - 0.8}
        for model, new in (("mlp", 0.8), ("baseline", 0.9))
    }
    text = render("abc", "main", Changes(metrics, {}, {}), Verdict(), "d-baseline-1", shipped=ships)
    assert text.splitlines()[2:5] == ["Model version: `d-baseline-1`", "", ships]
    assert "| mlp.accuracy | 0.8000 |" in text and "| baseline.accuracy | 0.8000 |" in text


REPRO = {
    "stages": [
        {"name": "ingest", "status": "unchanged", "seconds": None},
        {"name": "baseline", "status": "cached", "seconds": 0.44},
        {"name": "train", "status": "ran", "seconds": 12.3},
    ],
    "total_seconds": 20.1,
}


def test_pipeline_run_table():
    text = render("abc", "main", Changes({}, {}, {}), Verdict(), repro=REPRO)
    assert (
        "## Pipeline run\n\n| stage | status | seconds |\n|---|---|---:|\n"
        "| ingest | unchanged | - |\n| baseline | cached | 0.4 |\n| train | ran | 12.3 |\n\n"
        "Total: 20.1 s.\n"
    ) in text
    assert NO_STAGE_RAN not in text
    assert "## Pipeline run" not in render("abc", "main", Changes({}, {}, {}), Verdict())


def test_pipeline_run_without_an_executed_stage_says_so():
    stages = [{**stage, "status": "cached"} for stage in REPRO["stages"]]
    text = render("abc", "main", Changes({}, {}, {}), Verdict(), repro={"stages": stages})
    assert f"| train | cached | 12.3 |\n\n{NO_STAGE_RAN}\n" in text
    failed = render("abc", "main", Changes({}, {}, {}), Verdict(), repro={**REPRO, "exit_code": 1})
    assert "`dvc repro` exited 1." in failed


def test_repro_log_is_read_if_there_and_a_broken_one_is_named(tmp_path):
    log = tmp_path / "repro.json"
    assert read_repro_log(log) is None
    log.write_text(json.dumps(REPRO))
    assert read_repro_log(log) == REPRO
    log.write_text(json.dumps({"stages": [{"name": "train", "status": "done", "seconds": 1}]}))
    with pytest.raises(ValueError, match=r"^pipeline run log .*repro.json unreadable: "):
        read_repro_log(log)
    log.write_text("{")
    with pytest.raises(ValueError, match="unreadable"):
        read_repro_log(log)


PLOTS = Changes({}, {}, {}, [("ROC", "roc.png"), ("Loss", "loss.png")], ["PR (main): no field"])


def test_images_link_file_names_by_default():
    text = render("abc", "main", PLOTS, Verdict())
    assert "### ROC\n\n![ROC](roc.png)\n" in text and "![Loss](loss.png)" in text


def test_images_link_a_url():
    for url in ("https://example.com/plots/pr-7", "https://example.com/plots/pr-7/"):
        text = render("abc", "main", PLOTS, Verdict(), image_url=url)
        assert "![ROC](https://example.com/plots/pr-7/roc.png)" in text
        assert "![Loss](https://example.com/plots/pr-7/loss.png)" in text


def test_no_image_links_names_the_plots_in_the_artifact():
    text = render("abc", "main", PLOTS, Verdict(), image_url="")
    assert "![" not in text and ".png" not in text
    assert "## Plots\n\n- ROC (PNG in the `report` artifact)\n" in text
    assert "- Loss (PNG in the `report` artifact)\n" in text
    assert "- not rendered: PR (main): no field" in text
