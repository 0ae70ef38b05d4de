from shipyard.gate import Check, Verdict
from shipyard.report import Changes, direction_word, render


def test_direction_follows_the_metric():
    assert direction_word("mlp.accuracy", 0.01) == "better"
    assert direction_word("mlp.log_loss", 0.01) == "worse"
    assert direction_word("mlp.log_loss", -0.01) == "better"
    assert direction_word("mlp.accuracy", 0.0) == ""


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
    text = render("abc123", "main", changes, verdict, had_base=True)
    assert "**Quality gate: FAILED** - accuracy vs base -0.05: a drop beyond noise" in text
    assert "| mlp.accuracy | 0.9500 | 0.9000 | -0.0500 | worse |" in text
    assert "| mlp.log_loss | - | 0.3000 | - |  |" in text  # new metric: no base value
    assert "| model.lr | 0.0010 | 0.0100 |" in text
    assert "- modified: `models/mlp/`" in text
    assert "![Confusion matrix](confusion.png)" in text


def test_first_run_says_limits_only():
    text = render("abc", "main", Changes({}, {}, {}), Verdict(), had_base=False)
    assert "**Quality gate: PASSED**" in text and "no metrics yet" in text
    assert "## Params changed\n\nNone." in text


def test_plots_that_could_not_be_rendered_are_listed():
    changes = Changes({}, {}, {}, [("ROC", "roc.png")], ["Training curves (main): no field"])
    text = render("abc", "main", changes, Verdict(), had_base=True)
    assert "![ROC](roc.png)" in text
    assert "- not rendered: Training curves (main): no field" in text


def test_report_quotes_the_validation_summary_and_knows_regression_directions():
    changes = Changes(
        {"mlp.rmse": {"old": 55.0, "new": 50.0, "diff": -5.0}},
        {},
        {},
        validation="`churn`: 1200 rows, 8 columns: valid\n\n- warning: class imbalance\n",
    )
    text = render("abc", "main", changes, Verdict(), had_base=True)
    assert "## Data validation\n\n`churn`: 1200 rows, 8 columns: valid" in text
    assert "- warning: class imbalance" in text
    assert "| mlp.rmse | 55.0000 | 50.0000 | -5.0000 | better |" in text
