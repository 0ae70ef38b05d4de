"""`shipyard predict` on the reproduced debug project: the service's checks and model over
a table file, equal to what evaluate saved, with bad rows set aside and named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.helpers import copy_repo, run

pytestmark = pytest.mark.slow

SHIPYARD = ["shipyard"]


def split_rows(project: Path, model: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The test split's raw rows (every column, the target too, as a raw table has it) and
    evaluate's saved predictions for them by `model`."""
    raw = pd.read_parquet(project / "data/raw/dataset.parquet")
    saved = pd.read_parquet(project / f"data/predictions/{model}.parquet")
    return raw.loc[saved["row_id"]].reset_index(drop=True), saved


@pytest.mark.parametrize("model", ["mlp", "baseline"])
def test_batch_scoring_equals_what_evaluate_saved(reproduced, tmp_path, model):
    project = copy_repo(reproduced.path, tmp_path / "repo")
    run(["dvc", "exp", "run", "-S", f"package.model={model}"], cwd=project)
    card = json.loads((project / "models/bundle/card.json").read_text())
    assert card["model"] == model
    rows, saved = split_rows(project, model)
    labels = yaml.safe_load((project / "params.yaml").read_text())["data"]["labels"]
    for kind in ("parquet", "csv"):
        table = tmp_path / f"test.{kind}"
        rows.to_parquet(table) if kind == "parquet" else rows.to_csv(table, index=False)
        out = tmp_path / f"scored-{kind}.parquet"
        said = run([*SHIPYARD, "predict", "--input", str(table), "--output", str(out)], project)
        assert f"{len(rows)} scored" in said.stdout and "0 rejected" in said.stdout
        scored = pd.read_parquet(out)
        assert scored["row"].tolist() == list(range(len(rows)))
        assert scored["predicted"].tolist() == [labels[i] for i in saved["predicted"]]
        probabilities = [c for c in saved.columns if c.startswith("proba_")]
        np.testing.assert_allclose(scored[probabilities], saved[probabilities], atol=1e-6)
        assert pd.read_parquet(tmp_path / f"scored-{kind}.rejects.parquet").empty


def test_bad_rows_are_rejected_by_row_column_and_check(reproduced, tmp_path):
    project = reproduced.path
    model = json.loads((project / "models/bundle/card.json").read_text())["model"]
    rows, _ = split_rows(project, model)
    features = json.loads((project / "models/bundle/schema.json").read_text())["features"]
    a, b = features[0], features[1]
    text = rows.astype(object)
    text.loc[3, a] = "abc"  # not a number
    text.loc[5, b] = None  # missing where the schema allows none
    text.loc[7, a] = 1e300  # beyond any value the service takes
    table, out = tmp_path / "bad.csv", tmp_path / "scored.parquet"
    text.to_csv(table, index=False)
    rejects = tmp_path / "rejects.parquet"
    command = [*SHIPYARD, "predict", "--input", str(table), "--output", str(out)]
    said = run([*command, "--rejects", str(rejects)], project).stdout
    assert "3 rejected" in said
    got = pd.read_parquet(rejects)
    assert got[["row", "column", "check"]].values.tolist() == [
        [3, a, "float_type"],
        [5, b, "float_type"],
        [7, a, "less_than_equal"],
    ]
    scored = pd.read_parquet(out)
    assert scored["row"].tolist() == [i for i in range(len(rows)) if i not in (3, 5, 7)]

    # A column every row lacks refuses the table as a whole, in one line.
    rows.drop(columns=[a]).to_parquet(tmp_path / "no-column.parquet")
    command = [*SHIPYARD, "predict", "--input", str(tmp_path / "no-column.parquet")]
    refused = run([*command, "--output", str(tmp_path / "x.parquet")], project, check=False)
    assert refused.returncode == 1 and a in refused.stderr and "Traceback" not in refused.stderr
