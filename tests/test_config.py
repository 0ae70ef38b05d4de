from pathlib import Path

import pytest

from shipyard.config import ConfigError, ModelConfig, load_params, load_section
from shipyard.gitops import params

ROOT = Path(__file__).resolve().parents[1]


def test_params_yaml_is_in_sync_with_conf():
    assert (ROOT / "params.yaml").read_text() == params.compose(config_dir=ROOT / "conf"), (
        "params.yaml differs from conf/: run `make params`"
    )


def test_default_config_is_digits_mlp_on_auto_hardware(tmp_path):
    out = params.write(output=tmp_path / "params.yaml", config_dir=ROOT / "conf")
    cfg = load_params(out)
    assert cfg.data.name == "digits"
    assert len(cfg.data.numeric_features) == 61  # 64 pixels, 3 always blank (dropped)
    assert cfg.data.drop == ["pixel_0_0", "pixel_4_0", "pixel_4_7"]
    assert cfg.trainer.precision == "auto"
    assert cfg.model.hidden_sizes == [256, 128]


def test_groups_and_overlays_compose(tmp_path):
    out = params.write(
        ["data=synthetic", "experiment=wide", "debug=tiny", "model.lr=0.01"],
        tmp_path / "params.yaml",
        ROOT / "conf",
    )
    cfg = load_params(out)
    assert cfg.data.source["numeric_features"] == cfg.data.numeric_features  # resolved
    assert cfg.data.source["labels"] == cfg.data.labels
    assert cfg.model.hidden_sizes == [32]  # debug comes after experiment
    assert cfg.model.lr == 0.01
    assert cfg.trainer.accelerator == "cpu"


def test_unknown_key_override_is_refused_at_composition():
    with pytest.raises(ConfigError, match=r"Could not override 'model\.lrr'"):
        params.compose(["model.lrr=0.1"], ROOT / "conf")


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("  lrr: 0.001\n", "'lrr'"),  # misspelled key
        ("  lr: fast\n", "'lr'"),  # wrong type
    ],
)
def test_bad_section_names_the_key(tmp_path, line, named):
    broken = tmp_path / "params.yaml"
    broken.write_text(params.compose(config_dir=ROOT / "conf").replace("  lr: 0.001\n", line))
    with pytest.raises(ConfigError, match=named):
        load_section("model", ModelConfig, broken)


def test_missing_params_file_says_how_to_make_it(tmp_path):
    with pytest.raises(ConfigError, match="make params"):
        load_section("model", ModelConfig, tmp_path / "params.yaml")


def test_a_regression_dataset_brings_its_baseline_and_gate(tmp_path):
    out = params.write(["data=diabetes"], tmp_path / "params.yaml", ROOT / "conf")
    cfg = load_params(out)
    assert cfg.data.task == "regression" and cfg.data.labels is None
    assert cfg.baseline["_target_"] == "sklearn.linear_model.Ridge"
    assert cfg.gate.main_metric == "rmse" and set(cfg.gate.rules) == {"rmse", "mae", "r2"}
    # The command line still wins over the dataset's choice.
    out = params.write(["data=diabetes", "baseline.alpha=3.0"], tmp_path / "p2.yaml", ROOT / "conf")
    assert load_params(out).baseline["alpha"] == 3.0


def test_csv_example_declares_categories_nulls_and_an_id(tmp_path):
    cfg = load_params(params.write(["data=csv"], tmp_path / "params.yaml", ROOT / "conf"))
    assert cfg.data.categorical_features and cfg.data.nullable and cfg.data.drop


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (dict(task="regression"), "regression dataset has none"),
        (dict(labels=None), "lists its labels"),
        (dict(task="ranking"), "data.task"),
        (dict(nullable=["zzz"]), "data.nullable: not declared"),
        (dict(ranges={"a": [5, 1]}), "expected \\[min, max\\]"),
        (dict(categorical_features=["a"]), "more than once"),
    ],
)
def test_inconsistent_data_config_is_refused(fields, message):
    from tests.helpers import data_config

    with pytest.raises(ConfigError, match=message):
        data_config(**fields)
