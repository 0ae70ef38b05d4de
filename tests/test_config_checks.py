"""Config mistakes fail when params.yaml is composed (`shipyard params`), in one line
naming the key, instead of a traceback in a stage minutes later."""

from __future__ import annotations

import pytest

from shipyard.config import ConfigError, check_target
from shipyard.gitops import params
from tests.helpers import ROOT


def compose(tmp_path, *overrides: str) -> None:
    params.write(overrides, tmp_path / "params.yaml", ROOT / "conf")


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["+baseline.C2=3"], "baseline: ['C2'] not accepted by sklearn.linear_model."),
        (["baseline._target_=sklearn.linear_model.Logistik"], "cannot import 'sklearn.linear"),
        (["data=csv", "+data.source.pathh=x"], "data.source: ['pathh'] not accepted by"),
        (["+features.numeric.scaler.with_meen=false"], "features.numeric.scaler: ['with_meen']"),
        (["gate.main_metric=acc"], "gate.main_metric: 'acc' has no rule in gate.rules"),
        (["gate.bootstrap.confidence=1.5"], "gate.bootstrap: confidence in (0, 1)"),
        (["+gate.rules.rmse={limit: 1}"], "gate.rules: ['rmse'] are not classification metrics"),
        (["gate.model=forest"], "gate.model: 'forest' is not one of ('mlp', 'baseline')"),
        (["package.model=forest"], "package.model: 'forest' is not one of ['best', 'mlp', "),
        (["data.task=ranking"], "unknown task 'ranking'"),
        (["~data.checks.min_rows"], "data.checks.min_rows"),
        (["model.lr=abc"], "bad key 'model.lr'"),
        (["baseline.C2=3"], "Could not override 'baseline.C2'"),
        (["data=nope"], "Could not find 'data/nope' Available options in 'data':"),
        (["serve.body_timeout_s=10"], "serve.body_timeout_s: must be above 0 and below"),
        (["serve.shadow.max_busy=0"], "serve.shadow.max_busy: a share of the time"),
        (["+serve.shadow_bundle=x"], "shadow_bundle"),
    ],
)
def test_a_config_mistake_is_one_line_naming_the_key(tmp_path, overrides, said):
    with pytest.raises(ConfigError) as err:
        compose(tmp_path, *overrides)
    assert said in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "params.yaml").exists()  # nothing half-written


def test_every_shipped_dataset_and_overlay_composes(tmp_path):
    for overrides in (["data=csv"], ["data=diabetes"], ["data=synthetic"], ["experiment=wide"]):
        compose(tmp_path, *overrides)


def test_a_target_taking_any_keyword_is_not_second_guessed():
    check_target({"_target_": "builtins.dict", "anything": 1}, "x")  # dict(**kwargs)
    with pytest.raises(ConfigError, match="expected a dotted path"):
        check_target({"path": "x.csv"}, "data.source")
