"""What tests share: the project copy, commands as a user types them, `make` against the
test's own interpreter, small configs, the raw test rows of a reproduced project."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["ingest", "validate", "featurize", "train", "baseline", "evaluate", "package"]
# `make` with the test's interpreter as the venv, and no install step.
MAKE = ["make", "--no-print-directory", "SETUP=", f"VENV={Path(sys.executable).parent.parent}"]
# The debug model trains for a few epochs: relax the limits so that a sound change passes
# and the comparison with the base (the main metric's paired bootstrap) is what decides.
GATE = [
    "gate.rules.accuracy.limit=0.3",
    "gate.rules.f1_macro.limit=0.3",
    "gate.rules.roc_auc.limit=0.5",
    "gate.rules.log_loss.limit=3.0",
    "gate.rules.f1_macro.tolerance=0.2",
    "gate.rules.roc_auc.tolerance=0.2",
    "gate.rules.log_loss.tolerance=2.0",
]


def run(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """A command as a user would type it; output kept for assertions and failure messages."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def ran(output: str) -> list[str]:
    """The stages a dvc command ran, in order."""
    return re.findall(r"Running stage '(\w+)'", output)


def make_project(dest: Path, overrides: tuple[str, ...] = ()) -> Path:
    """The project as a fresh one-commit git repository, on the debug config."""
    from tests.sandbox import copy_project

    return copy_project(ROOT, dest, overrides, debug=True)


def standard_features(val_size: float = 0.2, test_size: float = 0.2):
    """conf/features/standard.yaml itself, with a split for small test tables."""
    from omegaconf import OmegaConf

    from shipyard.config import FeaturesConfig, validated

    node = OmegaConf.load(ROOT / "conf/features/standard.yaml")
    node.split = {"val_size": val_size, "test_size": test_size}
    return validated(FeaturesConfig, node, "standard.yaml")


def data_config(**fields: Any):
    """A DataConfig for small in-memory tables: a classification toy unless told otherwise."""
    from shipyard.config import DataChecks, DataConfig

    defaults: dict[str, Any] = dict(
        name="toy",
        task="classification",
        source={},
        target="target",
        labels=["no", "yes"],
        numeric_features=["a", "b"],
        checks=DataChecks(
            min_rows=1, min_rows_per_class=1, max_duplicate_rows=0, imbalance_warning_ratio=10
        ),
    )
    return DataConfig(**{**defaults, **fields})


def load_test_rows(project: Path) -> tuple[list[dict], list]:
    """Every test-set row as it is in the raw table (every column but the target; null
    for missing values) and what evaluate predicted for it: a label, or a value."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    raw = pd.read_parquet(project / "data/raw/dataset.parquet")
    predictions = pd.read_parquet(project / "data/predictions/mlp.parquet")
    rows = raw.loc[predictions["row_id"]].drop(columns=params["data"]["target"])
    rows = rows.astype(object).where(rows.notna(), None)
    labels = params["data"]["labels"]
    expected = (
        [labels[i] for i in predictions["predicted"]] if labels else list(predictions["predicted"])
    )
    return rows.to_dict("records"), expected


def predict(url: str, rows: list[dict], **kwargs) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"rows": rows}, timeout=30, **kwargs)
