from pathlib import Path

import pandas as pd
import pytest
import yaml

from shipyard.config import ConfigError, ModelConfig, load_params, load_section
from shipyard.gitops import params
from shipyard.pipeline import sources

ROOT = Path(__file__).resolve().parents[1]


def test_params_yaml_is_in_sync_with_conf():
    assert (ROOT / "params.yaml").read_text() == params.compose(config_dir=ROOT / "conf"), (
        "params.yaml differs from conf/: run `make params`"
    )


def conf(group: str, option: str) -> dict:
    return yaml.safe_load((ROOT / "conf" / group / f"{option}.yaml").read_text())


def test_default_config_is_what_config_yaml_selects():
    defaults = yaml.safe_load((ROOT / "conf/config.yaml").read_text())["defaults"]
    selected = {k: v for d in defaults if isinstance(d, dict) for k, v in d.items() if v}
    composed = yaml.safe_load(params.compose(config_dir=ROOT / "conf"))
    assert {"data", "model", "trainer", "gate"} <= set(selected)
    for group, option in selected.items():
        assert composed[group] == conf(group, option), f"{group}={option}"


def test_digits_features_are_every_pixel_but_the_blank_ones(tmp_path):
    data = load_params(params.write(["data=digits"], tmp_path / "p.yaml", ROOT / "conf")).data
    table = sources.sklearn_bundled(data.source["name"])
    pixels = [c for c in table.columns if c != data.target]
    blank = [c for c in pixels if table[c].nunique() == 1]  # constant: validation refuses
    assert blank and data.drop == blank
    assert data.numeric_features == [c for c in pixels if c not in blank]
    assert data.labels == sorted(table[data.target].unique())


def test_groups_and_overlays_compose(tmp_path):
    out = params.write(
        ["data=synthetic", "experiment=wide", "debug=tiny", "model.lr=0.01"],
        tmp_path / "params.yaml",
        ROOT / "conf",
    )
    cfg = load_params(out)
    assert cfg.data.source["numeric_features"] == cfg.data.numeric_features  # resolved
    assert cfg.data.source["labels"] == cfg.data.labels
    wide, tiny = conf("experiment", "wide"), conf("debug", "tiny")
    # Both overlays set the layers: debug, listed after experiment, wins.
    assert wide["model"]["hidden_sizes"] != tiny["model"]["hidden_sizes"]
    assert cfg.model.hidden_sizes == tiny["model"]["hidden_sizes"]
    assert cfg.model.dropout == wide["model"]["dropout"]  # only the experiment sets it
    assert cfg.model.lr == 0.01  # the command line, over both
    assert cfg.trainer.accelerator == conf("trainer", "cpu")["accelerator"]  # debug's trainer
    assert cfg.trainer.max_epochs == tiny["trainer"]["max_epochs"]


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
    # conf/data/diabetes.yaml's own defaults: `override /baseline: ridge` and so on
    overrides = {
        k.removeprefix("override /"): v
        for d in conf("data", "diabetes")["defaults"]
        for k, v in d.items()
    }
    default_gate = yaml.safe_load((ROOT / "params.yaml").read_text())["gate"]
    regression_gate = conf("gate", overrides["gate"])
    assert regression_gate != default_gate
    assert cfg.baseline == conf("baseline", overrides["baseline"])
    assert cfg.gate.main_metric == regression_gate["main_metric"]
    assert set(cfg.gate.rules) == set(regression_gate["rules"])
    # The command line still wins over the dataset's choice.
    out = params.write(["data=diabetes", "baseline.alpha=3.0"], tmp_path / "p2.yaml", ROOT / "conf")
    assert load_params(out).baseline["alpha"] == 3.0


def test_csv_example_declares_each_column_of_its_table_for_what_it_is(tmp_path):
    data = load_params(params.write(["data=csv"], tmp_path / "params.yaml", ROOT / "conf")).data
    table = pd.read_csv(ROOT / data.source["path"])
    declared = [*data.numeric_features, *data.categorical_features, *data.drop, data.target]
    assert sorted(declared) == sorted(table.columns)  # each column, once
    features = table.drop(columns=[*data.drop, data.target])
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    assert sorted(data.categorical_features) == sorted(text)
    assert sorted(data.nullable) == sorted(table.columns[table.isna().any()])
    assert all(table[c].is_unique for c in data.drop)  # an ID: never a feature
    assert data.labels == sorted(table[data.target].unique())


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
    from shipyard.pipeline.task import check_data
    from tests.helpers import data_config

    with pytest.raises(ConfigError, match=message):
        check_data(data_config(**fields))
