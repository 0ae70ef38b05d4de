"""A bundle of either task goes into BentoML's model store (`make bento`'s first step)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.pipeline.bundle import read_card
from shipyard.serving.store import import_bundle
from tests.helpers import data_config, toy_bundle


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_import_bundle_of_each_task(tmp_path, monkeypatch, task):
    import bentoml

    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    data = data_config() if task == "classification" else data_config(task=task, labels=None)
    bundle, _ = toy_bundle(tmp_path, data)
    tag = import_bundle(bundle, "shipyard-test")
    model = bentoml.models.get(tag)
    assert model.info.labels["version"] == read_card(bundle)["version"]
    assert Path(model.path_of("card.json")).read_text() == (bundle / "card.json").read_text()
    assert import_bundle(bundle, "shipyard-test") == tag  # the same version: not re-imported
